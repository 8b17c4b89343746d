"""Who may call paydesk: a shop with its secret key, or a customer's browser with one
order's checkout token. Both are random secrets, kept only as SHA-256 digests."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

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
