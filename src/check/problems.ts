// Setup errors: what a route's setup (its root, the programs it starts, its
// module...) finds wrong, each problem with the key it concerns, so that
// `postern check` and a `postern serve` that cannot start show it as a
// schema error is shown, `file:line: routes[N].key: message`
// (bin/setup-errors.ts), and a handler made in code as
// `route: key: message`. A route reports every problem it finds, not only
// the first.

import { formatKey, type KeyPath } from "../config-locate.ts";

/** One thing wrong with a route's (or the config's) setup. */
export interface SetupProblem {
  /** Who has it, as messages name it: a route's name. */
  owner: string;
  /** The key it concerns, under its owner: ["root"], ["interpreters", ".pl"]. */
  key: KeyPath;
  /** The route's index in the config's [[routes]], where the route came from a config. */
  route?: number;
  message: string;
}

/** A setup that cannot be completed; its message has a line per problem. */
export class SetupError extends Error {
  readonly problems: readonly SetupProblem[];
  constructor(problems: readonly SetupProblem[]) {
    super(problems.map((p) => `${p.owner}: ${formatKey(p.key)}: ${p.message}`).join("\n"));
    this.name = "SetupError";
    this.problems = problems;
  }

  /** The same problems, known to belong to the config's route `index`. */
  inRoute(index: number): SetupError {
    return new SetupError(this.problems.map((p) => ({ ...p, route: index })));
  }
}

/** A setup error of one problem. */
export function setupError(owner: string, key: KeyPath, message: string): SetupError {
  return new SetupError([{ owner, key, message }]);
}

/**
 * The problems one route's setup finds. Each check runs whatever the
 * others found, so that all are reported at once; `done()` throws them.
 */
export class Problems {
  readonly #owner: string;
  readonly #found: SetupProblem[] = [];

  constructor(owner: string) {
    this.#owner = owner;
  }

  add(key: KeyPath, message: string): void {
    this.#found.push({ owner: this.#owner, key, message });
  }

  /** What `work` gives, or undefined when it threw a SetupError (whose problems are kept). */
  async check<T>(work: () => Promise<T>): Promise<T | undefined> {
    try {
      return await work();
    } catch (err) {
      if (!(err instanceof SetupError)) throw err;
      this.#found.push(...err.problems);
      return undefined;
    }
  }

  /** Throws the problems found, if any. */
  done(): void {
    if (this.#found.length > 0) throw new SetupError(this.#found);
  }
}

/**
 * Waits for every route's setup and throws, when some fail, the problems
 * of all of them together (each at its route's index); only when none has
 * such a problem, the first other error (a failure to start, a boot error).
 */
export async function allSetUp(readies: readonly Promise<void>[]): Promise<void> {
  const results = await Promise.allSettled(readies);
  const failures = results.flatMap((r, i) => {
    if (r.status === "fulfilled") return [];
    return [r.reason instanceof SetupError ? r.reason.inRoute(i) : (r.reason as unknown)];
  });
  const problems = failures.flatMap((err) => (err instanceof SetupError ? err.problems : []));
  if (problems.length > 0) throw new SetupError(problems);
  if (failures.length > 0) throw failures[0];
}
