// The bounded table Deno's refused connections and Bun's request counts keep
// per peer (runtimes/common/peers.ts): past 4096 connections the least
// recently seen is forgotten, and a unix socket's peer has no name.

import { describe, expect, it } from "vitest";
import { RequestCounts } from "../runtimes/bun/request-counts.ts";
import { peerOf } from "../runtimes/common/peers.ts";

describe("peers", () => {
  it("a TCP peer is named by address and port; a unix socket's has no name", () => {
    expect(peerOf("127.0.0.1", 5000)).toBe("127.0.0.1 5000");
    expect(peerOf(undefined, undefined)).toBeUndefined();
  });

  it("past 4096 connections counted, the least recently seen starts over; one seen again is kept", () => {
    const counts = new RequestCounts(3, 60_000);
    expect(counts.last("old 1")).toBe(false);
    expect(counts.last("kept 1")).toBe(false);
    for (let i = 0; i < 4095; i++) {
      counts.last(`other ${i}`);
      // Seen again halfway: it is no longer among the least recent.
      if (i === 2000) expect(counts.last("kept 1")).toBe(false);
    }
    // "kept 1" reaches its third request; "old 1" was forgotten and counts its first again.
    expect(counts.last("kept 1")).toBe(true);
    expect(counts.last("old 1")).toBe(false);
    expect(counts.last("old 1")).toBe(false);
    expect(counts.last("old 1")).toBe(true);
  });
});
