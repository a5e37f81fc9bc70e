// Every decoder family under fuzzing, for `npm run fuzz` (bench/fuzz.ts).

import { cgi, nph } from "./cgi.ts";
import { fastcgi } from "./fastcgi.ts";
import type { FuzzFamily } from "./harness.ts";
import { path, request } from "./request.ts";
import { spawner } from "./spawner.ts";

export const families: FuzzFamily[] = [fastcgi, cgi, nph, spawner, request, path];
