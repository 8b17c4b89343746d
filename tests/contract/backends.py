"""Backends the contract test runs against, and helpers shared by its scenarios."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import stripe

SANDBOX = "sandbox"
LOCALSTRIPE = "localstripe"

# Keys of a PaymentIntent that Stripe documents and that both backends return.
CORE_PAYMENT_INTENT_KEYS = frozenset(
    {
        "id",
        "object",
        "amount",
        "currency",
        "status",
        "metadata",
        "client_secret",
        "capture_method",
        "created",
        "livemode",
        "customer",
        "payment_method",
        "latest_charge",
        "last_payment_error",
        "next_action",
    }
)

# Keys of a Charge that Stripe documents and that both backends return.
CORE_CHARGE_KEYS = frozenset(
    {
        "id",
        "object",
        "amount",
        "amount_refunded",
        "currency",
        "status",
        "paid",
        "captured",
        "payment_intent",
        "payment_method",
        "failure_code",
        "metadata",
        "created",
        "livemode",
    }
)


@dataclass(frozen=True)
class Backend:
    """One Stripe-compatible server, reached through the official SDK."""

    name: str
    url: str
    client: stripe.StripeClient

    @property
    def is_localstripe(self) -> bool:
        return self.name == LOCALSTRIPE

    @property
    def declining_card(self) -> str:
        """A test PaymentMethod whose charge Stripe declines with card_declined.

        localstripe knows no other declining test PaymentMethod than pm_card_chargeCustomerFail.
        """
        return "pm_card_chargeCustomerFail" if self.is_localstripe else "pm_card_chargeDeclined"

    def skip_localstripe(self, reason: str) -> None:
        """Skip the running case on localstripe only; `reason` completes "localstripe does not"."""
        if self.is_localstripe:
            pytest.skip(f"localstripe does not {reason}")

    def advance_clock(self, seconds: float) -> None:
        """Move the sandbox's clock, so that what Stripe does later happens now."""
        assert not self.is_localstripe, "localstripe has no clock to move"
        answer = httpx.post(f"{self.url}/_sandbox/clock/advance", json={"seconds": seconds})
        answer.raise_for_status()

    def payment_intent(
        self, payment_method: str | None = None, amount: int = 1000, **params: Any
    ) -> stripe.PaymentIntent:
        """Create a card PaymentIntent in EUR, optionally with its payment method attached."""
        body: dict[str, Any] = {
            "amount": amount,
            "currency": "eur",
            "payment_method_types": ["card"],
            **params,
        }
        if payment_method is not None:
            body["payment_method"] = payment_method
        return self.client.v1.payment_intents.create(params=body)  # type: ignore[arg-type]

    def card(self, number: str) -> str:
        """Create a card PaymentMethod from a test card number and return its id."""
        pm = self.client.v1.payment_methods.create(
            params={
                "type": "card",
                "card": {"number": number, "exp_month": 12, "exp_year": 2030, "cvc": "123"},
            }
        )
        return pm.id


def keys(obj: stripe.StripeObject) -> set[str]:
    """The top-level keys an API object came back with."""
    return set(obj.to_dict().keys())


def charge_id(latest_charge: object) -> str:
    """The id behind `latest_charge`: Stripe sends a string, localstripe embeds the charge."""
    if isinstance(latest_charge, str):
        return latest_charge
    assert isinstance(latest_charge, stripe.StripeObject), latest_charge
    value = latest_charge["id"]
    assert isinstance(value, str)
    return value
