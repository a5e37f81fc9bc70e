// Which script of an interpreter route's root a request runs: the rules of
// the cgi gateway's lookup (gateways/cgi/lookup.ts, RFC 3875 §4.1.5,
// §4.1.13), over the root as read into memory (volume.ts) rather than the
// file system. The first prefix of the path that is a file is the script;
// it must have the interpreter's extension (anything else is 403, never
// shown); a directory runs its index script.

import { isRefusedSegment } from "../../src/paths.ts";
import type { VolumeNode } from "./volume.ts";

export type VolumeLookup = { ok: true; scriptName: string; pathInfo: string } | { ok: false; status: 403 | 404 };

/** The script for `path` (decoded, checked by safePath), in `root`. */
export function findInVolume(root: VolumeNode, path: string, extension: string, index: string): VolumeLookup {
  const segments = path.split("/").slice(1);
  if (segments.some((segment) => segment !== "" && isRefusedSegment(segment))) return { ok: false, status: 404 };
  let node = root;
  let scriptName = "";
  for (const [i, segment] of segments.entries()) {
    if (node.kind !== "dir") break;
    if (segment === "") {
      // Only a trailing "/" names the directory itself: "//" names nothing.
      if (i < segments.length - 1) return { ok: false, status: 404 };
      continue;
    }
    const next = Object.hasOwn(node.entries, segment) ? node.entries[segment]! : undefined;
    if (!next) return { ok: false, status: 404 };
    node = next;
    scriptName += `/${segment}`;
    if (node.kind === "file") {
      if (!segment.endsWith(extension)) return { ok: false, status: 403 };
      return { ok: true, scriptName, pathInfo: segments.slice(i + 1).length ? `/${segments.slice(i + 1).join("/")}` : "" };
    }
  }
  if (node.kind === "dir" && Object.hasOwn(node.entries, index) && node.entries[index]!.kind === "file") {
    return { ok: true, scriptName: `${scriptName}/${index}`, pathInfo: "" };
  }
  return { ok: false, status: node.kind === "dir" ? 403 : 404 };
}
