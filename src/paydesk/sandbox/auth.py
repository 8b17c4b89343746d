"""API keys: any test-mode secret key; publishable keys only where Stripe.js may call."""

import base64
import binascii
from dataclasses import dataclass

from paydesk.sandbox.errors import AuthenticationError, InvalidRequestError


@dataclass(frozen=True, slots=True)
class ApiKey:
    value: str

    @property
    def publishable(self) -> bool:
        return self.value.startswith("pk_")


def authenticate(authorization: str | None, *, allow_publishable: bool) -> ApiKey:
    key = _key_from_header(authorization)
    if key is None:
        raise AuthenticationError(
            "You did not provide an API key. You need to provide your API key in the "
            "Authorization header, using Bearer auth (e.g. 'Authorization: Bearer "
            "YOUR_SECRET_KEY').",
        )
    if key.startswith(("sk_live_", "rk_live_", "pk_live_")):
        raise AuthenticationError(
            "This is an offline test-mode sandbox: live mode keys are refused. Use any "
            "sk_test_ key, and never send a live key here.",
        )
    if key.startswith(("sk_test_", "rk_test_")) and len(key) > len("sk_test_"):
        return ApiKey(key)
    if key.startswith("pk_test_") and len(key) > len("pk_test_"):
        if not allow_publishable:
            raise InvalidRequestError(
                "This API call cannot be made with a publishable API key. Please use a "
                "secret API key.",
                status=401,
            )
        return ApiKey(key)
    raise AuthenticationError(f"Invalid API Key provided: {_redacted(key)}")


def _key_from_header(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, credentials = authorization.partition(" ")
    credentials = credentials.strip()
    if scheme.lower() == "bearer":
        return credentials or None
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(credentials, validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return None
        return decoded.partition(":")[0] or None
    return None


def _redacted(key: str) -> str:
    return key[:8] + "*" * max(0, len(key) - 12) + key[-4:] if len(key) > 12 else "****"
