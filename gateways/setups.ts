// What a runtime binding (gateways/index.ts bindGateways) has made and not
// closed: its route handlers and apps. serve() waits until each is set up,
// so that a setup error (a missing root, interpreter or module) stops the
// server from starting instead of surfacing as 502s on the first requests.

/** A handler or an app: settles once set up, and can be closed. */
export interface SetUp {
  readonly ready: Promise<void>;
  close(): Promise<void>;
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

  /** Settles when everything kept is set up; rejects with the first setup error. */
  ready(): Promise<void> {
    return Promise.all([...this.#open].map((made) => made.ready)).then(() => undefined);
  }
}
