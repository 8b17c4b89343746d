"""Stripe webhook events acknowledged per second by paydesk, and their latency.

    .venv/bin/python bench/webhooks.py [--concurrency 32] [--events 20000] [--rate 1000]

Starts `paydesk serve` as a separate process on 127.0.0.1 with a fresh SQLite database (or
`--database-url`), a webhook signing secret and its in-process worker off (`--worker` turns it
on, with the sandbox as Stripe), so that only the acknowledgement path is measured: verify the
signature, parse, store in the inbox, answer 200. Client processes (`--clients`, each an
asyncio loop with keep-alive aiohttp connections) build Stripe-shaped events of about 3 KB
(`payment_intent.succeeded` and `charge.succeeded`, unique ids) before anything is timed and
sign them just before each phase.

Phase A posts --events of them at a fixed concurrency (closed loop) and prints events/s
acknowledged and the latency percentiles, then checks in the database that every
acknowledged event is stored. Phase B posts events open loop at --rate per second for
--duration seconds and prints the latency, measured from the moment each request was due. The
same two shapes against `GET /healthz` (a no-op on the same server) give the ceiling of this
machine at this moment; the ratio of the two is steadier than either number.

Exits 1 if the stored events are not exactly the acknowledged ones or any event was refused.

    .venv/bin/python bench/webhooks.py --soak 100000 [--soak-rate 800] [--database-url URL]

`--soak N` is a memory soak instead of the two phases: N events through ingest and apply,
as an operator runs paydesk (on SQLite serve's in-process worker, on PostgreSQL, in a
database made for the run, one `paydesk worker` beside serve; `--soak-worker` chooses), with
the RSS (VmRSS) of serve and of the worker sampled every --soak-sample seconds. First
N / 20 orders and payments (`--soak-payments`) are made through the API without a card, so
each has a PaymentIntent at the sandbox, and the soak waits for the worker to read their
events back from the sandbox's list. Then for each payment, 200 payments at a time taking
turns: payment_intent.succeeded (it is paid: a status change, a ledger entry, a receipt
e-mail), charge.succeeded, then charge.updated (new facts, no new status), each a unique
event of about 3 KB, posted at --soak-rate per second with at most --concurrency in flight,
waiting while more than --soak-backlog wait to be applied. Each sample (elapsed seconds,
events acknowledged, applied, waiting, RSS in MiB) is printed as it is taken; the inbox is
counted on the database, read-only. At the end it prints each process's peak RSS (VmHWM),
its RSS after the warm-up (the first 20 % of the events through it) and at the end, and the
least-squares slope of RSS over the samples after the warm-up in MiB per 10,000 events, and
exits 1 unless both are below their targets (under 250 MB; below 1 MiB per 10,000 events),
every event was acknowledged, stored and processed (none pending, failed or ignored), and
every payment succeeded with one ledger charge.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import math
import multiprocessing
import os
import secrets
import shlex
import signal
import string
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import aiohttp
import orjson

from paydesk.sandbox.signing import signature_header
from payments import JSON, Request, cpu_seconds, create_order, drive
from profiling import print_profile
from stack import Process, Stack, fresh_database

SECRET = "whsec_paydesk_bench_" + secrets.token_hex(16)
WEBHOOK_PATH = "/api/webhooks/stripe"
ACK = b'"received":true'
STRIPE_HEADERS = {
    "Content-Type": "application/json; charset=utf-8",
    "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
    "Accept": "*/*; q=0.5, application/xml",
    "Cache-Control": "no-cache",
}
OPEN_LOOP_CONNECTIONS = 256  # per client process: a backlog waits in the server, not here
WARM_CONNECTIONS_SECONDS = 0.3
TARGET_EVENTS_PER_SECOND = 2500.0
TARGET_P99_MS = 50.0
TARGET_CEILING_FRACTION = 0.5
ALPHANUMERIC = string.ascii_letters + string.digits


# --- Stripe-shaped events ------------------------------------------------------------------


def metadata(order: str, n: int) -> dict[str, str]:
    """What a shop typically keeps on a payment: its order, the cart, the campaign."""
    return {
        "order_id": order,
        "shop": "paydesk",
        "cart_id": f"cart_{n:012d}",
        "customer_email": f"customer{n}@example.com",
        "items": "BOOK-1 x2 @ 25.00 USD; MUG-7 x1 @ 12.50 USD; TOTE-3 x1 @ 18.00 USD",
        "shipping_method": "ups_ground",
        "coupon": "SPRING24",
        "utm_source": "newsletter",
        "utm_campaign": "spring-sale",
        "ip_address": f"203.0.113.{n % 254 + 1}",
        "user_agent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.4 Safari/605.1.15",
    }


def payment_intent(pi: str, charge_id: str, amount: int, created: int, n: int) -> dict[str, Any]:
    order = f"ord_{pi[3:]}"
    return {
        "id": pi,
        "object": "payment_intent",
        "amount": amount,
        "amount_capturable": 0,
        "amount_details": {"tip": {}},
        "amount_received": amount,
        "application": None,
        "application_fee_amount": None,
        "automatic_payment_methods": {"allow_redirects": "never", "enabled": True},
        "canceled_at": None,
        "cancellation_reason": None,
        "capture_method": "automatic_async",
        "client_secret": f"{pi}_secret_{pi[-12:]}Xk2bPq9LmVt",
        "confirmation_method": "automatic",
        "created": created,
        "currency": "usd",
        "customer": f"cus_Q{n:013d}",
        "description": f"Order {order}",
        "invoice": None,
        "last_payment_error": None,
        "latest_charge": charge_id,
        "livemode": False,
        "metadata": metadata(order, n),
        "next_action": None,
        "on_behalf_of": None,
        "payment_method": f"pm_1Q{n:012d}Visa",
        "payment_method_configuration_details": {"id": "pmc_1PpaydeskBench000000", "parent": None},
        "payment_method_options": {
            "card": {
                "installments": None,
                "mandate_options": None,
                "network": None,
                "request_three_d_secure": "automatic",
            },
            "cashapp": {},
            "link": {"persistent_token": None},
            "us_bank_account": {
                "financial_connections": {"permissions": ["payment_method"], "prefetch": []},
                "mandate_options": {},
                "verification_method": "automatic",
            },
        },
        "payment_method_types": ["card", "link", "cashapp", "us_bank_account"],
        "processing": None,
        "receipt_email": f"customer{n}@example.com",
        "review": None,
        "setup_future_usage": None,
        "shipping": {
            "address": {
                "city": "San Francisco",
                "country": "US",
                "line1": f"{100 + n % 900} Market Street",
                "line2": "Suite 300",
                "postal_code": "94105",
                "state": "CA",
            },
            "carrier": None,
            "name": "Jenny Rosen",
            "phone": "+14155550100",
            "tracking_number": None,
        },
        "source": None,
        "statement_descriptor": None,
        "statement_descriptor_suffix": "PAYDESK",
        "status": "succeeded",
        "transfer_data": None,
        "transfer_group": None,
    }


def charge(pi: str, charge_id: str, amount: int, created: int, n: int) -> dict[str, Any]:
    return {
        "id": charge_id,
        "object": "charge",
        "amount": amount,
        "amount_captured": amount,
        "amount_refunded": 0,
        "application": None,
        "application_fee": None,
        "application_fee_amount": None,
        "balance_transaction": f"txn_{charge_id[3:]}",
        "billing_details": {
            "address": {
                "city": "San Francisco",
                "country": "US",
                "line1": f"{100 + n % 900} Market Street",
                "line2": "Suite 300",
                "postal_code": "94105",
                "state": "CA",
            },
            "email": f"customer{n}@example.com",
            "name": "Jenny Rosen",
            "phone": None,
        },
        "calculated_statement_descriptor": "PAYDESK",
        "captured": True,
        "created": created,
        "currency": "usd",
        "customer": f"cus_Q{n:013d}",
        "description": f"Order ord_{pi[3:]}",
        "disputed": False,
        "failure_balance_transaction": None,
        "failure_code": None,
        "failure_message": None,
        "fraud_details": {},
        "invoice": None,
        "livemode": False,
        "metadata": metadata(f"ord_{pi[3:]}", n),
        "on_behalf_of": None,
        "outcome": {
            "network_status": "approved_by_network",
            "reason": None,
            "risk_level": "normal",
            "risk_score": n % 64,
            "seller_message": "Payment complete.",
            "type": "authorized",
        },
        "paid": True,
        "radar_options": {},
        "payment_intent": pi,
        "payment_method": f"pm_1Q{n:012d}Visa",
        "payment_method_details": {
            "card": {
                "amount_authorized": amount,
                "authorization_code": f"{n % 1000000:06d}",
                "brand": "visa",
                "checks": {
                    "address_line1_check": "pass",
                    "address_postal_code_check": "pass",
                    "cvc_check": "pass",
                },
                "country": "US",
                "exp_month": 12,
                "exp_year": 2034,
                "extended_authorization": {"status": "disabled"},
                "fingerprint": "Xt5EWLLDS7FJjR1c",
                "funding": "credit",
                "incremental_authorization": {"status": "unavailable"},
                "installments": None,
                "last4": "4242",
                "mandate": None,
                "multicapture": {"status": "unavailable"},
                "network": "visa",
                "network_token": {"used": False},
                "network_transaction_id": f"{n:015d}",
                "overcapture": {"maximum_amount_capturable": amount, "status": "unavailable"},
                "three_d_secure": None,
                "wallet": None,
            },
            "type": "card",
        },
        "receipt_email": f"customer{n}@example.com",
        "receipt_number": None,
        "receipt_url": "https://pay.stripe.com/receipts/payment/"
        f"CAcaFwoVYWNjdF8xUGF5ZGVza0JlbmNoMDAwKO{charge_id[3:]}MGBgZ2nOqxc6LBYp9Q",
        "refunded": False,
        "review": None,
        "shipping": None,
        "source_transfer": None,
        "statement_descriptor": None,
        "statement_descriptor_suffix": "PAYDESK",
        "status": "succeeded",
        "transfer_data": None,
        "transfer_group": None,
    }


def event_id(run: str, index: int) -> str:
    return f"evt_{run}{index:010d}"


def event_body(run: str, index: int) -> bytes:
    """Event `index` of this run: a payment_intent.succeeded for even indexes, a
    charge.succeeded for odd ones, about 3 KB, as Stripe sends them."""
    created = int(time.time())
    pi = f"pi_3Q{run}{index // 2:010d}"
    charge_id = f"ch_3Q{run}{index // 2:010d}"
    amount = 1000 + (index * 7919) % 90000
    if index % 2 == 0:
        kind = "payment_intent.succeeded"
        obj = payment_intent(pi, charge_id, amount, created, index)
    else:
        kind, obj = "charge.succeeded", charge(pi, charge_id, amount, created, index)
    return envelope(run, index, kind, created, {"object": obj})


def envelope(run: str, index: int, kind: str, created: int, data: dict[str, Any]) -> bytes:
    """Event `index` of this run as Stripe posts it, around `data` (its object, and for an
    `*.updated` event the attributes it had before)."""
    return orjson.dumps(
        {
            "id": event_id(run, index),
            "object": "event",
            "api_version": "2024-06-20",
            "created": created,
            "data": data,
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": f"req_{run}{index:010d}", "idempotency_key": f"{run}-{index}"},
            "type": kind,
        }
    )


# --- client processes ----------------------------------------------------------------------


@dataclass(frozen=True)
class Setup:
    """What a client process is told once: which events are its own."""

    index: int
    clients: int
    base_url: str
    secret: str
    run: str
    # Event sets by name: (first index, count); client k builds indexes first + k + j * clients.
    sets: dict[str, tuple[int, int]]


@dataclass(frozen=True)
class Job:
    """One phase for one client process."""

    name: str
    target: str  # "webhook" | "healthz"
    event_set: str | None = None  # which events, for webhooks
    concurrency: int = 1  # closed loop: requests in flight
    seconds: float | None = None  # closed loop: stop after; open loop: how long
    rate: float | None = None  # open loop: this client's requests per second
    offset: float = 0.0  # open loop: this client's first request, after the start


@dataclass
class Result:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    first_error: str | None = None
    started: float = 0.0
    finished: float = 0.0
    cpu: float = 0.0  # CPU seconds of the client process during the phase
    acked: list[str] = field(default_factory=list)
    run: float = 0.0  # when the phase started: the same for every client in one run

    def fail(self, problem: str) -> None:
        self.errors += 1
        self.first_error = self.first_error or problem


Send = Callable[[aiohttp.ClientSession], Awaitable[str | None]]


def healthz_request(url: str) -> Send:
    async def send(client: aiohttp.ClientSession) -> str | None:
        async with client.get(url) as response:
            await response.read()
        return None if response.status == 200 else f"healthz: HTTP {response.status}"

    return send


def webhook_request(url: str, body: bytes, signature: str) -> Send:
    headers = {**STRIPE_HEADERS, "Stripe-Signature": signature}

    async def send(client: aiohttp.ClientSession) -> str | None:
        async with client.post(url, data=body, headers=headers) as response:
            answer = await response.read()
        if response.status == 200 and ACK in answer:
            return None
        return f"webhook: HTTP {response.status}: {answer[:300]!r}"

    return send


class Client:
    def __init__(self, setup: Setup, conn: Connection) -> None:
        self.setup = setup
        self.conn = conn
        self.events: dict[str, list[tuple[str, bytes]]] = {}
        for name, (first, count) in setup.sets.items():
            indexes = range(first + setup.index, first + count, setup.clients)
            self.events[name] = [
                (event_id(setup.run, i), event_body(setup.run, i)) for i in indexes
            ]

    def requests(self, job: Job) -> tuple[list[Send], list[str | None]]:
        base = self.setup.base_url
        if job.target == "healthz":
            assert job.seconds is not None
            send = healthz_request(f"{base}/healthz")
            if job.rate is None:  # closed loop: as many as the time allows
                return [], []
            count = math.ceil(job.rate * job.seconds)
            return [send] * count, [None] * count
        assert job.event_set is not None
        now = int(time.time())
        url = f"{base}{WEBHOOK_PATH}"
        events = self.events[job.event_set]
        secret = self.setup.secret
        sends = [
            webhook_request(url, body, signature_header(body, secret, now)) for _, body in events
        ]
        return sends, [event for event, _ in events]

    async def serve(self) -> None:
        self.conn.send("built")
        while True:
            job: Job | None = self.conn.recv()
            if job is None:
                return
            sends, ids = self.requests(job)
            limit = job.concurrency if job.rate is None else OPEN_LOOP_CONNECTIONS
            connector = aiohttp.TCPConnector(limit=limit)
            timeout = aiohttp.ClientTimeout(total=60)
            async with aiohttp.ClientSession(connector=connector, timeout=timeout) as client:
                # Open the connections before the start, on the no-op endpoint.
                warm = healthz_request(f"{self.setup.base_url}/healthz")
                end = time.monotonic() + WARM_CONNECTIONS_SECONDS
                await closed_loop(client, [], [], min(limit, 64), end, warm)
                self.conn.send("ready")
                start: float = self.conn.recv()
                await asyncio.sleep(max(0.0, start - time.monotonic()))
                cpu = time.process_time()
                if job.rate is None:
                    deadline = None if job.seconds is None else start + job.seconds
                    result = await closed_loop(
                        client,
                        sends,
                        ids,
                        job.concurrency,
                        deadline,
                        healthz_request(f"{self.setup.base_url}/healthz"),
                    )
                else:
                    result = await open_loop(client, sends, ids, start + job.offset, 1 / job.rate)
                result.cpu = time.process_time() - cpu
                result.run = start
            self.conn.send(result)


async def closed_loop(
    client: aiohttp.ClientSession,
    sends: Sequence[Send],
    ids: Sequence[str | None],
    concurrency: int,
    deadline: float | None,
    repeat: Send,
) -> Result:
    """`sends` with `concurrency` requests in flight until all are made or the deadline
    (time.monotonic) has passed; with no `sends`, `repeat` until the deadline."""
    result = Result(started=time.monotonic())
    position = 0

    async def worker() -> None:
        nonlocal position
        while deadline is None or time.monotonic() < deadline:
            if sends:
                if position >= len(sends):
                    return
                send, event = sends[position], ids[position]
                position += 1
            else:
                send, event = repeat, None
            began = time.monotonic()
            try:
                problem = await send(client)
            except (aiohttp.ClientError, TimeoutError) as exc:
                problem = f"{type(exc).__name__}: {exc}"
            if problem is None:
                result.latencies.append(time.monotonic() - began)
                if event is not None:
                    result.acked.append(event)
            else:
                result.fail(problem)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    result.finished = time.monotonic()
    return result


async def open_loop(
    client: aiohttp.ClientSession,
    sends: Sequence[Send],
    ids: Sequence[str | None],
    start: float,
    interval: float,
) -> Result:
    """Request i is sent at start + i * interval whatever the answers to the earlier ones;
    its latency counts from then, so a late sender or a queue shows in it."""
    result = Result(started=start)

    async def one(send: Send, event: str | None, due: float) -> None:
        try:
            problem = await send(client)
        except (aiohttp.ClientError, TimeoutError) as exc:
            problem = f"{type(exc).__name__}: {exc}"
        if problem is None:
            result.latencies.append(time.monotonic() - due)
            if event is not None:
                result.acked.append(event)
        else:
            result.fail(problem)

    in_flight: set[asyncio.Task[None]] = set()
    for i, (send, event) in enumerate(zip(sends, ids, strict=True)):
        due = start + i * interval
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        task = asyncio.create_task(one(send, event, due))
        in_flight.add(task)
        task.add_done_callback(in_flight.discard)
    while in_flight:
        await asyncio.gather(*in_flight)
    result.finished = time.monotonic()
    return result


def client_main(setup: Setup, conn: Connection) -> None:
    try:
        import uvloop
    except ImportError:
        asyncio.run(Client(setup, conn).serve())
    else:
        uvloop.run(Client(setup, conn).serve())


class Clients:
    """The load generator: client processes, each given its share of every phase."""

    def __init__(self, count: int, base_url: str, run: str, sets: dict[str, tuple[int, int]]):
        context = multiprocessing.get_context("spawn")
        self.conns: list[Connection] = []
        self.processes: list[multiprocessing.process.BaseProcess] = []
        for index in range(count):
            mine, theirs = context.Pipe()
            setup = Setup(index, count, base_url, SECRET, run, sets)
            process = context.Process(target=client_main, args=(setup, theirs), daemon=True)
            process.start()
            theirs.close()
            self.conns.append(mine)
            self.processes.append(process)

    def wait_built(self) -> None:
        for conn in self.conns:
            if conn.recv() != "built":
                raise RuntimeError("a client process failed to start")

    def run(self, jobs: list[Job]) -> list[Result]:
        for conn, job in zip(self.conns, jobs, strict=True):
            conn.send(job)
        for conn in self.conns:
            if conn.recv() != "ready":
                raise RuntimeError("a client process failed to get ready")
        start = time.monotonic() + 0.05
        for conn in self.conns:
            conn.send(start)
        return [conn.recv() for conn in self.conns]

    def close(self) -> None:
        for conn in self.conns:
            with contextlib.suppress(OSError):
                conn.send(None)
        for process in self.processes:
            process.join(5)
            if process.is_alive():
                process.kill()
                process.join()


# --- phases --------------------------------------------------------------------------------


@dataclass
class Phase:
    name: str
    results: list[Result]
    server_cpu: tuple[float, float] = (0.0, 0.0)  # main thread, other threads

    @property
    def latencies(self) -> list[float]:
        return sorted(x for r in self.results for x in r.latencies)

    @property
    def count(self) -> int:
        return sum(len(r.latencies) for r in self.results)

    @property
    def errors(self) -> int:
        return sum(r.errors for r in self.results)

    @property
    def first_error(self) -> str | None:
        return next((r.first_error for r in self.results if r.first_error), None)

    @property
    def acked(self) -> list[str]:
        return [event for r in self.results for event in r.acked]

    @property
    def elapsed(self) -> float:
        """From the first start to the last finish of each run, summed over the runs."""
        total = 0.0
        for run in {r.run for r in self.results}:
            mine = [r for r in self.results if r.run == run]
            total += max(r.finished for r in mine) - min(r.started for r in mine)
        return total

    @property
    def rate(self) -> float:
        return self.count / self.elapsed if self.elapsed else 0.0

    @property
    def client_cpu(self) -> float:
        return sum(r.cpu for r in self.results)

    def percentile_ms(self, p: float, ordered: list[float] | None = None) -> float:
        """Nearest-rank percentile, in milliseconds."""
        ordered = self.latencies if ordered is None else ordered
        if not ordered:
            return float("nan")
        rank = max(1, math.ceil(len(ordered) * p / 100))
        return ordered[rank - 1] * 1000

    def combined(self, other: Phase, name: str) -> Phase:
        cpu = (self.server_cpu[0] + other.server_cpu[0], self.server_cpu[1] + other.server_cpu[1])
        return Phase(name, self.results + other.results, cpu)


def split(total: int, parts: int) -> list[int]:
    return [total // parts + (1 if k < total % parts else 0) for k in range(parts)]


def closed_jobs(
    name: str, target: str, clients: int, concurrency: int, *, seconds: float | None = None,
    event_set: str | None = None,
) -> list[Job]:  # fmt: skip
    return [
        Job(name, target, event_set, max(1, share), seconds)
        for share in split(concurrency, clients)
    ]


def open_jobs(
    name: str, target: str, clients: int, rate: float, seconds: float, event_set: str | None = None
) -> list[Job]:
    """Client k sends at start + (k + j * clients) / rate: together, evenly `rate` per second."""
    return [
        Job(name, target, event_set, seconds=seconds, rate=rate / clients, offset=k / rate)
        for k in range(clients)
    ]


def measured(
    name: str, stack: Stack, clients: Clients, jobs: list[Job], profile: bool = False
) -> Phase:
    before = cpu_seconds(stack.paydesk.pid)
    if profile:
        stack.paydesk.signal(signal.SIGUSR1)
    results = clients.run(jobs)
    if profile:
        stack.paydesk.signal(signal.SIGUSR2)
    after = cpu_seconds(stack.paydesk.pid)
    return Phase(name, results, (after[0] - before[0], after[1] - before[1]))


def stored_events(database_url: str, prefix: str) -> set[str]:
    """Ids of this run's events in the inbox."""
    from sqlalchemy import text

    from paydesk.db import create_engine

    async def query() -> set[str]:
        engine = create_engine(database_url)
        try:
            async with engine.connect() as connection:
                rows = await connection.execute(
                    text("SELECT id FROM inbox_events WHERE substr(id, 1, :n) = :prefix"),
                    {"n": len(prefix), "prefix": prefix},
                )
                return {row[0] for row in rows}
        finally:
            await engine.dispose()

    return asyncio.run(query())


