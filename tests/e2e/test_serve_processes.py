"""`paydesk serve` in several processes on one PostgreSQL database: requests racing for one
order or one payment's money, spread over two servers, pay once and refund no more than was
captured; `--workers 2` serves from two processes and stops cleanly; on SQLite it is refused.

Every server is a real `paydesk serve` process on loopback, talking HTTP to the sandbox of
this test run; what Stripe recorded is read from the sandbox's own store."""

from __future__ import annotations

import asyncio
import http.client
import itertools
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from paydesk.auth.repository import ApiKeyRepository
from paydesk.db import Database, create_engine
from paydesk.ledger.models import LedgerEntry
from paydesk.orders.models import Order
from paydesk.payments.models import Payment
from paydesk.refunds.models import HOLDING, Refund
from paydesk.sandbox import SandboxServer
from tests.fixtures.paydesk import loopback_socket

ITEMS = [{"sku": "BOOK-1", "name": "A book", "unit_amount": 2500, "quantity": 2}]
CAPTURED = 5000
REFUND = 300  # 50 of them would refund 15000; at most 16 (4800) fit in 5000
STARTUP_SECONDS = 30


def free_port() -> int:
    with loopback_socket() as sock:
        return int(sock.getsockname()[1])


def serve_env(database_url: str, stripe_api_base: str) -> dict[str, str]:
    """The environment of a `paydesk serve` process: this one's without STRIPE_ and
    PAYDESK_ settings, plus the database and the sandbox."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("STRIPE_", "PAYDESK_"))}
    return {
        **clean,
        "PAYDESK_DATABASE_URL": database_url,
        "STRIPE_API_BASE": stripe_api_base,
        "STRIPE_SECRET_KEY": "sk_test_serve_processes",
        "PAYDESK_WORKER_IN_PROCESS": "0",
        "PAYDESK_LOG_LEVEL": "WARNING",
    }


@dataclass
class Served:
    """A `paydesk serve` process, its port and the file its output goes to."""

    process: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


def start(env: dict[str, str], cwd: Path, name: str, *options: str) -> Served:
    port = free_port()
    log = cwd / f"{name}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "paydesk.cli", "serve", "--port", str(port), *options],
            env=env,
            cwd=cwd,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    return Served(process, port, log)


def wait_healthy(served: Served) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while True:
        try:
            if httpx.get(f"{served.url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert served.process.poll() is None, f"paydesk serve stopped:\n{served.output()}"
        assert time.monotonic() < deadline, f"paydesk serve did not start:\n{served.output()}"
        time.sleep(0.1)


def stop(served: Served) -> int:
    """SIGTERM, then SIGKILL if it has not stopped within 15 s; its exit status."""
    if served.process.poll() is None:
        served.process.send_signal(signal.SIGTERM)
    try:
        return served.process.wait(15)
    except subprocess.TimeoutExpired:
        served.process.kill()
        served.process.wait(5)
        raise


async def create_shop_key(database_url: str) -> str:
    db = Database(create_engine(database_url))
    try:
        async with db.transaction() as session:
            shop_key, _ = await ApiKeyRepository(session).create("serve-processes")
        return shop_key
    finally:
        await db.dispose()


@pytest.fixture
def shop_key(database_url: str) -> str:
    """A shop key in the test's (already migrated) database."""
    return asyncio.run(create_shop_key(database_url))


@pytest.fixture
def two_servers(
    database_url: str, sandbox: SandboxServer, tmp_path: Path
) -> Iterator[tuple[Served, Served]]:
    """Two separate `paydesk serve` processes on the same database and the same sandbox."""
    env = serve_env(database_url, sandbox.url)
    servers = (start(env, tmp_path, "serve-a"), start(env, tmp_path, "serve-b"))
    try:
        for served in servers:
            wait_healthy(served)
        yield servers
    finally:
        for served in servers:
            stop(served)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def create_order(url: str, shop_key: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=url, headers=bearer(shop_key), timeout=30) as shop:
        response = await shop.post(
            "/api/orders",
            json={"items": ITEMS, "currency": "usd", "customer_email": "c@example.com"},
        )
    assert response.status_code == 201, response.text
    order: dict[str, Any] = response.json()
    assert order["amount"] == CAPTURED
    return order


async def spread(
    servers: tuple[Served, Served],
    token: str,
    path: str,
    bodies: Sequence[dict[str, Any]],
    count: int,
) -> list[httpx.Response]:
    """`count` POSTs at once, alternately to each server, with each of `bodies` in turn."""
    clients = [
        httpx.AsyncClient(base_url=s.url, headers=bearer(token), timeout=60) for s in servers
    ]
    try:
        return await asyncio.gather(
            *(
                client.post(path, json=body)
                for client, body, _ in zip(
                    itertools.cycle(clients), itertools.cycle(bodies), range(count), strict=False
                )
            )
        )
    finally:
        for client in clients:
            await client.aclose()


