// `node --import postern/register app.ts`: Node runs TypeScript sources, the
// app's and, in a checkout of postern, postern's own (typescript-hooks.mjs).
import { register } from "node:module";

register("./typescript-hooks.mjs", import.meta.url);