@dataclass
class Check:
    name: str
    acked: int
    stored: int
    missing: int

    @property
    def ok(self) -> bool:
        return self.missing == 0 and self.acked == self.stored


def check(database_url: str, run: str, name: str, acked: list[str]) -> Check:
    stored = stored_events(database_url, f"evt_{run}")
    return Check(name, len(acked), len(stored), len(set(acked) - stored))


# --- report --------------------------------------------------------------------------------


@dataclass
class Report:
    args: argparse.Namespace
    ceiling: Phase
    throughput: Phase
    healthz_at_rate: Phase
    at_rate: Phase
    checks: list[Check]
    warmup: Phase

    @property
    def failed(self) -> bool:
        return (
            not all(c.ok for c in self.checks)
            or self.throughput.errors > 0
            or self.at_rate.errors > 0
            or self.warmup.errors > 0
        )

    def print(self) -> None:
        a, b, ceiling, hb = self.throughput, self.at_rate, self.ceiling, self.healthz_at_rate
        fraction = a.rate / ceiling.rate if ceiling.rate else float("nan")
        b_latencies = b.latencies
        b_p99 = b.percentile_ms(99, b_latencies)

        def verdict(ok: bool) -> str:
            return "met" if ok else "MISSED"

        rows: list[tuple[str, str, str]] = [
            ("phase A: closed loop", "", f"concurrency {self.args.concurrency}"),
            (
                "  events/s stored",
                f"{a.rate:,.0f}",
                f"target >= {TARGET_EVENTS_PER_SECOND:,.0f}: "
                f"{verdict(a.rate >= TARGET_EVENTS_PER_SECOND)}; "
                f"{a.count} events in {a.elapsed:.2f} s",
            ),
        ]
        ordered = a.latencies
        for p in (50, 90, 99, 100):
            label = "max" if p == 100 else f"p{p}"
            rows.append((f"  {label} ms", f"{a.percentile_ms(p, ordered):.1f}", ""))
        rows += [
            ("  errors", str(a.errors), ""),
            (
                "  healthz req/s",
                f"{ceiling.rate:,.0f}",
                "the ceiling, same shape; p50 "
                f"{ceiling.percentile_ms(50):.1f} ms, p99 {ceiling.percentile_ms(99):.1f} ms",
            ),
            (
                "  events/healthz",
                f"{fraction:.2f}",
                f"target >= {TARGET_CEILING_FRACTION}: "
                f"{verdict(fraction >= TARGET_CEILING_FRACTION)}",
            ),
        ]
        if ceiling.count:
            main, others = ceiling.server_cpu
            rows.append(
                (
                    "  healthz CPU ms/req",
                    f"{(main + others) * 1000 / ceiling.count:.3f}",
                    f"paydesk, event loop thread {main / ceiling.elapsed:.0%} of a core",
                )
            )
        rows += self.cpu_rows(a)
        rows += [
            ("phase B: open loop", "", f"{self.args.rate:,.0f}/s for {self.args.duration:g} s"),
            (
                "  events/s stored",
                f"{b.rate:,.0f}",
                f"{b.count} events in {b.elapsed:.2f} s"
                + ("" if b.rate >= 0.95 * self.args.rate else "; behind --rate: a queue grew"),
            ),
            ("  p50 ms", f"{b.percentile_ms(50, b_latencies):.1f}", "from when each was due"),
            ("  p90 ms", f"{b.percentile_ms(90, b_latencies):.1f}", ""),
            (
                "  p99 ms",
                f"{b_p99:.1f}",
                f"target < {TARGET_P99_MS:.0f}: {verdict(b_p99 < TARGET_P99_MS)}",
            ),
            ("  max ms", f"{b.percentile_ms(100, b_latencies):.1f}", ""),
            ("  errors", str(b.errors), ""),
            (
                "  healthz p99 ms",
                f"{hb.percentile_ms(99):.1f}",
                f"same shape, {hb.count} requests; p50 {hb.percentile_ms(50):.1f} ms",
            ),
        ]
        rows += self.cpu_rows(b)
        for c in self.checks:
            rows.append(
                (
                    f"stored {c.name}",
                    "ok" if c.ok else "FAILED",
                    f"{c.stored} rows of this run, {c.acked} acknowledged, "
                    f"{c.missing} acknowledged but missing",
                )
            )
        width = max(len(r[0]) for r in rows)
        value_width = max(len(r[1]) for r in rows)
        worker = "on" if self.args.worker else "off"
        database = "PostgreSQL" if self.args.database_url else "SQLite (temporary file)"
        print()
        print(
            f"paydesk webhooks: {database}, in-process worker {worker}, "
            f"{self.args.clients} client processes, {os.cpu_count()} CPUs"
        )
        for label, value, note in rows:
            print(f"  {label:<{width}}  {value:>{value_width}}  {note}".rstrip())
        if self.args.profile is not None:
            print("  (server under cProfile during phase A: its rates are not representative)")
        print(f"  command: {shlex.join([Path(sys.executable).name, *sys.argv])}")
        for phase in (self.warmup, a, b, ceiling, hb):
            if phase.first_error:
                print(f"  first {phase.name} error: {phase.first_error}")

    @staticmethod
    def cpu_rows(phase: Phase) -> list[tuple[str, str, str]]:
        if not phase.count or not phase.elapsed:
            return []
        main, others = phase.server_cpu
        per = 1000 / phase.count
        wall = phase.elapsed
        return [
            (
                "  paydesk CPU ms/event",
                f"{(main + others) * per:.3f}",
                f"event loop thread {main * per:.3f} ({main / wall:.0%} of a core), "
                f"other threads {others * per:.3f} ({others / wall:.0%})",
            ),
            (
                "  client CPU ms/event",
                f"{phase.client_cpu * per:.3f}",
                f"load generator: {phase.client_cpu / wall:.2f} cores "
                f"over {len(phase.results)} processes",
            ),
        ]


