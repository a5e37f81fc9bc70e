// The Prometheus text exposition (src/metrics/) read back by the Python
// client library's parser: names, types, label values with every character
// the format escapes, histogram buckets, special values.

import { describe, expect, test } from "vitest";
import { exposition, escapeLabelValue, formatValue } from "../src/metrics/exposition.ts";
import { Histogram } from "../src/metrics/histogram.ts";
import { parsePrometheus, prometheusParser, sampleValue } from "./helpers/metrics-prometheus.ts";

describe.skipIf(!prometheusParser)("Prometheus text format 0.0.4, read by a real parser", () => {
  test("label values with quotes, backslashes, line feeds and markup come back as written", () => {
    const tricky = ['routes[0] (fastcgi /app/*)', 'a "quoted" \\ path', "two\nlines", "<script>alert(1)</script>", "ünïcödé ✓", ""];
    const samples = tricky.map((route, i) => ({ labels: { route, code: "2xx" }, value: i + 1 }));
    const text = exposition([{ name: "postern_requests_total", help: 'Requests "answered"\\ by route\nand class.', type: "counter", samples }]);
    const families = parsePrometheus(text);
    expect(families).toHaveLength(1);
    expect(families[0]!.type).toBe("counter");
    expect(families[0]!.help).toBe('Requests "answered"\\ by route\nand class.');
    tricky.forEach((route, i) => expect(sampleValue(families, "postern_requests_total", { route, code: "2xx" })).toBe(i + 1));
  });

  test("a histogram's buckets are cumulative, +Inf holds every observation, sum and count agree", () => {
    const histogram = new Histogram([0.1, 1]);
    for (const seconds of [0.05, 0.1, 0.5, 2, 30]) histogram.observe(seconds);
    const families = parsePrometheus(exposition([{ name: "postern_request_duration_seconds", help: "Time.", type: "histogram", samples: [{ labels: { route: "r" }, histogram }] }]));
    const bucket = (le: string) => sampleValue(families, "postern_request_duration_seconds_bucket", { route: "r", le });
    expect(families[0]!.type).toBe("histogram");
    expect([bucket("0.1"), bucket("1"), bucket("+Inf")]).toEqual([2, 3, 5]);
    expect(sampleValue(families, "postern_request_duration_seconds_count", { route: "r" })).toBe(5);
    expect(sampleValue(families, "postern_request_duration_seconds_sum", { route: "r" })).toBeCloseTo(32.65);
  });

  test("gauges without labels, infinities and NaN", () => {
    const text = exposition([
      { name: "a", help: "A.", type: "gauge", samples: [{ labels: {}, value: 1.5e9 }] },
      { name: "b", help: "B.", type: "gauge", samples: [{ labels: { x: "1" }, value: Infinity }, { labels: { x: "2" }, value: -Infinity }, { labels: { x: "3" }, value: NaN }] },
    ]);
    const families = parsePrometheus(text);
    expect(sampleValue(families, "a")).toBe(1.5e9);
    expect(sampleValue(families, "b", { x: "1" })).toBe(Infinity);
    expect(sampleValue(families, "b", { x: "2" })).toBe(-Infinity);
    expect(sampleValue(families, "b", { x: "3" })).toBeNaN();
  });

  test("a family with no series yet is still a valid family", () => {
    const families = parsePrometheus(exposition([{ name: "postern_wasi_threads", help: "Threads.", type: "gauge", samples: [] }]));
    expect(families).toEqual([{ name: "postern_wasi_threads", type: "gauge", help: "Threads.", samples: [] }]);
  });
});

describe("exposition units", () => {
  test("label values escape backslash, quote and line feed only", () => {
    expect(escapeLabelValue('a\\b"c\nd\te')).toBe('a\\\\b\\"c\\nd\te');
  });

  test("special values are written as Go reads them", () => {
    expect([Infinity, -Infinity, NaN, 0.25].map(formatValue)).toEqual(["+Inf", "-Inf", "NaN", "0.25"]);
  });

  test("an invalid metric or label name is refused, never written", () => {
    expect(() => exposition([{ name: "bad-name", help: "", type: "gauge", samples: [] }])).toThrow(/metric name/);
    expect(() => exposition([{ name: "ok", help: "", type: "gauge", samples: [{ labels: { "le-x": "1" }, value: 1 }] }])).toThrow(/label name/);
  });

  test("bounds must increase", () => {
    expect(() => new Histogram([1, 1])).toThrow();
  });
});
