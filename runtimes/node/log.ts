// Log lines for Node, batched per event-loop turn: one write of many lines
// instead of a write per request.

type Sink = { write(text: string): unknown };

export function lineWriter(sink: Sink): (line: string) => void {
  let pending: string[] = [];
  const flush = () => {
    const text = pending.join("");
    pending = [];
    sink.write(text);
  };
  return (line) => {
    if (pending.length === 0) setImmediate(flush);
    pending.push(line, "\n");
  };
}
