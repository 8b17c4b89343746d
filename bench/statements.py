"""SQL statements and transactions per request on the payment path, counted.

    .venv/bin/python bench/statements.py [--payments 20] [--database-url URL] [--verbose]

Runs paydesk's app in this process against the in-memory Stripe (gateway/fake.py) on a
fresh, migrated SQLite file (or the given database, migrated first), creates orders and pays
them with `pm_card_visa` as bench/payments.py does (`POST /api/orders`, then
`POST /api/payments`), and counts what reaches the database driver for each request: SQL
statements (SAVEPOINT and RELEASE included: each is a round trip) and transactions (their
BEGIN and COMMIT apart). Stripe's answers take no statements, so the counts are those of the
real stack; the in-process worker is off, so they are the request's own. It prints beside
them the median CPU time of each kind of request in this process (paydesk's app, the HTTP
client and, on SQLite, aiosqlite's thread; no HTTP server, Stripe or e-mail): steadier than
bench/payments.py on a busy machine, and what the code alone costs. `--verbose` prints the
statements of the last order and payment.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import event

from paydesk.app import create_app
from paydesk.config import Settings
from paydesk.db import Database, create_engine
from paydesk.gateway.fake import FakeGateway
from paydesk.migrate import upgrade

ITEMS = [{"sku": "BOOK-1", "name": "A book", "unit_amount": 2500, "quantity": 2}]


@dataclass(frozen=True)
class Counted:
    """What one request sent to the database, and the CPU time it took in this process."""

    statements: list[str]
    transactions: int
    cpu_seconds: float


@dataclass
class Counter:
    statements: list[str] = field(default_factory=list)
    transactions: int = 0
    savepoints: int = 0

    def listen(self, db: Database) -> None:
        engine = db.engine.sync_engine

        @event.listens_for(engine, "before_cursor_execute")
        def _statement(*args: Any) -> None:
            sql = " ".join(str(args[2]).split())
            if not sql.upper().startswith(("BEGIN", "COMMIT", "ROLLBACK")):
                self.statements.append(sql)

        @event.listens_for(engine, "begin")
        def _begin(_connection: Any) -> None:
            self.transactions += 1

        @event.listens_for(engine, "savepoint")
        def _savepoint(*_args: Any) -> None:
            self.savepoints += 1

    @contextmanager
    def counting(self, into: list[Counted]) -> Iterator[None]:
        statements, transactions = len(self.statements), self.transactions
        started = time.process_time()
        yield
        cpu = time.process_time() - started
        into.append(Counted(self.statements[statements:], self.transactions - transactions, cpu))


async def measure(database_url: str, payments: int, verbose: bool) -> None:
    db = Database(create_engine(database_url))
    settings = Settings(database_url=database_url, stripe_secret_key="sk_test_statements")
    app = create_app(settings, database=db, gateway=FakeGateway())
    shop_key, _ = await app.state.services.auth.create_key("statements")
    counter = Counter()
    counter.listen(db)
    orders: list[Counted] = []
    pays: list[Counted] = []
    transport = httpx.ASGITransport(app=app)
    headers = {"Authorization": f"Bearer {shop_key}"}
    async with httpx.AsyncClient(
        transport=transport, base_url="http://paydesk", headers=headers
    ) as client:
        for _ in range(payments):
            with counter.counting(orders):
                answer = await client.post(
                    "/api/orders",
                    json={"items": ITEMS, "currency": "usd", "customer_email": "c@example.com"},
                )
            answer.raise_for_status()
            order_id = answer.json()["id"]
            with counter.counting(pays):
                answer = await client.post(
                    "/api/payments", json={"order_id": order_id, "payment_method": "pm_card_visa"}
                )
            answer.raise_for_status()
            if answer.json()["status"] != "succeeded":
                raise RuntimeError(f"payment not succeeded: {answer.text}")
    await db.dispose()

    def row(name: str, counts: list[Counted]) -> str:
        # The first request warms caches; report the rest.
        steady = counts[1:] or counts
        statements = sum(len(c.statements) for c in steady) / len(steady)
        transactions = sum(c.transactions for c in steady) / len(steady)
        cpu_ms = statistics.median(c.cpu_seconds for c in steady) * 1000
        return (
            f"  {name:<22} {statements:6.1f} statements  {transactions:4.1f} transactions"
            f"  {cpu_ms:6.2f} ms CPU"
        )

    print(f"paydesk statements per request ({db.engine.dialect.name}, {payments} payments)")
    print(row("POST /api/orders", orders))
    print(row("POST /api/payments", pays))
    both = [
        Counted(
            o.statements + p.statements,
            o.transactions + p.transactions,
            o.cpu_seconds + p.cpu_seconds,
        )
        for o, p in zip(orders, pays, strict=True)
    ]
    print(row("order + payment", both))
    print(f"  savepoints in all: {counter.savepoints}")
    if verbose:
        print("\nstatements of the last POST /api/orders:")
        for sql in orders[-1].statements:
            print(f"  {sql[:160]}")
        print("\nstatements of the last POST /api/payments:")
        for sql in pays[-1].statements:
            print(f"  {sql[:160]}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--payments", type=int, default=20, help="orders created and paid")
    parser.add_argument("--database-url", help="a database to use instead of a fresh SQLite file")
    parser.add_argument("--verbose", action="store_true", help="print the last payment's SQL")
    args = parser.parse_args()
    workdir = Path(tempfile.mkdtemp(prefix="paydesk-statements-"))
    try:
        url = args.database_url or f"sqlite+aiosqlite:///{workdir / 'paydesk.db'}"
        upgrade(url)
        asyncio.run(measure(url, max(args.payments, 2), args.verbose))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
