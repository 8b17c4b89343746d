"""The sign-in lockout holds under parallel guesses: each guess is counted before its password
is checked, so argon2 checks at most `MAX_FAILED_LOGINS` passwords before the lock falls."""

from __future__ import annotations

import asyncio
import functools
import secrets
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from argon2 import PasswordHasher
from sqlalchemy import update

from paydesk.db import Database, utcnow
from paydesk.operators import service
from paydesk.operators.models import Operator
from paydesk.operators.service import MAX_FAILED_LOGINS
from paydesk.web.dashboard.auth import LOGIN_CSRF_COOKIE
from tests.integration.conftest import OPERATOR_EMAIL, OPERATOR_PASSWORD, Api

PARALLEL_ATTEMPTS = 50


@pytest.fixture
def checked(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The passwords argon2 checks against an operator's hash, in order (not those checked
    against the stand-in hash for unknown e-mails)."""
    passwords: list[str] = []
    verify = service._verify

    async def counting_verify(password_hash: str, password: str) -> bool:
        if password_hash != service._unknown_account_hash():
            passwords.append(password)
        return await verify(password_hash, password)

    monkeypatch.setattr(service, "_verify", counting_verify)
    return passwords


@pytest.fixture
async def browser(api: Api) -> AsyncIterator[httpx.AsyncClient]:
    """A browser, and an operator for it to sign in as."""
    await api.services.operators.create(OPERATOR_EMAIL, OPERATOR_PASSWORD)
    async with httpx.AsyncClient(transport=api.transport, base_url="http://paydesk.test") as client:
        yield client


@pytest.fixture
def cheap_argon2(monkeypatch: pytest.MonkeyPatch) -> None:
    """argon2id at its lowest cost (8 KiB, 1 pass) instead of 64 MiB and 3 passes: for the
    tests whose guesses go one after another, where what a check costs changes nothing they
    prove. The parallel guesses keep the real cost: checks that last are what lets guesses
    overlap. Requested before `browser`, so that the operator's hash is a cheap one too."""
    cheap = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    monkeypatch.setattr(service, "_hasher", cheap)
    unknown = functools.cache(lambda: cheap.hash(secrets.token_urlsafe(16)))
    monkeypatch.setattr(service, "_unknown_account_hash", unknown)


async def post_login(client: httpx.AsyncClient, password: str) -> int:
    """The status of the login form posted with the operator's e-mail and `password`."""
    answer = await client.post(
        "/dashboard/login",
        data={
            "csrf_token": client.cookies[LOGIN_CSRF_COOKIE],
            "email": OPERATOR_EMAIL,
            "password": password,
        },
    )
    return answer.status_code


async def sign_in(client: httpx.AsyncClient, password: str) -> int:
    """As `post_login`, from a freshly loaded login page (a sign-in drops its CSRF cookie)."""
    assert (await client.get("/dashboard/login")).status_code == 200
    return await post_login(client, password)


async def end_the_lock(db: Database) -> None:
    async with db.transaction() as session:
        await session.execute(update(Operator).values(locked_until=utcnow() - timedelta(seconds=1)))


@pytest.mark.parametrize("right_at", [0, MAX_FAILED_LOGINS - 1, PARALLEL_ATTEMPTS - 1])
async def test_parallel_guesses_check_at_most_five_passwords_and_lock_the_account(
    api: Api, browser: httpx.AsyncClient, checked: list[str], right_at: int
) -> None:
    passwords = [f"wrong guess {n}" for n in range(PARALLEL_ATTEMPTS - 1)]
    passwords.insert(right_at, OPERATOR_PASSWORD)
    await browser.get("/dashboard/login")
    csrf_token = browser.cookies[LOGIN_CSRF_COOKIE]
    # One browser each, all holding the login form's CSRF cookie, so that no answer (a
    # sign-in drops that cookie) changes what a later request sends.
    browsers = [
        httpx.AsyncClient(
            transport=api.transport,
            base_url="http://paydesk.test",
            cookies={LOGIN_CSRF_COOKIE: csrf_token},
        )
        for _ in passwords
    ]
    try:
        statuses = await asyncio.gather(
            *(
                post_login(client, password)
                for client, password in zip(browsers, passwords, strict=True)
            )
        )
    finally:
        await asyncio.gather(*(client.aclose() for client in browsers))

    assert len(checked) <= MAX_FAILED_LOGINS, f"{len(checked)} passwords checked"
    assert set(statuses) <= {303, 401, 429}
    signed_in = [
        password for password, status in zip(passwords, statuses, strict=True) if status == 303
    ]
    assert signed_in == ([OPERATOR_PASSWORD] if OPERATOR_PASSWORD in checked else [])
    assert await sign_in(browser, OPERATOR_PASSWORD) == 429
    assert len(checked) <= MAX_FAILED_LOGINS, "a locked account's password was checked"

    await end_the_lock(api.db)
    assert await sign_in(browser, OPERATOR_PASSWORD) == 303


