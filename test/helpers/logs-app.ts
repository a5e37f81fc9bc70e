// postern served in this process on Node with its logs captured: the access
// lines, the error lines and the request records its app hands out once each
// answer is over (src/request-record.ts).

import { createApp, gatewaySchemas } from "../../gateways/index.ts";
import { parseConfig } from "../../src/config.ts";
import type { RequestRecord } from "../../src/request-record.ts";
import type { Runtime } from "../../src/runtime.ts";
import { nodeRuntime } from "../../runtimes/node/runtime.ts";
import { serve } from "../../runtimes/node/serve.ts";

export interface LoggingPostern {
  url: string;
  access: string[];
  errors: string[];
  records: RequestRecord[];
  /** The app's own onRequestDone (the records above are gathered by the first listener). */
  onRequestDone(listener: (record: RequestRecord) => void): () => void;
  /** Until `n` requests are done (20 s at most). */
  done(n: number): Promise<void>;
  stop(): Promise<void>;
}

/** Serves `toml` (top-level keys, then routes; listen and access_log are set unless `top` sets access_log). */
export async function startLogging(toml: string, baseDir: string): Promise<LoggingPostern> {
  const access: string[] = [];
  const errors: string[] = [];
  const records: RequestRecord[] = [];
  const runtime: Runtime = { ...nodeRuntime, logError: (line) => errors.push(line), logAccess: (line) => access.push(line) };
  const accessLog = /^access_log\s*=/m.test(toml) ? "" : 'access_log = "-"\n';
  const config = parseConfig(`listen = ["127.0.0.1:0"]\n${accessLog}${toml}`, "test.toml", gatewaySchemas);
  const app = createApp(config, runtime, baseDir);
  app.onRequestDone((record) => records.push(record));
  await app.ready;
  const server = await serve(app.app, { listen: config.listen });
  const addr = server.addresses[0]!;
  if (addr.kind !== "tcp") throw new Error("expected a TCP listen address");
  return {
    url: `http://127.0.0.1:${addr.port}`,
    access,
    errors,
    records,
    onRequestDone: (listener) => app.onRequestDone(listener),
    async done(n) {
      const deadline = Date.now() + 20_000;
      while (records.length < n) {
        if (Date.now() > deadline) throw new Error(`${records.length} of ${n} requests done`);
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    async stop() {
      await server.close();
      await app.close();
    },
  };
}
