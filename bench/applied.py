"""Stripe events applied per second by `paydesk worker`, beside the rate they are acknowledged.

    .venv/bin/python bench/applied.py [--payments 500] [--refunds 0] [--workers 1]
        [--concurrency 32] [--max-seconds 120] [--database-url URL] [--profile FILE.prof]

Starts `paydesk sandbox` (no webhook endpoint: it delivers nothing by itself) and
`paydesk serve` (a webhook signing secret, its in-process worker off) as separate processes
on 127.0.0.1, on a fresh temporary SQLite file, or with `--database-url postgresql+asyncpg://…`
on a database created on that server for the run and dropped after it.

Not timed: --payments orders and payments made through paydesk's API (`POST /api/orders`,
then `POST /api/payments` without a card, so that each has a PaymentIntent); each
PaymentIntent confirmed at the sandbox with `pm_card_visa`, and --refunds of them refunded
in full there, so that paydesk learns the outcomes only from events; then the events the
sandbox recorded about those PaymentIntents, read from its `GET /v1/events`.

Acknowledged: those events, signed with the webhook secret, posted oldest first to
`POST /api/webhooks/stripe` at --concurrency; the inbox must then hold exactly them, none
applied yet. Applied: --workers `paydesk worker` processes are started, and the clock runs
from their spawning until every payment is in its final state (`succeeded`, or `refunded`)
and no event is pending or failed, read from the database (read-only) every 50 ms.

It prints events applied per second, payments settled per second, the workers' CPU per event
with and without their start-up, the acknowledgement rate of the same events and the ratio
of the two, beside the targets. It exits 1 if the workers did not finish within
--max-seconds, or unless every payment ends in its final state with exactly one ledger
charge entry and one receipt e-mail in the outbox, each refunded payment with its refund
entry and e-mail, each payment's entries summing to what it kept, and every event processed.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import shlex
import signal
import sys
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import aiohttp
import orjson
from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncConnection, create_async_engine
from sqlalchemy.orm import InstrumentedAttribute

from paydesk.db import async_url, is_sqlite
from paydesk.ledger.models import LedgerEntry, LedgerKind
from paydesk.notifications.models import Channel, Notification, NotificationStatus
from paydesk.notifications.outbox import EmailKind
from paydesk.payments.models import Payment, PaymentStatus
from paydesk.sandbox.signing import signature_header
from paydesk.webhooks.handlers import HANDLERS
from paydesk.webhooks.models import EventStatus, InboxEvent
from payments import JSON, Phase, Request, create_order, drive, healthz
from profiling import print_profile
from stack import SECRET_KEY, Process, Stack, fresh_database
from webhooks import WEBHOOK_PATH, webhook_request

SECRET = "whsec_paydesk_applied_" + secrets.token_hex(16)
SETUP_CONCURRENCY = 16
POLL_SECONDS = 0.05
# Until the first event is applied the database is read more often: that moment ends the
# workers' start-up, and their CPU is sampled there.
FIRST_POLL_SECONDS = 0.01
# Stripe's event families that paydesk has handlers for: `types[]=charge.*`, …
EVENT_FAMILIES = sorted({name.split(".", 1)[0] + ".*" for name in HANDLERS})
TARGET_RATE = {"sqlite": 1000.0, "postgresql": 800.0}  # one worker
TARGET_TWO_WORKERS = 1.6  # times one worker's rate
TARGET_CPU_MS = 1.0
TARGET_ACK_FRACTION = 0.4
LOG_PROBLEMS = frozenset({"warning", "error", "critical"})


# --- what is made before anything is timed -------------------------------------------------


@dataclass
class Made:
    """paydesk's payments, their PaymentIntents, and which were refunded at the sandbox."""

    intents: dict[str, str] = field(default_factory=dict)  # payment id -> PaymentIntent id
    refunded: set[str] = field(default_factory=set)  # payment ids

    def final_status(self, payment_id: str) -> str:
        return PaymentStatus.REFUNDED if payment_id in self.refunded else PaymentStatus.SUCCEEDED

    def final_counts(self) -> Counter[str]:
        return Counter(self.final_status(payment_id) for payment_id in self.intents)


