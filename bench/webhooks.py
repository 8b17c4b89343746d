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
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import aiohttp
import orjson

from paydesk.sandbox.signing import signature_header
from payments import cpu_seconds
from profiling import print_profile
from stack import Stack

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
    return orjson.dumps(
        {
            "id": event_id(run, index),
            "object": "event",
            "api_version": "2024-06-20",
            "created": created,
            "data": {"object": obj},
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


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--concurrency", type=int, default=32, help="phase A: requests in flight")
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
    args = parser.parse_args(argv)
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
