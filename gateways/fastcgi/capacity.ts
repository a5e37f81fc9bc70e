// What a FastCGI backend can take at once, asked with FCGI_GET_VALUES
// (FastCGI spec §4.1) on a connection of its own. php-fpm answers only
// FCGI_MPXS_CONNS=0 and then closes the connection; a backend that does not
// answer within the probe time is treated as one whose capacity is unknown.

import type { Address } from "../../src/address.ts";
import type { Runtime } from "../../src/runtime.ts";
import { RecordReader } from "./reader.ts";
import { RecordType } from "./record.ts";
import { decodeGetValuesResult, encodeGetValues, FCGI_MAX_CONNS, FCGI_MAX_REQS, FCGI_MPXS_CONNS } from "./values.ts";

export interface BackendValues {
  maxConns?: number;
  maxReqs?: number;
  multiplexed: boolean;
}

/** Resolves with what the backend said, `undefined` when it did not answer, and rejects when it cannot be reached. */
export async function probeValues(runtime: Runtime, addr: Address, timeoutMs: number): Promise<BackendValues | undefined> {
  const duplex = await runtime.connect(addr);
  const timer = setTimeout(() => duplex.close(), timeoutMs);
  try {
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
  } catch {
    return undefined;
  } finally {
    clearTimeout(timer);
    duplex.close();
  }
}

function positiveInt(text: string | undefined): number | undefined {
  if (text === undefined || !/^\d+$/.test(text)) return undefined;
  const n = Number(text);
  return n > 0 ? n : undefined;
}
