// postern's private temporary directories (backend sockets, the CGI
// spawner), named after the process that made them: `<prefix><pid>-XXXXXX`
// in the temporary directory. A postern killed with SIGKILL cannot remove its
// own, so the first time a process makes one with a prefix, it removes those
// with that prefix whose process is gone. Several postern processes may run
// at once (tests do): a directory whose process lives is never touched, nor
// one of this process's own pid (a thread of it may have made it). The only
// mistake this can make is to keep a stale directory: when its pid has been
// reused, until that process ends too.

export interface TempDirHost {
  readonly pid: number;
  /** mkdtemp(3) in the temporary directory: `<prefix>XXXXXX`, private to its owner; its path. */
  make(prefix: string): Promise<string>;
  /** The names in the temporary directory. */
  list(): Promise<string[]>;
  /** Removes the entry `name` of the temporary directory, and all under it. */
  remove(name: string): Promise<void>;
  /** Whether a process `pid` exists: kill(pid, 0) does not fail with ESRCH. */
  alive(pid: number): boolean;
}

/** makeTempDir for a Runtime's FileSystem: a fresh directory owned by this process, after the first sweep of its prefix. */
export function ownedTempDirs(host: TempDirHost): (prefix: string) => Promise<string> {
  const sweeps = new Map<string, Promise<void>>();
  return async (prefix) => {
    let sweep = sweeps.get(prefix);
    if (!sweep) sweeps.set(prefix, (sweep = removeStale(host, prefix)));
    await sweep;
    return host.make(`${prefix}${host.pid}-`);
  };
}

/** The pid in the name of a directory ownedTempDirs made with `prefix`; null for any other name. */
export function ownerOf(name: string, prefix: string): number | null {
  if (!name.startsWith(prefix)) return null;
  const match = /^([1-9][0-9]*)-[A-Za-z0-9_]+$/.exec(name.slice(prefix.length));
  return match ? Number(match[1]) : null;
}

async function removeStale(host: TempDirHost, prefix: string): Promise<void> {
  let names: string[];
  try {
    names = await host.list();
  } catch {
    return;
  }
  for (const name of names) {
    const owner = ownerOf(name, prefix);
    if (owner === null || owner === host.pid || host.alive(owner)) continue;
    // Another user's directory cannot be removed (/tmp is sticky): left alone.
    await host.remove(name).catch(() => undefined);
  }
}
