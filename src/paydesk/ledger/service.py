"""Reading the ledger: one payment's entries, and entries in a time window with their totals,
as pages or as one export."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from paydesk.db import Units, utcnow
from paydesk.errors import InvalidRequest
from paydesk.ledger.repository import LedgerRepository, Row, SettlementTotal, Total, Window

# The most rows one CSV export holds; a wider selection must be split into smaller windows.
MAX_EXPORT_ROWS = 100_000


class LedgerWork(Protocol):
    @property
    def ledger(self) -> LedgerRepository: ...


@dataclass(frozen=True, slots=True)
class LedgerPageData:
    """A page of entries, the cursor of the next page, and totals over the whole window
    (per currency and kind, and per settlement currency)."""

    rows: list[Row]
    next_cursor: int | None
    totals: Sequence[Total]
    settlement: Sequence[SettlementTotal]


class LedgerService:
    def __init__(self, units: Units[LedgerWork]) -> None:
        self.units = units

    async def for_payment(self, payment_id: str) -> list[Row]:
        """The payment's entries, oldest first."""
        async with self.units.reading() as work:
            return await work.ledger.for_payment(payment_id)

    async def page(self, window: Window, *, after_id: int | None, limit: int) -> LedgerPageData:
        async with self.units.reading() as work:
            rows = await work.ledger.entries(window, after_id=after_id, limit=limit + 1)
            totals = await work.ledger.totals(window)
            settlement = await work.ledger.settlement_totals(window)
        page = rows[:limit]
        next_cursor = page[-1].id if len(rows) > limit else None
        return LedgerPageData(page, next_cursor, totals, settlement)

    async def export(self, window: Window) -> tuple[Window, list[Row]]:
        """Every entry of the window (closed at now if it is open), oldest first; refused
        when it holds more than `MAX_EXPORT_ROWS`."""
        if window.end is None:
            window = Window(window.start, utcnow(), window.currency, window.kind)
        async with self.units.reading() as work:
            count, last_id = await work.ledger.extent(window)
            if count > MAX_EXPORT_ROWS:
                raise InvalidRequest(
                    f"The selection holds {count:,} entries; a CSV export holds at most "
                    f"{MAX_EXPORT_ROWS:,}. Narrow it with `from` and `to`, `currency` or `kind`.",
                    code="export_too_large",
                    param="from",
                )
            if last_id is None:
                return window, []
            return window, await work.ledger.entries(
                window, up_to_id=last_id, limit=MAX_EXPORT_ROWS
            )
