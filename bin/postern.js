#!/usr/bin/env node
// Launcher: lets Node run postern's TypeScript sources directly.
import "../runtimes/node/register.mjs";

await import("./postern.ts");
