// A WebSocket relayed message by message, for servers that hand a route the
// client's socket as messages rather than bytes (Deno.upgradeWebSocket,
// Bun's server.upgrade): the backend's side is the tunnel a proxy route got
// (upgrade.ts), spoken to as a client (websocket-frames.ts). Pings from the
// backend are answered here (RFC 6455 §5.5.2); the close handshake is
// relayed both ways with its code and reason (§5.5.1, §7).

import type { UpgradeTunnel } from "../../src/runtime.ts";
import { BINARY, CLOSE, closePayload, encodeFrame, FrameDecoder, MessageTooBig, parseClose, PING, PONG, TEXT } from "./websocket-frames.ts";

/** The client's socket as the server offers it. */
export interface MessageSocket {
  send(data: string | Uint8Array): void;
  close(code?: number, reason?: string): void;
  /** Bytes sent and not yet written to the client's connection (WebSocket's bufferedAmount). */
  readonly bufferedAmount?: number;
}

/** What the server tells the relay of the client's side. */
export interface ClientSide {
  message(data: string | Uint8Array): void;
  closed(code: number, reason: string): void;
}

/**
 * The largest message relayed from the backend, which is held whole before it
 * is sent on (the servers' send takes whole messages); a larger one closes
 * both sides with 1009 (§7.4.1). 16 MiB is Bun's own bound on a client's
 * message (maxPayloadLength), so both directions are bounded alike.
 */
const MAX_MESSAGE = 16 * 1024 * 1024;
/** The client's messages held for a backend that does not read them, at most; past it the relay closes. */
const MAX_QUEUED = 16 * 1024 * 1024;
/**
 * The backend is read only while less than this is waiting to go to the
 * client: a client that reads slowly (or not at all) then holds the backend
 * back through TCP, as on Node's byte relay, instead of filling memory.
 * The servers signal no drain to a relay (Deno none at all), so the wait
 * looks again every BACKPRESSURE_POLL_MS.
 */
const HIGH_WATER = 1024 * 1024;
const BACKPRESSURE_POLL_MS = 20;
/** After a close frame is sent, how long the backend's reply is waited for before its connection is closed. */
const CLOSE_WAIT_MS = 5_000;

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/** The subprotocol the backend chose, for the server to accept the client's upgrade with. */
export function chosenProtocol(tunnel: UpgradeTunnel): string | undefined {
  return tunnel.headers.find(([name]) => name.toLowerCase() === "sec-websocket-protocol")?.[1];
}

/** Starts relaying between `client` and the backend; returns what the server calls as the client's side moves. */
export function relayMessages(tunnel: UpgradeTunnel, client: MessageSocket): ClientSide {
  const duplex = tunnel.duplex;
  let writes = Promise.resolve();
  let closeSent = false;
  let clientClosed = false;
  const frames = new FrameDecoder(MAX_MESSAGE);
  const mask = () => crypto.getRandomValues(new Uint8Array(4));
  // Frames go out in order, each write waited for (the backend's backpressure).
  /** Bytes of the client's messages not yet written to the backend. */
  let queued = 0;
  const send = (opcode: number, payload: Uint8Array) => {
    queued += payload.byteLength;
    writes = writes
      .then(() => duplex.write(encodeFrame(opcode, payload, mask())))
      .then(() => void (queued -= payload.byteLength))
      .catch(() => duplex.close());
    return writes;
  };
  const closeClient = (code?: number, reason?: string) => {
    if (clientClosed) return;
    clientClosed = true;
    try {
      client.close(code, reason);
    } catch {
      // Codes a server's API will not send (1001, 1011...): closed without one.
      client.close();
    }
  };
  const sendClose = (code: number | undefined, reason: string) => {
    if (closeSent) return;
    closeSent = true;
    void send(CLOSE, closePayload(code, reason)).then(() => setTimeout(() => duplex.close(), CLOSE_WAIT_MS));
  };
  const fromBackend = async () => {
    let chunk: Uint8Array | null = tunnel.rest;
    while (chunk !== null) {
      for (const message of frames.push(chunk)) {
        if (message.opcode === TEXT) client.send(decoder.decode(message.payload));
        else if (message.opcode === BINARY) client.send(message.payload);
        else if (message.opcode === PING) void send(PONG, message.payload);
        else if (message.opcode === CLOSE) {
          const { code, reason } = parseClose(message.payload);
          // §5.5.1: the close is answered; the backend then ends the connection.
          sendClose(code === 1005 ? undefined : code, reason);
          closeClient(code === 1005 ? undefined : code, reason);
        }
      }
      while (!clientClosed && (client.bufferedAmount ?? 0) > HIGH_WATER) await new Promise((resolve) => setTimeout(resolve, BACKPRESSURE_POLL_MS));
      chunk = await duplex.read();
    }
  };
  fromBackend().then(
    () => {
      duplex.close();
      closeClient();
    },
    (err: unknown) => {
      // A message too big to hold (1009), a protocol violation or a broken connection (1011): both sides end (§7.4.1).
      const code = err instanceof MessageTooBig ? 1009 : 1011;
      sendClose(code, "");
      duplex.close();
      closeClient(code, code === 1009 ? "message too big" : "backend error");
    },
  );
  return {
    message: (data) => {
      if (closeSent) return;
      void send(typeof data === "string" ? TEXT : BINARY, typeof data === "string" ? encoder.encode(data) : data);
      // The servers cannot stop reading a client's messages: one the backend does not keep up with is closed (1013, try again later) rather than held without bound.
      if (queued > MAX_QUEUED) {
        sendClose(1013, "");
        closeClient(1013, "backend not reading");
      }
    },
    closed: (code, reason) => {
      clientClosed = true;
      // 1005 and 1006 are never sent in a close frame (§7.4.1).
      sendClose(code === 1005 || code === 1006 ? undefined : code, reason);
    },
  };
}
