"""Signing in to the dashboard: argon2 passwords, lockout, session cookie, CSRF on every form."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from sqlalchemy import func, select, update

from paydesk.db import Database, utcnow
from paydesk.errors import Conflict, InvalidRequest
from paydesk.operators.models import Operator, OperatorSession
from paydesk.operators.service import MAX_FAILED_LOGINS, LoginRefused, OperatorService
from paydesk.unit_of_work import DatabaseUnits
from tests.integration.conftest import OPERATOR_EMAIL, OPERATOR_PASSWORD, Api, Dashboard


async def login(
    client: httpx.AsyncClient, email: str, password: str, **extra: str
) -> httpx.Response:
    await client.get("/dashboard/login")
    return await client.post(
        "/dashboard/login",
        data={
            "csrf_token": client.cookies.get("paydesk_login_csrf", ""),
            "email": email,
            "password": password,
            **extra,
        },
    )


@pytest.fixture
def operators(database: Database) -> OperatorService:
    return OperatorService(DatabaseUnits(database))


@pytest.fixture
async def browser(api: Api) -> httpx.AsyncClient:
    await api.services.operators.create(OPERATOR_EMAIL, OPERATOR_PASSWORD)
    return httpx.AsyncClient(transport=api.transport, base_url="http://paydesk.test")


async def test_the_password_is_kept_only_as_an_argon2id_hash(operators: OperatorService) -> None:
    operator = await operators.create(" Owner@Example.com ", "a long enough secret")
    assert operator.email == "owner@example.com"
    assert operator.password_hash.startswith("$argon2id$")
    assert "a long enough secret" not in operator.password_hash


async def test_short_passwords_and_second_accounts_are_refused(operators: OperatorService) -> None:
    with pytest.raises(InvalidRequest, match="12 characters"):
        await operators.create("owner@example.com", "short")
    await operators.create("owner@example.com", "a long enough secret")
    with pytest.raises(Conflict):
        await operators.create("OWNER@example.com", "another long secret")


async def test_signing_in_sets_a_session_cookie_and_lands_where_asked(
    browser: httpx.AsyncClient,
) -> None:
    answer = await login(
        browser, OPERATOR_EMAIL, OPERATOR_PASSWORD, next="/dashboard/payments?status=failed"
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == "/dashboard/payments?status=failed"
    cookie = next(
        h for h in answer.headers.get_list("set-cookie") if h.startswith("paydesk_session=")
    )
    attributes = {part.strip().split("=")[0].lower() for part in cookie.split(";")}
    assert {"httponly", "path", "samesite"} <= attributes
    assert "samesite=lax" in cookie.lower()
    assert "path=/dashboard" in cookie.lower()
    assert "secure" not in attributes  # plain HTTP here; Secure when served over TLS


async def test_secure_cookie_over_tls(api: Api) -> None:
    await api.services.operators.create(OPERATOR_EMAIL, OPERATOR_PASSWORD)
    async with httpx.AsyncClient(transport=api.transport, base_url="https://paydesk.test") as tls:
        answer = await login(tls, OPERATOR_EMAIL, OPERATOR_PASSWORD)
    cookie = next(
        h for h in answer.headers.get_list("set-cookie") if h.startswith("paydesk_session=")
    )
    assert "secure" in {part.strip().lower() for part in cookie.split(";")}


@pytest.mark.parametrize("next_url", ["https://evil.example/", "//evil.example/x", "/api/orders"])
async def test_after_sign_in_only_dashboard_paths_are_followed(
    browser: httpx.AsyncClient, next_url: str
) -> None:
    answer = await login(browser, OPERATOR_EMAIL, OPERATOR_PASSWORD, next=next_url)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/dashboard"


async def test_a_wrong_password_is_refused_without_saying_which_part_was_wrong(
    browser: httpx.AsyncClient,
) -> None:
    wrong_password = await login(browser, OPERATOR_EMAIL, "not the password")
    unknown = await login(browser, "nobody@example.com", OPERATOR_PASSWORD)
    for answer in (wrong_password, unknown):
        assert answer.status_code == 401
        assert "Wrong e-mail or password." in answer.text
        assert "paydesk_session" not in answer.cookies


async def test_repeated_failures_lock_the_account_even_for_the_right_password(
    api: Api, browser: httpx.AsyncClient
) -> None:
    for _ in range(MAX_FAILED_LOGINS - 1):
        assert (await login(browser, OPERATOR_EMAIL, "guess")).status_code == 401
    locked = await login(browser, OPERATOR_EMAIL, "guess")
    assert locked.status_code == 429
    assert "locked until" in locked.text
    right = await login(browser, OPERATOR_EMAIL, OPERATOR_PASSWORD)
    assert right.status_code == 429

    # When the lock has run out, the right password works again.
    async with api.db.transaction() as session:
        await session.execute(update(Operator).values(locked_until=utcnow() - timedelta(seconds=1)))
    assert (await login(browser, OPERATOR_EMAIL, OPERATOR_PASSWORD)).status_code == 303


async def test_a_success_forgets_earlier_failures(operators: OperatorService) -> None:
    await operators.create(OPERATOR_EMAIL, OPERATOR_PASSWORD)
    for _ in range(MAX_FAILED_LOGINS - 1):
        with pytest.raises(LoginRefused):
            await operators.log_in(OPERATOR_EMAIL, "guess")
    await operators.log_in(OPERATOR_EMAIL, OPERATOR_PASSWORD)
    with pytest.raises(LoginRefused) as refused:
        await operators.log_in(OPERATOR_EMAIL, "guess")
    assert refused.value.locked_until is None


async def test_the_login_form_needs_its_own_csrf_token(browser: httpx.AsyncClient) -> None:
    await browser.get("/dashboard/login")
    answer = await browser.post(
        "/dashboard/login",
        data={"csrf_token": "forged", "email": OPERATOR_EMAIL, "password": OPERATOR_PASSWORD},
    )
    assert answer.status_code == 403
    assert "This form was refused" in answer.text
    assert "paydesk_session" not in answer.cookies


async def test_signed_out_pages_send_the_browser_to_the_login_page(api: Api) -> None:
    async with httpx.AsyncClient(transport=api.transport, base_url="http://paydesk.test") as anon:
        answer = await anon.get("/dashboard/payments?status=failed")
    assert answer.status_code == 303
    assert (
        answer.headers["location"] == "/dashboard/login?next=/dashboard/payments%3Fstatus%3Dfailed"
    )


async def test_a_form_without_the_sessions_csrf_token_is_refused(
    api: Api, dashboard: Dashboard
) -> None:
    answer = await dashboard.client.post("/dashboard/logout", data={"csrf_token": "forged"})
    assert answer.status_code == 403
    assert "This form was refused" in answer.text
    assert answer.headers["content-security-policy"].startswith("default-src 'self'")
    async with api.db.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(OperatorSession)) == 1


async def test_signing_out_ends_the_session(api: Api, dashboard: Dashboard) -> None:
    token = dashboard.client.cookies["paydesk_session"]
    assert await api.services.operators.signed_in(token) is not None
    answer = await dashboard.post("/dashboard/logout")
    assert answer.status_code == 303
    assert answer.headers["location"] == "/dashboard/login?signed_out=1"
    assert await api.services.operators.signed_in(token) is None
    dashboard.client.cookies.set("paydesk_session", token, path="/dashboard")
    replayed = await dashboard.client.get("/dashboard")
    assert replayed.status_code == 303


async def test_expired_sessions_are_not_accepted(api: Api, dashboard: Dashboard) -> None:
    async with api.db.transaction() as session:
        await session.execute(update(OperatorSession).values(expires_at=utcnow()))
    assert (
        await api.services.operators.signed_in(dashboard.client.cookies["paydesk_session"]) is None
    )


async def test_a_new_password_unlocks_the_account_and_ends_its_sessions(
    api: Api, dashboard: Dashboard
) -> None:
    operators = api.services.operators
    async with api.db.transaction() as session:
        await session.execute(
            update(Operator).values(locked_until=utcnow() + timedelta(minutes=10))
        )
    assert await operators.set_password(OPERATOR_EMAIL, "a brand new passphrase") is not None
    assert await operators.set_password("nobody@example.com", "a brand new passphrase") is None
    assert await operators.signed_in(dashboard.client.cookies["paydesk_session"]) is None
    assert await operators.log_in(OPERATOR_EMAIL, "a brand new passphrase")


async def test_a_form_too_large_is_refused_before_it_is_read_to_the_end(
    api: Api, dashboard: Dashboard
) -> None:
    answer = await dashboard.post("/dashboard/logout", {"padding": "x" * (600 * 1024)})
    assert answer.status_code == 413
    assert "The form sent more than 512 KiB; nothing was changed." in answer.text
    async with api.db.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(OperatorSession)) == 1
