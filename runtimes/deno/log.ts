// Log lines for Deno, batched per turn of the event loop: one write of many
// lines instead of a write per request.

const encoder = new TextEncoder();

export function lineWriter(sink: { writeSync(bytes: Uint8Array): number }): (line: string) => void {
  let pending: string[] = [];
  const flush = () => {
    const bytes = encoder.encode(pending.join(""));
    pending = [];
    for (let offset = 0; offset < bytes.byteLength; ) offset += sink.writeSync(bytes.subarray(offset));
  };
  return (line) => {
    if (pending.length === 0) setTimeout(flush, 0);
    pending.push(line, "\n");
  };
}
