// `node --import postern/register app.ts`: Node runs
// TypeScript sources, postern's and the app's (typescript-hooks.mjs).
import { register } from "node:module";

register("./typescript-hooks.mjs", import.meta.url);
