"""Operator accounts and their dashboard sessions.

Passwords are hashed with argon2id (the library's defaults: 64 MiB, 3 passes), off the event
loop. After `MAX_FAILED_LOGINS` wrong passwords in a row an account is locked for
`LOCKOUT`, whatever is typed meanwhile. Each guess is counted before its password is
checked, so guesses sent in parallel cannot have more than `MAX_FAILED_LOGINS` checked
before the lock. A session is a random cookie token, stored as its SHA-256 with an expiry
and the CSRF token its forms carry.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Protocol

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from paydesk.db import Units, utcnow
from paydesk.errors import Conflict, InvalidRequest
from paydesk.operators.models import Operator
from paydesk.operators.repository import OperatorRepository
from paydesk.validation import email_address

MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=15)
SESSION_LIFETIME = timedelta(hours=12)
MIN_PASSWORD_LENGTH = 12

_hasher = PasswordHasher()


@cache
def _unknown_account_hash() -> str:
    """Checked when the e-mail is unknown, so an unknown account takes as long as a known one."""
    return _hasher.hash(secrets.token_urlsafe(16))


@dataclass(frozen=True, slots=True)
class SignedIn:
    """The operator behind a request, and the CSRF token its forms must send back."""

    operator_id: str
    email: str
    csrf_token: str


class LoginRefused(Exception):
    """Wrong e-mail or password, or a locked account (`locked_until` set)."""

    def __init__(self, locked_until: datetime | None = None) -> None:
        super().__init__("login refused")
        self.locked_until = locked_until


def normalize_email(email: str) -> str:
    return email.strip().lower()


class OperatorWork(Protocol):
    @property
    def operators(self) -> OperatorRepository: ...


class OperatorService:
    def __init__(self, units: Units[OperatorWork]) -> None:
        self.units = units

    async def create(self, email: str, password: str) -> Operator:
        try:
            email = normalize_email(email_address(email))
        except ValueError as exc:
            raise InvalidRequest(
                f"An operator needs one valid e-mail address ({exc}).", param="email"
            ) from None
        _check_length(password)
        # Hashed before the unit of work opens, so that no write waits on argon2.
        password_hash = await asyncio.to_thread(_hasher.hash, password)
        async with self.units.writing() as work:
            if await work.operators.get_id_by_email(email) is not None:
                raise Conflict(f"An operator {email} exists already.", code="operator_exists")
            return await work.operators.add(email, password_hash)

    async def set_password(self, email: str, password: str) -> Operator | None:
        """A new password for the operator, which also unlocks the account and ends its
        sessions; None when no operator has this e-mail."""
        _check_length(password)
        password_hash = await asyncio.to_thread(_hasher.hash, password)
        async with self.units.writing() as work:
            operator = await work.operators.get_by_email(normalize_email(email), for_update=True)
            if operator is None:
                return None
            operator.password_hash = password_hash
            operator.failed_logins = 0
            operator.locked_until = None
            await work.operators.delete_sessions_of(operator.id)
            return operator

    async def log_in(self, email: str, password: str) -> str:
        """A new session's cookie token for the right password; `LoginRefused` otherwise."""
        now = utcnow()
        guess = await self._count_guess(normalize_email(email), now)
        if guess is None:
            await _verify(await asyncio.to_thread(_unknown_account_hash), password)
            raise LoginRefused()
        if not await _verify(guess.password_hash, password):
            raise LoginRefused(locked_until=guess.locked_until)
        new_hash = None
        if _hasher.check_needs_rehash(guess.password_hash):
            new_hash = await asyncio.to_thread(_hasher.hash, password)
        token = secrets.token_urlsafe(32)
        async with self.units.writing() as work:
            current = await work.operators.get(guess.operator_id, for_update=True)
            if current is None or current.password_hash != guess.password_hash:
                # Removed, or given a new password, while this one was being checked.
                raise LoginRefused()
            if (current.failed_logins, current.locked_until) == (
                guess.failed_logins,
                guess.locked_until,
            ):
                # No guess was counted since this one: the failures before it are forgotten.
                # Had one been, nothing is: it was checked beside this one, and its count or
                # the lock it let fall must stand.
                current.failed_logins = 0
                current.locked_until = None
            current.last_login_at = now
            if new_hash is not None:
                current.password_hash = new_hash
            await work.operators.add_session(
                token_hash=_digest(token),
                operator_id=current.id,
                csrf_token=secrets.token_urlsafe(32),
                created_at=now,
                expires_at=now + SESSION_LIFETIME,
            )
            await work.operators.delete_expired_sessions(now)
        return token

    async def _count_guess(self, email: str, now: datetime) -> _Guess | None:
        """Counts a guess at `email`'s password, in a unit of work of its own, committed before
        the password is checked, so that guesses sent together each see the others' counts:
        None for an unknown e-mail, `LoginRefused` while the account is locked.

        Every guess counts as a failure until a right password forgets it. The guess that
        fills the window of `MAX_FAILED_LOGINS` locks the account for `LOCKOUT` then and
        there; guesses during a lock are refused unchecked and counted from 0, so that the
        right password, if it set the lock, lifts it only when no other guess came meanwhile."""
        async with self.units.writing() as work:
            operator = await work.operators.get_by_email(email, for_update=True)
            if operator is None:
                return None
            if operator.locked_until is not None and operator.locked_until <= now:
                # The lock has run out: a new window, the guesses refused during the lock
                # forgotten.
                operator.failed_logins = 0
                operator.locked_until = None
            operator.failed_logins += 1
            if operator.locked_until is None:
                if operator.failed_logins >= MAX_FAILED_LOGINS:
                    operator.failed_logins = 0
                    operator.locked_until = now + LOCKOUT
                return _Guess(
                    operator_id=operator.id,
                    password_hash=operator.password_hash,
                    failed_logins=operator.failed_logins,
                    locked_until=operator.locked_until,
                )
            locked_until = operator.locked_until
        raise LoginRefused(locked_until=locked_until)

    async def signed_in(self, token: str) -> SignedIn | None:
        """The operator whose live session `token` is, if any."""
        async with self.units.reading() as work:
            found = await work.operators.get_live_session(_digest(token), now=utcnow())
        if found is None:
            return None
        operator_id, email, csrf_token = found
        return SignedIn(operator_id=operator_id, email=email, csrf_token=csrf_token)

    async def log_out(self, token: str) -> None:
        async with self.units.writing() as work:
            await work.operators.delete_session(_digest(token))


@dataclass(frozen=True, slots=True)
class _Guess:
    """A password guess counted against its account, before the password is checked.

    `failed_logins` and `locked_until` are the account's as this guess left them: the lock
    is the one this guess set, being the last its window allows, or None."""

    operator_id: str
    password_hash: str
    failed_logins: int
    locked_until: datetime | None


def _check_length(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidRequest(
            f"The password needs at least {MIN_PASSWORD_LENGTH} characters.", param="password"
        )


async def _verify(password_hash: str, password: str) -> bool:
    try:
        return await asyncio.to_thread(_hasher.verify, password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
