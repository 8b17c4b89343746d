"""What paydesk knows of Stripe's objects: plain data parsed from Stripe's JSON, so that
the API client and the webhook parser share one shape and neither needs the SDK."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from paydesk.payments.state import IntentFact


@dataclass(frozen=True, slots=True)
class IntentSnapshot:
    id: str
    status: str
    amount: int
    currency: str
    created: int
    amount_received: int = 0
    amount_capturable: int = 0
    client_secret: str | None = None
    latest_charge: str | None = None
    error_code: str = ""
    decline_code: str | None = None
    error_message: str | None = None
    next_action_url: str | None = None
    metadata: dict[str, str] | None = None

    @classmethod
    def from_stripe(cls, obj: dict[str, Any]) -> IntentSnapshot:
        error = obj.get("last_payment_error") or {}
        next_action = obj.get("next_action") or {}
        redirect = next_action.get("redirect_to_url") or {}
        charge = obj.get("latest_charge")
        if isinstance(charge, dict):
            charge = charge.get("id")
        return cls(
            id=obj["id"],
            status=obj["status"],
            amount=int(obj["amount"]),
            currency=str(obj["currency"]).lower(),
            created=int(obj.get("created") or 0),
            amount_received=int(obj.get("amount_received") or 0),
            amount_capturable=int(obj.get("amount_capturable") or 0),
            client_secret=obj.get("client_secret"),
            latest_charge=charge,
            error_code=str(error.get("code") or ""),
            decline_code=error.get("decline_code"),
            error_message=error.get("message"),
            next_action_url=redirect.get("url"),
            metadata=dict(obj.get("metadata") or {}),
        )

    def fact(self, observed_at: int) -> IntentFact:
        return IntentFact(
            status=self.status,
            observed_at=observed_at,
            amount=self.amount,
            currency=self.currency,
            amount_received=self.amount_received,
            amount_capturable=self.amount_capturable,
            error_code=self.error_code if self.status == "requires_payment_method" else "",
        )
