// Who the processes postern starts (CGI scripts, the CGI spawner, spawned
// FastCGI backends) run as: the `user` and `group` keys, resolved by name
// from /etc/passwd and /etc/group (passwd(5), group(5)) at startup.
//
// When postern runs as root and no user is named, they run as `nobody` with
// its primary group (`nogroup` on Debian), as php-fpm's pools and fcgiwrap
// do: a script must never run as root unless a config says `user = "root"`.
// Names are checked before anything is spawned: a runtime's spawn takes any
// number as a uid, even one that names no user, and Node's takes -1 as
// "leave it unchanged", which is root here.

import { setupError } from "./check/problems.ts";
import type { Schema } from "./config-schema.ts";
import type { FileSystem, ProcessUser, Runtime } from "./runtime.ts";

export const PROCESS_USER_FIELDS = {
  user: {
    type: "string",
    doc: "who the processes postern starts (CGI scripts and the CGI spawner, spawned FastCGI backends, WSGI workers) run as: a user name or number. As root the default is `\"nobody\"`, otherwise postern's own user; running them as root needs `user = \"root\"` written down. A route that names `user` or `group` ignores the top level's pair",
  },
  group: { type: "string", doc: "the group they run as, a name or number; by default the user's primary group" },
} as const satisfies Schema;

/** The user and group names a config gives: a route's own, or the top level's. */
export interface UserNames {
  user?: string;
  group?: string;
}

export interface Accounts {
  /** name -> uid and primary gid */
  users: Map<string, ProcessUser>;
  /** name -> gid */
  groups: Map<string, number>;
}

/** A name that cannot be used: `key` is "user" or "group". */
export class AccountError extends Error {
  readonly key: "user" | "group";
  constructor(key: "user" | "group", message: string) {
    super(message);
    this.name = "AccountError";
    this.key = key;
  }
}

/** The default user as root. */
const NOBODY = "nobody";
/** Largest id every runtime takes (Node: an int32); 4294967295 is (uid_t)-1, "unchanged". */
const MAX_ID = 2 ** 31 - 1;

/** /etc/passwd and /etc/group as maps; lines that are not entries are skipped. */
export function parseAccounts(passwd: string, group: string): Accounts {
  const users = new Map<string, ProcessUser>();
  for (const line of passwd.split("\n")) {
    const [name, , uid, gid] = line.split(":");
    const ids = { uid: toId(uid), gid: toId(gid) };
    if (name && ids.uid !== undefined && ids.gid !== undefined && !users.has(name)) users.set(name, ids as ProcessUser);
  }
  const groups = new Map<string, number>();
  for (const line of group.split("\n")) {
    const [name, , gid] = line.split(":");
    const id = toId(gid);
    if (name && id !== undefined && !groups.has(name)) groups.set(name, id);
  }
  return { users, groups };
}

/** The accounts of this machine, read through the runtime's file system. */
async function loadAccounts(fs: FileSystem): Promise<Accounts> {
  const read = async (path: string) => {
    try {
      return await new Response(fs.readStream(path)).text();
    } catch {
      return "";
    }
  };
  return parseAccounts(await read("/etc/passwd"), await read("/etc/group"));
}

/** A user by name or number: its uid, and its primary gid when it has an entry. */
function lookupUser(accounts: Accounts, user: string): { uid: number; gid?: number } {
  const entry = accounts.users.get(user);
  if (entry) return entry;
  const uid = toId(user);
  if (uid === undefined) throw new AccountError("user", `no user ${JSON.stringify(user)} in /etc/passwd`);
  return { uid, gid: [...accounts.users.values()].find((u) => u.uid === uid)?.gid };
}

/** A group by name or number. */
function lookupGroup(accounts: Accounts, group: string): number {
  const gid = accounts.groups.get(group) ?? toId(group);
  if (gid === undefined) throw new AccountError("group", `no group ${JSON.stringify(group)} in /etc/group`);
  return gid;
}

/** Checks that the names exist (for a config check, which names the key and its line). */
export function checkNames(accounts: Accounts, names: UserNames): void {
  if (names.user !== undefined) lookupUser(accounts, names.user);
  if (names.group !== undefined) lookupGroup(accounts, names.group);
}

/**
 * Who a process postern starts runs as, or undefined for postern's own user
 * (when postern is not root and no other user is named). `ownUid` is
 * postern's own user id.
 */
export function resolveUser(accounts: Accounts, names: UserNames, ownUid: number): ProcessUser | undefined {
  if (ownUid !== 0) {
    // Only root can start a process as another user or group.
    if (names.group !== undefined) {
      throw new AccountError("group", `postern runs as uid ${ownUid}, not root: it cannot start processes in another group`);
    }
    if (names.user !== undefined && lookupUser(accounts, names.user).uid !== ownUid) {
      throw new AccountError("user", `postern runs as uid ${ownUid}, not root: it cannot start processes as ${JSON.stringify(names.user)}`);
    }
    return undefined;
  }
  if (names.user === undefined && !accounts.users.has(NOBODY)) {
    throw new AccountError("user", `postern runs as root and there is no user "${NOBODY}" to run what it starts as: name one`);
  }
  const name = names.user ?? NOBODY;
  const user = lookupUser(accounts, name);
  const gid = names.group !== undefined ? lookupGroup(accounts, names.group) : user.gid;
  if (gid === undefined) throw new AccountError("group", `user ${JSON.stringify(name)} has no entry in /etc/passwd to take a group from: name one`);
  return { uid: user.uid, gid };
}

/** resolveUser for a route at startup, with this machine's accounts; errors name the route and the key. */
export async function processUser(runtime: Runtime, names: UserNames, route: string): Promise<ProcessUser | undefined> {
  if (!runtime.uid || !runtime.fs) {
    if (names.user === undefined && names.group === undefined) return undefined;
    throw setupError(route, ["user"], `the ${runtime.name} runtime cannot start processes as another user`);
  }
  try {
    return resolveUser(await loadAccounts(runtime.fs), names, runtime.uid());
  } catch (err) {
    if (err instanceof AccountError) throw setupError(route, [err.key], err.message);
    throw err;
  }
}

/** A decimal id in the range every runtime takes. */
function toId(text: string | undefined): number | undefined {
  if (text === undefined || !/^\d{1,10}$/.test(text)) return undefined;
  const id = Number(text);
  return id <= MAX_ID ? id : undefined;
}
