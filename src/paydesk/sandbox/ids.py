"""Identifiers shaped like Stripe's: a prefix, an underscore, random base62."""

import base64
import secrets


def random_token(length: int = 24) -> str:
    """`length` random letters and digits (base64 of random bytes, symbols dropped)."""
    token = b""
    while len(token) < length:
        token += base64.b64encode(secrets.token_bytes(length)).translate(None, b"+/=")
    return token[:length].decode()


def new_id(prefix: str) -> str:
    return f"{prefix}_{random_token()}"


def new_request_id() -> str:
    return f"req_{random_token(14)}"
