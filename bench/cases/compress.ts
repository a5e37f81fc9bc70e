// Case `compress`: what answer compression costs. The same text (postern's
// own sources and docs, about 2 MiB, every file different) compressed as
// postern compresses an answer, in 16 KiB chunks each flushed, on each Node
// installed for the tests (zstd from 22.15), Bun and Deno: CPU ms per MiB of
// input, ratio, and what the flush per chunk adds; beside nginx's gzip filter
// serving the same file (its worker's CPU time per MiB, less that of serving
// it uncompressed).

import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { CommandCase } from "../case.ts";
import { processCpuMs, processTree } from "../cpu.ts";
import { nodeBinaries } from "../../test/helpers/node-versions.ts";
import { freePort } from "../../test/helpers/ports.ts";
import { stopProcessGroup, waitForPort } from "../../test/helpers/server-process.ts";

const ROOT = join(import.meta.dirname, "../..");
const MEASURE = join(ROOT, "bench/compress-measure.ts");
/** Requests per nginx location: about 40 MiB of input each. */
const NGINX_REQUESTS = 20;

interface Row {
  encoding: string;
  level: number;
  cpuMsPerMiB: number;
  size: number;
  unflushedSize?: number;
  unflushedCpuMsPerMiB?: number;
}

export const benchCase: CommandCase = {
  name: "compress",
  description:
    "CPU ms per MiB, ratio and the cost of a flush per 16 KiB chunk for gzip, brotli and zstd at several levels, with each runtime's native compressors as postern uses them " +
    "(Node releases installed for the tests, Bun, Deno), beside nginx's gzip filter on the same file.",
  requires: [{ names: ["nginx"], apt: "nginx-light" }],
  async measure(cleanup, binaries) {
    const dir = mkdtempSync(join(tmpdir(), "postern-compress-"));
    cleanup.add("the corpus", async () => rmSync(dir, { recursive: true, force: true }));
    const corpus = join(dir, "corpus.txt");
    const files = execFileSync("git", ["ls-files", "src/*.ts", "gateways/*.ts", "runtimes/*.ts", "docs/*.md", "test/*.ts"], { cwd: ROOT, encoding: "utf8" }).split("\n").filter(Boolean);
    writeFileSync(corpus, Buffer.concat(files.map((file) => readFileSync(join(ROOT, file)))));
    const bytes = readFileSync(corpus).length;

    const runtimes: [string, string[]][] = [
      ...nodeBinaries().map((node): [string, string[]] => [`node ${node.major}`, [node.path, "--import", join(ROOT, "runtimes/node/register.mjs"), MEASURE, corpus]]),
      ["bun", [join(ROOT, "node_modules/.bin/bun"), MEASURE, corpus]],
      ["deno", [join(ROOT, "node_modules/.bin/deno"), "run", "-A", MEASURE, corpus]],
    ];
    const results: Record<string, Row[]> = {};
    for (const [name, argv] of runtimes) {
      console.log(`measuring ${name}...`);
      const out = execFileSync(argv[0]!, argv.slice(1), { cwd: ROOT, encoding: "utf8", maxBuffer: 16 * 1024 ** 2 });
      results[name] = (JSON.parse(out.trim().split("\n").at(-1)!) as { rows: Row[] }).rows;
    }
    const nginx = await nginxGzip(binaries.get("nginx")!, dir, corpus, bytes, cleanup);
    console.log(`\n${bytes} bytes (${(bytes / 1024 ** 2).toFixed(2)} MiB) of text, in 16 KiB chunks\n`);
    console.log(format(results, bytes));
    console.log(`\nnginx gzip filter, worker CPU ms per MiB beyond serving the file uncompressed: ${Object.entries(nginx).map(([level, ms]) => `level ${level}: ${ms.toFixed(1)}`).join(", ")}`);
    return { bytes, results, nginx };
  },
};

/** nginx's gzip filter at levels 1 (its default) and 5 (postern's), less serving the file as it is: worker CPU ms per MiB. */
async function nginxGzip(nginx: string, dir: string, corpus: string, bytes: number, cleanup: { add(name: string, stop: () => Promise<void>): void }): Promise<Record<string, number>> {
  const port = await freePort();
  const conf = join(dir, "nginx.conf");
  const location = (name: string, gzip: string) => `location /${name}/ { alias ${dir}/; ${gzip} }`;
  writeFileSync(
    conf,
    `daemon off; worker_processes 1; pid ${dir}/nginx.pid; error_log ${dir}/error.log;
events {}
http { access_log off; types { text/plain txt; } client_body_temp_path ${dir}; proxy_temp_path ${dir}; fastcgi_temp_path ${dir}; uwsgi_temp_path ${dir}; scgi_temp_path ${dir};
  server { listen 127.0.0.1:${port};
    ${location("off", "gzip off;")}
    ${location("l1", "gzip on; gzip_comp_level 1; gzip_types text/plain;")}
    ${location("l5", "gzip on; gzip_comp_level 5; gzip_types text/plain;")}
  } }
`,
  );
  const proc = spawn(nginx, ["-c", conf, "-p", dir], { detached: true, stdio: "ignore" });
  cleanup.add("nginx", () => stopProcessGroup(proc, "SIGTERM"));
  await waitForPort(proc, port, "nginx", () => "");
  const name = corpus.slice(dir.length + 1);
  const cpuPerMiB = async (path: string) => {
    const pids = processTree(proc.pid!);
    const cpu = () => pids.reduce((sum, pid) => sum + (processCpuMs(pid) ?? 0), 0);
    const before = cpu();
    for (let i = 0; i < NGINX_REQUESTS; i++) await drain(`http://127.0.0.1:${port}/${path}/${name}`);
    return (cpu() - before) / ((NGINX_REQUESTS * bytes) / 1024 ** 2);
  };
  await cpuPerMiB("l1"); // warm-up
  const off = await cpuPerMiB("off");
  const result = { 1: (await cpuPerMiB("l1")) - off, 5: (await cpuPerMiB("l5")) - off };
  await stopProcessGroup(proc, "SIGTERM");
  return result;
}

function drain(url: string): Promise<void> {
  return new Promise((resolve, reject) => {
    request(url, { headers: { "accept-encoding": "gzip" } }, (res) => {
      res.resume();
      res.on("end", resolve);
      res.on("error", reject);
    })
      .on("error", reject)
      .end();
  });
}

function format(results: Record<string, Row[]>, bytes: number): string {
  const header = ["runtime", "encoding", "level", "CPU ms/MiB", "MiB/s", "ratio", "flush cost (bytes)", "no-flush CPU ms/MiB"];
  const lines = Object.entries(results).flatMap(([runtime, rows]) =>
    rows.map((r) => [
      runtime,
      r.encoding,
      String(r.level),
      r.cpuMsPerMiB.toFixed(1),
      (1000 / r.cpuMsPerMiB).toFixed(1),
      (bytes / r.size).toFixed(2),
      r.unflushedSize === undefined ? "-" : `+${r.size - r.unflushedSize} (${(((r.size - r.unflushedSize) / r.unflushedSize) * 100).toFixed(1)} %)`,
      r.unflushedCpuMsPerMiB === undefined ? "-" : r.unflushedCpuMsPerMiB.toFixed(1),
    ]),
  );
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i]!.length)));
  return [header, ...lines].map((cells) => cells.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ")).join("\n");
}
