"""Stripe's webhook signature, made as Stripe makes it: the `Stripe-Signature` header
`t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>" keyed with the endpoint's secret>`.

The sandbox signs every delivery with it; tests and benches sign the events they post
with it too, so that all of them sign alike. Checking a signature is the official SDK's
work, never this module's."""

import hashlib
import hmac
import time


def signature_header(body: bytes, secret: str, timestamp: int | None = None) -> str:
    """The `Stripe-Signature` header for `body`, signed at `timestamp` (default: now)."""
    stamp = int(time.time()) if timestamp is None else timestamp
    signed = f"{stamp}.".encode() + body
    digest = hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return f"t={stamp},v1={digest}"
