// `node --import postern/register app.ts`: Node runs TypeScript sources, the
// app's and, in a checkout of postern, postern's own (typescript-hooks.mjs).
// Where Node has in-thread hooks (module.registerHooks, Node >= 22.15) they
// are used: module.register() is deprecated from Node 26 (DEP0205).
import module from "node:module";

if (module.registerHooks) {
  const { resolveSync, loadSync } = await import("./typescript-hooks.mjs");
  module.registerHooks({ resolve: resolveSync, load: loadSync });
} else {
  module.register("./typescript-hooks.mjs", import.meta.url);
}
