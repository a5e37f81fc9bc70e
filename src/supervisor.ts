// The supervisor of the processes postern starts itself (spawned FastCGI
// backends, WSGI workers), built on Runtime.spawn only, so that it runs
// wherever processes can be spawned: one process kept running
// (supervisor/process.ts), and a group of them each on its own socket,
// replaced without failing a request (supervisor/group.ts).

export { BootError } from "./supervisor/boot-error.ts";
export { WorkerGroup, type Recycling, type Seat, type Seats, type WorkerGroupSpec } from "./supervisor/group.ts";
export { ManagedProcess, type ManagedSpec } from "./supervisor/process.ts";