def run(args: argparse.Namespace) -> Report:
    tag = "".join(secrets.choice(ALPHANUMERIC) for _ in range(10))
    at_rate = math.ceil(args.rate * args.duration)
    sets = {
        "warmup": (0, args.warmup),
        "a": (args.warmup, args.events),
        "b": (args.warmup + args.events, at_rate),
    }
    n = args.clients
    with Stack(
        database_url=args.database_url,
        profile_output=args.profile,
        webhook_secrets=(SECRET,),
        worker_in_process=args.worker,
        with_sandbox=args.worker,
    ) as stack:
        clients = Clients(n, stack.paydesk_url, tag, sets)
        try:
            clients.wait_built()
            checks: list[Check] = []
            warmup = measured("warm-up", stack, clients, closed_jobs(
                "warm-up", "webhook", n, args.concurrency, event_set="warmup"
            ))  # fmt: skip
            seconds = args.healthz_seconds
            healthz = closed_jobs("healthz", "healthz", n, args.concurrency, seconds=seconds)
            before = measured("healthz", stack, clients, healthz)
            throughput = measured(
                "phase A",
                stack,
                clients,
                closed_jobs(
                    "phase A",
                    "webhook",
                    n,
                    args.concurrency,
                    seconds=args.max_seconds,
                    event_set="a",
                ),
                profile=args.profile is not None,
            )
            after = measured("healthz", stack, clients, healthz)
            checks.append(check(stack.url, tag, "after A", warmup.acked + throughput.acked))
            hb = measured(
                "healthz at rate",
                stack,
                clients,
                open_jobs("healthz at rate", "healthz", n, args.rate, args.healthz_seconds),
            )
            b = measured(
                "phase B",
                stack,
                clients,
                open_jobs("phase B", "webhook", n, args.rate, args.duration, "b"),
            )
            acked = warmup.acked + throughput.acked + b.acked
            checks.append(check(stack.url, tag, "after B", acked))
        finally:
            clients.close()
    return Report(args, before.combined(after, "healthz"), throughput, hb, b, checks, warmup)


