"""Everything the sandbox remembers, in memory; it outlives restarts of the HTTP server."""

import secrets
from collections.abc import Iterator
from dataclasses import dataclass, field

from paydesk.sandbox.cards import CardBehaviour
from paydesk.sandbox.errors import StripeObject
from paydesk.sandbox.sepa import SepaBehaviour


class Collection:
    """Objects of one kind, by id, remembering creation order for Stripe's list pagination."""

    def __init__(self) -> None:
        self._objects: dict[str, StripeObject] = {}
        self._order: list[str] = []
        self._positions: dict[str, int] = {}

    def add(self, obj: StripeObject) -> StripeObject:
        object_id: str = obj["id"]
        self._positions[object_id] = len(self._order)
        self._order.append(object_id)
        self._objects[object_id] = obj
        return obj

    def get(self, object_id: str) -> StripeObject | None:
        return self._objects.get(object_id)

    def remove(self, object_id: str) -> StripeObject | None:
        return self._objects.pop(object_id, None)

    def __len__(self) -> int:
        return len(self._objects)

    def position(self, object_id: str) -> int | None:
        return self._positions.get(object_id)

    def newest_first(self, before: int | None = None) -> Iterator[StripeObject]:
        """Objects created before position `before` (all when None), newest first."""
        start = len(self._order) if before is None else before
        for index in range(start - 1, -1, -1):
            obj = self._objects.get(self._order[index])
            if obj is not None:
                yield obj

    def oldest_first(self, after: int) -> Iterator[StripeObject]:
        """Objects created after position `after`, oldest first."""
        for index in range(after + 1, len(self._order)):
            obj = self._objects.get(self._order[index])
            if obj is not None:
                yield obj


@dataclass(frozen=True, slots=True)
class IdempotentResponse:
    method: str
    path: str
    params: bytes
    status: int
    body: bytes
    request_id: str


@dataclass(frozen=True, slots=True)
class DeliveryAttempt:
    event_id: str
    endpoint_id: str
    attempt: int
    status: int | None
    error: str | None


@dataclass
class SandboxStore:
    """In-memory state; build one, hand it to `create_sandbox_app`, keep it across restarts."""

    payment_intents: Collection = field(default_factory=Collection)
    payment_methods: Collection = field(default_factory=Collection)
    charges: Collection = field(default_factory=Collection)
    refunds: Collection = field(default_factory=Collection)
    disputes: Collection = field(default_factory=Collection)
    events: Collection = field(default_factory=Collection)
    webhook_endpoints: Collection = field(default_factory=Collection)
    mandates: Collection = field(default_factory=Collection)
    balance_transactions: Collection = field(default_factory=Collection)
    payouts: Collection = field(default_factory=Collection)
    early_fraud_warnings: Collection = field(default_factory=Collection)
    # Pending balance transactions, by id: when they become available, on the sandbox's clock.
    balance_pending: dict[str, float] = field(default_factory=dict)
    # The payout that paid out each balance transaction, by transaction id.
    balance_payouts: dict[str, str] = field(default_factory=dict)
    card_behaviours: dict[str, CardBehaviour] = field(default_factory=dict)
    # What a sepa_debit PaymentMethod's IBAN does, by PaymentMethod id (the IBAN is not kept).
    sepa_behaviours: dict[str, SepaBehaviour] = field(default_factory=dict)
    # PaymentIntents whose automatic payment methods are the API's default, not asked for.
    implicit_automatic: set[str] = field(default_factory=set)
    webhook_secrets: dict[str, str] = field(default_factory=dict)
    idempotent_responses: dict[tuple[str, str], IdempotentResponse] = field(default_factory=dict)
    pending_deliveries: dict[tuple[str, str], int] = field(default_factory=dict)
    delivery_attempts: list[DeliveryAttempt] = field(default_factory=list)
    fingerprint_salt: bytes = field(default_factory=lambda: secrets.token_bytes(16))
