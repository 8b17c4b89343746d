"""Stripe's test cards: what each number does when a payment is confirmed with it."""

from dataclasses import dataclass
from enum import StrEnum

from paydesk.sandbox.errors import CardError


class Outcome(StrEnum):
    SUCCEED = "succeed"
    DECLINE = "decline"
    REQUIRE_3DS = "require_3ds"
    DISPUTE = "dispute"
    BLOCK = "block"  # Radar blocks it before the bank is asked (radar.py)


class RefundOutcome(StrEnum):
    SUCCEED = "succeed"
    PENDING = "pending"
    FAIL = "fail"


@dataclass(frozen=True, slots=True)
class CardBehaviour:
    brand: str
    funding: str = "credit"
    outcome: Outcome = Outcome.SUCCEED
    code: str | None = None
    decline_code: str | None = None
    message: str | None = None
    # For Outcome.DISPUTE: the reason the cardholder gives, and whether it is only an inquiry.
    dispute_reason: str = "fraudulent"
    inquiry: bool = False
    refund: RefundOutcome = RefundOutcome.SUCCEED
    # Radar's evaluation (radar.py): `normal`, `elevated` or `highest`; for Outcome.BLOCK the
    # rule that blocked it, None when Radar blocks it whatever the rules.
    risk_level: str = "normal"
    blocking_rule: str | None = None
    # The issuer reports the charge as fraud once it has succeeded (fraud_warnings.py).
    early_fraud_warning: bool = False


_DECLINED = "Your card was declined."


def _declines(
    decline_code: str, message: str = _DECLINED, code: str = "card_declined"
) -> CardBehaviour:
    return CardBehaviour(
        "visa", outcome=Outcome.DECLINE, code=code, decline_code=decline_code, message=message
    )


def _blocked(rule: str | None) -> CardBehaviour:
    """Radar's answer to a card of the highest risk: declined as fraudulent, never sent on."""
    return CardBehaviour(
        "visa",
        outcome=Outcome.BLOCK,
        code="card_declined",
        decline_code="fraudulent",
        message=_DECLINED,
        risk_level="highest",
        blocking_rule=rule,
    )


_AUTHENTICATES = CardBehaviour("visa", outcome=Outcome.REQUIRE_3DS)

# What each test card number does; add a row to give a number a new behaviour.
CARD_BEHAVIOURS: dict[str, CardBehaviour] = {
    "4242424242424242": CardBehaviour("visa"),
    "4000056655665556": CardBehaviour("visa", funding="debit"),
    "5555555555554444": CardBehaviour("mastercard"),
    "2223003122003222": CardBehaviour("mastercard"),
    "5200828282828210": CardBehaviour("mastercard", funding="debit"),
    "378282246310005": CardBehaviour("amex"),
    "6011111111111117": CardBehaviour("discover"),
    "4000000000000002": _declines("generic_decline"),
    "4000000000000341": _declines("generic_decline"),
    "4000000000009995": _declines("insufficient_funds", "Your card has insufficient funds."),
    "4000000000009987": _declines("lost_card"),
    "4000000000009979": _declines("stolen_card"),
    "4000000000000069": _declines("expired_card", "Your card has expired.", "expired_card"),
    "4000000000000127": _declines(
        "incorrect_cvc", "Your card's security code is incorrect.", "incorrect_cvc"
    ),
    "4000000000000119": _declines(
        "processing_error",
        "An error occurred while processing your card. Try again in a little bit.",
        "processing_error",
    ),
    "4000002500003155": _AUTHENTICATES,
    "4000002760003184": _AUTHENTICATES,
    "4000000000003220": _AUTHENTICATES,
    "4000000000003063": _AUTHENTICATES,
    "4000000000000259": CardBehaviour("visa", outcome=Outcome.DISPUTE),
    "4000000000002685": CardBehaviour(
        "visa", outcome=Outcome.DISPUTE, dispute_reason="product_not_received"
    ),
    "4000000000001976": CardBehaviour(
        "visa", outcome=Outcome.DISPUTE, dispute_reason="general", inquiry=True
    ),
    "4000000000007726": CardBehaviour("visa", refund=RefundOutcome.PENDING),
    "4000000000005126": CardBehaviour("visa", refund=RefundOutcome.FAIL),
    # Radar (docs.stripe.com/radar/testing): highest risk is blocked by the default rule
    # "Block if :risk_level: = 'highest'", 4100000000000019 whatever the rules.
    "4000000000009235": CardBehaviour("visa", risk_level="elevated"),
    "4000000000004954": _blocked("block_if_high_risk"),
    "4100000000000019": _blocked(None),
    "4000000000005423": CardBehaviour("visa", early_fraud_warning=True),
}

