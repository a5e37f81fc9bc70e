// The `[client]` table and `graceful_timeout` in postern.toml: defaults,
// units, errors naming the key and line, and the routes' body_timeout and
// send_timeout following [client] unless a route sets its own; and the count
// by which Bun's server keeps keepalive_requests.

import { describe, expect, it, vi } from "vitest";
import { gatewaySchemas } from "../gateways/index.ts";
import { RequestCounts } from "../runtimes/bun/request-counts.ts";
import { DEFAULT_CLIENT_LIMITS } from "../src/client-limits.ts";
import { parseConfig } from "../src/config.ts";
import { configError } from "./helpers/config-error.ts";
import { readmeBlock } from "./helpers/readme.ts";

const ROUTE = `[[routes]]\ngateway = "cgi"\nroot = "/srv/cgi-bin"\n`;
const parse = (text: string) => parseConfig(text, "postern.toml", gatewaySchemas);

describe("[client]", () => {
  it("defaults when absent: at least as strict as nginx, lighttpd and Gunicorn", () => {
    const config = parse(ROUTE);
    expect(config.client).toEqual({
      maxRequestLine: 4094,
      maxHeaderSize: 8190,
      maxHeaders: 100,
      maxHeaderBytes: 8192,
      headerTimeout: 30_000,
      bodyTimeout: 60_000,
      sendTimeout: 60_000,
      keepaliveTimeout: 5_000,
      keepaliveRequests: 1000,
    });
    expect(config.gracefulTimeout).toBe(30_000);
  });

  it("takes sizes and durations in their units; keys left out keep their defaults", () => {
    const config = parse(`graceful_timeout = "2s"\n[client]\nmax_header_bytes = "16k"\nheader_timeout = "10s"\nkeepalive_requests = 50\n${ROUTE}`);
    expect(config.client).toEqual({ ...DEFAULT_CLIENT_LIMITS, maxHeaderBytes: 16_384, headerTimeout: 10_000, keepaliveRequests: 50 });
    expect(config.gracefulTimeout).toBe(2_000);
  });

  it("the README's example loads", () => {
    const config = parse(readmeBlock("toml", "[client]") + ROUTE);
    expect(config.client).toEqual({ ...DEFAULT_CLIENT_LIMITS, headerTimeout: 10_000, keepaliveRequests: 100 });
  });

  it("routes take [client]'s body_timeout and send_timeout unless they set their own", () => {
    const config = parse(`[client]\nbody_timeout = "7s"\nsend_timeout = "9s"\n${ROUTE}${ROUTE}body_timeout = "3s"\n`);
    expect(config.routes[0]!.options).toMatchObject({ body_timeout: 7_000, send_timeout: 9_000 });
    expect(config.routes[1]!.options).toMatchObject({ body_timeout: 3_000, send_timeout: 9_000 });
  });

  it("a static route, which has no body_timeout, gets none", () => {
    const config = parse(`[client]\nbody_timeout = "7s"\n[[routes]]\ngateway = "static"\nroot = "/srv/www"\n`);
    expect(config.routes[0]!.options).not.toHaveProperty("body_timeout");
  });

  it.each([
    [`[client]\nheader_timeout = "soon"\n`, 2, "client.header_timeout", /duration/],
    [`# limits\n[client]\n\nmax_headers = 0\n`, 4, "client.max_headers", /at least 1/],
    [`[client]\nmax_request_line = "big"\n`, 2, "client.max_request_line", /size/],
    [`[client]\nkeepalive_request = 10\n`, 2, "client.keepalive_request", /did you mean "keepalive_requests"/],
    [`graceful_timeout = -1\n`, 1, "graceful_timeout", /./],
    // Longer than a timer can wait (2^31 - 1 ms): it would fire at once.
    [`graceful_timeout = "720h"\n`, 1, "graceful_timeout", /at most 2147483647 ms/],
    [`[client]\nkeepalive_timeout = "600h"\n`, 2, "client.keepalive_timeout", /at most/],
    [`[client]\nbody_timeout = "600h"\n`, 2, "client.body_timeout", /at most/],
    [`[[routes]]\ngateway = "cgi"\nroot = "/srv/cgi-bin"\nsend_timeout = "600h"\n`, 4, "routes[0].send_timeout", /at most/],
    [`[[routes]]\ngateway = "fastcgi"\nbackend = "127.0.0.1:9000"\nroot = "/srv"\nqueue_timeout = "600h"\n`, 5, "routes[0].queue_timeout", /at most 2147483647 ms/],
    [`[[routes]]\ngateway = "cgi"\nroot = "/srv/cgi-bin"\ntimeout = "600h"\n`, 4, "routes[0].timeout", /at most 2147483647 ms/],
    [`client = 5\n`, 1, "client", /expected a table/],
  ])("a wrong value names the key and its line: %j", (text, line, key, message) => {
    const error = configError(text + ROUTE, gatewaySchemas);
    expect(error.line).toBe(line);
    expect(error.key).toBe(key);
    expect(error.message).toMatch(message);
  });
});

describe("RequestCounts (keepalive_requests on Bun)", () => {
  it("the limit-th request of a connection is its last; other connections count apart", () => {
    const counts = new RequestCounts(3, 5_000);
    expect([counts.last("a 1"), counts.last("a 1"), counts.last("b 1"), counts.last("a 1")]).toEqual([false, false, false, true]);
    // Closed after its last: the next connection from that port starts afresh.
    expect(counts.last("a 1")).toBe(false);
  });

  it("a count idle longer than the idle timeout starts afresh (its connection is closed since)", () => {
    vi.useFakeTimers();
    try {
      const counts = new RequestCounts(2, 5_000);
      expect(counts.last("a 1")).toBe(false);
      vi.advanceTimersByTime(6_000);
      expect(counts.last("a 1")).toBe(false);
      expect(counts.last("a 1")).toBe(true);
    } finally {
      vi.useRealTimers();
    }
  });

  it("a limit of 1 closes after every request", () => {
    const counts = new RequestCounts(1, 5_000);
    expect([counts.last("a 1"), counts.last("a 1")]).toEqual([true, true]);
  });
});