# --- memory soak ---------------------------------------------------------------------------

MIB = 1024 * 1024
SOAK_RSS_LIMIT_BYTES = 250_000_000  # "under 250 MB"
SOAK_SLOPE_LIMIT = 1.0  # MiB per 10,000 events, after the warm-up
SOAK_WARMUP_FRACTION = 0.2  # of the events: the samples before are the warm-up
SOAK_EVENTS_PER_PAYMENT = 20  # --soak-payments is --soak / this unless given
SOAK_WINDOW = 200  # payments whose events are interleaved, step by step
SOAK_CATCH_UP_SECONDS = 300.0  # after the last event is acknowledged
# The worker reads Stripe's event list every 60 s: the seeded PaymentIntents' events are
# waited for (this long at most) before the soak, so that they are not part of it.
SOAK_BACKFILL_SECONDS = 75.0
SOAK_BACKFILL_POLL_SECONDS = 0.5
SEED_CONCURRENCY = 16
SOAK_WORKER_MODES = ("serve", "process")


@dataclass(frozen=True)
class SeededPayment:
    """A paydesk payment with a PaymentIntent at the sandbox, pending: not yet paid."""

    payment_id: str
    order_id: str
    intent: str
    amount: int
    currency: str


async def seed_payments(stack: Stack, count: int) -> list[SeededPayment]:
    """`count` orders, and a payment for each, through paydesk's API without a card
    (`POST /api/orders`, `POST /api/payments {"order_id"}`): paydesk creates each
    PaymentIntent at the sandbox and waits, pending, for Stripe to say how it went."""
    base, key = stack.paydesk_url, stack.shop_key
    headers = {**JSON, "Authorization": f"Bearer {key}"}
    order_ids: list[str] = []
    seeded: list[SeededPayment] = []

    def start(order_id: str) -> Request:
        body = orjson.dumps({"order_id": order_id})

        async def request(client: aiohttp.ClientSession) -> str | None:
            async with client.post(f"{base}/api/payments", data=body, headers=headers) as answer:
                text = await answer.read()
            if answer.status != 200:
                return f"payment: HTTP {answer.status}: {text[:300]!r}"
            payment = orjson.loads(text)
            if not payment.get("stripe_payment_intent_id"):
                return f"payment without a PaymentIntent: {text[:300]!r}"
            seeded.append(
                SeededPayment(
                    payment["id"],
                    payment["order_id"],
                    payment["stripe_payment_intent_id"],
                    int(payment["amount"]),
                    str(payment["currency"]),
                )
            )
            return None

        return request

    connector = aiohttp.TCPConnector(limit=SEED_CONCURRENCY)
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as client:
        make_order = create_order(base, key, order_ids)
        orders = await drive(client, "orders", (make_order for _ in range(count)), SEED_CONCURRENCY)
        if orders.errors:
            raise RuntimeError(f"{orders.errors} orders failed; the first: {orders.first_error}")
        payments = await drive(client, "payments", (start(o) for o in order_ids), SEED_CONCURRENCY)
        if payments.errors:
            raise RuntimeError(
                f"{payments.errors} payments failed; the first: {payments.first_error}"
            )
    return seeded


