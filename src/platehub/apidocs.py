"""The OpenAPI UI at `/docs`, served by platehub itself: Swagger UI 5's files come from the
`fastapi-offline` package (its `static/` folder, under `/docs/assets/`; Swagger UI 4, as in
`swagger-ui-bundle`, cannot read FastAPI's OpenAPI 3.1), the page starts it with a script file of
its own (`/docs/init.js`: no inline script), and a Content-Security-Policy allows nothing from
another origin. No CDN: the page works offline, and no third-party script runs with the operator's
session. (FastAPI's own `/docs` and `/redoc` load their scripts from a CDN; both are off.)"""

from __future__ import annotations

from importlib.resources import files

from fastapi import FastAPI
from fastapi.responses import HTMLResponse, Response
from starlette.staticfiles import StaticFiles

DOCS = "/docs"
ASSETS = "/docs/assets"  # swagger-ui-bundle.js, swagger-ui.css, favicon.png
STATIC = files("fastapi_offline") / "static"
# Swagger UI's stylesheet draws its icons with data: URLs; "Try it out" calls this origin's API
CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; "
       "frame-ancestors 'none'; base-uri 'none'; form-action 'self'")
HEADERS = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin",
           "Cache-Control": "no-cache"}


def page(title: str) -> str:
    return f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title} - API</title>
<link rel="stylesheet" href="{ASSETS}/swagger-ui.css">
<link rel="icon" type="image/png" href="{ASSETS}/favicon.png">
</head>
<body>
<div id="swagger-ui"></div>
<script src="{ASSETS}/swagger-ui-bundle.js"></script>
<script src="{DOCS}/init.js"></script>
</body>
</html>
"""


def init_script(openapi_url: str) -> str:
    """FastAPI's Swagger UI settings; `validatorUrl: null`: no badge fetched from swagger.io."""
    return f"""window.ui = SwaggerUIBundle({{
  url: "{openapi_url}",
  dom_id: "#swagger-ui",
  layout: "BaseLayout",
  deepLinking: true,
  showExtensions: true,
  showCommonExtensions: true,
  validatorUrl: null,
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
}});
"""


def mount(app: FastAPI) -> None:
    html = page(app.title)
    script = init_script(app.openapi_url or "/openapi.json")

    async def docs() -> HTMLResponse:
        return HTMLResponse(html, headers=HEADERS)

    async def init() -> Response:
        return Response(script, media_type="text/javascript; charset=utf-8", headers=HEADERS)

    app.add_api_route(DOCS, docs, methods=["GET", "HEAD"], include_in_schema=False)
    app.add_api_route(f"{DOCS}/init.js", init, methods=["GET", "HEAD"], include_in_schema=False)
    app.mount(ASSETS, StaticFiles(directory=str(STATIC)), name="apidocs")
