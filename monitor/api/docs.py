"""/docs (Swagger UI) and /redoc over /openapi.json, with every script and style served by this
server: FastAPI's own pages load them from a public CDN, which fails on an offline network and
tells the CDN who reads the docs of which deployment.

The Swagger UI and ReDoc bundles come from the fastapi-offline package (its static folder); the
few lines that start Swagger UI are a file too, so the pages' Content-Security-Policy can forbid
inline scripts. URLs are relative, so the pages also work under a path prefix (root_path).
"""

from __future__ import annotations

from importlib.resources import files

from fastapi import APIRouter, Response
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS = "/docs/assets"
assets = StaticFiles(directory=str(files("fastapi_offline") / "static"))

# Scripts only from here and never inline; ReDoc's styled components write <style> elements and
# it searches in a blob: worker, so styles may be inline and workers from blob:.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
       "font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; object-src 'none'; "
       "base-uri 'none'; frame-ancestors 'none'; form-action 'self'")

_SWAGGER = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · API</title>
<link rel="stylesheet" href="docs/assets/swagger-ui.css"><link rel="icon" href="docs/assets/favicon.png">
</head><body><div id="swagger-ui"></div>
<script src="docs/assets/swagger-ui-bundle.js"></script><script src="docs/swagger-init.js"></script>
</body></html>"""

_SWAGGER_INIT = """// Swagger UI over this server's schema, started from a file (the page allows no inline script).
window.ui = SwaggerUIBundle({
  url: new URL("openapi.json", document.baseURI).href,
  dom_id: "#swagger-ui",
  layout: "BaseLayout",
  deepLinking: true,
  showExtensions: true,
  showCommonExtensions: true,
  validatorUrl: null,  // the default sends the schema's address to a public validator
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIBundle.SwaggerUIStandalonePreset],
});
"""

_REDOC = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · API</title><link rel="icon" href="docs/assets/favicon.png">
</head><body><redoc spec-url="openapi.json"></redoc>
<script src="docs/assets/redoc.standalone.js"></script>
</body></html>"""


def _page(html: str) -> HTMLResponse:
    return HTMLResponse(html, headers={"Content-Security-Policy": CSP, "Cache-Control": "no-cache"})


def pages(title: str) -> APIRouter:
    """The two pages for an app called `title` (its assets are mounted at ASSETS by create_app)."""
    from html import escape

    swagger, redoc = _SWAGGER.format(title=escape(title)), _REDOC.format(title=escape(title))
    router = APIRouter(include_in_schema=False)

    @router.get("/docs")
    async def swagger_ui() -> HTMLResponse:
        return _page(swagger)

    @router.get("/docs/swagger-init.js")
    async def swagger_init() -> Response:
        return Response(_SWAGGER_INIT, media_type="text/javascript")

    @router.get("/redoc")
    async def redoc_ui() -> HTMLResponse:
        return _page(redoc)

    return router