@pytest.mark.parametrize(
    ("wrong_before", "wrong_during"),
    [(0, MAX_FAILED_LOGINS - 1), (MAX_FAILED_LOGINS - 1, 1)],
    ids=["right-first", "right-fifth"],
)
async def test_guesses_made_while_the_right_password_is_checked_still_lock_the_account(
    cheap_argon2: None,
    api: Api,
    browser: httpx.AsyncClient,
    monkeypatch: pytest.MonkeyPatch,
    wrong_before: int,
    wrong_during: int,
) -> None:
    for n in range(wrong_before):
        assert await sign_in(browser, f"guess {n}") == 401
    checking, release = asyncio.Event(), asyncio.Event()
    verify = service._verify

    async def verify_the_right_password_slowly(password_hash: str, password: str) -> bool:
        if password == OPERATOR_PASSWORD:
            checking.set()
            await release.wait()
        return await verify(password_hash, password)

    monkeypatch.setattr(service, "_verify", verify_the_right_password_slowly)
    async with httpx.AsyncClient(transport=api.transport, base_url="http://paydesk.test") as owner:
        assert (await owner.get("/dashboard/login")).status_code == 200
        right = asyncio.create_task(post_login(owner, OPERATOR_PASSWORD))
        await checking.wait()
        try:
            statuses = [await sign_in(browser, f"guess during {n}") for n in range(wrong_during)]
        finally:
            release.set()
        assert await right == 303
    assert statuses[-1] == 429
    assert await sign_in(browser, OPERATOR_PASSWORD) == 429


async def test_five_wrong_passwords_in_a_row_lock_the_account_and_stop_the_checks(
    cheap_argon2: None, browser: httpx.AsyncClient, checked: list[str]
) -> None:
    statuses = [await sign_in(browser, f"guess {n}") for n in range(MAX_FAILED_LOGINS)]
    assert statuses == [401] * (MAX_FAILED_LOGINS - 1) + [429]
    assert await sign_in(browser, OPERATOR_PASSWORD) == 429
    assert await sign_in(browser, "one more guess") == 429
    assert checked == [f"guess {n}" for n in range(MAX_FAILED_LOGINS)]


async def test_a_right_password_before_the_fifth_wrong_one_starts_the_count_again(
    cheap_argon2: None,
    browser: httpx.AsyncClient,
) -> None:
    for n in range(MAX_FAILED_LOGINS - 1):
        assert await sign_in(browser, f"guess {n}") == 401
    assert await sign_in(browser, OPERATOR_PASSWORD) == 303
    statuses = [await sign_in(browser, f"guess {n}") for n in range(MAX_FAILED_LOGINS)]
    assert statuses == [401] * (MAX_FAILED_LOGINS - 1) + [429]


async def test_when_the_lock_ends_five_more_guesses_are_allowed(
    cheap_argon2: None, api: Api, browser: httpx.AsyncClient
) -> None:
    for n in range(MAX_FAILED_LOGINS):
        await sign_in(browser, f"guess {n}")
    for n in range(3):
        assert await sign_in(browser, f"guess while locked {n}") == 429

    await end_the_lock(api.db)
    statuses = [await sign_in(browser, f"guess {n}") for n in range(MAX_FAILED_LOGINS)]
    assert statuses == [401] * (MAX_FAILED_LOGINS - 1) + [429]


async def test_a_password_replaced_while_it_is_checked_does_not_sign_in(
    cheap_argon2: None, api: Api, browser: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    verify = service._verify

    async def verify_while_the_password_is_replaced(password_hash: str, password: str) -> bool:
        await api.services.operators.set_password(OPERATOR_EMAIL, "the replacement passphrase")
        return await verify(password_hash, password)

    monkeypatch.setattr(service, "_verify", verify_while_the_password_is_replaced)
    assert await sign_in(browser, OPERATOR_PASSWORD) == 401
