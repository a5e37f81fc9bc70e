// Sends raw request bytes over a fresh TCP connection and records everything
// the server does with them: the answers (several, when requests are
// pipelined), and how the connection ended. Unlike raw-http.ts it does not
// need the request to say `Connection: close`: once the server goes quiet the
// client half-closes, as the end of a client's input (RFC 9112 §9.6), and a
// server waiting for more bytes then has to answer or close.

import { connect } from "node:net";

export interface Answer {
  status: number;
  /** Field lines in order, names lower-cased. */
  headers: [string, string][];
  /** The body, chunked coding removed (RFC 9112 §7.1). */
  body: Buffer;
}

export interface Exchange {
  answers: Answer[];
  /** closed: the server closed (FIN); reset: ECONNRESET; timeout: still open after the time limit. */
  end: "closed" | "reset" | "timeout";
  raw: Buffer;
}

export function exchange(port: number, request: Uint8Array, options: { idleMs?: number; firstByteMs?: number; timeoutMs?: number } = {}): Promise<Exchange> {
  const idleMs = options.idleMs ?? 150;
  // A server busy with the request is not a quiet one: the first answer may take longer to come.
  const firstByteMs = options.firstByteMs ?? idleMs;
  const timeoutMs = options.timeoutMs ?? 5_000;
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let end: Exchange["end"] = "closed";
    const socket = connect({ port, host: "127.0.0.1", allowHalfOpen: true }, () => socket.write(request));
    let idle = setTimeout(halfClose, firstByteMs);
    const limit = setTimeout(() => {
      end = "timeout";
      socket.destroy();
    }, timeoutMs);
    function halfClose() {
      if (!socket.writableEnded) socket.end();
    }
    socket.on("data", (d: Buffer) => {
      chunks.push(d);
      clearTimeout(idle);
      idle = setTimeout(halfClose, idleMs);
    });
    socket.on("end", () => socket.end());
    socket.on("error", (err: NodeJS.ErrnoException) => {
      end = err.code === "ECONNRESET" ? "reset" : end;
    });
    socket.on("close", () => {
      clearTimeout(idle);
      clearTimeout(limit);
      const raw = Buffer.concat(chunks);
      resolve({ answers: parseAnswers(raw), end, raw });
    });
  });
}

/** Splits a byte stream into responses by their framing (RFC 9112 §6.3); a last one without framing runs to the end. */
export function parseAnswers(bytes: Buffer): Answer[] {
  const answers: Answer[] = [];
  let at = 0;
  while (at < bytes.length) {
    const headEnd = bytes.indexOf("\r\n\r\n", at);
    if (headEnd < 0) throw new Error(`no end of header in ${JSON.stringify(bytes.subarray(at, at + 200).toString("latin1"))}`);
    const [statusLine, ...lines] = bytes.subarray(at, headEnd).toString("latin1").split("\r\n");
    const status = /^HTTP\/1\.[01] (\d{3})/.exec(statusLine!);
    if (!status) throw new Error(`bad status line ${JSON.stringify(statusLine)}`);
    const headers = lines.map((line): [string, string] => {
      const colon = line.indexOf(":");
      return [line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim()];
    });
    const field = (name: string) => headers.find(([n]) => n === name)?.[1];
    let bodyStart = headEnd + 4;
    let body: Buffer;
    if (/chunked/i.test(field("transfer-encoding") ?? "")) {
      const parts: Buffer[] = [];
      for (;;) {
        const lineEnd = bytes.indexOf("\r\n", bodyStart);
        if (lineEnd < 0) throw new Error("chunked body cut short");
        const size = parseInt(bytes.subarray(bodyStart, lineEnd).toString("latin1"), 16);
        if (Number.isNaN(size)) throw new Error("bad chunk size");
        if (size === 0) {
          const trailerEnd = bytes.indexOf("\r\n\r\n", lineEnd);
          bodyStart = trailerEnd < 0 ? bytes.length : trailerEnd + 4;
          break;
        }
        parts.push(bytes.subarray(lineEnd + 2, lineEnd + 2 + size));
        bodyStart = lineEnd + 2 + size + 2;
      }
      body = Buffer.concat(parts);
      at = bodyStart;
    } else if (field("content-length") !== undefined) {
      const length = Number(field("content-length"));
      body = bytes.subarray(bodyStart, bodyStart + length);
      at = bodyStart + length;
    } else {
      const bodyless = Number(status[1]) === 204 || Number(status[1]) === 304;
      body = bodyless ? Buffer.alloc(0) : bytes.subarray(bodyStart);
      at = bodyless ? bodyStart : bytes.length;
    }
    answers.push({ status: Number(status[1]), headers, body });
  }
  return answers;
}
