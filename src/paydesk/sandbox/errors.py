"""Errors in Stripe's shape; each knows its HTTP status and renders Stripe's body."""

from typing import Any

StripeObject = dict[str, Any]

DOCS = "https://stripe.com/docs/error-codes"


class StripeError(Exception):
    """An error answered as `{"error": {...}}` with the status Stripe uses for it."""

    status = 400
    error_type = "invalid_request_error"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        param: str | None = None,
        decline_code: str | None = None,
        payment_intent: StripeObject | None = None,
        charge: str | None = None,
        payment_method: StripeObject | None = None,
        status: int | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.param = param
        self.decline_code = decline_code
        self.payment_intent = payment_intent
        self.charge = charge
        self.payment_method = payment_method
        self.headers = headers or {}
        if status is not None:
            self.status = status

    def body(self, request_id: str) -> StripeObject:
        error: StripeObject = {
            "type": self.error_type,
            "message": self.message,
            "request_log_url": f"https://dashboard.stripe.com/test/logs/{request_id}",
        }
        if self.code is not None:
            error["code"] = self.code
            error["doc_url"] = f"{DOCS}/{self.code.replace('_', '-')}"
        optional = {
            "param": self.param,
            "decline_code": self.decline_code,
            "payment_intent": self.payment_intent,
            "charge": self.charge,
            "payment_method": self.payment_method,
        }
        error.update({key: value for key, value in optional.items() if value is not None})
        return {"error": error}


class InvalidRequestError(StripeError):
    status = 400
    error_type = "invalid_request_error"


class ResourceMissingError(InvalidRequestError):
    status = 404

    def __init__(self, kind: str, object_id: str, param: str = "id") -> None:
        super().__init__(f"No such {kind}: '{object_id}'", code="resource_missing", param=param)


class IdempotencyError(StripeError):
    status = 400
    error_type = "idempotency_error"


class AuthenticationError(StripeError):
    status = 401
    error_type = "authentication_error"


class CardError(StripeError):
    status = 402
    error_type = "card_error"


class ApiError(StripeError):
    status = 500
    error_type = "api_error"


def parameter_missing(param: str) -> InvalidRequestError:
    return InvalidRequestError(
        f"Missing required param: {param}.", code="parameter_missing", param=param
    )


def parameter_unknown(param: str) -> InvalidRequestError:
    return InvalidRequestError(
        f"Received unknown parameter: {param}", code="parameter_unknown", param=param
    )


def unexpected_state(message: str, payment_intent: StripeObject) -> InvalidRequestError:
    return InvalidRequestError(
        message, code="payment_intent_unexpected_state", payment_intent=payment_intent
    )
