"""Who is calling: a shop with its secret key, or a customer's browser with its order's
checkout token. Both are random secrets, stored only as SHA-256 digests."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from paydesk.auth.models import ApiKey
from paydesk.db import new_id
from paydesk.errors import AuthenticationFailed, PermissionDenied
from paydesk.orders.models import Order

API_KEY_PREFIX = "pd_sk_"
CHECKOUT_TOKEN_PREFIX = "pd_ct_"


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
    key = ApiKey(id=new_id("key"), name=name, prefix=plaintext[:12], key_hash=digest(plaintext))
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


def require_shop(principal: Principal) -> Shop:
    if not isinstance(principal, Shop):
        raise PermissionDenied(
            "This call needs the shop's secret API key, not a checkout token.",
            code="shop_key_required",
        )
    return principal
