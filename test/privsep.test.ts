// Privilege separation: as root, what postern starts (CGI scripts, through
// the native spawner and through the runtime's spawn; a spawned php-cgi)
// runs as `nobody` unless a config names a user, with no supplementary
// group, and cannot read postern's environment (/proc/<pid>/environ, where
// postern's secrets are). User and group names are checked at startup: an
// unknown one is a config error naming its key and line.

import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { gatewaySchemas } from "../gateways/index.ts";
import { parseAccounts, resolveUser } from "../src/accounts.ts";
import { configError } from "./helpers/config-error.ts";
import { requireBinary } from "./helpers/binaries.ts";
import { makeCgiTree, CGI_FIXTURES, type CgiTree } from "./helpers/cgi-fixtures.ts";
import { startPostern, type RunningPostern } from "./helpers/postern.ts";
import { parseWhoami, type Whoami } from "./helpers/script-user.ts";

const PHP_CGI = requireBinary(["php-cgi"], "php-cgi");
const CC = requireBinary(["cc"], "gcc");
const BIN = join(import.meta.dirname, "../bin/postern.js");
const PHP_ROOT = join(import.meta.dirname, "fixtures/php");
const AS_ROOT = process.getuid!() === 0;
if (!AS_ROOT) console.warn("skipping the privilege tests: they need the tests to run as root (as CI does)");

const accounts = () => parseAccounts(readFileSync("/etc/passwd", "utf8"), readFileSync("/etc/group", "utf8"));
/** nobody's entry, read here rather than through src/accounts.ts's own choice of default user. */
const nobody = () => {
  const entry = accounts().users.get("nobody");
  expect(entry, "a nobody user").toBeDefined();
  return entry!;
};

async function whoami(res: Response): Promise<Whoami> {
  const text = await res.text();
  expect(res.status, text.slice(0, 300)).toBe(200);
  return parseWhoami(text);
}

