// What a FastCGI backend can take at once, asked with FCGI_GET_VALUES
// (FastCGI spec §4.1) on a connection of its own. php-fpm answers only
// FCGI_MPXS_CONNS=0 and then closes the connection; a backend that does not
// answer within the probe time is treated as one whose capacity is unknown.

import type { Address } from "../../src/address.ts";
import type { Duplex, Runtime } from "../../src/runtime.ts";
import { RecordReader } from "./reader.ts";
import { RecordType } from "./record.ts";
import { decodeGetValuesResult, encodeGetValues, FCGI_MAX_CONNS, FCGI_MAX_REQS, FCGI_MPXS_CONNS } from "./values.ts";

export interface BackendValues {
  maxConns?: number;
  maxReqs?: number;
  multiplexed: boolean;
}

/**
 * What the backend said; "silent" when it took the connection but did not
 * answer (or not in time); "unreachable" when no connection could be made
 * within `timeoutMs`, which bounds the whole exchange.
 */
export async function probeValues(
  runtime: Runtime,
  addr: Address,
  timeoutMs: number,
): Promise<BackendValues | "silent" | "unreachable"> {
  const started = Date.now();
  let duplex: Duplex;
  try {
    duplex = await runtime.connect(addr, { timeoutMs });
  } catch {
    return "unreachable";
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<"expired">((resolve) => {
    timer = setTimeout(() => resolve("expired"), Math.max(0, timeoutMs - (Date.now() - started)));
  });
  try {
    const values = await Promise.race([ask(duplex), expired]);
    return values === "expired" || values === undefined ? "silent" : values;
  } catch {
    return "silent";
  } finally {
    clearTimeout(timer);
    duplex.close();
  }
}

async function ask(duplex: Duplex): Promise<BackendValues | undefined> {
  await duplex.write(encodeGetValues([FCGI_MAX_CONNS, FCGI_MAX_REQS, FCGI_MPXS_CONNS]));
  const records = new RecordReader();
  let values: Map<string, string> | undefined;
  while (values === undefined) {
    const chunk = await duplex.read();
    if (chunk === null) return undefined;
    records.push(chunk, (record) => {
      if (record.type === RecordType.GET_VALUES_RESULT) values = decodeGetValuesResult(record.content);
    });
  }
  return {
    maxConns: positiveInt(values.get(FCGI_MAX_CONNS)),
    maxReqs: positiveInt(values.get(FCGI_MAX_REQS)),
    multiplexed: values.get(FCGI_MPXS_CONNS) === "1",
  };
}

/**
 * Requests on one connection are told apart by a 16-bit id (FastCGI spec
 * §3.3), so no backend serves more at once: a larger number (or one past
 * what a double holds, Infinity) is read as this, and the pool's arithmetic
 * on it stays finite.
 */
const MOST_A_BACKEND_MEANS = 65_535;

function positiveInt(text: string | undefined): number | undefined {
  if (text === undefined || !/^\d+$/.test(text)) return undefined;
  const n = Number(text);
  return n > 0 ? Math.min(n, MOST_A_BACKEND_MEANS) : undefined;
}
