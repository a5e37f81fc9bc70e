// Prometheus text read back by a real parser: the Python client library's
// (Debian python3-prometheus-client), run by /usr/bin/python3, which alone
// sees Debian's Python packages. What it gives back: every family with its
// type and samples, labels and values as the parser read them.

import { spawnSync } from "node:child_process";
import { requireBinary } from "./binaries.ts";

export interface ParsedSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface ParsedFamily {
  name: string;
  type: string;
  help: string;
  samples: ParsedSample[];
}

const PYTHON = requireBinary(["python3"], "python3-prometheus-client") && "/usr/bin/python3";

// Infinities and NaN are not JSON: they travel as strings.
const SCRIPT = `
import json, math, sys
from prometheus_client.parser import text_string_to_metric_families
def value(v):
    return v if math.isfinite(v) else str(v)
out = [{"name": f.name, "type": f.type, "help": f.documentation,
        "samples": [{"name": s.name, "labels": s.labels, "value": value(s.value)} for s in f.samples]}
       for f in text_string_to_metric_families(sys.stdin.read())]
json.dump(out, sys.stdout)
`;

/** Whether the parser can be run here (false only off CI, where requireBinary warned). */
export const prometheusParser = PYTHON !== undefined;

/** The families of `text`; throws with the parser's own message when it refuses the text. */
export function parsePrometheus(text: string): ParsedFamily[] {
  const run = spawnSync(PYTHON!, ["-c", SCRIPT], { input: text, encoding: "utf8", timeout: 30_000 });
  if (run.status !== 0) throw new Error(`the Prometheus parser refused the text: ${run.stderr}`);
  const families = JSON.parse(run.stdout) as ParsedFamily[];
  const special: Record<string, number> = { inf: Infinity, "-inf": -Infinity, nan: NaN };
  for (const family of families) for (const sample of family.samples) sample.value = special[String(sample.value)] ?? Number(sample.value);
  return families;
}

/** The value of the sample `name` whose labels include `labels`; undefined when there is none. */
export function sampleValue(families: ParsedFamily[], name: string, labels: Record<string, string> = {}): number | undefined {
  for (const family of families) {
    for (const sample of family.samples) {
      if (sample.name === name && Object.entries(labels).every(([k, v]) => sample.labels[k] === v)) return sample.value;
    }
  }
  return undefined;
}
