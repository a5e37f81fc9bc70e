// echoApp (echo-app.ts) served by postern's serve() on the runtime that runs
// this file: `<runtime> echo-server.ts PORT`.

import { serve } from "postern";
import { echoApp } from "./echo-app.ts";

const [port] = (typeof Deno !== "undefined" ? Deno.args : process.argv.slice(2)).map(Number);
await serve(echoApp(), { listen: [`127.0.0.1:${port}`] });

declare const Deno: { args: string[] } | undefined;
