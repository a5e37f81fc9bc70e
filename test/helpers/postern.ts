// postern itself as a test fixture: a config (postern.toml text) served on a
// loopback port by the Node runtime, with its error log captured.

import { createApp, gatewaySchemas } from "../../gateways/index.ts";
import { parseConfig } from "../../src/config.ts";
import type { Runtime } from "../../src/runtime.ts";
import { nodeRuntime } from "../../runtimes/node/runtime.ts";
import { serve } from "../../runtimes/node/serve.ts";

export interface RunningPostern {
  url: string;
  /** Lines the gateway wrote to its error log. */
  errors: string[];
  stop(): Promise<void>;
}

export async function startPostern(toml: string, baseDir = process.cwd()): Promise<RunningPostern> {
  const errors: string[] = [];
  const runtime: Runtime = { ...nodeRuntime, logError: (line) => errors.push(line), logAccess: () => undefined };
  const config = parseConfig(`listen = ["127.0.0.1:0"]\naccess_log = false\n${toml}`, "test.toml", gatewaySchemas);
  const app = createApp(config, runtime, baseDir);
  await app.ready;
  const server = await serve(app.app, { listen: config.listen });
  const addr = server.addresses[0]!;
  if (addr.kind !== "tcp") throw new Error("expected a TCP listen address");
  return {
    url: `http://127.0.0.1:${addr.port}`,
    errors,
    async stop() {
      await server.close();
      await app.close();
    },
  };
}
