// The [status] page as a person sees it, in real headless Chromium
// (Debian's, driven by playwright-core): the routes listed, a real php-fpm
// backend shown down once it is killed and up once it is back, without the
// page being reloaded by anyone (it refreshes itself), and values holding
// markup (a route's path, an error line) shown as text, never run. A
// screenshot of each runtime's page is left in a temporary directory.

import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { requireBinary } from "./helpers/binaries.ts";
import { startPhpFpm, type PhpFpm } from "./helpers/php-fpm.ts";
import { POSTERN_CLI, type CliRuntime } from "./helpers/postern-cli.ts";
import { serveRoutes } from "./conformance/process-target.ts";
import type { RunningTarget } from "./conformance/suite.ts";

const PHP_FPM = requireBinary(["php-fpm8.2", "php-fpm"], "php-fpm");
const CHROMIUM = requireBinary(["chromium"], "chromium");
/** What a page that ran injected markup would show in its title. */
const PWNED = "pwned";
const MARKUP = `<script>document.title='${PWNED}'</script><img src=x onerror="document.title='${PWNED}'">`;
const PHP_ROUTE = "routes[0] (fastcgi /php/*)";
const ODD_PATH = "/<script>document.title='pwned'</script>/*";

const SCREENSHOTS = mkdtempSync(join(tmpdir(), "postern-status-screenshots-"));

describe.skipIf(!PHP_FPM || !CHROMIUM).each(["node", "deno", "bun"] as CliRuntime[])("the status page on %s, in Chromium", (runtime) => {
  let fpm: PhpFpm;
  let server: RunningTarget;
  let browser: Browser;
  let page: Page;
  let dir: string;
  const backend = () => `127.0.0.1:${fpm.port}`;
  /** The backend's row of the Backends table. */
  const backendRow = () => page.locator("#backends tr", { hasText: backend() });

  beforeAll(async () => {
    // php-fpm answers its ping itself; it runs as root here (helpers/php-fpm.ts).
    fpm = await startPhpFpm(PHP_FPM!, { pool: ["ping.path = /ping"] });
    dir = mkdtempSync(join(tmpdir(), "postern-status-"));
    chmodSync(dir, 0o755);
    writeScripts(dir);
    const config = `[status]
[[routes]]
path = "/php/*"
gateway = "fastcgi"
backend = "127.0.0.1:${fpm.port}"
root = ${JSON.stringify(dir)}
health = { path = "/ping", interval = "300ms", timeout = "2s", fails = 1 }
[[routes]]
path = ${JSON.stringify(ODD_PATH)}
gateway = "static"
root = ${JSON.stringify(dir)}
`;
    server = await serveRoutes({ name: runtime, runtime, command: POSTERN_CLI[runtime] }, config, dir);
    browser = await chromium.launch({ executablePath: CHROMIUM!, args: process.getuid?.() === 0 ? ["--no-sandbox"] : [] });
    page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await server?.stop();
    await fpm?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test("routes are listed, and markup in a route's path or an error line is shown as text, never run", async () => {
    expect((await fetch(`${server.url}/php/hello.php`)).status).toBe(200);
    // The script logs MARKUP through FastCGI's stderr: it lands in the error log, and on the page.
    expect((await fetch(`${server.url}/php/xss.php`)).status).toBe(200);
    const answer = await page.goto(`${server.url}/server-status`);
    expect(answer!.headers()["content-security-policy"]).toContain("default-src 'none'");
    await expect.poll(() => page.getByRole("cell", { name: PHP_ROUTE, exact: true }).count()).toBeGreaterThan(0);
    expect(await page.getByRole("cell", { name: "fastcgi", exact: true }).count()).toBeGreaterThan(0);
    expect(await page.getByRole("cell", { name: ODD_PATH, exact: true }).count()).toBe(1);
    await expect.poll(() => page.locator("td > pre", { hasText: MARKUP }).count()).toBeGreaterThan(0);
    // Nothing of it became an element, nothing ran.
    expect(await page.locator("img").count()).toBe(0);
    expect(await page.locator("script").count()).toBe(1);
    expect(await page.title()).toBe("postern status");
  });

  test("a killed php-fpm shows as down, and as up once it is back, with nobody reloading the page", async () => {
    await page.goto(`${server.url}/server-status`);
    await backendRow().locator("td.up").waitFor({ timeout: 20_000 });
    // php-fpm answers its ping itself: the last check's status.
    await backendRow().getByText(/^200, \d+ s ago$/).waitFor({ timeout: 20_000 });
    // Marks the document: a reload would make a new one without it.
    await page.evaluate(() => ((window as unknown as { kept: boolean }).kept = true));
    await fpm.crash();
    await backendRow().locator("td.down").waitFor({ timeout: 20_000 });
    expect(await backendRow().locator("td.down").textContent()).toContain("down");
    expect(await backendRow().textContent()).toMatch(/no answer, \d+ s ago/);
    await page.screenshot({ path: join(SCREENSHOTS, `status-${runtime}-down.png`), fullPage: true });
    await fpm.restart();
    await backendRow().locator("td.up").waitFor({ timeout: 20_000 });
    expect(await page.evaluate(() => (window as unknown as { kept?: boolean }).kept)).toBe(true);
    expect(await page.title()).toBe("postern status");
  });
});

/** The PHP scripts of the route's root: one that answers, one that logs markup to FastCGI's stderr. */
function writeScripts(root: string): void {
  mkdirSync(join(root, "php"));
  writeFileSync(join(root, "php/hello.php"), "<?php echo 'hello';\n");
  writeFileSync(join(root, "php/xss.php"), `<?php error_log(${JSON.stringify(MARKUP)}); echo 'ok';\n`);
}