def soak_plan(events: int, payments: int, window: int = SOAK_WINDOW) -> Iterator[tuple[int, int]]:
    """(payment, step) of each of `events` events: each payment gets events // payments of
    them or one more. `window` payments at a time take their turns, step by step, so new
    payments begin all through the soak and each one's events spread over its window's."""
    each, extra = divmod(events, payments)
    for first in range(0, payments, window):
        group = range(first, min(first + window, payments))
        for step in range(each + (1 if first < extra else 0)):
            for p in group:
                if step < each + (1 if p < extra else 0):
                    yield p, step


def soak_event(
    run: str, index: int, p: int, payment: SeededPayment, step: int, paid: int, now: int
) -> bytes:
    """Event `index`, step `step` of payment `p`'s life at Stripe: payment_intent.succeeded
    (it is paid: `paid`, the second it happened), charge.succeeded (same second), then
    charge.updated (its metadata changed, at `now`); each payment's real PaymentIntent,
    amount, currency and paydesk's metadata, about 3 KB."""
    pi, charge_id = payment.intent, f"ch_{payment.intent[3:]}"
    if step == 0:
        kind = "payment_intent.succeeded"
        obj = payment_intent(pi, charge_id, payment.amount, paid, p)
    else:
        kind = "charge.succeeded" if step == 1 else "charge.updated"
        obj = charge(pi, charge_id, payment.amount, paid, p)
    obj["currency"] = payment.currency
    obj["description"] = f"Order {payment.order_id}"
    obj["metadata"] = {
        **obj["metadata"],
        "order_id": payment.order_id,
        "paydesk_payment_id": payment.payment_id,
        "paydesk_order_id": payment.order_id,
    }
    data: dict[str, Any] = {"object": obj}
    if step >= 2:
        obj["metadata"]["fulfilment_step"] = str(step - 1)
        before = {**obj["metadata"], "fulfilment_step": str(step - 2)}
        if step == 2:
            del before["fulfilment_step"]
        data["previous_attributes"] = {"metadata": before}
    return envelope(run, index, kind, paid if step < 2 else now, data)


@dataclass
class Ingest:
    acked: list[str] = field(default_factory=list)
    errors: int = 0
    first_error: str | None = None
    held: float = 0.0  # seconds the sender waited for the backlog to shrink
    started: float = 0.0  # time.monotonic
    finished: float = 0.0

    def fail(self, problem: str) -> None:
        self.errors += 1
        self.first_error = self.first_error or problem


async def soak_ingest(
    url: str,
    run: str,
    payments: Sequence[SeededPayment],
    args: argparse.Namespace,
    ingest: Ingest,
    flowing: asyncio.Event,
) -> None:
    """Posts the soak's events, each signed as it is sent, at --soak-rate per second with at
    most --concurrency in flight. More than a second behind (a slow server) it does not
    burst to catch up; while `flowing` is clear (more than --soak-backlog events wait to be
    applied) it waits."""
    interval = 1.0 / args.soak_rate
    slots = asyncio.Semaphore(args.concurrency)
    in_flight: set[asyncio.Task[None]] = set()
    paid: dict[int, int] = {}

    async def post(client: aiohttp.ClientSession, body: bytes, event: str) -> None:
        send = webhook_request(url, body, signature_header(body, SECRET, int(time.time())))
        try:
            problem = await send(client)
        except (aiohttp.ClientError, TimeoutError) as exc:
            problem = f"{type(exc).__name__}: {exc}"
        if problem is None:
            ingest.acked.append(event)
        else:
            ingest.fail(problem)

    def done(task: asyncio.Task[None]) -> None:
        in_flight.discard(task)
        slots.release()

    connector = aiohttp.TCPConnector(limit=args.concurrency)
    timeout = aiohttp.ClientTimeout(total=60)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as client:
        ingest.started = due = time.monotonic()
        for index, (p, step) in enumerate(soak_plan(args.soak, len(payments))):
            if not flowing.is_set():
                waiting_since = time.monotonic()
                await flowing.wait()
                ingest.held += time.monotonic() - waiting_since
            now = time.monotonic()
            if due > now:
                await asyncio.sleep(due - now)
            elif now - due > 1.0:
                due = now
            due += interval
            await slots.acquire()
            second = int(time.time())
            body = soak_event(run, index, p, payments[p], step, paid.setdefault(p, second), second)
            task = asyncio.create_task(post(client, body, event_id(run, index)))
            in_flight.add(task)
            task.add_done_callback(done)
        while in_flight:
            await asyncio.gather(*in_flight)
        ingest.finished = time.monotonic()


