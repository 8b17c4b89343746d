"""The API reference at /docs: Swagger UI served from the fastapi-offline package.

FastAPI's own page loads Swagger UI from a CDN, which leaves a blank page wherever paydesk
runs without a network; this one needs nothing but paydesk itself."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

DOCS_PATH = "/docs"
ASSETS_PATH = f"{DOCS_PATH}/static"

# Nothing but paydesk: the browser itself refuses to load anything from elsewhere. Inline
# scripts and styles are allowed because the page starts Swagger UI with one inline script
# and Swagger UI styles its elements inline.
_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)


def install_docs(app: FastAPI) -> None:
    """Serves Swagger UI for `app`'s OpenAPI document at /docs, with its script, stylesheet
    and icon under /docs/static. `app` is made with `docs_url=None` so that FastAPI's own
    page, which loads them from a CDN, is not there first."""
    openapi_url = app.openapi_url
    if openapi_url is None:
        raise ValueError("the API reference needs the app's OpenAPI document (openapi_url)")
    app.mount(
        ASSETS_PATH,
        StaticFiles(packages=[("fastapi_offline", "static")]),
        name="docs-assets",
    )

    @app.get(DOCS_PATH, include_in_schema=False)
    async def api_reference(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "").rstrip("/")
        page = get_swagger_ui_html(
            openapi_url=f"{root}{openapi_url}",
            title=f"{app.title} API reference",
            swagger_js_url=f"{root}{ASSETS_PATH}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{ASSETS_PATH}/swagger-ui.css",
            swagger_favicon_url=f"{root}{ASSETS_PATH}/favicon.png",
            swagger_ui_parameters=app.swagger_ui_parameters,
        )
        page.headers["Content-Security-Policy"] = _CSP
        page.headers["X-Content-Type-Options"] = "nosniff"
        return page
