"""Who may call paydesk: a shop with its secret key, or a customer's browser with one
order's checkout token. Both are random secrets, kept only as SHA-256 digests. A checkout
link paydesk e-mails a customer (to pay again after a failed payment) carries a signed token
instead, which nothing stores and which lapses."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

API_KEY_PREFIX = "pd_sk_"
CHECKOUT_TOKEN_PREFIX = "pd_ct_"
CHECKOUT_LINK_PREFIX = "pd_cl_"


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


@dataclass(frozen=True, slots=True)
class CheckoutLinks:
    """Signed tokens that open one order's checkout, as its checkout token does, until they
    lapse: `pd_cl_<order id>.<expiry, Unix seconds>.<HMAC-SHA256 of both>`."""

    key: bytes
    lifetime: timedelta = timedelta(days=7)

    @classmethod
    def from_secret(cls, secret: str) -> CheckoutLinks:
        """Links signed with a key derived from `secret`, so that the key itself is never
        the secret given."""
        key = hmac.new(secret.encode(), b"paydesk checkout links", hashlib.sha256).digest()
        return cls(key)

    def issue(self, order_id: str, issued_at: datetime) -> str:
        expires = int((issued_at + self.lifetime).timestamp())
        body = f"{order_id}.{expires}"
        return f"{CHECKOUT_LINK_PREFIX}{body}.{self._sign(body)}"

    def order_of(self, token: str, now: datetime) -> str | None:
        """The order a valid, unexpired link names; None for anything else."""
        if not token.startswith(CHECKOUT_LINK_PREFIX):
            return None
        order_id, _, rest = token[len(CHECKOUT_LINK_PREFIX) :].partition(".")
        expires, _, signature = rest.partition(".")
        if not (order_id and expires.isdigit() and signature):
            return None
        if not hmac.compare_digest(signature, self._sign(f"{order_id}.{expires}")):
            return None
        return order_id if int(expires) > now.timestamp() else None

    def _sign(self, body: str) -> str:
        mac = hmac.new(self.key, body.encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac).decode().rstrip("=")
