// The request series (src/metrics/requests.ts): finished requests counted by
// route and status class, their times, and their backends' times.

import { expect, test } from "vitest";
import { RequestMetrics } from "../src/metrics/requests.ts";

test("status classes per route, none for a client that left first, (none) for no route", () => {
  const m = new RequestMetrics();
  for (const status of [200, 204, 404, 502, undefined]) m.observe({ route: "r", status, durationMs: 1 });
  m.observe({ status: 404, durationMs: 1 });
  expect(m.requestSamples()).toEqual([
    { labels: { route: "r", code: "2xx" }, value: 2 },
    { labels: { route: "r", code: "4xx" }, value: 1 },
    { labels: { route: "r", code: "5xx" }, value: 1 },
    { labels: { route: "r", code: "none" }, value: 1 },
    { labels: { route: "(none)", code: "4xx" }, value: 1 },
  ]);
  expect(m.totals("r")).toEqual({ requests: 5, errors: 1 });
  expect(m.totals("elsewhere")).toEqual({ requests: 0, errors: 0 });
});

test("request times in seconds per route; upstream times per route and backend, only where a backend answered", () => {
  const m = new RequestMetrics();
  m.observe({ route: "r", status: 200, durationMs: 30, backend: "127.0.0.1:9000", upstreamMs: 20 });
  m.observe({ route: "r", status: 200, durationMs: 3000, backend: "127.0.0.1:9001", upstreamMs: 2000 });
  m.observe({ route: "r", status: 404, durationMs: 1 });
  const [latency] = m.latencySamples();
  expect(latency!.labels).toEqual({ route: "r" });
  expect(latency!.histogram.count).toBe(3);
  expect(latency!.histogram.sum).toBeCloseTo(3.031);
  expect(m.upstreamSamples().map((s) => [s.labels.backend, s.histogram.count, s.histogram.sum])).toEqual([
    ["127.0.0.1:9000", 1, 0.02],
    ["127.0.0.1:9001", 1, 2],
  ]);
});
