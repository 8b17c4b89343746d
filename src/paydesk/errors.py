"""One error tree: every error knows its HTTP status, type and code, and renders as
`{"error": {"type", "code", "message"}}` (plus `param` or `decline_code` when known)."""

from __future__ import annotations

from typing import Any, ClassVar


class ConfigurationError(Exception):
    """Bad settings: start-up stops with this one sentence."""


class PaydeskError(Exception):
    status_code: ClassVar[int] = 400
    type: ClassVar[str] = "invalid_request_error"
    default_code: ClassVar[str] = "invalid_request"

    def __init__(self, message: str, *, code: str | None = None, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        self.code = code or self.default_code
        self.extra = {k: v for k, v in extra.items() if v is not None}

    def to_body(self) -> dict[str, Any]:
        body = {"type": self.type, "code": self.code, "message": self.message, **self.extra}
        return {"error": body}

    def headers(self) -> dict[str, str]:
        """Headers the answer carries beside the body."""
        return {}


class InvalidRequest(PaydeskError):
    """The request is malformed or names a bad value; `param` says which."""


class AuthenticationFailed(PaydeskError):
    status_code = 401
    type = "authentication_error"
    default_code = "unauthenticated"

    def headers(self) -> dict[str, str]:
        return {"WWW-Authenticate": 'Bearer realm="paydesk"'}


class PermissionDenied(PaydeskError):
    status_code = 403
    type = "permission_error"
    default_code = "forbidden"


class NotFound(PaydeskError):
    status_code = 404
    default_code = "resource_missing"


class MethodNotAllowed(PaydeskError):
    status_code = 405
    default_code = "method_not_allowed"


class Conflict(PaydeskError):
    status_code = 409
    default_code = "conflict"


class IdempotencyError(PaydeskError):
    status_code = 409
    type = "idempotency_error"
    default_code = "idempotency_key_reused"


class RequestTimeout(PaydeskError):
    """The request's body did not arrive in time."""

    status_code = 408
    default_code = "request_timeout"


class PayloadTooLarge(PaydeskError):
    status_code = 413
    default_code = "payload_too_large"


class CardDeclined(PaydeskError):
    """The card was refused; `decline_code` is Stripe's."""

    status_code = 402
    type = "card_error"
    default_code = "card_declined"


class PaymentProviderMisconfigured(PaydeskError):
    """Stripe refuses paydesk's own API key: the operator must fix it; retrying cannot help."""

    status_code = 500
    type = "api_error"
    default_code = "stripe_authentication_failed"


class PaymentProviderUnavailable(PaydeskError):
    """Stripe could not be reached or did not answer in time; retrying is safe."""

    status_code = 502
    type = "payment_provider_error"
    default_code = "stripe_unreachable"


class InternalError(PaydeskError):
    """Something paydesk did not expect; the answer names the request, and the log says why."""

    status_code = 500
    type = "api_error"
    default_code = "internal_error"


class ServiceUnavailable(PaydeskError):
    """Something paydesk needs (its database) cannot be used now; retry after a moment."""

    status_code = 503
    type = "api_error"
    default_code = "service_unavailable"

    def headers(self) -> dict[str, str]:
        return {"Retry-After": "1"}
