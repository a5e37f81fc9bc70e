// A real Flask 2 app (test/fixtures/wsgi-apps/flask_site.py) hosted by postern
// with the README's "Flask recipe" config (a "/py/*" route), the app wrapped
// in wsgiref.validate (PEP 3333's checker, its
// warnings made errors): the things a site does with its server — a form
// POST answered by a redirect with a session cookie, a multipart upload, a
// Jinja template, url_for links that carry the mount (SCRIPT_NAME, PEP 3333
// "URL Reconstruction").

import { createHash, randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { RunningPostern } from "./helpers/postern.ts";
import { WSGI_APPS } from "./helpers/python-servers.ts";
import { PYTHON } from "./helpers/wsgi.ts";
import { requirePythonModule, startReadmeRecipe } from "./helpers/wsgi-apps.ts";

const HAS_FLASK = requirePythonModule("flask", "python3-flask");

describe.skipIf(!HAS_FLASK)("Flask under the README's /py/* wsgi route", () => {
  let postern: RunningPostern | undefined;

  beforeAll(async () => {
    postern = await startReadmeRecipe('"FLASK_SECRET_KEY"', {
      '"myapp:app"': '"flask_site:validated"',
      '"/srv/myapp"': JSON.stringify(WSGI_APPS),
      '"/srv/myapp/.venv/bin/python"': JSON.stringify(PYTHON),
    });
  }, 30_000);

  afterAll(async () => {
    await postern?.stop();
  });

  const url = (path: string) => `${postern!.url}/py${path}`;

  test("the form's action is under the mount", async () => {
    const res = await fetch(url("/form"));
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('action="/py/form"');
  });

  test("form POST -> 302 to the thanks page with a session cookie, which that page reads", async () => {
    const posted = await fetch(url("/form"), {
      method: "POST",
      body: new URLSearchParams({ name: "Zoë" }),
      redirect: "manual",
    });
    expect(posted.status).toBe(302);
    expect(posted.headers.get("location")).toBe("/py/thanks");
    const cookie = posted.headers.getSetCookie().find((c) => c.startsWith("session="));
    expect(cookie).toMatch(/; HttpOnly; Path=\//);

    const thanks = await fetch(url("/thanks"), { headers: { cookie: cookie!.split(";")[0]! } });
    expect(thanks.status).toBe(200);
    expect(await thanks.text()).toContain("<p>Thanks, Zoë!</p>");

    const stranger = await fetch(url("/thanks"));
    expect(await stranger.text()).toContain("Nobody signed yet.");
  });

  test("a multipart upload arrives whole, with its file name, type and the other fields", async () => {
    const data = randomBytes(300_000);
    const form = new FormData();
    form.append("note", "holiday");
    form.append("file", new Blob([data], { type: "image/png" }), "beach.png");
    const res = await fetch(url("/upload"), { method: "POST", body: form });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({
      filename: "beach.png",
      content_type: "image/png",
      size: data.length,
      sha256: createHash("sha256").update(data).digest("hex"),
      note: "holiday",
    });
  });

  test("a Jinja template renders a UTF-8 path parameter", async () => {
    const res = await fetch(url("/hello/w%C3%B6rld"));
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(await res.text()).toContain("<p>Hello, wörld!</p>");
  });

  test("url_for includes the /py mount, and the external form the client's host", async () => {
    const res = await fetch(url("/links"));
    expect(await res.json()).toEqual({
      form: "/py/form",
      hello: "/py/hello/a%20b",
      external: `${postern!.url}/py/form`,
      script_root: "/py",
      path: "/links",
    });
  });

  test("an unknown path is Flask's 404, not postern's", async () => {
    const res = await fetch(url("/nowhere"));
    expect(res.status).toBe(404);
    expect(await res.text()).toContain("The requested URL was not found on the server.");
  });

  // Last: what the tests above left in the log. wsgiref.validate raises on
  // what it checks and writes to stderr (which postern logs) an iterable
  // that was never closed.
  test("the PEP 3333 checker found nothing: the log is empty", () => {
    expect(postern!.errors).toEqual([]);
  });
});
