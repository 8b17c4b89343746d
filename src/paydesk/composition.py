"""The composition root: settings in, every service of paydesk out, built once here for the
app, every CLI command and the worker, and closed here.

    settings → database → units of work → gateway → effects → services → worker

Nothing is built at import; tests build what they need the same way (`build` with their own
database or gateway)."""

from __future__ import annotations

from dataclasses import dataclass

from paydesk.auth.service import AuthService
from paydesk.config import Settings
from paydesk.db import Database
from paydesk.deadlines.service import Deadlines
from paydesk.disputes.service import DisputeService
from paydesk.effects import apply_effects
from paydesk.fraud.service import FraudDesk
from paydesk.gateway.base import Gateway
from paydesk.gateway.stripe_gateway import StripeGateway
from paydesk.idempotency.service import IdempotencyStore
from paydesk.ledger.service import LedgerService
from paydesk.ledger.settlement import Settler
from paydesk.notifications.delivery import LEASE, DeliveryPolicy, NotificationDelivery
from paydesk.notifications.endpoint_service import WebhookEndpointService
from paydesk.notifications.service import NotificationService
from paydesk.operators.service import OperatorService
from paydesk.orders.service import OrderService
from paydesk.payments.order_changes import OrderChanges
from paydesk.payments.service import FactRecorder, PaymentService
from paydesk.payouts.service import PayoutService
from paydesk.principals import CheckoutLinks
from paydesk.refunds.service import RefundService
from paydesk.retry import RetryPolicy
from paydesk.unit_of_work import DatabaseUnits, UnitOfWork
from paydesk.webhooks.inbox import InboxWriter
from paydesk.webhooks.processor import InboxProcessor
from paydesk.webhooks.receiver import WebhookStats
from paydesk.webhooks.service import InboxService
from paydesk.worker.runner import Worker, WorkerSchedule


@dataclass
class Services:
    """Every service, built over one database and one gateway."""

    settings: Settings
    db: Database
    units: DatabaseUnits
    gateway: Gateway
    recorder: FactRecorder[UnitOfWork]
    auth: AuthService
    idempotency: IdempotencyStore
    operators: OperatorService
    orders: OrderService
    order_changes: OrderChanges[UnitOfWork]
    payments: PaymentService[UnitOfWork]
    refunds: RefundService[UnitOfWork]
    disputes: DisputeService[UnitOfWork]
    ledger: LedgerService
    settler: Settler[UnitOfWork]
    payouts: PayoutService[UnitOfWork]
    fraud: FraudDesk[UnitOfWork]
    deadlines: Deadlines[UnitOfWork]
    notifications: NotificationService
    webhook_endpoints: WebhookEndpointService
    events: InboxService
    processor: InboxProcessor[UnitOfWork]
    inbox: InboxWriter
    webhook_stats: WebhookStats
    # Whether `close` disposes of the database (not when the caller gave it).
    owns_database: bool = True

    def delivery(self, policy: DeliveryPolicy | None = None) -> NotificationDelivery:
        """The outbox's sender (SMTP and shop webhooks), opened by whoever sends."""
        return NotificationDelivery.from_settings(self.units, self.settings, policy)

    def worker(
        self,
        schedule: WorkerSchedule | None = None,
        *,
        notifications: NotificationDelivery | None = None,
        retry: RetryPolicy | None = None,
    ) -> Worker:
        """The loop that applies the inbox, backfills, reconciles and sends the outbox."""
        processor = self.processor if retry is None else self.processor.with_retry(retry)
        return Worker(
            processor,
            payments=self.payments,
            refunds=self.refunds,
            settler=self.settler,
            payouts=self.payouts,
            fraud=self.fraud,
            deadlines=self.deadlines,
            units=self.units,
            idempotency=self.idempotency,
            gateway=self.gateway,
            livemode=self.settings.livemode,
            schedule=schedule,
            wakeup=self.inbox.stored,
            notifications=notifications,
        )

    async def close(self) -> None:
        await self.inbox.close()
        await self.gateway.close()
        if self.owns_database:
            await self.db.dispose()


def build(
    settings: Settings, *, database: Database | None = None, gateway: Gateway | None = None
) -> Services:
    """Every service for `settings`; `database` and `gateway`, when given, are used instead
    of the ones the settings name (and are the caller's to close)."""
    db = database or Database.connect(
        settings.database_url, timeout_seconds=settings.database_timeout_seconds
    )
    stripe = gateway or StripeGateway(
        settings.stripe_secret_key,
        api_base=settings.stripe_api_base,
        max_network_retries=settings.stripe_max_retries,
        timeout_seconds=settings.stripe_timeout_seconds,
    )
    units = DatabaseUnits(db)
    recorder = FactRecorder[UnitOfWork](apply_effects)
    payments = PaymentService(
        units,
        stripe,
        recorder,
        method_types=settings.payment_method_types,
        processing_age=settings.reconcile_processing_after,
    )
    refunds = RefundService(units, stripe, recorder)
    return Services(
        settings=settings,
        db=db,
        units=units,
        gateway=stripe,
        recorder=recorder,
        auth=AuthService(units, CheckoutLinks.from_secret(settings.link_signing_secret)),
        idempotency=IdempotencyStore(units),
        operators=OperatorService(units),
        orders=OrderService(units, ttl=settings.order_ttl),
        order_changes=OrderChanges(units, stripe, recorder),
        payments=payments,
        refunds=refunds,
        disputes=DisputeService(units, stripe, recorder),
        ledger=LedgerService(units),
        settler=Settler(units, stripe),
        payouts=PayoutService(units, stripe),
        fraud=FraudDesk(units, refunds, auto_refund_max=settings.efw_auto_refund_max),
        deadlines=Deadlines(
            units,
            stripe,
            payments,
            uncaptured_after=settings.uncaptured_after,
            uncaptured_action=settings.uncaptured_action,
        ),
        notifications=NotificationService(units, lease=LEASE),
        webhook_endpoints=WebhookEndpointService(units),
        events=InboxService(units),
        processor=InboxProcessor(units, recorder),
        inbox=InboxWriter(db),
        webhook_stats=WebhookStats(),
        owns_database=database is None,
    )
