// CGI response heads, NPH responses and Content-Length under fuzzing (test/fuzz/cgi.ts): 10,000 inputs per family, a fixed seed.

import { describe } from "vitest";
import { cgi, nph } from "./cgi.ts";
import { fuzzTests } from "./tests.ts";

describe("fuzz: CGI response heads", () => fuzzTests(cgi));
describe("fuzz: NPH responses", () => fuzzTests(nph));
