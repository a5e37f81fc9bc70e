// The Prometheus text exposition format, version 0.0.4
// (https://prometheus.io/docs/instrumenting/exposition_formats/#text-based-format):
// per metric family a `# HELP` and a `# TYPE` line, then one line per sample,
// `name{label="value",...} value`. Label values escape `\`, `"` and line
// feeds; HELP text escapes `\` and line feeds; values are Go floats, with
// `+Inf`, `-Inf` and `NaN`.

import type { Histogram } from "./histogram.ts";

export const CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

export type Labels = Readonly<Record<string, string>>;

export interface Sample {
  labels: Labels;
  value: number;
}

export type Family =
  | { name: string; help: string; type: "counter" | "gauge"; samples: readonly Sample[] }
  | { name: string; help: string; type: "histogram"; samples: readonly { labels: Labels; histogram: Histogram }[] };

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** The text of every family, each line ended by "\n". */
export function exposition(families: readonly Family[]): string {
  let out = "";
  for (const family of families) {
    if (!METRIC_NAME.test(family.name)) throw new Error(`invalid metric name ${JSON.stringify(family.name)}`);
    out += `# HELP ${family.name} ${escapeHelp(family.help)}\n# TYPE ${family.name} ${family.type}\n`;
    if (family.type === "histogram") {
      for (const { labels, histogram } of family.samples) out += histogramLines(family.name, labels, histogram);
    } else {
      for (const sample of family.samples) out += line(family.name, sample.labels, sample.value);
    }
  }
  return out;
}

function histogramLines(name: string, labels: Labels, histogram: Histogram): string {
  const counts = histogram.cumulative();
  let out = "";
  histogram.bounds.forEach((bound, i) => (out += line(`${name}_bucket`, { ...labels, le: formatValue(bound) }, counts[i]!)));
  out += line(`${name}_bucket`, { ...labels, le: "+Inf" }, counts[counts.length - 1]!);
  out += line(`${name}_sum`, labels, histogram.sum);
  return out + line(`${name}_count`, labels, histogram.count);
}

function line(name: string, labels: Labels, value: number): string {
  const pairs = Object.entries(labels).map(([key, v]) => {
    if (!LABEL_NAME.test(key) || key.startsWith("__")) throw new Error(`invalid label name ${JSON.stringify(key)}`);
    return `${key}="${escapeLabelValue(v)}"`;
  });
  return `${name}${pairs.length > 0 ? `{${pairs.join(",")}}` : ""} ${formatValue(value)}\n`;
}

/** A label value as the format quotes it: `\` as `\\`, `"` as `\"`, a line feed as `\n`. */
export function escapeLabelValue(value: string): string {
  return value.replace(/[\\"\n]/g, (c) => (c === "\n" ? "\\n" : `\\${c}`));
}

/** HELP text: `\` as `\\`, a line feed as `\n` (quotes stay as they are). */
function escapeHelp(text: string): string {
  return text.replace(/[\\\n]/g, (c) => (c === "\n" ? "\\n" : "\\\\"));
}

/** A value as Go's ParseFloat reads it back. */
export function formatValue(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}