def is_error_envelope(response: httpx.Response) -> bool:
    try:
        body = response.json()
    except ValueError:
        return False
    error = body.get("error") if isinstance(body, dict) else None
    return isinstance(error, dict) and {"type", "code", "message"} <= error.keys()


def refused_properly(responses: list[httpx.Response], success: int) -> list[str]:
    """The answers that are neither `success` nor a 4xx error envelope, described."""
    return [
        f"{r.status_code} {r.text[:300]}"
        for r in responses
        if r.status_code != success and not (400 <= r.status_code < 500 and is_error_envelope(r))
    ]


def describe(servers: tuple[Served, ...]) -> str:
    return "\n".join(f"--- {s.log.name}:\n{s.output()}" for s in servers)


def intents_of_order(sandbox: SandboxServer, order_id: str) -> list[dict[str, Any]]:
    return [
        intent
        for intent in sandbox.store.payment_intents.newest_first()
        if intent["metadata"].get("paydesk_order_id") == order_id
    ]


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_forty_confirms_over_two_servers_pay_the_order_once(
    two_servers: tuple[Served, Served],
    database: Database,
    sandbox: SandboxServer,
    shop_key: str,
) -> None:
    order = await create_order(two_servers[0].url, shop_key)
    responses = await spread(
        two_servers,
        order["checkout_token"],
        "/api/payments",
        # Two cards, each sent to both servers: the order is still charged once.
        [
            {"order_id": order["id"], "payment_method": card}
            for card in ("pm_card_visa", "pm_card_visa", "pm_card_mastercard", "pm_card_mastercard")
        ],
        40,
    )
    statuses = Counter(r.status_code for r in responses)
    codes = Counter(r.json()["error"]["code"] for r in responses if is_error_envelope(r))
    seen = f"statuses seen: {dict(sorted(statuses.items()))}, error codes: {dict(codes)}"
    print(seen)
    unexpected = refused_properly(responses, 200)
    assert not unexpected, (seen, unexpected, describe(two_servers))
    paid = [r.json() for r in responses if r.status_code == 200]
    assert paid, seen
    assert {(p["id"], p["status"], p["order_id"]) for p in paid} == {
        (paid[0]["id"], "succeeded", order["id"])
    }, seen

    intents = intents_of_order(sandbox, order["id"])
    assert [(i["id"], i["status"], i["amount"]) for i in intents] == [
        (paid[0]["stripe_payment_intent_id"], "succeeded", CAPTURED)
    ], seen
    async with database.sessions() as session:
        payments = (
            (await session.execute(select(Payment).where(Payment.order_id == order["id"])))
            .scalars()
            .all()
        )
        assert [(p.id, p.status) for p in payments] == [(paid[0]["id"], "succeeded")], seen
        status = await session.scalar(select(Order.status).where(Order.id == order["id"]))
        assert status == "paid", seen
        charges = (
            await session.execute(
                select(LedgerEntry.amount).where(
                    LedgerEntry.payment_id == paid[0]["id"], LedgerEntry.kind == "charge"
                )
            )
        ).all()
        assert [c.amount for c in charges] == [CAPTURED], seen


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_fifty_partial_refunds_over_two_servers_never_exceed_the_captured_amount(
    two_servers: tuple[Served, Served],
    database: Database,
    sandbox: SandboxServer,
    shop_key: str,
) -> None:
    order = await create_order(two_servers[0].url, shop_key)
    async with httpx.AsyncClient(
        base_url=two_servers[1].url, headers=bearer(order["checkout_token"]), timeout=30
    ) as browser:
        answer = await browser.post(
            "/api/payments", json={"order_id": order["id"], "payment_method": "pm_card_visa"}
        )
    assert answer.status_code == 200, answer.text
    payment = answer.json()
    assert payment["status"] == "succeeded", payment

    responses = await spread(
        two_servers, shop_key, f"/api/payments/{payment['id']}/refunds", [{"amount": REFUND}], 50
    )
    statuses = Counter(r.status_code for r in responses)
    codes = Counter(r.json()["error"]["code"] for r in responses if is_error_envelope(r))
    seen = f"statuses seen: {dict(sorted(statuses.items()))}, error codes: {dict(codes)}"
    print(seen)
    unexpected = refused_properly(responses, 201)
    assert not unexpected, (seen, unexpected, describe(two_servers))
    made = [r.json() for r in responses if r.status_code == 201]
    assert all(r["amount"] == REFUND and r["status"] in ("succeeded", "pending") for r in made)
    assert len({r["id"] for r in made}) == len(made), seen
    # Every refund that fits was made: refusals come only once the rest is too small.
    assert len(made) == CAPTURED // REFUND, seen

    at_stripe = [
        refund
        for refund in sandbox.store.refunds.newest_first()
        if refund["payment_intent"] == payment["stripe_payment_intent_id"]
        and refund["status"] in ("succeeded", "pending")
    ]
    assert sum(r["amount"] for r in at_stripe) == len(made) * REFUND <= CAPTURED, seen
    async with database.sessions() as session:
        held = (
            await session.execute(
                select(Refund.id, Refund.amount).where(
                    Refund.payment_id == payment["id"], Refund.status.in_(HOLDING)
                )
            )
        ).all()
        assert {r.id for r in held} == {r["id"] for r in made}, seen
        assert sum(r.amount for r in held) == len(made) * REFUND <= CAPTURED, seen
        refunded = await session.scalar(
            select(func.sum(LedgerEntry.amount)).where(
                LedgerEntry.payment_id == payment["id"], LedgerEntry.kind == "refund"
            )
        )
        assert refunded == -len(made) * REFUND, seen


