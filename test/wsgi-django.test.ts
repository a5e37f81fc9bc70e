// A small Django project (test/fixtures/wsgi-apps/django_site) hosted by
// postern with the README's "Django recipe" config (a "/dj/*" route), the
// app wrapped in wsgiref.validate: a form and its
// CSRF protection (docs.djangoproject.com/en/3.2/ref/csrf/), which needs the
// csrftoken cookie and the form's csrfmiddlewaretoken to come back together,
// and reverse() URLs that carry the mount (SCRIPT_NAME).

import { afterAll, beforeAll, describe, expect, test } from "vitest";
import type { RunningPostern } from "./helpers/postern.ts";
import { WSGI_APPS } from "./helpers/python-servers.ts";
import { PYTHON } from "./helpers/wsgi.ts";
import { requirePythonModule, startReadmeRecipe } from "./helpers/wsgi-apps.ts";

interface FormPage {
  /** "csrftoken=..." as the Cookie header sends it back. */
  cookie: string;
  /** The hidden csrfmiddlewaretoken field's value. */
  token: string;
}

const HAS_DJANGO = requirePythonModule("django", "python3-django");

describe.skipIf(!HAS_DJANGO)("Django under the README's /dj/* wsgi route", () => {
  let postern: RunningPostern | undefined;

  beforeAll(async () => {
    postern = await startReadmeRecipe('"mysite.wsgi:application"', {
      '"mysite.wsgi:application"': '"django_site.wsgi:validated"',
      '"mysite.settings"': '"django_site.settings"',
      '"/srv/mysite"': JSON.stringify(WSGI_APPS),
      '"/srv/mysite/.venv/bin/python"': JSON.stringify(PYTHON),
    });
  }, 30_000);

  afterAll(async () => {
    await postern?.stop();
  });

  const contact = () => `${postern!.url}/dj/contact/`;

  async function formPage(): Promise<FormPage> {
    const res = await fetch(contact());
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain('action="/dj/contact/"');
    const token = /name="csrfmiddlewaretoken" value="([^"]+)"/.exec(html)?.[1];
    const cookie = res.headers.getSetCookie().find((c) => c.startsWith("csrftoken="))?.split(";")[0];
    expect(token).toBeDefined();
    expect(cookie).toBeDefined();
    return { cookie: cookie!, token: token! };
  }

  function post(fields: Record<string, string>, cookie?: string): Promise<Response> {
    return fetch(contact(), {
      method: "POST",
      body: new URLSearchParams({ name: "Zoë", message: "hello from postern", ...fields }),
      headers: cookie === undefined ? {} : { cookie },
      redirect: "manual",
    });
  }

  test("GET shows the form with its CSRF token and cookie; POSTing both back succeeds", async () => {
    const page = await formPage();
    const res = await post({ csrfmiddlewaretoken: page.token }, page.cookie);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain("<p>Thank you, Zoë: hello from postern</p>");
  });

  test("POST without the token and cookie -> 403", async () => {
    const res = await post({});
    expect(res.status).toBe(403);
    expect(await res.text()).toContain("CSRF verification failed");
  });

  test("POST with the token but without its cookie -> 403", async () => {
    const page = await formPage();
    const res = await post({ csrfmiddlewaretoken: page.token });
    expect(res.status).toBe(403);
  });

  test("CommonMiddleware's slash redirect stays under the mount", async () => {
    const res = await fetch(`${postern!.url}/dj/contact`, { redirect: "manual" });
    expect(res.status).toBe(301);
    expect(res.headers.get("location")).toBe("/dj/contact/");
  });

  // Last: what the tests above left in the log. Django's own warning for each
  // refused POST reaches it (its logging writes to the worker's stderr);
  // wsgiref.validate would add a line for an iterable never closed.
  test("the log holds Django's CSRF warnings and nothing else", () => {
    expect(postern!.errors.length).toBeGreaterThan(0);
    for (const line of postern!.errors) expect(line).toMatch(/^routes\[0\] \(wsgi \/dj\/\*\): worker \d+: Forbidden \(CSRF /);
  });
});
