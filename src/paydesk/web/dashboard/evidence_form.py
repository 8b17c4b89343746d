"""An open dispute's evidence form on the payment's page: Stripe's text fields and what each
should say, the due date in words, and the posted form read back as evidence.

paydesk keeps no copy of the evidence: what a draft saved lives at Stripe. So the form starts
empty, and a field left empty is not sent at all, which keeps what an earlier draft saved.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from pydantic import ValidationError

from paydesk.disputes.models import Dispute
from paydesk.disputes.schemas import DisputeEvidence
from paydesk.errors import InvalidRequest
from paydesk.payments.state import DISPUTE_OPEN

# Under this much time left, the due date is shown as urgent (as on the overview).
URGENT = timedelta(hours=72)


@dataclass(frozen=True, slots=True)
class EvidenceField:
    name: str  # Stripe's name for it
    label: str
    hint: str
    rows: int  # 1: a one-line input; more: a text area this many rows high


EVIDENCE_FIELDS = (
    EvidenceField(
        "product_description",
        "Product description",
        "What was sold, and how the customer received or used it.",
        4,
    ),
    EvidenceField("customer_name", "Customer name", "", 1),
    EvidenceField("customer_email_address", "Customer e-mail address", "", 1),
    EvidenceField("billing_address", "Billing address", "", 3),
    EvidenceField("shipping_address", "Shipping address", "", 3),
    EvidenceField("shipping_carrier", "Shipping carrier", "", 1),
    EvidenceField("shipping_tracking_number", "Tracking number", "", 1),
    EvidenceField("shipping_date", "Shipping date", "As the carrier gives it.", 1),
    EvidenceField(
        "refund_policy_disclosure",
        "Refund policy disclosure",
        "How and when the customer was shown the refund policy.",
        3,
    ),
    EvidenceField(
        "refund_refusal_explanation",
        "Why no refund was given",
        "If the customer asked for one.",
        3,
    ),
    EvidenceField(
        "cancellation_rebuttal",
        "Cancellation rebuttal",
        "Why the customer is not owed a refund for canceling.",
        3,
    ),
    EvidenceField("uncategorized_text", "Anything else", "Other facts the bank should weigh.", 4),
)
_LABELS = {f.name: f.label for f in EVIDENCE_FIELDS}
MAX_CHARACTERS = 20_000  # a field, as Stripe takes it (DisputeEvidence checks the same)


@dataclass(frozen=True, slots=True)
class EvidenceDue:
    """`2026-12-03`, `in 7 days`: the due date (UTC) and how far off it is, in days."""

    date: str
    time: str
    left: str
    urgent: bool


@dataclass(frozen=True, slots=True)
class EvidenceForm:
    """One open dispute's part of the page: its due date, whether its evidence went to the
    bank already, and what a refused form sent, to show again."""

    dispute: Dispute
    due: EvidenceDue | None
    submitted: bool
    typed: Mapping[str, str]


def evidence_forms(
    disputes: Iterable[Dispute], form: Mapping[str, str], now: datetime
) -> list[EvidenceForm]:
    """The disputes still open, each with its form; `form` is what a refused post about one
    of them sent (its `dispute_id` names which)."""
    return [
        EvidenceForm(
            dispute,
            evidence_due(dispute.evidence_due_by, now),
            dispute.evidence_submitted,
            form if form.get("dispute_id") == dispute.id else {},
        )
        for dispute in disputes
        if dispute.status in DISPUTE_OPEN
    ]


def evidence_due(due_by: datetime | None, now: datetime) -> EvidenceDue | None:
    """Days are counted between UTC dates, as the date is shown: due tomorrow at any hour
    is `tomorrow`."""
    if due_by is None:
        return None
    due_by, now = due_by.astimezone(UTC), now.astimezone(UTC)
    days = (due_by.date() - now.date()).days
    if due_by < now:
        left = "overdue"
    elif days == 0:
        left = "today"
    elif days == 1:
        left = "tomorrow"
    else:
        left = f"in {days} days"
    return EvidenceDue(
        date=due_by.strftime("%Y-%m-%d"),
        time=due_by.strftime("%H:%M UTC"),
        left=left,
        urgent=due_by - now < URGENT,
    )


def read_evidence(form: Mapping[str, str]) -> dict[str, str]:
    """The evidence fields filled in, as Stripe takes them; InvalidRequest naming a field
    that is too long. A field left empty is left out: sent empty, it would erase what an
    earlier draft saved at Stripe."""
    typed = {
        field.name: text.replace("\r\n", "\n")  # browsers send a text area's lines as CRLF
        for field in EVIDENCE_FIELDS
        if (text := form.get(field.name, "")).strip()
    }
    try:
        return DisputeEvidence.model_validate(typed).fields()
    except ValidationError as error:
        raise _refusal(error, typed) from error


def _refusal(error: ValidationError, typed: Mapping[str, str]) -> InvalidRequest:
    first = error.errors()[0]
    name = str(first["loc"][0]) if first["loc"] else ""
    label = _LABELS.get(name, name)
    if first["type"] == "string_too_long":
        limit = int(first.get("ctx", {}).get("max_length", MAX_CHARACTERS))
        return InvalidRequest(
            f"{label} is {len(typed[name].strip()):,} characters long; Stripe takes at most "
            f"{limit:,} in a field. Nothing was sent: shorten it and send it again.",
            code="evidence_too_long",
            param=name,
        )
    return InvalidRequest(f"{label}: {first['msg']}. Nothing was sent.", param=name)


def labelled(evidence: Mapping[str, str]) -> list[tuple[str, str]]:
    """Each field sent, by its label, in the form's order."""
    return [(f.label, evidence[f.name]) for f in EVIDENCE_FIELDS if f.name in evidence]