def stat(pid: int) -> list[str] | None:
    """/proc/<pid>/stat's fields after the command's name (state, ppid, …), or None."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return text.rsplit(")", 1)[1].split()


def children(pid: int) -> dict[int, str]:
    """The processes whose parent is `pid`, with their start times (to tell a reused id)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = stat(int(entry.name))
            if fields is not None and fields[1] == str(pid):
                found[int(entry.name)] = fields[19]
    return found


def running(pid: int, started: str) -> bool:
    fields = stat(pid)
    return fields is not None and fields[19] == started and fields[0] != "Z"


def socket_inodes(pid: int) -> set[str]:
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except FileNotFoundError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    return inodes


def tcp_inode(local_port: int, remote_port: int | None) -> str:
    """The inode of the loopback TCP socket from `local_port` to `remote_port` (None: the
    one listening on `local_port`)."""
    remote = "00000000:0000" if remote_port is None else f"0100007F:{remote_port:04X}"
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if (fields[1], fields[2]) == (f"0100007F:{local_port:04X}", remote):
            return fields[9]
    raise AssertionError(f"no TCP socket 127.0.0.1:{local_port} -> {remote_port}")


def serving_process(served: Served, workers: dict[int, str], path: str, token: str) -> int:
    """GETs `path` on a new connection, and finds which of `workers` holds the server's end
    of that connection while it is still open."""
    connection = http.client.HTTPConnection("127.0.0.1", served.port, timeout=10)
    try:
        connection.request("GET", path, headers=bearer(token))
        response = connection.getresponse()
        body = response.read()
        assert response.status == 200, body
        assert connection.sock is not None
        client_port = connection.sock.getsockname()[1]
        inode = tcp_inode(served.port, client_port)
        holders = [pid for pid in workers if inode in socket_inodes(pid)]
        assert len(holders) == 1, (holders, workers)
        return holders[0]
    finally:
        connection.close()


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_two_workers_serve_from_two_processes_and_stop_on_sigterm(
    database_url: str, sandbox: SandboxServer, shop_key: str, tmp_path: Path
) -> None:
    served = start(serve_env(database_url, sandbox.url), tmp_path, "serve", "--workers", "2")
    try:
        wait_healthy(served)
        order = asyncio.run(create_order(served.url, shop_key))
        answer = httpx.post(
            f"{served.url}/api/payments",
            json={"order_id": order["id"], "payment_method": "pm_card_visa"},
            headers=bearer(order["checkout_token"]),
            timeout=30,
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["status"] == "succeeded"
        # The supervisor's children that hold the listening socket are the server processes
        # (the others: multiprocessing's resource tracker).
        listening = tcp_inode(served.port, None)
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            every_child = children(served.process.pid)
            workers = {p: t for p, t in every_child.items() if listening in socket_inodes(p)}
            if len(workers) == 2:
                break
            assert time.monotonic() < deadline, (every_child, served.output())
            time.sleep(0.1)
        # Each request on a new connection goes to whichever process accepts it first.
        serving: Counter[int] = Counter()
        while len(serving) < 2:
            path = f"/api/orders/{order['id']}"
            serving[serving_process(served, workers, path, shop_key)] += 1
            assert time.monotonic() < deadline, (serving, served.output())
        assert set(serving) == set(workers), (serving, workers)
        print(f"requests per server process: {dict(serving)}")
    finally:
        status = stop(served)
    assert status == 0, served.output()
    deadline = time.monotonic() + 10
    while left := [p for p, t in every_child.items() if running(p, t)]:
        assert time.monotonic() < deadline, f"still running: {left}\n{served.output()}"
        time.sleep(0.05)


def test_more_than_one_worker_on_sqlite_is_refused_in_one_sentence(tmp_path: Path) -> None:
    database = tmp_path / "paydesk.db"
    env = serve_env(f"sqlite+aiosqlite:///{database}", "http://127.0.0.1:9")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "paydesk.cli",
            "serve",
            "--port",
            str(free_port()),
            "--workers",
            "2",
        ],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2, (result.stdout, result.stderr)
    message = result.stderr.strip()
    assert len(message.splitlines()) == 1, message
    assert "PostgreSQL" in message, message
    assert message.endswith("."), message
    assert ". " not in message, message
    assert not database.exists()
