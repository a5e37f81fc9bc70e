// The request-target a server hands its app, with the path in its normal
// form (src/paths.ts), so that routes match what the gateways will map: done
// by every runtime's serve() before routing, whatever getPath the app uses.

import { normalizePath } from "../../src/paths.ts";

/** `target` (origin-form, or an absolute URL) with its path normalised; undefined when it is already. */
export function normalTarget(target: string): string | undefined {
  const start = target.charCodeAt(0) === 47 /* "/" */ ? 0 : target.indexOf("/", target.indexOf("//") + 2);
  if (start < 0) return undefined;
  const query = target.indexOf("?", start);
  const end = query < 0 ? target.length : query;
  const path = target.slice(start, end);
  const normal = normalizePath(path);
  return normal === path ? undefined : target.slice(0, start) + normal + target.slice(end);
}

/** The path and query of a target (origin-form, or an absolute URL). */
export function pathAndQuery(target: string): string {
  if (target.charCodeAt(0) === 47 /* "/" */) return target;
  const start = target.indexOf("/", target.indexOf("//") + 2);
  if (start >= 0) return target.slice(start);
  const query = target.indexOf("?");
  return query < 0 ? "/" : `/${target.slice(query)}`;
}
