// src/command-line.ts: one argument read as getopt_long and argparse read it.

import { expect, test } from "vitest";
import { optionOf } from "../src/command-line.ts";

test.each([
  ["--workers", { name: "--workers", inline: undefined }],
  ["--workers=4", { name: "--workers", inline: "4" }],
  ["--env=A=b", { name: "--env", inline: "A=b" }],
  ["--pid=", { name: "--pid", inline: "" }],
  ["-w", { name: "-w", inline: undefined }],
  ["-w4", { name: "-w", inline: "4" }],
  ["-w=4", { name: "-w", inline: "4" }],
  ["-eA=b", { name: "-e", inline: "A=b" }],
])("%j is an option", (arg, option) => {
  expect(optionOf(arg)).toEqual(option);
});

test.each(["app:application", "-", "", "./cgi-bin"])("%j is an operand", (arg) => {
  expect(optionOf(arg)).toBeUndefined();
});
