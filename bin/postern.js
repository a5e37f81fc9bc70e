#!/usr/bin/env node
// The `postern` command. In the installed package it runs the built
// JavaScript (dist/bin/postern.js) as it is; in a checkout, where the
// TypeScript sources sit beside this file, it runs them through the
// TypeScript hooks, so a change needs no build to be tried.
import module from "node:module";
import { existsSync } from "node:fs";

// Node >= 22.1 keeps compiled code between runs (nodejs.org/api/module.html#module-compile-cache).
module.enableCompileCache?.();

const sources = new URL("./postern.ts", import.meta.url);
if (existsSync(sources)) {
  await import("../runtimes/node/register.mjs");
  await import(sources.href);
} else {
  await import("../dist/bin/postern.js");
}
