// The example configs of examples/apps/ served by postern as written, with
// only the addresses a test must choose replaced (the php-fpm socket, a
// config file of its own): a key an example no longer holds is an error.

import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { startPostern, type RunningPostern } from "./postern.ts";
import { substitute } from "./readme.ts";

const EXAMPLES = join(import.meta.dirname, "../../examples/apps");

/** The backend every PHP example names: Debian's php-fpm pool socket. */
export const DEBIAN_FPM = "unix:/run/php/php8.2-fpm.sock";

export function appExample(app: string): string {
  return readFileSync(join(EXAMPLES, `${app}.toml`), "utf8");
}

export function serveApp(app: string, replacements: Record<string, string> = {}): Promise<RunningPostern> {
  return startPostern(substitute(appExample(app), replacements));
}

/** A GET's status, Content-Type and body, following no redirect. */
export async function get(url: string): Promise<{ status: number; type: string; location: string | null; body: string }> {
  const res = await fetch(url, { redirect: "manual" });
  return { status: res.status, type: res.headers.get("content-type") ?? "", location: res.headers.get("location"), body: await res.text() };
}

/** Whether a Debian package's file is here; under CI its absence is an error, not a skip. */
export function installed(file: string): boolean {
  if (!existsSync(file) && process.env.CI) throw new Error(`${file} not found: .ci/run installs it from Debian`);
  return existsSync(file);
}
