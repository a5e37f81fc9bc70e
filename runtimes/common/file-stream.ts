// A ranged byte stream over an open file, for the runtimes' FileSystem: read
// in chunks at increasing positions, and the file closed exactly once, when
// the stream ends, fails or is cancelled (a client that goes away).

const CHUNK = 64 * 1024;

/**
 * Bytes `range.start` to `range.end` inclusive (from 0 to the end when absent)
 * through `read`, which fills `into` from `position` and gives the count read
 * (0 at the end of the file). Never more than the range, even from a file that
 * grew since its size was announced.
 */
export function fileStream(
  read: (into: Uint8Array, position: number) => Promise<number>,
  close: () => unknown,
  range?: { start: number; end: number },
): ReadableStream<Uint8Array> {
  let position = range?.start ?? 0;
  let left = range ? range.end - range.start + 1 : Infinity;
  let closed = false;
  const done = async () => {
    if (closed) return;
    closed = true;
    await close();
  };
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const into = new Uint8Array(Math.min(CHUNK, left));
        const n = into.byteLength === 0 ? 0 : await read(into, position);
        if (n === 0) {
          await done();
          controller.close();
          return;
        }
        position += n;
        left -= n;
        controller.enqueue(into.subarray(0, n));
      } catch (err) {
        await done();
        throw err;
      }
    },
    cancel: done,
  });
}
