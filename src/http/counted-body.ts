// A response body that counts its bytes as the server takes them, and says
// when it is over: read to its end, or cancelled (the server stops reading
// when its client goes away). It pulls a chunk only when the server asks for
// one (high-water mark 0), so what it counts is what the server was handed to
// send, never bytes read ahead on its behalf: the bytes an access log reports
// as sent (nginx's $body_bytes_sent), also for a streamed answer cut short.

/** Told of each chunk taken and, once, of the end. */
export interface BodyCount {
  sent(bytes: number): void;
  /** `completed`: the body was read to its end; false when it was cancelled or failed. */
  ended(completed: boolean): void;
}

export function countedBody(body: ReadableStream<Uint8Array>, count: BodyCount): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  let over = false;
  const end = (completed: boolean) => {
    if (over) return;
    over = true;
    count.ended(completed);
  };
  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        let chunk: ReadableStreamReadResult<Uint8Array>;
        try {
          chunk = await reader.read();
        } catch (err) {
          end(false);
          controller.error(err);
          return;
        }
        if (chunk.done) {
          controller.close();
          end(true);
          return;
        }
        count.sent(chunk.value.byteLength);
        controller.enqueue(chunk.value);
      },
      async cancel(reason) {
        end(false);
        await reader.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
}
