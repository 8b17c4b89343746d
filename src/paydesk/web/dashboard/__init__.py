"""The operator dashboard at /dashboard: server-rendered pages that read through the read
models here (read_overview, read_payments, read_inbox) and act through paydesk's services."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, Response

from paydesk.web.dashboard import (
    auth,
    dispute_actions,
    inbox,
    notification_actions,
    overview,
    payment_actions,
    payment_detail,
    payments,
    payouts,
)
from paydesk.web.dashboard.common import (
    MAX_FORM_BYTES,
    SECURITY_HEADERS,
    CsrfRefused,
    FormCharacters,
    FormTooLarge,
    LoginRequired,
    login_url,
    redirect,
    templates,
)

_STATIC = Path(__file__).parents[1] / "static" / "dashboard"
_STATIC_TYPES = {".css": "text/css", ".svg": "image/svg+xml"}


def install(app: FastAPI) -> None:
    """Adds the dashboard's pages, its static files and its answers to `app`."""
    for module in (
        auth,
        overview,
        payments,
        payment_detail,
        payment_actions,
        payouts,
        dispute_actions,
        notification_actions,
        inbox,
    ):
        app.include_router(module.router)

    @app.get("/dashboard/static/{name}", include_in_schema=False)
    async def dashboard_static(name: str) -> Response:
        path = _STATIC / name
        media_type = _STATIC_TYPES.get(path.suffix)
        if media_type is None or "/" in name or name.startswith(".") or not path.is_file():
            return Response("Not found", status_code=404, media_type="text/plain")
        return FileResponse(path, media_type=media_type, headers={"Cache-Control": "no-cache"})

    @app.exception_handler(LoginRequired)
    async def login_required(_request: Request, exc: LoginRequired) -> Response:
        return redirect(login_url(exc.next_url))

    @app.exception_handler(CsrfRefused)
    async def csrf_refused(_request: Request, _exc: CsrfRefused) -> Response:
        html = templates.get_template("dashboard/csrf_refused.html").render()
        return HTMLResponse(html, status_code=403, headers=SECURITY_HEADERS)

    @app.exception_handler(FormTooLarge)
    async def form_too_large(_request: Request, _exc: FormTooLarge) -> Response:
        html = templates.get_template("dashboard/not_found.html").render(
            title="Form too large",
            message=f"The form sent more than {MAX_FORM_BYTES // 1024} KiB; nothing was changed. "
            "Shorten what was typed and send it again.",
            back_label="Back to the dashboard",
        )
        return HTMLResponse(html, status_code=413, headers=SECURITY_HEADERS)

    @app.exception_handler(FormCharacters)
    async def form_characters(_request: Request, exc: FormCharacters) -> Response:
        html = templates.get_template("dashboard/not_found.html").render(
            title="Form refused",
            message=f"The field “{exc.field}” holds the control character {exc.character}; "
            "nothing was changed. Type it again without it.",
            back_label="Back to the dashboard",
        )
        return HTMLResponse(html, status_code=400, headers=SECURITY_HEADERS)
