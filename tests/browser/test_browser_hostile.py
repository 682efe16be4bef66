"""Links carrying Markdown and HTML, rendered by the real browser: no live link, no outside request.

AppTest sees the Markdown source only; Streamlit's renderer autolinks ``http(s)://`` and ``www.``
in the *parsed* text, so only a browser shows whether an echoed URL value stays inert. Every
request the page makes is recorded: anything not to the app's own server fails the test.
"""
from __future__ import annotations

from urllib.parse import quote, urlsplit

import pytest

EVIL = ("[CLICK-ME](http://evil.example/phish) ![px](http://evil.example/x.png) www.evil.example "
        "<img src=http://evil.example/y.png> :red[RED]")
CASES = [("/", "pg_shape"), ("/large_vs_small", "lvs_delta"), ("/tune", "tune_loss"),
         ("/gradients", "grad_fn"), ("/catalogue", "cat_q"), ("/train", "train_mode")]


@pytest.mark.parametrize("path,param", CASES, ids=[p for _, p in CASES])
def test_markdown_in_a_link_renders_as_text_and_fetches_nothing(app, path, param):
    outside: list[str] = []
    own = urlsplit(app.base_url).netloc

    def guard(route):
        url = route.request.url
        if urlsplit(url).netloc != own and not url.startswith(("data:", "blob:")):
            outside.append(url)
            return route.abort()
        return route.continue_()

    app.page.route("**/*", guard)
    app.goto(f"{path}?{param}={quote(EVIL)}")
    app.assert_no_errors()
    main = app.page.locator('[data-testid="stMain"]')
    assert "CLICK-ME" in main.inner_text()  # the value is shown ...
    evil_links = app.page.locator('a[href*="evil"]').count()
    evil_images = app.page.locator('img[src*="evil"]').count()
    assert evil_links == 0 and evil_images == 0, (evil_links, evil_images)  # ... as text only
    app.page.wait_for_timeout(500)
    assert not outside, outside


def test_server_refuses_an_upload_far_above_its_limit(app):
    """``server.maxUploadSize`` (.streamlit/config.toml) is enforced by the server itself: an upload
    request sent past the browser's own cap (as a script would) is answered 413 while it streams."""
    import http.client

    seen: dict = {}

    def spy(request):
        if "/_stcore/upload_file/" in request.url and request.method in ("PUT", "POST"):
            seen.setdefault("url", request.url)
            seen.setdefault("request", request)

    app.page.on("request", spy)
    app.goto("/")
    box = app.page.locator('[data-testid="stSidebar"] [data-testid="stFileUploaderDropzoneInput"]').first
    box.set_input_files(files=[{"name": "c.json", "mimeType": "application/json", "buffer": b'{"a": 1}'}])
    app.wait_until(lambda: "url" in seen, what="the browser's upload request")
    u = urlsplit(seen["url"])
    sent = seen["request"].all_headers()  # with the XSRF cookie and token the server checks
    boundary = sent["content-type"].split("boundary=")[1]
    headers = {k: v for k, v in sent.items() if k.lower() in ("content-type", "cookie", "x-xsrftoken")}

    def put(megabytes: int) -> int:
        body = (f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.json"\r\n'
                "Content-Type: application/json\r\n\r\n").encode() + b" " * (megabytes * 2**20) \
            + f"\r\n--{boundary}--\r\n".encode()
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
        try:
            conn.request("PUT", u.path, body=body, headers=headers)
            return conn.getresponse().status
        finally:
            conn.close()

    assert put(5) in (200, 204)  # within the limit: stored (the page checks its own smaller limits)
    assert put(150) == 413  # the 150 MB configuration file the server took and parsed
