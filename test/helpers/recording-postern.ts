// postern's Node entry point with every handler and server it makes kept, so
// a test that runs a user's code (a README example) can stop all it started.

import type { GatewayHandler } from "../../gateways/handler.ts";
import * as postern from "../../runtimes/node/index.ts";

export interface RecordingPostern {
  /** What `import ... from "postern"` gives the code. */
  exports: Record<string, unknown>;
  handlers: GatewayHandler[];
  servers: postern.RunningServer[];
  /** Stops the servers, then closes the handlers (their pools, spawners, spawned backends). */
  close(): Promise<void>;
}

export function recordingPostern(): RecordingPostern {
  const handlers: GatewayHandler[] = [];
  const servers: postern.RunningServer[] = [];
  const kept =
    <Options>(make: (options: Options) => GatewayHandler) =>
    (options: Options): GatewayHandler => {
      const handler = make(options);
      handlers.push(handler);
      return handler;
    };
  const serve: typeof postern.serve = async (app, options) => {
    const server = await postern.serve(app, options);
    servers.push(server);
    return server;
  };
  return {
    exports: {
      ...postern,
      fastcgi: kept(postern.fastcgi),
      cgi: kept(postern.cgi),
      wasi: kept(postern.wasi),
      staticFiles: kept(postern.staticFiles),
      serve,
    },
    handlers,
    servers,
    async close() {
      await Promise.all(servers.map((s) => s.close()));
      await Promise.all(handlers.map((h) => h.close()));
    },
  };
}
