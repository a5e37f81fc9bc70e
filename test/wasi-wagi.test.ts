// WAGI's modules.toml read as postern routes (gateways/wasi/wagi.ts), and
// `postern wagi modules.toml` serving it.

import { spawn } from "node:child_process";
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, test } from "vitest";
import { gatewaySchemas } from "../gateways/index.ts";
import { ConfigError } from "../src/config.ts";
import { wagiConfig } from "../gateways/wasi/wagi.ts";
import { freePort } from "./helpers/ports.ts";

const read = (text: string) => wagiConfig(text, "modules.toml", gatewaySchemas);

function errorOf(text: string): ConfigError {
  try {
    read(text);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return err as ConfigError;
  }
  throw new Error("no error");
}

describe("WAGI modules.toml", () => {
  test("each [[module]] becomes a wasi route: /x/... is a prefix, other routes exact; environment, volumes and entrypoint carried", () => {
    const config = read(`default_host = "example.com:3000"

[[module]]
route = "/"
module = "index.wasm"

[[module]]
route = "/app/..."
module = "app.wasm"
entrypoint = "run"
environment = { A = "1" }
volumes = { "/data" = "/srv/data" }
http_max_concurrency = 8
`);
    expect(config.routes.map((r) => [r.path, r.gateway, r.line])).toEqual([
      ["/", "wasi", 3],
      ["/app/*", "wasi", 7],
    ]);
    expect(config.routes[1]!.options).toMatchObject({ module: "app.wasm", entrypoint: "run", env: { A: "1" }, volumes: { "/data": "/srv/data" }, threads: 8 });
    // The rest comes from the wasi schema's defaults.
    expect(config.routes[0]!.options).toMatchObject({ max_memory: 256 * 1024 ** 2, timeout: 30_000 });
    expect(config.listen).toEqual(["127.0.0.1:8080"]);
  });

  test('"/..." answers everything', () => {
    expect(read(`[[module]]\nroute = "/..."\nmodule = "a.wasm"\n`).routes[0]!.path).toBe("*");
  });

  test("argv: ${SCRIPT_NAME} alone is postern's default; plain words are kept", () => {
    expect(read(`[[module]]\nroute = "/"\nmodule = "a.wasm"\nargv = "\${SCRIPT_NAME}"\n`).routes[0]!.options.argv).toBeUndefined();
    expect(read(`[[module]]\nroute = "/"\nmodule = "a.wasm"\nargv = "tool --quiet"\n`).routes[0]!.options.argv).toEqual(["tool", "--quiet"]);
  });

  test.each([
    ['argv = "${SCRIPT_NAME} ${ARGS}"', 4, "module[0].argv", "CVE-2012-1823"],
    ['allowed_hosts = ["https://api.example.com"]', 4, "module[0].allowed_hosts", "outbound"],
    ["modul = 1", 4, "module[0].modul", "unknown key"],
  ])("%s is refused with its key and line", (line, lineNumber, key, words) => {
    const err = errorOf(`[[module]]\nroute = "/x"\nmodule = "a.wasm"\n${line}\n`);
    expect(err.line).toBe(lineNumber);
    expect(err.key).toBe(key);
    expect(err.message).toContain(words);
  });

  test("a module without its route names the missing key", () => {
    expect(errorOf(`[[module]]\nmodule = "a.wasm"\n`).message).toMatch(/module\[0\]\.route/);
  });

  test("no [[module]] at all, or an unknown top-level key, is an error", () => {
    expect(errorOf(`default_host = "x"\n`).message).toContain("at least one [[module]]");
    expect(errorOf(`bindle_server = "x"\n[[module]]\nroute = "/"\nmodule = "a.wasm"\n`).key).toBe("bindle_server");
  });

  test("bad TOML reports its line", () => {
    expect(errorOf(`[[module]]\nroute = \n`).line).toBe(2);
  });
});

describe("postern wagi modules.toml", () => {
  const dir = mkdtempSync(join(tmpdir(), "postern-wagi-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  test("serves the modules at their routes, module paths taken from the file's directory", async () => {
    const examples = join(import.meta.dirname, "../examples/wasi");
    copyFileSync(join(examples, "hello.wasm"), join(dir, "hello.wasm"));
    copyFileSync(join(examples, "probe.wasm"), join(dir, "probe.wasm"));
    writeFileSync(
      join(dir, "modules.toml"),
      `[[module]]\nroute = "/hello"\nmodule = "hello.wasm"\n\n[[module]]\nroute = "/probe/..."\nmodule = "probe.wasm"\nenvironment = { GREETING = "hi" }\n`,
    );
    const port = await freePort();
    const proc = spawn(process.execPath, [join(import.meta.dirname, "../bin/postern.js"), "wagi", join(dir, "modules.toml"), "--listen", `127.0.0.1:${port}`], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    const exited = new Promise<number | null>((resolve) => proc.once("exit", resolve));
    try {
      let out = "";
      proc.stdout!.on("data", (d) => (out += d));
      const deadline = Date.now() + 20_000;
      while (!out.includes("listening on") && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      const base = `http://127.0.0.1:${port}`;
      expect(await (await fetch(`${base}/hello`)).text()).toBe("Hello, world!\n");
      const env = await (await fetch(`${base}/probe/env`)).text();
      expect(env).toContain("env:SCRIPT_NAME=/probe\n");
      expect(env).toContain("env:GREETING=hi\n");
      expect((await fetch(`${base}/elsewhere`)).status).toBe(404);
    } finally {
      proc.kill("SIGTERM");
      expect(await exited).toBe(0);
    }
  });
});
