"""Stripe's webhook signature: `t=<unix>,v1=<hex hmac_sha256(secret, "<t>.<body>")>`."""

import hashlib
import hmac
import time


def signature_header(secret: str, body: bytes, timestamp: int | None = None) -> str:
    stamp = int(time.time()) if timestamp is None else timestamp
    signed = f"{stamp}.".encode() + body
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={stamp},v1={digest}"
