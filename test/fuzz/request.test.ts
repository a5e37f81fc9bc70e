// Request head checks and path normalisation under fuzzing (test/fuzz/request.ts): 10,000 inputs per family, a fixed seed.

import { describe } from "vitest";
import { path, request } from "./request.ts";
import { fuzzTests } from "./tests.ts";

describe("fuzz: request head checks", () => fuzzTests(request));
describe("fuzz: request path normalisation", () => fuzzTests(path));