class SoakReader:
    """Read-only queries on paydesk's database, on a connection of the benchmark's own."""

    def __init__(self, url: str) -> None:
        from sqlalchemy import event as sqlalchemy_event
        from sqlalchemy.ext.asyncio import create_async_engine

        from paydesk.db import async_url, is_sqlite

        url = async_url(url)
        if is_sqlite(url):
            self.engine = create_async_engine(url, connect_args={"timeout": 5})
            read_only = "PRAGMA query_only = ON"
        else:
            self.engine = create_async_engine(url, pool_size=1)
            read_only = "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY"

        @sqlalchemy_event.listens_for(self.engine.sync_engine, "connect")
        def _read_only(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute(read_only)
            cursor.close()

    async def close(self) -> None:
        await self.engine.dispose()

    async def inbox(self) -> Counter[str]:
        """Inbox events by status (all of them: the worker's backfill included), counted on
        the index that starts with the status."""
        from sqlalchemy import func, select

        from paydesk.webhooks.models import InboxEvent

        query = select(InboxEvent.status, func.count()).group_by(InboxEvent.status)
        async with self.engine.connect() as connection:
            return Counter({status: n for status, n in await connection.execute(query)})

    async def posted(self) -> dict[str, str]:
        """The status of every event that came by webhook, by id."""
        from sqlalchemy import select

        from paydesk.webhooks.models import InboxEvent

        query = select(InboxEvent.id, InboxEvent.status).where(InboxEvent.source == "webhook")
        async with self.engine.connect() as connection:
            return {event: status for event, status in await connection.execute(query)}

    async def payments(self) -> dict[str, str]:
        """Every payment's status, by id."""
        from sqlalchemy import select

        from paydesk.payments.models import Payment

        async with self.engine.connect() as connection:
            rows = await connection.execute(select(Payment.id, Payment.status))
            return {payment: status for payment, status in rows}

    async def charges(self) -> Counter[str]:
        """Ledger charge entries per payment."""
        from sqlalchemy import select

        from paydesk.ledger.models import LedgerEntry, LedgerKind

        query = select(LedgerEntry.payment_id).where(LedgerEntry.kind == LedgerKind.CHARGE)
        async with self.engine.connect() as connection:
            return Counter(await connection.scalars(query))


def memory(pid: int) -> tuple[float, float]:
    """VmRSS and VmHWM (the peak RSS) of a process, in MiB."""
    fields: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            fields[name] = int(value.split()[0]) * 1024 / MIB
    return fields["VmRSS"], fields["VmHWM"]


def process_cpu_seconds(pid: int) -> float:
    """CPU time (user + system) of a process, its ended threads included."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Sample:
    elapsed: float  # seconds since the first event was due
    acked: int
    # inbox events applied, ignored or dead, less those settled before the soak (the
    # worker's backfill of the seeded PaymentIntents' events)
    settled: int
    waiting: int  # pending or failed (due again)
    rss: dict[str, float]  # MiB, by process


@dataclass
class Trend:
    """One process's RSS over the soak."""

    name: str
    peak: float  # VmHWM at the end, MiB
    highest: float  # highest sample
    at_warmup: Sample | None  # the first sample after the warm-up
    last: Sample
    slope: float | None  # MiB per 10,000 events, least squares over the samples after
    after_warmup: int  # how many samples those are
    last_half: float | None  # the same over the samples after half the events
    cpu: float  # CPU seconds during the soak

    @property
    def peak_ok(self) -> bool:
        return self.peak * MIB < SOAK_RSS_LIMIT_BYTES

    @property
    def flat(self) -> bool:
        return self.slope is not None and self.slope < SOAK_SLOPE_LIMIT


def least_squares_slope(points: Sequence[tuple[float, float]]) -> float | None:
    """dy/dx of the least-squares line through the points; None for fewer than three or no
    spread in x."""
    if len(points) < 3:
        return None
    mean_x = sum(x for x, _ in points) / len(points)
    mean_y = sum(y for _, y in points) / len(points)
    spread = sum((x - mean_x) ** 2 for x, _ in points)
    if spread == 0:
        return None
    return sum((x - mean_x) * (y - mean_y) for x, y in points) / spread


@dataclass
class SoakReport:
    args: argparse.Namespace
    database: str
    mode: str  # "serve": serve's in-process worker; "process": one `paydesk worker`
    payments: int
    seed_seconds: float
    backfilled: int  # events the worker read from the sandbox's list before the soak
    backfill_wait: float  # seconds the soak waited for them
    unseeded: dict[str, float]  # serve's RSS before the payments were seeded, MiB
    ingest: Ingest
    samples: list[Sample]
    caught_up: float | None  # seconds, when the inbox was seen with nothing waiting
    trends: list[Trend]
    checks: list[SoakCheck]
    timed_out: bool

    @property
    def failed(self) -> bool:
        return (
            self.timed_out
            or not all(c.ok for c in self.checks)
            or not all(t.peak_ok and t.flat for t in self.trends)
        )

    def print(self) -> None:
        args, ingest = self.args, self.ingest

        def verdict(ok: bool) -> str:
            return "met" if ok else "MISSED"

        acked = len(ingest.acked)
        ingest_seconds = ingest.finished - ingest.started
        rows: list[tuple[str, str, str]] = [
            (
                "payments seeded",
                str(self.payments),
                f"in {self.seed_seconds:.1f} s through the API, PaymentIntents at the sandbox",
            ),
            (
                "events backfilled",
                str(self.backfilled),
                f"read by the worker from the sandbox's event list before the soak "
                f"(waited {self.backfill_wait:.1f} s for them)",
            ),
            (
                "events acknowledged",
                str(acked),
                f"in {ingest_seconds:.1f} s: {acked / ingest_seconds:,.0f}/s "
                f"(paced at {args.soak_rate:,.0f}/s, at most {args.concurrency} in flight; "
                f"held {ingest.held:.1f} s by --soak-backlog {args.soak_backlog}); "
                f"{ingest.errors} errors",
            ),
        ]
        if self.caught_up is not None:
            settled = self.samples[-1].settled
            rows.append(
                (
                    "events applied",
                    str(settled),
                    f"all by {self.caught_up:.1f} s (sampled every {args.soak_sample:g} s): "
                    f"{settled / self.caught_up:,.0f}/s; "
                    f"{max(0.0, self.caught_up - ingest_seconds):.1f} s after the last ack",
                )
            )
        else:
            rows.append(("events applied", "GAVE UP", f"after {SOAK_CATCH_UP_SECONDS:g} s"))
        limit = SOAK_RSS_LIMIT_BYTES / MIB
        for t in self.trends:
            warm = t.at_warmup
            rows += [
                (
                    f"{t.name} peak RSS MiB",
                    f"{t.peak:.1f}",
                    f"VmHWM; highest sample {t.highest:.1f}; target < 250 MB ({limit:.1f} MiB): "
                    f"{verdict(t.peak_ok)}",
                ),
                (
                    f"{t.name} RSS MiB start",
                    f"{self.samples[0].rss[t.name]:.1f}",
                    "as the soak began"
                    + (
                        f"; {self.unseeded[t.name]:.1f} before the payments were seeded"
                        if t.name in self.unseeded
                        else ""
                    ),
                ),
                (
                    f"{t.name} RSS MiB warm/end",
                    f"{warm.rss[t.name]:.1f}" if warm else "n/a",
                    f"at {warm.elapsed:.0f} s, after the warm-up "
                    f"({SOAK_WARMUP_FRACTION:.0%} of the events)"
                    if warm
                    else "no sample after the warm-up",
                ),
                ("", f"{t.last.rss[t.name]:.1f}", f"at the end, {t.last.elapsed:.0f} s"),
                (
                    f"{t.name} RSS slope",
                    "n/a" if t.slope is None else f"{t.slope:+.2f}",
                    f"MiB per 10k events over {t.after_warmup} samples after the warm-up; "
                    f"target < {SOAK_SLOPE_LIMIT:g}: {verdict(t.flat)}; over the last half "
                    + ("n/a" if t.last_half is None else f"{t.last_half:+.2f}"),
                ),
                (
                    f"{t.name} CPU ms/event",
                    f"{t.cpu * 1000 / max(1, acked):.3f}",
                    f"{t.cpu:.1f} s during the soak",
                ),
            ]
        rows += [(f"check: {c.name}", "ok" if c.ok else "FAILED", c.detail) for c in self.checks]
        width = max(len(r[0]) for r in rows)
        value_width = max(len(r[1]) for r in rows)
        print()
        for label, value, note in rows:
            print(f"  {label:<{width}}  {value:>{value_width}}  {note}".rstrip())
        print(f"  command: {shlex.join([Path(sys.executable).name, *sys.argv])}")
        if ingest.first_error:
            print(f"  first error: {ingest.first_error}")


@dataclass
class SoakCheck:
    name: str
    ok: bool
    detail: str


def soak_header(mode: str) -> str:
    worker = "worker MiB" if mode == "process" else "worker"
    return f"{'s':>7}  {'acked':>7}  {'applied':>7}  {'waiting':>7}  {'serve MiB':>9}  {worker:>10}"


def soak_row(sample: Sample) -> str:
    worker = sample.rss.get("worker")
    shown = "in serve" if worker is None else f"{worker:.1f}"
    return (
        f"{sample.elapsed:>7.1f}  {sample.acked:>7}  {sample.settled:>7}  {sample.waiting:>7}  "
        f"{sample.rss['serve']:>9.1f}  {shown:>10}"
    )


async def soak_run(args: argparse.Namespace, stack: Stack, mode: str) -> SoakReport:
    from paydesk.db import async_url, is_sqlite
    from paydesk.webhooks.models import EventStatus

    database = "SQLite" if is_sqlite(async_url(stack.url)) else "PostgreSQL"
    processes = {"serve": stack.paydesk}
    if mode == "process":
        processes["worker"] = stack.workers[0]
    # The worker may still be starting: only serve (answering already) is measured here.
    unseeded = {"serve": memory(stack.paydesk.pid)[0]}
    began = time.monotonic()
    seeded = await seed_payments(stack, args.soak_payments)
    seed_seconds = time.monotonic() - began
    reader = SoakReader(stack.url)
    try:
        backfilled, backfill_wait = await wait_for_backfill(reader, len(seeded), processes)
    except BaseException:
        await reader.close()
        raise
    tag = "".join(secrets.choice(ALPHANUMERIC) for _ in range(10))
    worker = "serve's in-process worker" if mode == "serve" else "one paydesk worker process"
    print(
        f"paydesk webhooks soak: {database}, {worker}, {args.soak} events for "
        f"{len(seeded)} payments, {os.cpu_count()} CPUs"
    )
    print(soak_header(mode), flush=True)
    ingest = Ingest()
    samples: list[Sample] = []
    flowing = asyncio.Event()
    flowing.set()
    cpu_before = {name: process_cpu_seconds(p.pid) for name, p in processes.items()}
    start = time.monotonic()
    sender = asyncio.create_task(
        soak_ingest(f"{stack.paydesk_url}{WEBHOOK_PATH}", tag, seeded, args, ingest, flowing)
    )
    try:
        next_sample = start
        deadline: float | None = None
        caught_up: float | None = None
        while True:
            for process in processes.values():
                if (code := process.exited()) is not None:
                    raise RuntimeError(f"{process.name} exited with {code}:\n{process.log_tail()}")
            taken = time.monotonic()
            acked = len(ingest.acked)
            rss = {name: memory(p.pid)[0] for name, p in processes.items()}
            inbox = await reader.inbox()
            waiting = inbox[EventStatus.PENDING] + inbox[EventStatus.FAILED]
            if waiting > args.soak_backlog:
                flowing.clear()
            else:
                flowing.set()
            settled = inbox.total() - waiting - backfilled
            sample = Sample(taken - start, acked, settled, waiting, rss)
            samples.append(sample)
            print(soak_row(sample), flush=True)
            if sender.done():
                sender.result()
                if waiting == 0 and taken > ingest.finished:
                    caught_up = sample.elapsed
                    break
                deadline = deadline or time.monotonic() + SOAK_CATCH_UP_SECONDS
                if time.monotonic() > deadline:
                    break
            next_sample += args.soak_sample
            await asyncio.sleep(max(0.0, next_sample - time.monotonic()))
        cpu = {name: process_cpu_seconds(p.pid) - cpu_before[name] for name, p in processes.items()}
        peaks = {name: memory(p.pid)[1] for name, p in processes.items()}
        checks = await soak_checks(reader, ingest, seeded, args.soak)
    finally:
        if not sender.done():
            sender.cancel()
        await reader.close()

    events: int = args.soak

    def progress(name: str, sample: Sample) -> float:
        """Events through the process: acknowledged by serve, applied by the worker."""
        if name == "worker":
            return sample.settled
        if mode == "serve":
            return (sample.acked + min(sample.settled, events)) / 2
        return sample.acked

    trends = []
    warm = SOAK_WARMUP_FRACTION * events
    for name in processes:
        after = [s for s in samples if progress(name, s) >= warm]
        slope = least_squares_slope([(progress(name, s), s.rss[name]) for s in after])
        half = least_squares_slope(
            [(progress(name, s), s.rss[name]) for s in samples if progress(name, s) >= events / 2]
        )
        trends.append(
            Trend(
                name=name,
                peak=peaks[name],
                highest=max(s.rss[name] for s in samples),
                at_warmup=after[0] if after else None,
                last=samples[-1],
                slope=None if slope is None else slope * 10_000,
                after_warmup=len(after),
                last_half=None if half is None else half * 10_000,
                cpu=cpu[name],
            )
        )
    return SoakReport(
        args=args,
        database=database,
        mode=mode,
        payments=len(seeded),
        seed_seconds=seed_seconds,
        backfilled=backfilled,
        backfill_wait=backfill_wait,
        unseeded=unseeded,
        ingest=ingest,
        samples=samples,
        caught_up=caught_up,
        trends=trends,
        checks=checks,
        timed_out=caught_up is None,
    )


async def wait_for_backfill(
    reader: SoakReader, payments: int, processes: dict[str, Process]
) -> tuple[int, float]:
    """Waits (SOAK_BACKFILL_SECONDS at most) until the worker has read the seeded
    PaymentIntents' events from the sandbox's list (one payment_intent.created each) and
    applied them; returns how many events the inbox then holds, and the seconds waited."""
    from paydesk.webhooks.models import EventStatus

    began = time.monotonic()
    while True:
        for process in processes.values():
            if (code := process.exited()) is not None:
                raise RuntimeError(f"{process.name} exited with {code}:\n{process.log_tail()}")
        inbox = await reader.inbox()
        waiting = inbox[EventStatus.PENDING] + inbox[EventStatus.FAILED]
        elapsed = time.monotonic() - began
        if (inbox.total() >= payments and not waiting) or elapsed > SOAK_BACKFILL_SECONDS:
            return inbox.total() - waiting, elapsed
        await asyncio.sleep(SOAK_BACKFILL_POLL_SECONDS)


async def soak_checks(
    reader: SoakReader, ingest: Ingest, seeded: Sequence[SeededPayment], events: int
) -> list[SoakCheck]:
    from paydesk.payments.models import PaymentStatus
    from paydesk.webhooks.models import EventStatus

    acked = set(ingest.acked)
    posted = await reader.posted()
    missing = acked - posted.keys()
    checks = [
        SoakCheck(
            "acknowledged",
            len(acked) == events and not ingest.errors,
            f"{len(acked)} of {events} events, {ingest.errors} refused or failed",
        ),
        SoakCheck(
            "stored",
            not missing and posted.keys() == acked,
            f"{len(posted)} webhook events in the inbox, {len(missing)} acknowledged but missing",
        ),
    ]
    statuses = Counter(posted[e] for e in acked & posted.keys())
    detail = ", ".join(f"{n} {status}" for status, n in sorted(statuses.items()))
    checks.append(
        SoakCheck("processed", statuses[EventStatus.PROCESSED] == len(acked), f"posted: {detail}")
    )
    inbox = await reader.inbox()
    left = inbox[EventStatus.PENDING] + inbox[EventStatus.FAILED] + inbox[EventStatus.DEAD]
    detail = ", ".join(f"{n} {status}" for status, n in sorted(inbox.items()))
    checks.append(SoakCheck("inbox", left == 0, f"all sources: {detail}"))
    payments = await reader.payments()
    ours = {p.payment_id for p in seeded}
    off = [p for p in ours if payments.get(p) != PaymentStatus.SUCCEEDED]
    detail = f"{len(ours) - len(off)} of {len(ours)} seeded payments succeeded"
    if off:
        detail += f"; e.g. {off[0]}: {payments.get(off[0])}"
    checks.append(SoakCheck("payments", not off, detail))
    charges = await reader.charges()
    wrong = [p for p in ours | charges.keys() if charges[p] != (1 if p in ours else 0)]
    detail = f"{charges.total()} ledger charge entries"
    if wrong:
        detail += f"; {len(wrong)} payments with another count than one"
    checks.append(SoakCheck("ledger", not wrong, detail))
    return checks


def soak_mode(args: argparse.Namespace) -> str:
    """What an operator runs: on SQLite serve applies the inbox itself, on PostgreSQL a
    `paydesk worker` beside it; --soak-worker chooses otherwise."""
    if args.soak_worker is not None:
        return str(args.soak_worker)
    url = args.database_url
    return "process" if url is not None and url.startswith("postgres") else "serve"


def soak_main(args: argparse.Namespace) -> int:
    mode = soak_mode(args)

    async def run_soak(stack: Stack) -> SoakReport:
        return await soak_run(args, stack, mode)

    try:
        with (
            fresh_database(args.database_url) as url,
            Stack(
                database_url=url,
                webhook_secrets=(SECRET,),
                worker_in_process=mode == "serve",
                with_sandbox=True,
            ) as stack,
        ):
            if mode == "process":
                stack.start_workers(1)
            try:
                import uvloop
            except ImportError:
                report = asyncio.run(run_soak(stack))
            else:
                report = uvloop.run(run_soak(stack))
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except RuntimeError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 1
    report.print()
    if report.failed:
        print("bench: FAILED: a check failed, RSS went over the limit or kept growing")
    return 1 if report.failed else 0


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument(
        "--concurrency",
        type=int,
        default=32,
        help="phase A (and --soak, at most): requests in flight",
    )
    parser.add_argument("--events", type=int, default=20000, help="phase A: events posted")
    parser.add_argument("--rate", type=float, default=1000.0, help="phase B: events per second")
    parser.add_argument("--duration", type=float, default=10.0, help="phase B: seconds")
    parser.add_argument("--warmup", type=int, default=500, help="untimed events first")
    parser.add_argument(
        "--clients", type=int, default=2, help="load generator processes (each its own loop)"
    )
    parser.add_argument(
        "--max-seconds",
        type=float,
        default=90.0,
        help="phase A stops after this long even if fewer than --events were posted",
    )
    parser.add_argument(
        "--healthz-seconds",
        type=float,
        default=3.0,
        help="length of each GET /healthz measurement (closed loop before and after phase A, "
        "open loop at --rate before phase B)",
    )
    parser.add_argument(
        "--database-url",
        help="a database to use instead of a fresh SQLite file "
        "(e.g. postgresql+asyncpg://user@127.0.0.1/paydesk_bench); it is migrated first",
    )
    parser.add_argument(
        "--worker",
        action="store_true",
        help="let paydesk serve apply the inbox as events arrive (PAYDESK_WORKER_IN_PROCESS=1, "
        "with the sandbox as Stripe); off by default so that only acknowledging is measured",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="FILE.prof",
        help="run paydesk serve under cProfile during phase A, "
        "write the stats there and print the top entries",
    )
    soak = parser.add_argument_group("memory soak (instead of the two phases)")
    soak.add_argument(
        "--soak",
        type=int,
        metavar="N",
        help="post N events for payments paydesk made and have them applied, sampling the RSS "
        "of serve and of the worker (e.g. --soak 100000); with --database-url on PostgreSQL "
        "a database is made on that server for the run and dropped after it",
    )
    soak.add_argument(
        "--soak-payments",
        type=int,
        metavar="K",
        help=f"payments made first through the API (default N / {SOAK_EVENTS_PER_PAYMENT})",
    )
    soak.add_argument(
        "--soak-rate",
        type=float,
        default=800.0,
        help="events posted per second at most (default 800)",
    )
    soak.add_argument(
        "--soak-sample",
        type=float,
        default=2.0,
        metavar="SECONDS",
        help="RSS sampled this often (default 2)",
    )
    soak.add_argument(
        "--soak-backlog",
        type=int,
        default=10_000,
        help="posting waits while more events than this wait to be applied (default 10000)",
    )
    soak.add_argument(
        "--soak-worker",
        choices=SOAK_WORKER_MODES,
        help="who applies the inbox: serve's in-process worker (default on SQLite) or one "
        "`paydesk worker` process (default on PostgreSQL)",
    )
    args = parser.parse_args(argv)
    if args.soak is not None:
        if args.soak <= 0:
            parser.error("--soak must be positive")
        if args.soak_payments is None:
            args.soak_payments = max(1, args.soak // SOAK_EVENTS_PER_PAYMENT)
        if not 1 <= args.soak_payments <= args.soak:
            parser.error("--soak-payments must be from 1 to --soak")
        if min(args.soak_rate, args.soak_sample, args.soak_backlog, args.concurrency) <= 0:
            parser.error("--soak-rate, --soak-sample, --soak-backlog and --concurrency must be > 0")
        if args.worker or args.profile is not None:
            parser.error("--soak chooses its worker (--soak-worker) and takes no --profile")
    positive = (args.concurrency, args.events, args.rate, args.duration, args.clients)
    if min(*positive, args.max_seconds, args.healthz_seconds) <= 0:
        parser.error("--concurrency, --events, --rate, --clients and the durations must be > 0")
    if args.warmup < 0:
        parser.error("--warmup must not be negative")
    if args.concurrency < args.clients:
        parser.error("--concurrency must be at least --clients")
    return args


def main() -> int:
    args = parse_args()
    if args.soak is not None:
        return soak_main(args)
    if args.profile is not None:
        args.profile = args.profile.resolve()
        args.profile.unlink(missing_ok=True)
    try:
        report = run(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except RuntimeError as exc:
        print(f"bench: {exc}", file=sys.stderr)
        return 1
    report.print()
    if args.profile is not None:
        count = report.throughput.count
        print_profile(args.profile, count, unit="event", during=f"phase A, {count} events", top=30)
    if report.failed:
        print("bench: FAILED: events refused, or stored events differ from acknowledged ones")
    return 1 if report.failed else 0


if __name__ == "__main__":
    sys.exit(main())
