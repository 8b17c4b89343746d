"""Every table, imported in one place for Alembic and the test fixtures."""

from paydesk.auth.models import ApiKey
from paydesk.db import Base
from paydesk.disputes.models import Dispute
from paydesk.fraud.models import FraudWarning
from paydesk.idempotency.models import IdempotencyRecord
from paydesk.ledger.models import BalanceTransaction, LedgerEntry
from paydesk.notifications.models import DeliveryAttempt, Notification, ShopWebhookEndpoint
from paydesk.operators.models import Operator, OperatorSession
from paydesk.orders.models import Order, OrderItem
from paydesk.payments.models import Payment, PaymentEvent, PaymentFact
from paydesk.payouts.models import Payout
from paydesk.refunds.models import Refund
from paydesk.webhooks.models import InboxEvent, SyncCursor

__all__ = [
    "ApiKey",
    "BalanceTransaction",
    "Base",
    "DeliveryAttempt",
    "Dispute",
    "FraudWarning",
    "IdempotencyRecord",
    "InboxEvent",
    "LedgerEntry",
    "Notification",
    "Operator",
    "OperatorSession",
    "Order",
    "OrderItem",
    "Payment",
    "PaymentEvent",
    "PaymentFact",
    "Payout",
    "Refund",
    "ShopWebhookEndpoint",
    "SyncCursor",
]
