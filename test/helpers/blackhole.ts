// A loopback TCP address whose connects hang: a listening socket that never
// accepts, its accept queue filled by one connection, so Linux drops further
// SYNs (listen(2): with a full backlog new connection requests are ignored) and the
// connect stays pending until the caller's own timeout. Node accepts every
// connection itself, so the listener is a tiny perl process.

import { spawn, type ChildProcess } from "node:child_process";
import { connect, type Socket } from "node:net";
import { requireBinary } from "./binaries.ts";

export interface Blackhole {
  address: string;
  stop(): Promise<void>;
}

const LISTENER = `
use IO::Socket::INET;
my $s = IO::Socket::INET->new(LocalAddr => "127.0.0.1", LocalPort => 0, Listen => 1, ReuseAddr => 1) or die "listen: $!";
$| = 1;
print $s->sockport, "\\n";
sleep 600;
`;

/** undefined when perl is missing (outside CI; under CI=true that is an error). */
export async function startBlackhole(): Promise<Blackhole | undefined> {
  const perl = requireBinary(["perl"], "perl");
  if (!perl) return undefined;
  const proc: ChildProcess = spawn(perl, ["-e", LISTENER], { stdio: ["ignore", "pipe", "inherit"] });
  const port = await new Promise<number>((resolve, reject) => {
    let out = "";
    proc.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      if (out.includes("\n")) resolve(Number(out.trim()));
    });
    proc.once("exit", (code) => reject(new Error(`blackhole listener exited with ${code}`)));
  });
  // Fill the accept queue (Linux holds backlog + 1): connect until a connect hangs.
  const fillers: Socket[] = [];
  for (let i = 0; i < 8; i++) {
    const s = connect({ host: "127.0.0.1", port });
    s.on("error", () => undefined);
    const connected = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), 200);
      s.once("connect", () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
    if (!connected) {
      s.destroy();
      break;
    }
    fillers.push(s);
  }
  return {
    address: `127.0.0.1:${port}`,
    stop: async () => {
      for (const s of fillers) s.destroy();
      if (proc.exitCode === null && proc.signalCode === null) {
        const exited = new Promise((r) => proc.once("exit", r));
        proc.kill("SIGKILL");
        await exited;
      }
    },
  };
}

/** True when a connect to `address` is still pending after `ms` (the blackhole works here). */
export function connectHangs(address: string, ms: number): Promise<boolean> {
  const [host, port] = address.split(":");
  return new Promise((resolve) => {
    const s = connect({ host: host!, port: Number(port) });
    const timer = setTimeout(() => {
      s.destroy();
      resolve(true);
    }, ms);
    const settle = () => {
      clearTimeout(timer);
      s.destroy();
      resolve(false);
    };
    s.once("connect", settle);
    s.once("error", settle);
  });
}
