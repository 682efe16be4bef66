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
         ("/gradients", "grad_fn"), ("/catalogue", "cat_q")]


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
