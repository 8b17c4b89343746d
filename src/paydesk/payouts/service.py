"""Payouts: what Stripe paid out of the balance to the shop's bank, and what each paid.

A payout is told by its events (`payout.created`, `.updated`, `.paid`, `.failed`,
`.canceled`, `.reconciliation_completed`), applied with the rest of the inbox, and read by
`sync` (`paydesk payouts sync`) when a webhook was lost. Either way the ledger posts its
money leaving the balance (`payout`) and, when the bank returned it or it was canceled,
coming back (`payout_reversal`). Its contents (the balance transactions it paid out, from
`GET /v1/balance_transactions?payout=…`, every page) are read outside any transaction once
Stripe can list them, and each then names its payout. A payout is reconciled when the net
of what it paid out equals its amount."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Generic, Protocol, TypeVar

from paydesk.db import Units, utcnow
from paydesk.errors import InvalidRequest, NotFound, PaydeskError, PaymentProviderUnavailable
from paydesk.gateway.base import Gateway
from paydesk.gateway.types import BalanceTransactionSnapshot, PayoutSnapshot
from paydesk.ledger.models import LedgerEntry, LedgerKind
from paydesk.ledger.settlement import SettlementWork, record_transactions
from paydesk.payouts.models import Payout, PayoutStatus
from paydesk.payouts.repository import PaidOut, PayoutFilter, PayoutRepository

log = logging.getLogger(__name__)

RETURNED = frozenset({PayoutStatus.FAILED, PayoutStatus.CANCELED})


class PayoutsWork(SettlementWork, Protocol):
    @property
    def payouts(self) -> PayoutRepository: ...


Work = TypeVar("Work", bound=PayoutsWork)


async def record_payouts(work: PayoutsWork, snapshots: Sequence[PayoutSnapshot]) -> None:
    """Saves each payout (a later state is never undone by an earlier one told late) and
    posts its money leaving the balance, and coming back if it failed or was canceled."""
    entries = []
    for payout in await work.payouts.save(snapshots):
        entries.append(_entry(payout, LedgerKind.PAYOUT, -payout.amount))
        if payout.status in RETURNED:
            entries.append(_entry(payout, LedgerKind.PAYOUT_REVERSAL, payout.amount))
    await work.ledger.post(entries)


def _entry(payout: Payout, kind: LedgerKind, amount: int) -> LedgerEntry:
    return LedgerEntry(
        payment_id=None,
        kind=kind,
        amount=amount,
        currency=payout.currency,
        stripe_object_id=payout.id,
    )


@dataclass(frozen=True, slots=True)
class PayoutView:
    """A payout, whether what it paid out adds up to it (None until paydesk has read its
    contents, and for a manual payout, which pays out no transactions of its own), and,
    when asked for, those transactions."""

    payout: Payout
    contents_net: int | None
    transactions: list[PaidOut] | None = None

    @property
    def reconciled(self) -> bool | None:
        if self.contents_net is None:
            return None
        return self.contents_net == self.payout.amount


@dataclass(frozen=True, slots=True)
class SyncResult:
    payouts: int
    contents_read: int


class PayoutService(Generic[Work]):
    def __init__(self, units: Units[Work], gateway: Gateway) -> None:
        self.units = units
        self.gateway = gateway

    async def sync(self, *, since: datetime | None = None) -> SyncResult:
        """Reads every payout Stripe made (created since `since`, if given), newest first,
        page by page, records each, then reads the contents of those that need it."""
        seen = 0
        after: str | None = None
        created_gte = None if since is None else int(since.timestamp())
        while True:
            page = await self.gateway.list_payouts(starting_after=after, created_gte=created_gte)
            if page.data:
                async with self.units.writing() as work:
                    await record_payouts(work, page.data)
                seen += len(page.data)
                after = page.data[-1].id
            if not page.has_more or not page.data:
                break
        return SyncResult(seen, await self.read_contents())

    async def read_contents(self, limit: int = 20) -> int:
        """Reads what each payout that Stripe can now list paid out; returns how many."""
        async with self.units.reading() as work:
            unread = await work.payouts.list_unread(limit)
        done = 0
        for payout in unread:
            try:
                contents = await self._contents(payout) if payout.automatic else []
            except PaymentProviderUnavailable:
                log.warning("Stripe is unreachable; payout %s is read next time", payout.id)
                break
            except PaydeskError as exc:
                log.warning("payout %s could not be read: %s", payout.id, exc)
                continue
            async with self.units.writing() as work:
                await record_transactions(work, contents, payout_id=payout.id)
                await work.payouts.mark_read(payout.id)
            done += 1
        return done

    async def _contents(self, payout: Payout) -> list[BalanceTransactionSnapshot]:
        contents: list[BalanceTransactionSnapshot] = []
        after: str | None = None
        while True:
            page = await self.gateway.list_balance_transactions(
                payout=payout.id, starting_after=after
            )
            contents.extend(page.data)
            if not page.has_more or not page.data:
                return contents
            after = page.data[-1].id

    async def list_views(
        self, which: PayoutFilter, *, after_id: str | None, limit: int
    ) -> tuple[list[PayoutView], str | None]:
        """A page of payouts, newest first, and the cursor of the next page (if any)."""
        async with self.units.reading() as work:
            after = None
            if after_id is not None:
                after = await work.payouts.get(after_id)
                if after is None:
                    raise InvalidRequest(
                        f"No payout {after_id}.", code="invalid_cursor", param="cursor"
                    )
            payouts = await work.payouts.list_payouts(which, after=after, limit=limit + 1)
            page = payouts[:limit]
            nets = await work.payouts.contents_net(page)
        views = [PayoutView(p, _net(p, nets)) for p in page]
        return views, page[-1].id if len(payouts) > limit else None

    async def view(self, payout_id: str) -> PayoutView:
        async with self.units.reading() as work:
            payout = await work.payouts.get(payout_id)
            if payout is None:
                raise NotFound(f"No payout {payout_id}.", code="payout_not_found")
            transactions = await work.payouts.paid_out(payout_id)
            nets = await work.payouts.contents_net([payout])
        return PayoutView(payout, _net(payout, nets), transactions)

    async def balance(self) -> dict[str, tuple[int, int]]:
        """Per settlement currency, the (available, pending) balance paydesk has recorded."""
        async with self.units.reading() as work:
            return await work.ledger.balance(utcnow())

    async def fees(self, since: datetime) -> dict[str, int]:
        async with self.units.reading() as work:
            return await work.ledger.fees(since)

    async def needs_attention(self, *, margin: timedelta = timedelta(days=3)) -> Attention:
        """What does not reconcile: failed payouts, payouts whose contents do not add up to
        them, and charges still not paid out `margin` after they became available."""
        async with self.units.reading() as work:
            failed = await work.payouts.list_payouts(
                PayoutFilter(status=PayoutStatus.FAILED), after=None, limit=50
            )
            recent = await work.payouts.list_payouts(PayoutFilter(), after=None, limit=200)
            nets = await work.payouts.contents_net(recent)
            unpaid = await work.ledger.never_paid_out(utcnow() - margin, 50)
        mismatched = [
            PayoutView(p, _net(p, nets))
            for p in recent
            if _net(p, nets) is not None and _net(p, nets) != p.amount
        ]
        return Attention(failed=failed, mismatched=mismatched, never_paid_out=unpaid)


@dataclass(frozen=True, slots=True)
class Attention:
    failed: list[Payout]
    mismatched: list[PayoutView]
    never_paid_out: list[str]


def _net(payout: Payout, nets: dict[str, int]) -> int | None:
    if payout.contents_read_at is None or not payout.automatic:
        return None
    return nets.get(payout.id, 0)
