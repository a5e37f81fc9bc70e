// Small byte helpers over Uint8Array.

const EMPTY = new Uint8Array(0);

/** Joins byte arrays; returns the only part itself when there is just one. */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 0) return EMPTY;
  if (parts.length === 1) return parts[0]!;
  let length = 0;
  for (const part of parts) length += part.byteLength;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.byteLength;
  }
  return out;
}

/** Reads a whole stream into memory, failing once more than `limit` bytes arrive. */
export async function readAllLimited(
  stream: ReadableStream<Uint8Array>,
  limit: number,
  onOverLimit: () => Error,
): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let length = 0;
  const reader = stream.getReader();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return concatBytes(parts);
    length += value.byteLength;
    if (length > limit) {
      await reader.cancel();
      throw onOverLimit();
    }
    parts.push(value);
  }
}
