// The runtimes' FileSystem answers "nothing there" with null, not an error.

export async function orNull<T>(work: () => Promise<T>): Promise<T | null> {
  try {
    return await work();
  } catch {
    return null;
  }
}
