"""Operator accounts and their dashboard sessions.

Passwords are hashed with argon2id (the library's defaults: 64 MiB, 3 passes), off the event
loop. After `MAX_FAILED_LOGINS` wrong passwords in a row an account is locked for
`LOCKOUT`, whatever is typed meanwhile. A session is a random cookie token, stored as its
SHA-256 with an expiry and the CSRF token its forms carry.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from paydesk.db import Database, new_id, utcnow
from paydesk.errors import Conflict, InvalidRequest
from paydesk.operators.models import Operator, OperatorSession

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


async def create_operator(session: AsyncSession, email: str, password: str) -> Operator:
    email = normalize_email(email)
    if "@" not in email or len(email) > 320:
        raise InvalidRequest("An operator needs a valid e-mail address.", param="email")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidRequest(
            f"The password needs at least {MIN_PASSWORD_LENGTH} characters.", param="password"
        )
    if await session.scalar(select(Operator.id).where(Operator.email == email)) is not None:
        raise Conflict(f"An operator {email} exists already.", code="operator_exists")
    operator = Operator(
        id=new_id("op"),
        email=email,
        password_hash=await asyncio.to_thread(_hasher.hash, password),
    )
    session.add(operator)
    await session.flush()
    return operator


async def set_password(session: AsyncSession, email: str, password: str) -> Operator | None:
    """A new password for the operator, which also unlocks the account and ends its sessions."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InvalidRequest(
            f"The password needs at least {MIN_PASSWORD_LENGTH} characters.", param="password"
        )
    operator = await session.scalar(
        select(Operator).where(Operator.email == normalize_email(email)).with_for_update()
    )
    if operator is None:
        return None
    operator.password_hash = await asyncio.to_thread(_hasher.hash, password)
    operator.failed_logins = 0
    operator.locked_until = None
    await session.execute(delete(OperatorSession).where(OperatorSession.operator_id == operator.id))
    return operator


async def log_in(db: Database, email: str, password: str) -> str:
    """A new session's cookie token for the right password; `LoginRefused` otherwise."""
    async with db.sessions() as session:
        operator = await session.scalar(
            select(Operator).where(Operator.email == normalize_email(email))
        )
    now = utcnow()
    if operator is None:
        await _verify(await asyncio.to_thread(_unknown_account_hash), password)
        raise LoginRefused()
    if operator.locked_until is not None and operator.locked_until > now:
        raise LoginRefused(locked_until=operator.locked_until)
    correct = await _verify(operator.password_hash, password)
    if not correct:
        raise LoginRefused(locked_until=await _count_failure(db, operator.id, now))
    token = secrets.token_urlsafe(32)
    async with db.transaction() as session:
        current = await session.get(Operator, operator.id, with_for_update=True)
        if current is None:
            raise LoginRefused()
        current.failed_logins = 0
        current.locked_until = None
        current.last_login_at = now
        if _hasher.check_needs_rehash(current.password_hash):
            current.password_hash = await asyncio.to_thread(_hasher.hash, password)
        session.add(
            OperatorSession(
                token_hash=_digest(token),
                operator_id=current.id,
                csrf_token=secrets.token_urlsafe(32),
                created_at=now,
                expires_at=now + SESSION_LIFETIME,
            )
        )
        await session.execute(delete(OperatorSession).where(OperatorSession.expires_at <= now))
    return token


async def _count_failure(db: Database, operator_id: str, now: datetime) -> datetime | None:
    """One more wrong password in a row; the lock's end when this one locks the account."""
    async with db.transaction() as session:
        current = await session.get(Operator, operator_id, with_for_update=True)
        if current is None:
            return None
        current.failed_logins += 1
        if current.failed_logins < MAX_FAILED_LOGINS:
            return None
        current.failed_logins = 0
        current.locked_until = now + LOCKOUT
        return current.locked_until


async def signed_in(db: Database, token: str) -> SignedIn | None:
    """The operator whose live session `token` is, if any."""
    async with db.sessions() as session:
        row = (
            await session.execute(
                select(Operator.id, Operator.email, OperatorSession.csrf_token)
                .join(OperatorSession, OperatorSession.operator_id == Operator.id)
                .where(
                    OperatorSession.token_hash == _digest(token),
                    OperatorSession.expires_at > utcnow(),
                )
            )
        ).one_or_none()
    return None if row is None else SignedIn(operator_id=row[0], email=row[1], csrf_token=row[2])


async def log_out(db: Database, token: str) -> None:
    async with db.transaction() as session:
        await session.execute(
            delete(OperatorSession).where(OperatorSession.token_hash == _digest(token))
        )


async def count_operators(session: AsyncSession) -> int:
    return int(await session.scalar(select(func.count()).select_from(Operator)) or 0)


async def _verify(password_hash: str, password: str) -> bool:
    try:
        return await asyncio.to_thread(_hasher.verify, password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
