"""What no client can make the server spend: memory on a body it never authenticated, or
connections held open by headers and bodies that trickle in."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from paydesk.app import create_app
from paydesk.config import Settings
from paydesk.edge import limits, server
from paydesk.gateway.fake import FakeGateway
from paydesk.migrate import upgrade
from tests import stripe_events as se
from tests.fixtures.paydesk import ServerThread, loopback_socket

SECRET = "whsec_limits"
HUNDRED_MB = 100 * 1024 * 1024


def free_port() -> int:
    with loopback_socket() as sock:
        return int(sock.getsockname()[1])


def rss_peak_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM")


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[tuple[int, int]]:
    """`paydesk serve` as its own process: (pid, port)."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'limits.db'}"
    upgrade(url)
    port = free_port()
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("STRIPE_", "PAYDESK_"))}
    env = {
        **clean,
        "PAYDESK_DATABASE_URL": url,
        "STRIPE_API_BASE": "http://127.0.0.1:9",
        "STRIPE_SECRET_KEY": "sk_test_limits",
        "STRIPE_WEBHOOK_SECRET": SECRET,
        "PAYDESK_WORKER_IN_PROCESS": "0",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "paydesk.cli", "serve", "--port", str(port)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            pass
        assert process.poll() is None, "paydesk serve stopped"
        assert time.monotonic() < deadline, "paydesk serve did not start"
        time.sleep(0.1)
    yield process.pid, port
    process.terminate()
    process.wait(10)


def send_body(port: int, head: bytes, total: int, *, chunked: bool = False) -> bytes:
    """Sends `head`, then up to `total` bytes of body (as 64 KiB chunks of the chunked
    encoding, if `chunked`) until the server stops listening; returns what it answered."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head)
        chunk = b"x" * 65536
        if chunked:
            chunk = b"10000\r\n" + chunk + b"\r\n"
        sent = 0
        try:
            while sent < total:
                sock.sendall(chunk)
                sent += len(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass
        answer = b""
        try:
            while part := sock.recv(65536):
                answer += part
        except (ConnectionResetError, TimeoutError):
            pass
        return answer


def test_a_100_mb_unauthenticated_body_costs_the_server_almost_nothing(
    serve: tuple[int, int],
) -> None:
    pid, port = serve
    for _ in range(20):  # warm: every code path the requests below take has run once
        httpx.post(f"http://127.0.0.1:{port}/api/orders", json={"items": []})
    before = rss_peak_kib(pid)
    declared = (
        b"POST /api/orders HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Idempotency-Key: big\r\nContent-Length: %d\r\n\r\n" % HUNDRED_MB
    )
    chunked = (
        b"POST /api/orders HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n"
    )
    for head, is_chunked in ((declared, False), (chunked, True)):
        answer = send_body(port, head, HUNDRED_MB, chunked=is_chunked)
        assert answer.startswith(b"HTTP/1.1 401"), answer[:200]
        assert b"connection: close" in answer.lower()
    grown = rss_peak_kib(pid) - before
    print(f"peak memory of paydesk serve grew by {grown} KiB for two 100 MB bodies")
    assert grown < 5 * 1024, f"peak memory grew by {grown} KiB"


def test_a_webhook_body_over_the_limit_is_413_without_reading_it(
    serve: tuple[int, int],
) -> None:
    _, port = serve
    head = (
        b"POST /api/webhooks/stripe HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % HUNDRED_MB
    )
    started = time.monotonic()
    answer = send_body(port, head, HUNDRED_MB)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert time.monotonic() - started < 5


class QuickHeaders(server.TimedHeadersProtocol):
    header_timeout_seconds = 1.0


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_slow_clients_are_cut_and_never_starve_a_webhook(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(limits, "BODY_TIMEOUT_SECONDS", 1.0)
    settings = Settings(database_url=database_url, stripe_webhook_secrets=(SECRET,))
    app = create_app(settings, gateway=FakeGateway())
    listener = loopback_socket()
    with ServerThread(app, listener, http=QuickHeaders) as thread:
        host, port = "127.0.0.1", listener.getsockname()[1]
        slow: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
        for n in range(200):
            reader, writer = await asyncio.open_connection(host, port)
            if n % 2:  # headers that never end
                writer.write(b"POST /api/webhooks/stripe HTTP/1.1\r\nHost: x\r\n")
            else:  # a body that never ends
                writer.write(
                    b"POST /api/webhooks/stripe HTTP/1.1\r\nHost: x\r\n"
                    b"Content-Length: 1000\r\n\r\n{"
                )
            await writer.drain()
            slow.append((reader, writer))
        body = se.dumps(se.event("customer.created", {"id": "cus_1", "object": "customer"}))
        async with httpx.AsyncClient(base_url=thread.url) as client:
            started = time.monotonic()
            answer = await client.post(
                "/api/webhooks/stripe",
                content=body,
                headers={"Stripe-Signature": se.sign(body, SECRET)},
            )
            assert answer.status_code == 200, answer.text
            assert time.monotonic() - started < 1.0
        # Past their limits every slow client has been answered (408) or cut.
        answers = await asyncio.wait_for(
            asyncio.gather(*(reader.read() for reader, _ in slow)), timeout=10
        )
        assert all(a == b"" or a.startswith(b"HTTP/1.1 408") for a in answers)
        assert sum(a.startswith(b"HTTP/1.1 408") for a in answers) == 100
        for _, writer in slow:
            writer.close()