def start_payment(base: str, key: str, order_id: str, made: Made) -> Request:
    """`POST /api/payments` without a card: paydesk creates the PaymentIntent, no more."""
    body = orjson.dumps({"order_id": order_id})
    headers = {**JSON, "Authorization": f"Bearer {key}"}

    async def request(client: aiohttp.ClientSession) -> str | None:
        async with client.post(f"{base}/api/payments", data=body, headers=headers) as response:
            answer = await response.read()
        if response.status != 200:
            return f"payment: HTTP {response.status}: {answer[:300]!r}"
        payment = orjson.loads(answer)
        intent = payment.get("stripe_payment_intent_id")
        if not intent:
            return f"payment without a PaymentIntent: {answer[:300]!r}"
        made.intents[payment["id"]] = intent
        return None

    return request


def at_stripe(sandbox: str, path: str, form: dict[str, str], status: str) -> Request:
    """A POST to the sandbox's Stripe API whose answer must have `status`."""
    url = f"{sandbox}{path}"
    headers = {"Authorization": f"Bearer {SECRET_KEY}"}

    async def request(client: aiohttp.ClientSession) -> str | None:
        async with client.post(url, data=form, headers=headers) as response:
            answer = await response.read()
        if response.status != 200:
            return f"{path}: HTTP {response.status}: {answer[:300]!r}"
        got = orjson.loads(answer).get("status")
        return None if got == status else f"{path}: status {got!r}, not {status!r}"

    return request


def spread(items: Sequence[str], fraction: float) -> set[str]:
    """int(len * fraction) of `items`, evenly spread."""
    return {item for i, item in enumerate(items) if int((i + 1) * fraction) > int(i * fraction)}


async def setup_phase(
    client: aiohttp.ClientSession, name: str, requests: Iterator[Request]
) -> Phase:
    phase = await drive(client, name, requests, SETUP_CONCURRENCY)
    if phase.errors:
        raise RuntimeError(f"{phase.errors} failed in {name}; the first: {phase.first_error}")
    return phase


async def make_payments(stack: Stack, count: int, refunds: float) -> Made:
    base, key, sandbox = stack.paydesk_url, stack.shop_key, stack.sandbox_url
    made = Made()
    order_ids: list[str] = []
    connector = aiohttp.TCPConnector(limit=SETUP_CONCURRENCY)
    async with aiohttp.ClientSession(
        connector=connector, timeout=aiohttp.ClientTimeout(total=60)
    ) as client:
        make_order = create_order(base, key, order_ids)
        await setup_phase(client, "creating orders", (make_order for _ in range(count)))
        await setup_phase(
            client, "starting payments", (start_payment(base, key, o, made) for o in order_ids)
        )
        intents = list(made.intents.values())
        # Stripe.js confirms with a return_url: the PaymentIntent offers redirect methods too.
        card = {"payment_method": "pm_card_visa", "return_url": "https://shop.example/done"}
        await setup_phase(
            client,
            "confirming at the sandbox",
            (
                at_stripe(sandbox, f"/v1/payment_intents/{pi}/confirm", card, "succeeded")
                for pi in intents
            ),
        )
        made.refunded = spread(list(made.intents), refunds)
        await setup_phase(
            client,
            "refunding at the sandbox",
            (
                at_stripe(sandbox, "/v1/refunds", {"payment_intent": made.intents[p]}, "succeeded")
                for p in sorted(made.refunded)
            ),
        )
    return made


def intent_of(stripe_event: dict[str, Any]) -> str | None:
    """The PaymentIntent an event's object belongs to."""
    obj = stripe_event["data"]["object"]
    if obj.get("object") == "payment_intent":
        return str(obj["id"])
    intent = obj.get("payment_intent")
    return intent if isinstance(intent, str) else None


async def recorded_events(sandbox: str, made: Made) -> list[dict[str, Any]]:
    """Every event the sandbox recorded about the PaymentIntents made, oldest first."""
    ours = set(made.intents.values())
    headers = {"Authorization": f"Bearer {SECRET_KEY}"}
    newest_first: list[dict[str, Any]] = []
    after: str | None = None
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as client:
        while True:
            params = [("limit", "100"), *(("types[]", family) for family in EVENT_FAMILIES)]
            if after is not None:
                params.append(("starting_after", after))
            url = f"{sandbox}/v1/events"
            async with client.get(url, params=params, headers=headers) as response:
                answer = await response.read()
            if response.status != 200:
                raise RuntimeError(f"GET /v1/events: HTTP {response.status}: {answer[:300]!r}")
            page = orjson.loads(answer)
            newest_first += [e for e in page["data"] if intent_of(e) in ours]
            if not page["has_more"] or not page["data"]:
                break
            after = page["data"][-1]["id"]
    newest_first.reverse()
    by_intent: dict[str, set[str]] = {}
    for stripe_event in newest_first:
        by_intent.setdefault(str(intent_of(stripe_event)), set()).add(stripe_event["type"])
    for payment_id, intent in made.intents.items():
        needed = {"payment_intent.succeeded", "charge.succeeded"}
        if payment_id in made.refunded:
            needed |= {"refund.created", "charge.refunded"}
        if missing := needed - by_intent.get(intent, set()):
            raise RuntimeError(f"the sandbox recorded no {', '.join(sorted(missing))} for {intent}")
    return newest_first


