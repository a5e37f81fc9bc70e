// The Runtime's connect timeout (src/runtime.ts connect) for runtimes whose
// connect is a promise: past `timeoutMs` the attempt is abandoned with an
// Error named "TimeoutError", and a connection made after all is closed.

export async function withConnectTimeout<T>(connecting: Promise<T>, timeoutMs: number | undefined, close: (late: T) => void): Promise<T> {
  if (timeoutMs === undefined) return connecting;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      void connecting.then(close, () => undefined);
      const err = new Error(`connect timed out after ${timeoutMs} ms`);
      err.name = "TimeoutError";
      reject(err);
    }, timeoutMs);
  });
  try {
    return await Promise.race([connecting, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
