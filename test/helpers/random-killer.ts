// Kills backend processes at random, by pid (SIGKILL, as the kernel's OOM
// killer or a crash would), while a load runs: php-fpm's master forks a new
// worker (pm = static), postern's supervisor starts a new spawned process.

export interface RandomKiller {
  /** Kills one of the victims with probability `rate`; returns whether it did. */
  maybeKill(): boolean;
  kills(): number;
}

/** `victims` lists the pids that may be killed now (read again at each kill). */
export function randomKiller(victims: () => number[], rate: number): RandomKiller {
  let kills = 0;
  return {
    maybeKill() {
      if (Math.random() >= rate) return false;
      const pids = victims();
      if (pids.length === 0) return false; // every one is being started again
      try {
        process.kill(pids[Math.floor(Math.random() * pids.length)]!, "SIGKILL");
      } catch {
        return false; // it had just exited
      }
      kills++;
      return true;
    },
    kills: () => kills,
  };
}