# --- reading paydesk's database ------------------------------------------------------------


class Reader:
    """Read-only queries on paydesk's database, on connections of the benchmark's own."""

    def __init__(self, url: str) -> None:
        url = async_url(url)
        if is_sqlite(url):
            self.engine = create_async_engine(url, connect_args={"timeout": 5})
            read_only = "PRAGMA query_only = ON"
        else:
            self.engine = create_async_engine(url, pool_size=1)
            read_only = "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY"

        @event.listens_for(self.engine.sync_engine, "connect")
        def _read_only(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute(read_only)
            cursor.close()

    async def close(self) -> None:
        await self.engine.dispose()

    @staticmethod
    async def _count_by(
        connection: AsyncConnection, column: InstrumentedAttribute[str]
    ) -> Counter[str]:
        rows = await connection.execute(select(column, func.count()).group_by(column))
        return Counter({value: count for value, count in rows})

    async def progress(self) -> tuple[Counter[str], Counter[str]]:
        """Inbox events by status, payments by status."""
        async with self.engine.connect() as connection:
            inbox = await self._count_by(connection, InboxEvent.status)
            payments = await self._count_by(connection, Payment.status)
        return inbox, payments

    async def inbox_ids(self) -> set[str]:
        async with self.engine.connect() as connection:
            return set((await connection.scalars(select(InboxEvent.id))).all())

    async def first_taken_up(self) -> datetime | None:
        """When a worker began to apply the first event (its `processed_at`, set as a unit
        of work takes it up, before that commits)."""
        async with self.engine.connect() as connection:
            return await connection.scalar(select(func.min(InboxEvent.processed_at)))

    async def delivered(self) -> int:
        query = select(func.count()).where(Notification.status == NotificationStatus.DELIVERED)
        async with self.engine.connect() as connection:
            return int(await connection.scalar(query) or 0)

    async def payments(self) -> dict[str, tuple[str, int]]:
        """Every payment's status and amount."""
        query = select(Payment.id, Payment.status, Payment.amount)
        async with self.engine.connect() as connection:
            rows = await connection.execute(query)
            return {payment_id: (status, amount) for payment_id, status, amount in rows}

    async def ledger(self) -> list[tuple[str, str, int]]:
        """Every ledger entry of a payment: payment, kind, amount."""
        query = select(LedgerEntry.payment_id, LedgerEntry.kind, LedgerEntry.amount).where(
            LedgerEntry.payment_id.is_not(None)
        )
        async with self.engine.connect() as connection:
            return [
                (str(payment), kind, amount)
                for payment, kind, amount in await connection.execute(query)
            ]

    async def emails(self) -> list[tuple[str | None, str]]:
        """Every e-mail in the outbox: payment, kind."""
        query = select(Notification.payment_id, Notification.kind).where(
            Notification.channel == Channel.EMAIL
        )
        async with self.engine.connect() as connection:
            return [(payment, kind) for payment, kind in await connection.execute(query)]


# --- the two timed phases ------------------------------------------------------------------


@dataclass
class Acknowledged:
    phase: Phase
    concurrency: int
    serve_cpu: float  # seconds, user + system, during the phase


async def acknowledge(stack: Stack, events: list[dict[str, Any]], concurrency: int) -> Acknowledged:
    url = f"{stack.paydesk_url}{WEBHOOK_PATH}"
    bodies = [orjson.dumps(e) for e in events]
    now = int(time.time())
    sends = [webhook_request(url, body, signature_header(body, SECRET, now)) for body in bodies]
    connector = aiohttp.TCPConnector(limit=concurrency)
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as client:
        # The connections are opened before the clock starts, on the no-op endpoint.
        check = healthz(stack.paydesk_url)
        await drive(client, "warm-up", (check for _ in range(concurrency * 4)), concurrency)
        before = sum(process_cpu(stack.paydesk.pid))
        phase = await drive(client, "acknowledgement", iter(sends), concurrency)
        serve_cpu = sum(process_cpu(stack.paydesk.pid)) - before
    return Acknowledged(phase, concurrency, serve_cpu)


def process_cpu(pid: int) -> tuple[float, float]:
    """CPU time (user + system) of a process's main thread and of all its other threads,
    those that have ended included (which `cpu_seconds` cannot see: aiosqlite's thread goes
    with its connection); zeros where /proc is not there."""

    def seconds(path: str) -> float:
        stat = Path(path).read_text()
        fields = stat[stat.rindex(")") + 2 :].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    try:
        total, main = seconds(f"/proc/{pid}/stat"), seconds(f"/proc/{pid}/task/{pid}/stat")
    except OSError:
        return 0.0, 0.0
    return main, total - main


def workers_cpu(workers: Sequence[Process]) -> tuple[float, float]:
    """CPU seconds of the workers' main threads and of their other threads, summed."""
    samples = [process_cpu(worker.pid) for worker in workers]
    return sum(main for main, _ in samples), sum(others for _, others in samples)


@dataclass
class Applied:
    workers: int
    events: int
    finished: bool  # False: --max-seconds ran out first
    elapsed: float  # from spawning the workers until all was applied (or given up)
    inbox: Counter[str]  # events by status then
    payments: Counter[str]  # payments by status then
    cpu: tuple[float, float]  # the workers' main threads, other threads: all of it
    # From spawning to the first unit of work that took up an event (its `processed_at`).
    taken_up: float | None = None
    # When the first applied events were seen committed: seconds from spawning, how many
    # events had been applied by then, and the workers' CPU then (main, other threads).
    first_seen: float | None = None
    applied_at_first: int = 0
    cpu_at_first: tuple[float, float] = (0.0, 0.0)
    delivered: int = 0  # notifications the workers had delivered by the end
    others_cpu: dict[str, float] = field(default_factory=dict)  # serve, sandbox, bench
    log_problems: list[str] = field(default_factory=list)  # the workers' warnings, errors

    @property
    def after_first(self) -> tuple[int, float, float]:
        """Events applied after the first were seen, the seconds and CPU seconds they took."""
        if self.first_seen is None:
            return 0, 0.0, 0.0
        return (
            self.events - self.applied_at_first,
            self.elapsed - self.first_seen,
            sum(self.cpu) - sum(self.cpu_at_first),
        )


async def apply(
    stack: Stack, reader: Reader, made: Made, events: int, args: argparse.Namespace
) -> Applied:
    final = made.final_counts()
    others = {"serve": stack.paydesk.pid, "sandbox": stack.sandbox.pid, "bench": os.getpid()}
    others_before = {name: process_cpu(pid) for name, pid in others.items()}
    spawned_at = time.time()
    spawned = time.perf_counter()
    workers = stack.start_workers(args.workers, profile_output=args.profile)
    deadline = spawned + args.max_seconds
    first_seen: float | None = None
    applied_at_first, cpu_at_first = 0, (0.0, 0.0)
    while True:
        inbox, payments = await reader.progress()
        now = time.perf_counter()
        waiting = inbox[EventStatus.PENDING] + inbox[EventStatus.FAILED]
        if first_seen is None and waiting < inbox.total():
            first_seen, cpu_at_first = now - spawned, workers_cpu(workers)
            applied_at_first = inbox.total() - waiting
            if args.profile is not None:
                workers[0].signal(signal.SIGUSR1)
        finished = waiting == 0 and all(payments[s] == n for s, n in final.items())
        if finished or now >= deadline:
            break
        for worker in workers:
            if (code := worker.exited()) is not None:
                raise RuntimeError(f"{worker.name} exited with {code}:\n{worker.log_tail()}")
        await asyncio.sleep(FIRST_POLL_SECONDS if first_seen is None else POLL_SECONDS)
    cpu = workers_cpu(workers)
    others_cpu = {}
    for name, pid in others.items():
        (main, threads), (main_before, threads_before) = process_cpu(pid), others_before[name]
        if name == "bench":  # its main thread polls; the mailbox takes the e-mails in another
            others_cpu["bench polling"] = main - main_before
            others_cpu["bench mailbox"] = threads - threads_before
        else:
            others_cpu[name] = main + threads - main_before - threads_before
    if args.profile is not None:
        workers[0].signal(signal.SIGUSR2)
    taken_up = await reader.first_taken_up()
    return Applied(
        workers=args.workers,
        events=events,
        finished=finished,
        elapsed=now - spawned,
        inbox=inbox,
        payments=payments,
        cpu=cpu,
        taken_up=None if taken_up is None else taken_up.timestamp() - spawned_at,
        first_seen=first_seen,
        applied_at_first=applied_at_first,
        cpu_at_first=cpu_at_first,
        delivered=await reader.delivered(),
        others_cpu=others_cpu,
        log_problems=[line for w in workers for line in log_problems(w)],
    )


def log_problems(worker: Process) -> list[str]:
    """The warnings and errors a worker logged, and whatever it wrote that is not a log line."""
    try:
        lines = worker.log_path.read_text(errors="replace").splitlines()
    except OSError:
        return []
    problems = []
    for line in lines:
        try:
            entry = orjson.loads(line)
        except orjson.JSONDecodeError:
            problems.append(f"{worker.name}: {line}")
            continue
        if isinstance(entry, dict) and entry.get("level") in LOG_PROBLEMS:
            problems.append(f"{worker.name}: {entry.get('level')}: {entry.get('message')}")
    return problems


# --- what the workers must have done -------------------------------------------------------


@dataclass
class Check:
    name: str
    ok: bool
    detail: str


def per_payment(pairs: Sequence[tuple[str | None, str]], kind: str) -> Counter[str | None]:
    return Counter(payment_id for payment_id, k in pairs if k == kind)


def exactly_one(name: str, counts: Counter[str | None], wanted: set[str], made: Made) -> Check:
    """One row for each payment in `wanted`, none for any other."""
    wrong = sorted(
        str(p) for p in set(counts) | wanted if counts.get(p, 0) != (1 if p in wanted else 0)
    )
    detail = f"{counts.total()} for {len(wanted)} payments"
    if wrong:
        example = wrong[0]
        refunded = len(made.refunded.intersection(wrong))
        detail += (
            f"; {len(wrong)} payments ({refunded} of them refunded) with another count, "
            f"e.g. {example}: {counts[example]}"
        )
    return Check(name, not wrong, detail)


async def verify(reader: Reader, made: Made, posted: int) -> list[Check]:
    payments = await reader.payments()
    everyone, refunded = set(made.intents), made.refunded
    off = sorted(
        p
        for p in everyone | set(payments)
        if payments.get(p, ("absent", 0))[0] != made.final_status(p)
    )
    statuses = Counter(status for status, _ in payments.values())
    detail = ", ".join(f"{n} {status}" for status, n in sorted(statuses.items()))
    if off:
        detail += f"; {len(off)} not as they should end, e.g. {off[0]}: {payments.get(off[0])}"
    checks = [Check("payments final", not off, detail)]

    ledger = await reader.ledger()
    kinds = [(payment_id, kind) for payment_id, kind, _ in ledger]
    checks.append(
        exactly_one("ledger charges", per_payment(kinds, LedgerKind.CHARGE), everyone, made)
    )
    checks.append(
        exactly_one("ledger refunds", per_payment(kinds, LedgerKind.REFUND), refunded, made)
    )
    kept: Counter[str] = Counter()
    for payment_id, kind, amount in ledger:
        if kind != LedgerKind.DISPUTE_FEE:
            kept[payment_id] += amount
    unbalanced = sorted(
        p for p in everyone if kept[p] != (0 if p in refunded else payments.get(p, ("", 0))[1])
    )
    detail = "captured - refunded, per payment"
    if unbalanced:
        detail += f"; {len(unbalanced)} differ, e.g. {unbalanced[0]}: {kept[unbalanced[0]]}"
    checks.append(Check("ledger sums", not unbalanced, detail))

    emails = await reader.emails()
    checks.append(
        exactly_one("receipt e-mails", per_payment(emails, EmailKind.RECEIPT), everyone, made)
    )
    if refunded:
        refund_emails = per_payment(emails, EmailKind.REFUND_ISSUED)
        checks.append(exactly_one("refund e-mails", refund_emails, refunded, made))

    inbox, _ = await reader.progress()
    left = {s: inbox[s] for s in (EventStatus.PENDING, EventStatus.FAILED, EventStatus.DEAD)}
    detail = ", ".join(f"{n} {status}" for status, n in sorted(inbox.items()))
    ok = not any(left.values()) and inbox.total() == posted
    checks.append(Check("inbox", ok, f"{detail} of {posted} posted"))
    return checks


# --- the report ----------------------------------------------------------------------------


@dataclass
class Report:
    args: argparse.Namespace
    database: str  # "sqlite" | "postgresql"
    made: Made
    event_types: Counter[str]
    acknowledged: Acknowledged
    applied: Applied
    checks: list[Check]

    @property
    def failed(self) -> bool:
        return not self.applied.finished or not all(c.ok for c in self.checks)

    def print(self) -> None:
        ack, ap = self.acknowledged.phase, self.applied
        events = ack.count
        payments = len(self.made.intents)

        def verdict(ok: bool) -> str:
            return "met" if ok else "MISSED"

        rate = events / ap.elapsed if ap.elapsed else 0.0
        target = TARGET_RATE[self.database]
        if ap.workers == 1:
            rate_target = f"target >= {target:,.0f} with one worker: {verdict(rate >= target)}"
        elif ap.workers == 2:
            two = TARGET_TWO_WORKERS * target
            rate_target = (
                f"target >= {TARGET_TWO_WORKERS} x one worker's rate (run --workers 1 to "
                f"compare); >= {two:,.0f} at one worker's target: {verdict(rate >= two)}"
            )
        else:
            rate_target = "no target beyond two workers"
        fraction = rate / ack.rate if ack.rate else float("nan")
        cpu = sum(ap.cpu)
        main, others = ap.cpu
        per = 1000 / events if events else float("nan")
        rows: list[tuple[str, str, str]] = [
            (
                "acknowledged events/s",
                f"{ack.rate:,.0f}",
                f"the ceiling: {events} events in {ack.elapsed:.2f} s, concurrency "
                f"{self.acknowledged.concurrency}; paydesk serve CPU "
                f"{self.acknowledged.serve_cpu * per:.3f} ms/event",
            ),
            (
                "applied events/s",
                f"{rate:,.1f}",
                f"{rate_target}; {events} events in {ap.elapsed:.2f} s from spawning "
                f"{ap.workers} worker{'s' if ap.workers > 1 else ''}"
                + ("" if ap.finished else " (GAVE UP: --max-seconds)"),
            ),
            (
                "payments settled/s",
                f"{payments / ap.elapsed if ap.elapsed else 0.0:,.1f}",
                f"{payments} payments, {len(self.made.refunded)} of them refunded",
            ),
            (
                "applied/acknowledged",
                f"{fraction:.3f}",
                f"target >= {TARGET_ACK_FRACTION}: {verdict(fraction >= TARGET_ACK_FRACTION)}",
            ),
        ]
        if ap.taken_up is not None:
            rows.append(
                ("start-up s", f"{ap.taken_up:.2f}", "from spawning to the first event taken up")
            )
        if ap.first_seen is not None:
            rows.append(
                (
                    "first applied seen s",
                    f"{ap.first_seen:.2f}",
                    f"from spawning until the first events applied were committed "
                    f"({ap.applied_at_first} of them)",
                )
            )
        rows.append(
            (
                "worker CPU ms/event",
                f"{cpu * per:.3f}",
                f"target <= {TARGET_CPU_MS:g}: {verdict(cpu * per <= TARGET_CPU_MS)}; start-up "
                f"included; main threads {main * per:.3f}, other threads {others * per:.3f}; "
                f"{cpu / ap.elapsed if ap.elapsed else 0.0:.2f} cores",
            )
        )
        later, seconds, later_cpu = ap.after_first
        if later and seconds:
            rows += [
                (
                    "  after first seen",
                    f"{later_cpu * 1000 / later:.3f}",
                    f"{verdict(later_cpu * 1000 / later <= TARGET_CPU_MS)}; the {later} events "
                    f"applied after the first were seen; before: {sum(ap.cpu_at_first):.2f} s",
                ),
                ("events/s after first seen", f"{later / seconds:,.1f}", f"over {seconds:.2f} s"),
            ]
        elif ap.first_seen is not None:
            rows.append(("  after first seen", "n/a", "all applied in the first commit seen"))
        others_cpu = ", ".join(f"{name} {s:.2f} s" for name, s in ap.others_cpu.items())
        rows += [
            ("e-mails delivered", str(ap.delivered), "by the workers, beside the inbox, by then"),
            ("other CPU meanwhile", "", others_cpu),
        ]
        rows += [(f"check: {c.name}", "ok" if c.ok else "FAILED", c.detail) for c in self.checks]
        width = max(len(r[0]) for r in rows)
        value_width = max(len(r[1]) for r in rows)
        database = "PostgreSQL" if self.database == "postgresql" else "SQLite"
        print()
        print(
            f"paydesk events applied: {database}, {ap.workers} paydesk worker "
            f"process{'es' if ap.workers > 1 else ''}, {os.cpu_count()} CPUs"
        )
        for label, value, note in rows:
            print(f"  {label:<{width}}  {value:>{value_width}}  {note}".rstrip())
        types = ", ".join(f"{n} {name}" for name, n in sorted(self.event_types.items()))
        print(f"  events posted: {types}")
        if self.args.profile is not None:
            print("  (the first worker under cProfile: the rates above are not representative)")
        if ap.log_problems:
            print(f"  the workers logged {len(ap.log_problems)} warnings or errors; the first:")
            for line in ap.log_problems[:5]:
                print(f"    {line[:300]}")
        print(f"  command: {shlex.join([Path(sys.executable).name, *sys.argv])}")
        if ack.first_error:
            print(f"  first acknowledgement error: {ack.first_error}")


async def measure(args: argparse.Namespace, stack: Stack) -> Report:
    made = await make_payments(stack, args.payments, args.refunds)
    events = await recorded_events(stack.sandbox_url, made)
    reader = Reader(stack.url)
    try:
        acknowledged = await acknowledge(stack, events, args.concurrency)
        if acknowledged.phase.errors:
            raise RuntimeError(
                f"{acknowledged.phase.errors} events were refused; "
                f"the first: {acknowledged.phase.first_error}"
            )
        posted = {e["id"] for e in events}
        inbox, _ = await reader.progress()
        if await reader.inbox_ids() != posted or inbox[EventStatus.PENDING] != len(posted):
            raise RuntimeError(f"the inbox does not hold the posted events, all pending: {inbox}")
        applied = await apply(stack, reader, made, len(posted), args)
        checks = await verify(reader, made, len(posted))
    finally:
        await reader.close()
    return Report(
        args=args,
        database="sqlite" if is_sqlite(async_url(stack.url)) else "postgresql",
        made=made,
        event_types=Counter(e["type"] for e in events),
        acknowledged=acknowledged,
        applied=applied,
        checks=checks,
    )


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--payments", type=int, default=500, help="payments made and settled")
    parser.add_argument(
        "--refunds",
        type=float,
        default=0.0,
        metavar="FRACTION",
        help="share of the payments also refunded in full at the sandbox",
    )
    parser.add_argument(
        "--workers", type=int, default=1, help="paydesk worker processes applying the inbox"
    )
    parser.add_argument(
        "--concurrency", type=int, default=32, help="webhook posts in flight while acknowledging"
    )
    parser.add_argument(
        "--max-seconds",
        type=float,
        default=120.0,
        help="give up (and exit 1) if the workers have not applied everything by then",
    )
    parser.add_argument(
        "--database-url",
        help="a PostgreSQL server, as postgresql+asyncpg://postgres@127.0.0.1:5432/postgres: "
        "a database paydesk_bench_<random> is created there for the run and dropped after it "
        "(default: a temporary SQLite file)",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="FILE.prof",
        help="run the first worker under cProfile from the first event applied to the last, "
        "write the stats there and print where its CPU went",
    )
    args = parser.parse_args(argv)
    if min(args.payments, args.workers, args.concurrency, args.max_seconds) <= 0:
        parser.error("--payments, --workers, --concurrency and --max-seconds must be positive")
    if not 0.0 <= args.refunds <= 1.0:
        parser.error("--refunds is a fraction, from 0 to 1")
    return args


def main() -> int:
    args = parse_args()
    if args.profile is not None:
        args.profile = args.profile.resolve()
        args.profile.unlink(missing_ok=True)
    try:
        with (
            fresh_database(args.database_url) as url,
            Stack(database_url=url, webhook_secrets=(SECRET,), worker_in_process=False) as stack,
        ):
            report = asyncio.run(measure(args, stack))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except RuntimeError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 1
    report.print()
    if args.profile is not None:
        count = report.acknowledged.phase.count
        print_profile(args.profile, count, unit="event", during=f"{count} events applied", top=30)
    if report.failed:
        print("bench: FAILED: not everything was applied, or not as it should be")
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