# Stripe's ready-made PaymentMethod ids, usable directly as `payment_method`.
TEST_PAYMENT_METHODS: dict[str, str] = {
    "pm_card_visa": "4242424242424242",
    "pm_card_visa_debit": "4000056655665556",
    "pm_card_mastercard": "5555555555554444",
    "pm_card_mastercard_debit": "5200828282828210",
    "pm_card_amex": "378282246310005",
    "pm_card_discover": "6011111111111117",
    "pm_card_chargeDeclined": "4000000000000002",
    "pm_card_chargeCustomerFail": "4000000000000341",
    "pm_card_chargeDeclinedInsufficientFunds": "4000000000009995",
    "pm_card_chargeDeclinedLostCard": "4000000000009987",
    "pm_card_chargeDeclinedStolenCard": "4000000000009979",
    "pm_card_chargeDeclinedExpiredCard": "4000000000000069",
    "pm_card_chargeDeclinedIncorrectCvc": "4000000000000127",
    "pm_card_chargeDeclinedProcessingError": "4000000000000119",
    "pm_card_authenticationRequired": "4000002760003184",
    "pm_card_authenticationRequiredOnSetup": "4000002500003155",
    "pm_card_threeDSecure2Required": "4000000000003220",
    "pm_card_threeDSecureRequired": "4000000000003063",
    "pm_card_createDispute": "4000000000000259",
    "pm_card_createDisputeProductNotReceived": "4000000000002685",
    "pm_card_createDisputeInquiry": "4000000000001976",
    "pm_card_refundFail": "4000000000005126",
    "pm_card_riskLevelElevated": "4000000000009235",
    "pm_card_riskLevelHighest": "4000000000004954",
    "pm_card_radarBlock": "4100000000000019",
    "pm_card_chargeDeclinedFraudulent": "4100000000000019",
    "pm_card_createIssuerFraudRecord": "4000000000005423",
}


def luhn_valid(number: str) -> bool:
    if not number.isdigit() or not 12 <= len(number) <= 19:
        return False
    total = 0
    for index, char in enumerate(reversed(number)):
        digit = int(char)
        if index % 2 == 1:
            digit *= 2
            if digit > 9:
                digit -= 9
        total += digit
    return total % 10 == 0


def brand_of(number: str) -> str:
    if number.startswith("4"):
        return "visa"
    if number[:2] in {"51", "52", "53", "54", "55"} or "2221" <= number[:4] <= "2720":
        return "mastercard"
    if number[:2] in {"34", "37"}:
        return "amex"
    if number.startswith(("6011", "65")):
        return "discover"
    return "unknown"


def behaviour_for_number(number: str) -> CardBehaviour:
    """The behaviour of a card number; unknown numbers that pass Luhn succeed."""
    cleaned = number.replace(" ", "").replace("-", "")
    known = CARD_BEHAVIOURS.get(cleaned)
    if known is not None:
        return known
    if not luhn_valid(cleaned):
        raise CardError("Your card number is incorrect.", code="incorrect_number", param="number")
    return CardBehaviour(brand_of(cleaned))


def last4_of(number: str) -> str:
    return number.replace(" ", "").replace("-", "")[-4:]
