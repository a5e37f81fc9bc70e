"""The demo's WSGI app (PEP 3333, standard library only): a greeting form,
and the part of the environ that says where the app is mounted."""

import html
from urllib.parse import parse_qs


def application(environ, start_response):
    name = "world"
    if environ["REQUEST_METHOD"] == "POST":
        length = int(environ.get("CONTENT_LENGTH") or 0)
        form = parse_qs(environ["wsgi.input"].read(length).decode("utf-8", "replace"))
        name = form.get("name", [name])[0]
    script_name = environ["SCRIPT_NAME"]
    page = f"""<!doctype html>
<meta charset="utf-8">
<title>postern: a WSGI app</title>
<h1>Hello, {html.escape(name)}!</h1>
<p>A WSGI app in a Python worker that postern started and supervises.</p>
<p>SCRIPT_NAME={html.escape(script_name)} PATH_INFO={html.escape(environ.get("PATH_INFO", ""))}</p>
<form method="post" action="{html.escape(script_name)}/hello"><input name="name"> <button>Greet</button></form>
"""
    body = page.encode("utf-8")
    start_response("200 OK", [("Content-Type", "text/html; charset=utf-8"), ("Content-Length", str(len(body)))])
    return [body]
