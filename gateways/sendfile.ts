// `x_sendfile` on cgi and fastcgi routes: a backend answers with
// `X-Sendfile: /srv/files/report.pdf` (or lighttpd's X-LIGHTTPD-send-file)
// and the route sends that file in place of the backend's body, as lighttpd's
// `x-sendfile` / `x-sendfile-docroot` and Apache's mod_xsendfile do: the app
// checks who may download, postern streams the bytes with Range, HEAD and
// conditional requests as the static route serves them. Only files whose
// real path (symlinks resolved) lies in one of `allow`'s directories are
// sent; anything else is a 502, logged. The fields never reach the client
// (src/cgi/answer.ts), configured or not: they name server paths.
//
// X-Accel-Redirect names a URI of an nginx `internal` location, which postern
// has no equivalent of; it is refused (502, logged) rather than guessed at.

import type { Field } from "../src/config-schema.ts";
import { sendfileOf } from "../src/cgi/sendfile.ts";
import { errorResponse } from "../src/errors.ts";
import { isInside } from "../src/paths.ts";
import type { FileSystem, Runtime } from "../src/runtime.ts";
import { fileResponse } from "./static/file-response.ts";

/** The `x_sendfile` key. */
export const xSendfileField = {
  type: {
    table: {
      allow: { type: "string[]", required: true, doc: "absolute directories whose files a backend may name; the file's real path must lie in one" },
    },
  },
  doc: "send the file a backend names with `X-Sendfile` (or `X-LIGHTTPD-send-file`) in place of its body, with Range, HEAD and conditional requests, when it lies in one of `allow`'s directories: `{ allow = [\"/srv/files\"] }`; else 502. The fields never reach the client, whether this is set or not",
} as const satisfies Field;

/** What is wrong with `x_sendfile`; undefined when nothing is. */
export function xSendfileProblem(options: Record<string, unknown>): { key: string; message: string } | undefined {
  const allow = (options.x_sendfile as { allow: string[] } | undefined)?.allow ?? [];
  const bad = allow.find((dir) => !dir.startsWith("/") || dir.includes("\0"));
  return bad === undefined ? undefined : { key: "x_sendfile.allow", message: `${JSON.stringify(bad)}: entries are absolute directories` };
}

export class Sendfile {
  readonly #runtime: Runtime;
  readonly #name: string;
  readonly #allow: string[] | undefined;
  #realDirs: Promise<string[]> | undefined;

  constructor(runtime: Runtime, options: { allow: string[] } | undefined, name: string) {
    this.#runtime = runtime;
    this.#allow = options?.allow;
    this.#name = name;
  }

  /** `response`, or the file its backend asked to be sent in its place. */
  async answer(request: Request, response: Response): Promise<Response> {
    const asked = sendfileOf(response);
    if (!asked) return response;
    const fs = this.#runtime.fs;
    if (!this.#allow || !fs) {
      this.#log(request, `${asked.field} ignored (and not passed on): the route has no x_sendfile`);
      return response;
    }
    // The backend's body is replaced: what it sent of one is dropped.
    await response.body?.cancel().catch(() => undefined);
    if (asked.field.toLowerCase() === "x-accel-redirect") {
      return this.#refuse(request, `${asked.field}: ${asked.value}: names a URI of an nginx internal location; send X-Sendfile with the file's path`);
    }
    const real = asked.value.startsWith("/") && !asked.value.includes("\0") ? await fs.realpath(asked.value) : null;
    if (real === null) return this.#refuse(request, `${asked.field}: ${asked.value}: no such file (or not an absolute path)`);
    const dirs = await (this.#realDirs ??= this.#resolveDirs(fs));
    const inAllow = (path: string) => dirs.some((dir) => isInside(dir, path));
    // Nothing outside `allow` is opened at all (a FIFO there would hold the request).
    if (!inAllow(real)) return this.#refuse(request, `${asked.field}: ${asked.value}: ${real} is not in x_sendfile.allow`);
    const file = await fs.openRead(real);
    // CWE-367: a directory of the path may be swapped for a symlink between
    // the lookup and the open, so the name is checked again after the open:
    // its real path still in `allow`, and naming (lstat) the very file opened.
    const after = file ? await fs.realpath(real) : null;
    const allowed = after !== null && inAllow(after);
    const named = allowed ? await fs.lstat(after) : null;
    if (!file || !file.stat.isFile || !named?.isFile || named.dev !== file.stat.dev || named.ino !== file.stat.ino) {
      await file?.close();
      const why = after !== null && !allowed ? `${after} is not in x_sendfile.allow` : "not a regular file, or changed while opened";
      return this.#refuse(request, `${asked.field}: ${asked.value}: ${why}`);
    }
    let streaming = false;
    try {
      const fields = new Headers(response.headers);
      return fileResponse(request, { stat: file.stat, name: real }, { etag: true, fields }, (range) => {
        streaming = true;
        return file.readStream(range);
      });
    } finally {
      if (!streaming) await file.close();
    }
  }

  async #resolveDirs(fs: FileSystem): Promise<string[]> {
    const real = await Promise.all(this.#allow!.map((dir) => fs.realpath(dir)));
    return real.filter((dir): dir is string => dir !== null);
  }

  #refuse(request: Request, why: string): Response {
    this.#log(request, why);
    return errorResponse(502);
  }

  #log(request: Request, why: string): void {
    this.#runtime.logError(`${this.#name}: ${new URL(request.url).pathname}: ${why}`);
  }
}
