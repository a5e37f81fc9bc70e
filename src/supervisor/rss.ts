// A process's resident set size, read from Linux's /proc/PID/status (proc(5):
// "VmRSS: ... kB") through the Runtime's filesystem: what uWSGI's
// reload-on-rss and Granian's workers-max-rss look at.

import type { FileSystem } from "../runtime.ts";

/** Bytes resident, or undefined where /proc cannot tell (another OS, the process gone). */
export async function residentBytes(fs: FileSystem, pid: number): Promise<number | undefined> {
  let text = "";
  try {
    const decoder = new TextDecoder();
    const reader = fs.readStream(`/proc/${pid}/status`).getReader();
    for (let r = await reader.read(); !r.done; r = await reader.read()) text += decoder.decode(r.value, { stream: true });
  } catch {
    return undefined;
  }
  const match = /^VmRSS:\s+(\d+)\s+kB$/m.exec(text);
  return match ? Number(match[1]) * 1024 : undefined;
}
