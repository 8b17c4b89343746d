"""Identifiers shaped like Stripe's: a prefix, an underscore, random base62."""

import secrets
import string

_ALPHABET = string.ascii_letters + string.digits


def random_token(length: int = 24) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


def new_id(prefix: str) -> str:
    return f"{prefix}_{random_token()}"


def new_request_id() -> str:
    return f"req_{random_token(14)}"
