// What a route tells of itself while it serves, read when the metrics or the
// status page are asked for (gateways/status/): its backends' connections
// and health, the processes postern runs for it, its WASI threads, its CGI
// programs. Plain data, read-only: taking it changes nothing in the route.

/** One backend of a route (src/pool.ts, src/backend/upstream.ts). */
export interface BackendStats {
  /** As messages write it: "127.0.0.1:9000", "unix:/run/php/php-fpm.sock". */
  address: string;
  /** Connections carrying a request, open and idle (kept alive), being opened. */
  inUse: number;
  idle: number;
  opening: number;
  /** Requests waiting for this backend only (sticky requests, src/backend/upstream.ts). */
  queued: number;
  /** It gets requests: not avoided after a failure, not taken out by its health check. */
  healthy: boolean;
  /** Its active health check took it out (src/backend/health.ts); false where there is none. */
  checkedOut: boolean;
  /** The last active health check that finished: when (ms since the epoch), the status answered (none: no answer in time). */
  lastCheck?: { at: number; status?: number };
}

/** A process postern runs for a route (src/supervisor/). */
export interface WorkerStats {
  /** Its pid while it runs. */
  pid?: number;
  /** Times it exited and was started again. */
  restarts: number;
  /** Serving requests (its socket accepts). */
  up: boolean;
}

/** The WASI threads of a route (gateways/wasi/threads.ts). */
export interface ThreadStats {
  busy: number;
  idle: number;
  /** Being started again after one ended, or waiting out a back-off. */
  restarting: number;
}

export interface RouteStats {
  backends?: BackendStats[];
  /** Requests waiting for any backend, or for a script slot. */
  queued?: number;
  workers?: WorkerStats[];
  /** Restarts of this route's processes, those replaced since included. */
  restarts?: number;
  threads?: ThreadStats;
  /** CGI programs running now. */
  processes?: number;
}
