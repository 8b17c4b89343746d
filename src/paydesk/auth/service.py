"""Who is calling: a shop with its secret key, or a customer's browser with its order's
checkout token. Both are random secrets, stored only as SHA-256 digests."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from paydesk.auth.models import ApiKey
from paydesk.db import new_id, utcnow
from paydesk.errors import (
    AuthenticationFailed,
    Conflict,
    InvalidRequest,
    NotFound,
    PermissionDenied,
)
from paydesk.orders.models import Order

API_KEY_PREFIX = "pd_sk_"
CHECKOUT_TOKEN_PREFIX = "pd_ct_"
# How much of a key is kept in the clear, to name it in lists: `pd_sk_` and six more.
KEY_PREFIX_LENGTH = 12


@dataclass(frozen=True, slots=True)
class Shop:
    api_key_id: str


@dataclass(frozen=True, slots=True)
class Customer:
    """A browser holding one order's checkout token: it may see and pay that order only."""

    order_id: str


Principal = Shop | Customer


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def new_checkout_token() -> str:
    return CHECKOUT_TOKEN_PREFIX + secrets.token_urlsafe(24)


async def create_api_key(session: AsyncSession, name: str) -> tuple[str, ApiKey]:
    """A new shop key: the plaintext is returned here and never again."""
    plaintext = API_KEY_PREFIX + secrets.token_urlsafe(32)
    key = ApiKey(
        id=new_id("key"),
        name=name,
        prefix=plaintext[:KEY_PREFIX_LENGTH],
        key_hash=digest(plaintext),
    )
    session.add(key)
    await session.flush()
    return plaintext, key


async def authenticate(session: AsyncSession, authorization: str | None) -> Principal:
    if not authorization:
        raise AuthenticationFailed(
            "Send `Authorization: Bearer <shop API key or the order's checkout token>`.",
            code="missing_credentials",
        )
    scheme, _, secret = authorization.partition(" ")
    secret = secret.strip()
    if scheme.lower() != "bearer" or not secret:
        raise AuthenticationFailed(
            "The Authorization header must be `Bearer <key>`.", code="malformed_credentials"
        )
    if secret.startswith(API_KEY_PREFIX):
        key_id = await session.scalar(
            select(ApiKey.id).where(ApiKey.key_hash == digest(secret), ApiKey.revoked_at.is_(None))
        )
        if key_id is not None:
            return Shop(key_id)
    elif secret.startswith(CHECKOUT_TOKEN_PREFIX):
        order_id = await session.scalar(
            select(Order.id).where(Order.checkout_token_hash == digest(secret))
        )
        if order_id is not None:
            return Customer(order_id)
    raise AuthenticationFailed(
        "The API key or checkout token is not valid.", code="invalid_credentials"
    )


async def record_key_use(session: AsyncSession, api_key_id: str) -> None:
    await session.execute(
        update(ApiKey).where(ApiKey.id == api_key_id).values(last_used_at=utcnow())
    )


async def list_api_keys(session: AsyncSession) -> Sequence[ApiKey]:
    """Every shop key, revoked ones too, oldest first."""
    return (await session.scalars(select(ApiKey).order_by(ApiKey.created_at, ApiKey.id))).all()


async def revoke_api_key(session: AsyncSession, prefix: str) -> ApiKey:
    """Revokes the one live key that `prefix` names (the prefix `paydesk keys list` prints,
    or the whole key): from the commit on, it authenticates nothing, in every process
    (keys are checked against the database on every request). Refused when no live key or
    several match."""
    prefix = prefix.strip()
    if not prefix.startswith(API_KEY_PREFIX) or len(prefix) <= len(API_KEY_PREFIX):
        raise InvalidRequest(
            f"Name a key by the prefix `paydesk keys list` prints ({API_KEY_PREFIX}…).",
            param="prefix",
        )
    query = select(ApiKey).where(ApiKey.revoked_at.is_(None)).with_for_update()
    if len(prefix) > KEY_PREFIX_LENGTH:
        query = query.where(ApiKey.key_hash == digest(prefix))
    else:
        query = query.where(ApiKey.prefix.startswith(prefix, autoescape=True))
    matching = (await session.scalars(query)).all()
    if not matching:
        raise NotFound(
            f"No live key starts with {prefix[:KEY_PREFIX_LENGTH]}.", code="key_not_found"
        )
    if len(matching) > 1:
        raise Conflict(
            f"{len(matching)} live keys start with {prefix}; give more of the prefix.",
            code="key_prefix_ambiguous",
        )
    key = matching[0]
    key.revoked_at = utcnow()
    return key


def require_shop(principal: Principal) -> Shop:
    if not isinstance(principal, Shop):
        raise PermissionDenied(
            "This call needs the shop's secret API key, not a checkout token.",
            code="shop_key_required",
        )
    return principal
