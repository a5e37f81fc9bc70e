// The Runtime's connect timeout (src/runtime.ts connect): past `timeoutMs`
// the attempt fails with an Error named "TimeoutError". For runtimes whose
// connect is a promise without a way to cancel it, the attempt is abandoned
// and a connection made after all is closed.

/** The error a connect attempt fails with at its timeout. */
export function connectTimeoutError(timeoutMs: number): Error {
  const err = new Error(`connect timed out after ${timeoutMs} ms`);
  err.name = "TimeoutError";
  return err;
}

export async function withConnectTimeout<T>(connecting: Promise<T>, timeoutMs: number | undefined, close: (late: T) => void): Promise<T> {
  if (timeoutMs === undefined) return connecting;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      void connecting.then(close, () => undefined);
      reject(connectTimeoutError(timeoutMs));
    }, timeoutMs);
  });
  try {
    return await Promise.race([connecting, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
