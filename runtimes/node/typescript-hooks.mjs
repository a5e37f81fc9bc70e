// Module customization hooks (nodejs.org/api/module.html#customization-hooks)
// that let Node load TypeScript sources: each .ts file is turned into
// JavaScript by esbuild as it is loaded, types removed and nothing else
// changed. (tsx does the same but keeps every function's name by wrapping it
// at each creation, which cost a tenth of the throughput of a request path
// that makes closures.)
import { existsSync, readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { transform, transformSync } from "esbuild";

// In a checkout, where postern's TypeScript sources sit beside this file,
// `import ... from "postern"` means those sources: the "postern-source"
// condition of package.json's exports (the built package has none to offer).
const SOURCE_CONDITIONS = existsSync(new URL("./index.ts", import.meta.url)) ? ["postern-source"] : [];

/** esbuild's options for one file: types removed, nothing else changed. */
const options = (path) => ({ loader: "ts", format: "esm", target: "node20", sourcefile: path, sourcemap: "inline" });

const isTypeScript = (url) => url.startsWith("file:") && url.endsWith(".ts");

// The hooks as module.register() runs them, off the main thread. Its resolve
// may answer with nextResolve's promise as it is: resolveSync does the same.
export const resolve = resolveSync;

export async function load(url, context, nextLoad) {
  if (!isTypeScript(url)) return nextLoad(url, context);
  const path = fileURLToPath(url);
  const { code } = await transform(await readFile(path, "utf8"), options(path));
  return { format: "module", source: code, shortCircuit: true };
}

// The same as module.registerHooks() runs them, in the thread that loads.
export function resolveSync(specifier, context, nextResolve) {
  return nextResolve(specifier, { ...context, conditions: [...context.conditions, ...SOURCE_CONDITIONS] });
}

export function loadSync(url, context, nextLoad) {
  if (!isTypeScript(url)) return nextLoad(url, context);
  const path = fileURLToPath(url);
  const { code } = transformSync(readFileSync(path, "utf8"), options(path));
  return { format: "module", source: code, shortCircuit: true };
}
