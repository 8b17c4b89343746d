"""Radar's evaluation of a card charge: the risk fields of its `outcome`, and its blocks.

Stripe's test cards set the risk level (docs.stripe.com/radar/testing); every other card is
of normal risk. The score is fixed per level, inside the bands of Radar's default risk
thresholds (elevated from 65, highest from 75), with the values Stripe's risk evaluation
guide shows where it shows one (docs.stripe.com/radar/risk-evaluation):

| level      | risk_score | type           | reason                | seller_message          |
| ---------- | ---------- | -------------- | --------------------- | ----------------------- |
| `normal`   | 23         | authorized     | null                  | Payment complete.       |
| `elevated` | 70         | manual_review  | `elevated_risk_level` | Stripe evaluated ...    |
| `highest`  | 92         | blocked        | `highest_risk_level`  | Stripe blocked ...      |

A declined card keeps its level (normal) with the bank's answer. Charges of other payment
methods are `not_assessed`, without a score or rule (objects.charge_outcome).
"""

from paydesk.sandbox import objects
from paydesk.sandbox.cards import CardBehaviour, Outcome
from paydesk.sandbox.errors import StripeObject

RISK_SCORES = {"normal": 23, "elevated": 70, "highest": 92}
ELEVATED_MESSAGE = (
    "Stripe evaluated this charge as having elevated risk, and placed it in your manual "
    "review queue."
)
BLOCKED_MESSAGE = "Stripe blocked this payment as too risky."


def card_outcome(behaviour: CardBehaviour | None, *, succeeded: bool) -> StripeObject:
    """The `outcome` of a card charge that was authorized, declined or blocked."""
    behaviour = behaviour or CardBehaviour("visa")
    level = behaviour.risk_level
    outcome = objects.charge_outcome(succeeded, behaviour.decline_code, risk_level=level)
    outcome.update(risk_score=RISK_SCORES[level], rule=None)
    if behaviour.outcome is Outcome.BLOCK:
        outcome.update(
            network_status="not_sent_to_network",
            reason="highest_risk_level",
            rule=behaviour.blocking_rule,
            seller_message=BLOCKED_MESSAGE,
            type="blocked",
        )
    elif succeeded and level == "elevated":
        outcome.update(
            reason="elevated_risk_level", seller_message=ELEVATED_MESSAGE, type="manual_review"
        )
    return outcome


def blocked_details(behaviour: CardBehaviour) -> StripeObject:
    """The charge's `fraud_details` when Radar blocked it, as Stripe reports it."""
    return {"stripe_report": "fraudulent"} if behaviour.outcome is Outcome.BLOCK else {}
