// Kills php-fpm workers at random, by pid (SIGKILL, as the kernel's OOM
// killer or a crash would), while a load runs: the master notices and forks
// a new worker (pm = static).

import type { PhpFpm } from "./php-fpm.ts";

export interface FpmKiller {
  /** Kills one worker with probability `rate`; returns whether it did. */
  maybeKill(): boolean;
  kills(): number;
}

export function fpmKiller(fpm: PhpFpm, rate: number): FpmKiller {
  let kills = 0;
  return {
    maybeKill() {
      if (Math.random() >= rate) return false;
      const children = fpm.children();
      if (children.length === 0) return false; // every worker is being forked again
      try {
        process.kill(children[Math.floor(Math.random() * children.length)]!, "SIGKILL");
      } catch {
        return false; // it had just exited
      }
      kills++;
      return true;
    },
    kills: () => kills,
  };
}
