// TCP and unix-socket connections for Node, exposed as Web streams (the
// Runtime's Duplex). The readable side pauses the socket when its queue is
// full, so a slow consumer pushes back on the backend.

import { connect as netConnect, type Socket } from "node:net";
import type { Address } from "../../src/address.ts";
import type { Duplex } from "../../src/runtime.ts";

const READ_HIGH_WATER = 64 * 1024;

export function connect(addr: Address): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    const socket =
      addr.kind === "unix" ? netConnect({ path: addr.path }) : netConnect({ host: addr.host, port: addr.port });
    socket.setNoDelay(true);
    const onError = (err: Error) => reject(err);
    socket.once("error", onError);
    socket.once("connect", () => {
      socket.off("error", onError);
      resolve(socketDuplex(socket));
    });
  });
}

export function socketDuplex(socket: Socket): Duplex {
  let ended = false;
  const readable = new ReadableStream<Uint8Array>(
    {
      start(controller) {
        socket.on("data", (chunk: Buffer) => {
          controller.enqueue(chunk);
          if ((controller.desiredSize ?? 1) <= 0) socket.pause();
        });
        socket.on("end", () => {
          if (ended) return;
          ended = true;
          controller.close();
        });
        socket.on("close", () => {
          if (ended) return;
          ended = true;
          controller.close();
        });
        socket.on("error", (err) => {
          if (ended) return;
          ended = true;
          controller.error(err);
        });
      },
      pull() {
        if (socket.isPaused()) socket.resume();
      },
      cancel() {
        socket.destroy();
      },
    },
    { highWaterMark: READ_HIGH_WATER, size: (chunk) => chunk.byteLength },
  );

  const writable = new WritableStream<Uint8Array>({
    write(chunk) {
      if (socket.destroyed) return Promise.reject(new Error("socket closed"));
      if (socket.write(chunk)) return undefined;
      return new Promise<void>((resolve, reject) => {
        const done = (err?: Error) => {
          socket.off("drain", onDrain);
          socket.off("close", onClose);
          if (err) reject(err);
          else resolve();
        };
        const onDrain = () => done();
        const onClose = () => done(new Error("socket closed"));
        socket.once("drain", onDrain);
        socket.once("close", onClose);
      });
    },
    close() {
      socket.end();
    },
    abort() {
      socket.destroy();
    },
  });

  return {
    readable,
    writable,
    close() {
      socket.destroy();
    },
  };
}
