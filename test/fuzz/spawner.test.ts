// The spawner's frames under fuzzing (test/fuzz/spawner.ts): 10,000 inputs, a fixed seed.

import { describe } from "vitest";
import { spawner } from "./spawner.ts";
import { fuzzTests } from "./tests.ts";

describe("fuzz: spawner frames", () => fuzzTests(spawner));
