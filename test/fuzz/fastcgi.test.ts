// The FastCGI codec under fuzzing (test/fuzz/fastcgi.ts): 10,000 inputs, a fixed seed.

import { describe } from "vitest";
import { fastcgi } from "./fastcgi.ts";
import { fuzzTests } from "./tests.ts";

describe("fuzz: FastCGI codec", () => fuzzTests(fastcgi));
