// The CGI gateway when what it relies on misbehaves: the native spawner dies
// mid-answer (the client must see a cut response, never a complete-looking
// one, and the next request starts a new spawner), a daemon escapes a
// script's process group holding its stderr (its slot must still come free),
// and a local redirect that would leave the server.

import { readFileSync, readdirSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { makeCgiTree, type CgiTree } from "./helpers/cgi-fixtures.ts";
import { startPostern, type RunningPostern } from "./helpers/postern.ts";

/** The native spawners this test process started (the gateway runs in-process). */
function spawnerPids(): number[] {
  const pids: number[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (stat.includes("(spawner)") && Number(fields[1]) === process.pid && fields[0] !== "Z") pids.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

/** GETs `url` and reads the whole body; `complete` is false when the answer was cut. */
function get(url: string, onFirstBytes?: () => void): Promise<{ status: number; length: number; complete: boolean }> {
  return new Promise((resolve, reject) => {
    httpRequest(url, (res) => {
      let length = 0;
      let first = true;
      res.on("data", (chunk: Buffer) => {
        length += chunk.length;
        if (first) onFirstBytes?.();
        first = false;
      });
      const done = () => resolve({ status: res.statusCode ?? 0, length, complete: res.complete });
      res.on("end", done);
      res.on("error", done);
      res.on("aborted", done);
    })
      .on("error", reject)
      .end();
  });
}

describe("CGI gateway resilience", () => {
  let tree: CgiTree;

  beforeAll(() => {
    tree = makeCgiTree([
      // 100 lines of 10 KB, a line every 20 ms: about 2 s of output.
      {
        path: "www/stream.sh",
        text: '#!/bin/sh\nprintf "Content-Type: text/plain\\n\\n"\ni=0\nwhile [ $i -lt 100 ]; do head -c 10240 /dev/zero; sleep 0.02; i=$((i+1)); done\n',
        mode: 0o755,
      },
      { path: "www/ok.sh", text: '#!/bin/sh\nprintf "Content-Type: text/plain\\n\\nok\\n"\n', mode: 0o755 },
      // A daemon that leaves the group (setsid) but keeps the script's stderr.
      {
        path: "www/daemon.sh",
        text: '#!/bin/sh\nsetsid sleep 30 >/dev/null &\necho $! > "$DOCUMENT_ROOT/../daemon.pid"\nprintf "Content-Type: text/plain\\n\\nstarted\\n"\n',
        mode: 0o755,
      },
      { path: "www/away.sh", text: '#!/bin/sh\nprintf "Location: /\\\\\\\\elsewhere.example/x\\n\\n"\n', mode: 0o755 },
    ]);
  });

  afterAll(() => {
    try {
      process.kill(Number(readFileSync(`${tree.dir}/daemon.pid`, "utf8")), "SIGKILL");
    } catch {
      // never started, or gone
    }
    tree?.remove();
  });

  describe("the spawner dies mid-answer", () => {
    let postern: RunningPostern;
    beforeAll(async () => {
      postern = await startPostern(`[[routes]]\ngateway = "cgi"\nroot = "${tree.root}"\n`);
    });
    afterAll(() => postern?.stop());

    test("the client sees a cut answer, not a complete one; the next request is served by a new spawner", async () => {
      const before = spawnerPids();
      expect(before.length).toBeGreaterThan(0);
      const answer = await get(`${postern.url}/stream.sh`, () => {
        for (const pid of before) process.kill(pid, "SIGKILL");
      });
      expect(answer.status).toBe(200);
      expect(answer.length).toBeLessThan(100 * 10240);
      expect(answer.complete).toBe(false);

      const next = await fetch(`${postern.url}/ok.sh`);
      expect(next.status).toBe(200);
      expect(await next.text()).toBe("ok\n");
      const after = spawnerPids();
      expect(after.length).toBeGreaterThan(0);
      expect(after.some((pid) => before.includes(pid))).toBe(false);
    });
  });

  describe.each([true, false])("spawn_helper = %s", (helper) => {
    let postern: RunningPostern;
    beforeAll(async () => {
      postern = await startPostern(
        `[[routes]]\ngateway = "cgi"\nroot = "${tree.root}"\nmax_procs = 1\nqueue_timeout = "10s"\nspawn_helper = ${helper}\n`,
      );
    });
    afterAll(() => postern?.stop());

    test("a daemon that escaped the script's group with its stderr does not keep the slot", async () => {
      const first = await fetch(`${postern.url}/daemon.sh`);
      expect(await first.text()).toBe("started\n");
      const started = Date.now();
      const second = await fetch(`${postern.url}/ok.sh`);
      expect(second.status).toBe(200);
      // The daemon sleeps 30 s; the slot must not wait for it.
      expect(Date.now() - started).toBeLessThan(10_000);
    });

    test('a local redirect to "/\\\\host/..." that would leave the server is a 502', async () => {
      const res = await fetch(`${postern.url}/away.sh`, { redirect: "manual" });
      expect(res.status).toBe(502);
      expect(postern.errors.some((line) => line.includes("leaves the server"))).toBe(true);
    });
  });
});
