"""`/docs` (issue 11 #16): Swagger UI served from the package under a Content-Security-Policy, not
loaded from a CDN into platehub's origin. Checked on a real server: the page names no other host,
its script and stylesheet are served, and a real browser cut off from every other host renders the
API description with no CSP violation."""

from __future__ import annotations

import re

import httpx
import pytest
from helpers import Site


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    s = Site(tmp_path_factory.mktemp("apidocs") / "data")
    yield s
    s.server.stop()


def test_docs_page_references_no_other_host(site):
    r = httpx.get(site.url + "/docs", timeout=30)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    html = r.text
    assert "cdn" not in html.lower() and not re.search(r"(https?:)?//", html), html
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "default-src 'self'" in csp and "unsafe-inline" not in csp
    assert "<script>" not in html  # no inline script: the CSP allows none
    refs = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert refs and all(ref.startswith("/docs/") for ref in refs), refs
    for ref in refs:  # the JS, the CSS, the icon and the start script are all served from here
        got = httpx.get(site.url + ref, timeout=30)
        assert got.status_code == 200 and got.content, ref
    types = {ref.rsplit(".", 1)[-1]: httpx.get(site.url + ref).headers["content-type"] for ref in refs}
    assert "javascript" in types["js"] and types["css"].startswith("text/css")
    assert "SwaggerUIBundle" in httpx.get(site.url + "/docs/assets/swagger-ui-bundle.js").text
    assert httpx.get(site.url + "/redoc").status_code == 404  # ReDoc would load from a CDN: off


def test_docs_render_offline_under_the_csp(site, browser):
    context = browser.new_context()
    page = context.new_page()
    problems: list[str] = []
    elsewhere: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))

    def only_this_server(route):
        if route.request.url.startswith(site.url + "/"):
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort()

    page.route("**/*", only_this_server)
    page.goto(site.url + "/docs")
    page.wait_for_selector(".swagger-ui .info .title", timeout=30_000)
    assert "platehub" in page.inner_text(".swagger-ui .info .title")
    page.wait_for_selector("text=/v1/plate-reader/", timeout=30_000)
    assert elsewhere == [] and problems == [], (elsewhere, problems)
    context.close()
