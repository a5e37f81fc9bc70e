#!/usr/bin/env node
// The `postern` command. In the installed package it runs the built
// JavaScript (dist/bin/postern.js) as it is; in a checkout, where the
// TypeScript sources sit beside this file, it runs them through the
// TypeScript hooks, so a change needs no build to be tried.
import module from "node:module";
import { existsSync } from "node:fs";

// SIGUSR1 reopens the log files (bin/run.ts), as nginx's USR1 does; Node's
// default for it would start the inspector on 127.0.0.1:9229, where any
// local user could run code as postern. A listener, first thing, stops that
// for commands that install none of their own (check) and until they do.
process.on("SIGUSR1", () => {});

// Node >= 22.1 keeps compiled code between runs (nodejs.org/api/module.html#module-compile-cache).
module.enableCompileCache?.();

const sources = new URL("./postern.ts", import.meta.url);
if (existsSync(sources)) {
  await import("../runtimes/node/register.mjs");
  await import(sources.href);
} else {
  await import("../dist/bin/postern.js");
}
