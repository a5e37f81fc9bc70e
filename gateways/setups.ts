// What a runtime binding (gateways/index.ts bindGateways) has made and not
// closed: its route handlers and apps. serve() waits until each is set up,
// so that a setup error (a missing root, interpreter or module) stops the
// server from starting instead of surfacing as 502s on the first requests.
//
// Which setup errors refuse a serve(): a handler's that the served app routes
// to, every time (the app can never serve it); any other one once, then it is
// no longer kept. A handler whose setup failed and was never closed (a test
// or a REPL session that made a bad one first) thus holds up one serve() with
// its message, not every later one; and a handler the app reaches in a way
// its routes do not show (a hand-written wrapper around it, or an app that is
// not a hono app) is still never served silently broken.
//
// Every gateway's setup ends, in success or an error: a backend that is not
// up is no setup error (its requests get 502 until it is), a spawned one is
// waited for by the requests, not the setup, and a wsgi worker's boot is
// bounded by its timeout.
//
// serve() waits for what was made before it was called. A handler made
// afterwards is set up on its own: its requests wait for the setup, and fail
// with its error (logged) if it fails; the next serve() waits for it.

/** A handler or an app: settles once set up, and can be closed. */
export interface SetUp {
  readonly ready: Promise<void>;
  close(): Promise<void>;
  /** An app's hono app (createApp): its routes hold its handlers. */
  readonly app?: unknown;
}

export class Setups {
  readonly #open = new Set<SetUp>();

  /** Keeps `made` until it is closed; returns it. */
  add<T extends SetUp>(made: T): T {
    this.#open.add(made);
    const close = made.close;
    made.close = () => {
      this.#open.delete(made);
      return close.call(made);
    };
    return made;
  }

  /**
   * Settles when everything kept is set up; rejects with a setup error: the
   * first (in the order they were made) of those `served` routes to, else the
   * first of the others, which is then no longer kept.
   */
  async ready(served?: unknown): Promise<void> {
    const made = [...this.#open];
    const settled = await Promise.allSettled(made.map((m) => m.ready));
    const failed = made.flatMap((m, i) => {
      const result = settled[i]!;
      return result.status === "rejected" ? [{ made: m, reason: result.reason as unknown }] : [];
    });
    if (failed.length === 0) return;
    const routed = routedHandlers(served);
    const reaches = (m: SetUp) => routed.has(m) || (m.app !== undefined && (m.app === served || [...routedHandlers(m.app)].some((h) => routed.has(h))));
    const own = failed.find((f) => reaches(f.made));
    if (own) throw own.reason;
    this.#open.delete(failed[0]!.made);
    throw failed[0]!.reason;
  }
}

/**
 * The handlers a hono app routes to (`app.routes`, middleware included);
 * none for anything else. A sub-app mounted with app.route() is copied into
 * the routes, each handler wrapped when the sub-app has its own error
 * handler: hono keeps the wrapped one under COMPOSED_HANDLER.
 */
function routedHandlers(app: unknown): Set<unknown> {
  const routes = typeof app === "object" && app !== null ? (app as { routes?: unknown }).routes : undefined;
  const handlers = new Set<unknown>();
  if (!Array.isArray(routes)) return handlers;
  for (const route of routes as { handler?: unknown }[]) {
    for (let handler = route?.handler; typeof handler === "function"; handler = (handler as { [COMPOSED_HANDLER]?: unknown })[COMPOSED_HANDLER]) {
      handlers.add(handler);
    }
  }
  return handlers;
}

/** hono's utils/constants.ts. */
const COMPOSED_HANDLER = "__COMPOSED_HANDLER";
