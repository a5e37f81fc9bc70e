// RFC 3875 §6.2.2 local redirects: a script answering only `Location: /path`
// has the server answer as for a GET of that path, through every route of
// the app (here a static route after the CGI one), at most 5 times in a row.

import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { makeCgiTree, type CgiTree } from "./helpers/cgi-fixtures.ts";
import { startPostern, type RunningPostern } from "./helpers/postern.ts";

describe("CGI local redirects", () => {
  let tree: CgiTree;
  let postern: RunningPostern;

  beforeAll(async () => {
    tree = makeCgiTree([
      // /hop.sh?N redirects to /hop.sh?N-1 until N is 0.
      {
        path: "www/cgi/hop.sh",
        text: 'n=${QUERY_STRING:-0}\nif [ "$n" -gt 0 ]; then printf "Location: /cgi/hop.sh?%s\\n\\n" $((n - 1)); exit; fi\nprintf "Content-Type: text/plain\\n\\ndone %s %s\\n" "$REQUEST_METHOD" "${CONTENT_LENGTH:-none}"\n',
        mode: 0o644,
      },
      { path: "www/cgi/to-static.sh", text: 'printf "Location: /page.txt\\n\\n"\n', mode: 0o644 },
      { path: "public/page.txt", text: "a static page\n", mode: 0o644 },
    ]);
    postern = await startPostern(`
[[routes]]
path = "/cgi/*"
gateway = "cgi"
root = "${tree.root}"
interpreters = { ".sh" = "sh" }

[[routes]]
path = "*"
gateway = "static"
root = "${tree.dir}/public"
`);
  });

  afterAll(async () => {
    await postern?.stop();
    tree?.remove();
  });

  const cgi = (path: string) => `${postern.url}/cgi/${path}`;

  test("five redirects in a row are followed; the answer is the last script's, as a GET without the body", async () => {
    const res = await fetch(cgi("hop.sh?5"), { method: "POST", body: "ignored" });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("done GET none\n");
  });

  test("a sixth is a loop: 500, and the error log says so", async () => {
    const res = await fetch(cgi("hop.sh?6"));
    expect(res.status).toBe(500);
    expect(postern.errors.some((line) => line.includes("more than 5 local redirects"))).toBe(true);
  });

  test("the new path is served by whichever route matches it, not only the CGI route", async () => {
    const res = await fetch(cgi("to-static.sh"));
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("a static page\n");
  });
});
