// Responses whose body a backend is still producing, as a gateway marks them.
// Those are read ahead of the client (src/buffer/read-ahead.ts); an answer
// already whole in memory is not, and is not even looked at: reading a
// Response's body can cost more than the rest of a small answer (Node's
// server then builds the whole Response; Deno and Bun lose their fast path).

const live = new WeakSet<Response>();

/** Marks `response` as streamed from a backend; returns it. */
export function liveResponse(response: Response): Response {
  live.add(response);
  return response;
}

export function isLiveResponse(response: Response): boolean {
  return live.has(response);
}
