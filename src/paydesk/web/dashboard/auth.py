"""Signing in and out of the dashboard, through the operators' service (`OperatorService`).

The login form is protected from cross-site posts by a double-submit token (a cookie and a
hidden field that must match), since there is no session yet to hold one. The session
cookie is HttpOnly, SameSite=Lax, scoped to /dashboard, and Secure when served over TLS.
"""

from __future__ import annotations

import logging
import secrets
from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response

from paydesk.deps import ServicesDep
from paydesk.operators.service import LOCKOUT, MAX_FAILED_LOGINS, SESSION_LIFETIME, LoginRefused
from paydesk.web.dashboard.common import (
    SESSION_COOKIE,
    CsrfRefused,
    FormDep,
    page,
    read_form,
    redirect,
    safe_next,
    tokens_match,
    when,
)

router = APIRouter(prefix="/dashboard", include_in_schema=False)
log = logging.getLogger(__name__)

LOGIN_CSRF_COOKIE = "paydesk_login_csrf"


@router.get("/login", response_class=HTMLResponse)
async def login_page(
    request: Request, next: Annotated[str | None, Query(max_length=2000)] = None
) -> Response:
    return _login_form(request, next_url=safe_next(next))


@router.post("/login", response_class=HTMLResponse)
async def login(request: Request, services: ServicesDep) -> Response:
    form = await read_form(request)
    next_url = safe_next(form.get("next"))
    if not tokens_match(form.get("csrf_token"), request.cookies.get(LOGIN_CSRF_COOKIE, "")):
        raise CsrfRefused()
    email = form.get("email", "")[:320]
    try:
        token = await services.operators.log_in(email, form.get("password", "")[:1024])
    except LoginRefused as refused:
        if refused.locked_until is not None:
            log.warning("dashboard sign-in refused: account locked", extra={"email": email})
            message = (
                "Too many failed sign-ins: this account is locked until "
                f"{when(refused.locked_until)}."
            )
            return _login_form(request, next_url, email=email, error=message, status_code=429)
        log.warning("dashboard sign-in refused: wrong e-mail or password", extra={"email": email})
        return _login_form(
            request, next_url, email=email, error="Wrong e-mail or password.", status_code=401
        )
    response = redirect(next_url)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(SESSION_LIFETIME.total_seconds()),
        path="/dashboard",
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/dashboard/login")
    return response


@router.post("/logout")
async def logout(request: Request, services: ServicesDep, _form: FormDep) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        await services.operators.log_out(token)
    response = redirect("/dashboard/login?signed_out=1")
    response.delete_cookie(SESSION_COOKIE, path="/dashboard")
    return response


def _login_form(
    request: Request,
    next_url: str,
    *,
    email: str = "",
    error: str | None = None,
    status_code: int = 200,
) -> Response:
    csrf = request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(32)
    context = {
        "next_url": next_url,
        "email": email,
        "error": error,
        "login_csrf": csrf,
        "signed_out": request.query_params.get("signed_out") == "1",
        "lockout_minutes": int(LOCKOUT.total_seconds() // 60),
        "max_failures": MAX_FAILED_LOGINS,
    }
    response = page("login.html", context, operator=None, request=request, status_code=status_code)
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        csrf,
        path="/dashboard/login",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response
