"""Who is calling: a shop with its secret key, or a customer's browser with its order's
checkout token or a signed checkout link (paydesk/principals.py); and the shop's keys: made,
listed, revoked."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from paydesk.auth.models import ApiKey
from paydesk.auth.repository import KEY_PREFIX_LENGTH, ApiKeyRepository
from paydesk.db import Units, utcnow
from paydesk.errors import (
    AuthenticationFailed,
    Conflict,
    InvalidRequest,
    NotFound,
    PermissionDenied,
)
from paydesk.orders.repository import OrderRepository
from paydesk.principals import (
    API_KEY_PREFIX,
    CHECKOUT_LINK_PREFIX,
    CHECKOUT_TOKEN_PREFIX,
    CheckoutLinks,
    Customer,
    Principal,
    Shop,
    digest,
)


class AuthWork(Protocol):
    @property
    def api_keys(self) -> ApiKeyRepository: ...

    @property
    def orders(self) -> OrderRepository: ...


def require_shop(principal: Principal) -> Shop:
    if not isinstance(principal, Shop):
        raise PermissionDenied(
            "This call needs the shop's secret API key, not a checkout token.",
            code="shop_key_required",
        )
    return principal


class AuthService:
    def __init__(self, units: Units[AuthWork], links: CheckoutLinks) -> None:
        self.units = units
        self.links = links

    async def authenticate(self, authorization: str | None) -> Principal:
        """The caller an `Authorization` header names; AuthenticationFailed for none."""
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
        if secret.startswith(CHECKOUT_LINK_PREFIX):
            linked = self.links.order_of(secret, utcnow())
            if linked is not None:
                return Customer(linked)
        elif secret.startswith((API_KEY_PREFIX, CHECKOUT_TOKEN_PREFIX)):
            async with self.units.reading() as work:
                if secret.startswith(API_KEY_PREFIX):
                    key_id = await work.api_keys.get_live_id_by_hash(digest(secret))
                    if key_id is not None:
                        return Shop(key_id)
                else:
                    order_id = await work.orders.get_id_by_checkout_token_hash(digest(secret))
                    if order_id is not None:
                        return Customer(order_id)
        raise AuthenticationFailed(
            "The API key or checkout token is not valid.", code="invalid_credentials"
        )

    async def create_key(self, name: str) -> tuple[str, ApiKey]:
        """A new shop key: the plaintext is returned here and never again."""
        async with self.units.writing() as work:
            return await work.api_keys.create(name)

    async def list_keys(self) -> Sequence[ApiKey]:
        async with self.units.reading() as work:
            return await work.api_keys.list_keys()

    async def record_use(self, api_key_id: str) -> None:
        async with self.units.writing() as work:
            await work.api_keys.record_use(api_key_id)

    async def revoke(self, prefix: str) -> ApiKey:
        """Revokes the one live key that `prefix` names (the prefix `paydesk keys list`
        prints, or the whole key): from the commit on, it authenticates nothing, in every
        process (keys are checked against the database on every request). Refused when no
        live key or several match."""
        prefix = prefix.strip()
        if not prefix.startswith(API_KEY_PREFIX) or len(prefix) <= len(API_KEY_PREFIX):
            raise InvalidRequest(
                f"Name a key by the prefix `paydesk keys list` prints ({API_KEY_PREFIX}…).",
                param="prefix",
            )
        async with self.units.writing() as work:
            if len(prefix) > KEY_PREFIX_LENGTH:
                matching = await work.api_keys.list_live_by_hash(digest(prefix))
            else:
                matching = await work.api_keys.list_live_by_prefix(prefix)
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