describe.skipIf(!AS_ROOT)("as root, what postern starts runs as another user", () => {
  let tree: CgiTree;

  beforeAll(() => {
    tree = makeCgiTree([{ path: "www/whoami.sh", fixture: "whoami.sh", mode: 0o755 }]);
    // Readable by every user, not only nobody: one case runs scripts as daemon.
    chmodSync(tree.dir, 0o755);
  });

  afterAll(() => tree?.remove());

  describe.each([
    { helper: true, name: "the native spawner" },
    { helper: false, name: "the runtime's spawn" },
  ])("CGI scripts, started by $name", ({ helper }) => {
    let byDefault: RunningPostern;
    let asRoot: RunningPostern;
    let asDaemon: RunningPostern;

    beforeAll(async () => {
      const route = (extra: string) => `[[routes]]\ngateway = "cgi"\nroot = "${tree.root}"\nspawn_helper = ${helper}\n${extra}\n`;
      byDefault = await startPostern(route(""));
      asRoot = await startPostern(route('user = "root"'));
      asDaemon = await startPostern(`user = "daemon"\ngroup = "nogroup"\n${route("")}`);
      if (helper && CC) expect(byDefault.errors.filter((line) => /spawner|C compiler/.test(line))).toEqual([]);
    }, 60_000);

    afterAll(async () => {
      await byDefault?.stop();
      await asRoot?.stop();
      await asDaemon?.stop();
    });

    test("run as nobody, in nobody's primary group only", async () => {
      const seen = await whoami(await fetch(`${byDefault.url}/whoami.sh`));
      expect(seen).toMatchObject({ uid: nobody().uid, gid: nobody().gid, groups: [nobody().gid] });
    });

    test("cannot read postern's environment, nor any ancestor's", async () => {
      const seen = await whoami(await fetch(`${byDefault.url}/whoami.sh`));
      expect(seen.readable).toEqual([]);
      expect(() => readFileSync(`/proc/${process.pid}/environ`)).not.toThrow();
    });

    test('user = "root" runs them as root', async () => {
      const seen = await whoami(await fetch(`${asRoot.url}/whoami.sh`));
      expect(seen).toMatchObject({ uid: 0, gid: 0, groups: [0] });
    });

    test("the top-level user and group apply to the route", async () => {
      const seen = await whoami(await fetch(`${asDaemon.url}/whoami.sh`));
      const nogroup = accounts().groups.get("nogroup")!;
      expect(seen).toMatchObject({ uid: accounts().users.get("daemon")!.uid, gid: nogroup, groups: [nogroup] });
    });
  });

  describe.skipIf(!PHP_CGI)("a spawned php-cgi", () => {
    let postern: RunningPostern;

    beforeAll(async () => {
      postern = await startPostern(`[[routes]]\ngateway = "fastcgi"\nroot = "${PHP_ROOT}"\nspawn = { command = ["${PHP_CGI}"] }\n`);
    }, 60_000);

    afterAll(async () => {
      await postern?.stop();
    });

    test("runs as nobody and cannot read postern's environment", async () => {
      const seen = await whoami(await fetch(`${postern.url}/whoami.php`));
      expect(seen).toMatchObject({ uid: nobody().uid, gid: nobody().gid, groups: [nobody().gid], readable: [] });
    });

    test("its socket is in a private directory that nobody owns", () => {
      const children = readFileSync(`/proc/${process.pid}/task/${process.pid}/children`, "utf8").split(/\s+/).filter(Boolean);
      const sockets = children
        .map((pid) => readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0"))
        .filter((argv) => argv[0] === PHP_CGI)
        .map((argv) => argv[argv.indexOf("-b") + 1]!);
      expect(sockets).toHaveLength(1);
      const dir = statSync(dirname(sockets[0]!));
      expect({ uid: dir.uid, gid: dir.gid, mode: dir.mode & 0o777 }).toEqual({ uid: nobody().uid, gid: nobody().gid, mode: 0o700 });
    });
  });

  test("a root out of nobody's reach is warned about at startup", async () => {
    const hidden = mkdtempSync(join(tmpdir(), "postern-privsep-hidden-"));
    try {
      const postern = await startPostern(`[[routes]]\ngateway = "cgi"\nroot = "${hidden}"\n`);
      await postern.stop();
      expect(postern.errors.join("\n")).toMatch(/may be out of reach of uid \d+, whom scripts run as/);
    } finally {
      rmSync(hidden, { recursive: true, force: true });
    }
  }, 60_000);

  test("the native spawner is not dumpable", async () => {
    const postern = await startPostern(`[[routes]]\ngateway = "cgi"\nroot = "${tree.root}"\n`);
    try {
      await (await fetch(`${postern.url}/whoami.sh`)).text();
      const spawner = readFileSync(`/proc/${process.pid}/task/${process.pid}/children`, "utf8")
        .split(/\s+/)
        .filter(Boolean)
        .find((pid) => readFileSync(`/proc/${pid}/comm`, "utf8").trim() === "spawner");
      expect(spawner, "a running spawner").toBeDefined();
      // A process that is not dumpable has its /proc files owned by root: the user it runs as cannot open them.
      const status = readFileSync(`/proc/${spawner}/status`, "utf8");
      expect(/^Uid:\s+(\d+)/m.exec(status)![1]).toBe(String(nobody().uid));
      const probe = spawnSync("cat", [`/proc/${spawner}/environ`], { uid: nobody().uid, gid: nobody().gid });
      expect(probe.status).not.toBe(0);
    } finally {
      await postern.stop();
    }
  }, 60_000);
});

describe("user and group names", () => {
  const route = (extra: string) => `listen = "127.0.0.1:0"\n[[routes]]\ngateway = "cgi"\nroot = "${CGI_FIXTURES}"\n${extra}\n`;

  const refusal = (text: string) => configError(text, gatewaySchemas, accounts());

  test("an unknown user is a config error naming the key and line", () => {
    const err = refusal(route('index = ["index.cgi"]\nuser = "no-such-user-here"'));
    expect(err.message).toBe('postern.toml:6: routes[0].user: no user "no-such-user-here" in /etc/passwd');
  });

  test("an unknown top-level group is a config error naming the key and line", () => {
    const err = refusal(`group = "no-such-group-here"\n${route("")}`);
    expect(err.message).toBe('postern.toml:1: group: no group "no-such-group-here" in /etc/group');
  });

  test("a negative or out-of-range id is no user", () => {
    expect(refusal(route('user = "-1"')).message).toMatch(/routes\[0\]\.user: no user "-1"/);
    expect(refusal(route('user = "4294967295"')).message).toMatch(/routes\[0\]\.user: no user "4294967295"/);
  });

  test("user on a fastcgi route without spawn is refused", () => {
    const text = `[[routes]]\ngateway = "fastcgi"\nbackend = "127.0.0.1:9000"\nroot = "/srv"\nuser = "nobody"\n`;
    expect(refusal(text).message).toMatch(/^postern.toml:5: routes\[0\]\.user: applies to backends postern starts itself/);
  });

  describe("who processes run as (resolveUser)", () => {
    const machine = parseAccounts(
      "root:x:0:0::/root:/bin/sh\nwww:x:33:33::/var/www:/bin/sh\nnobody:x:65534:65534::/:/bin/false\n",
      "root:x:0:\nwww:x:33:\nnogroup:x:65534:\nstaff:x:50:\n",
    );
    test("as root: nobody and its primary group by default", () => expect(resolveUser(machine, {}, 0)).toEqual({ uid: 65534, gid: 65534 }));
    test("as root: the named user, its primary group unless one is named", () => {
      expect(resolveUser(machine, { user: "www" }, 0)).toEqual({ uid: 33, gid: 33 });
      expect(resolveUser(machine, { user: "www", group: "staff" }, 0)).toEqual({ uid: 33, gid: 50 });
      expect(resolveUser(machine, { user: "root" }, 0)).toEqual({ uid: 0, gid: 0 });
    });
    test("as root: a number without an entry needs a group", () => {
      expect(() => resolveUser(machine, { user: "1234" }, 0)).toThrow(/no entry in \/etc\/passwd to take a group from/);
      expect(resolveUser(machine, { user: "1234", group: "staff" }, 0)).toEqual({ uid: 1234, gid: 50 });
    });
    test("as root without a nobody user: a user must be named", () => {
      const bare = parseAccounts("root:x:0:0::/root:/bin/sh\n", "root:x:0:\n");
      expect(() => resolveUser(bare, {}, 0)).toThrow(/no user "nobody"/);
    });
    test("not root: postern's own user, and no other user or group", () => {
      expect(resolveUser(machine, {}, 33)).toBeUndefined();
      expect(resolveUser(machine, { user: "www" }, 33)).toBeUndefined();
      expect(() => resolveUser(machine, { user: "root" }, 33)).toThrow(/not root: it cannot start processes as "root"/);
      expect(() => resolveUser(machine, { group: "www" }, 33)).toThrow(/not root: it cannot start processes in another group/);
    });
  });

  test("postern check and postern serve refuse an unknown user with its line", () => {
    const dir = mkdtempSync(join(tmpdir(), "postern-privsep-"));
    try {
      const file = join(dir, "postern.toml");
      writeFileSync(file, route('user = "no-such-user-here"'));
      for (const command of ["check", "serve"]) {
        const result = spawnSync(process.execPath, [BIN, command, "--config", file], { encoding: "utf8", timeout: 20_000 });
        expect(result.status, result.stderr).toBe(2);
        expect(result.stderr).toContain(`${file}:5: routes[0].user: no user "no-such-user-here"`);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
