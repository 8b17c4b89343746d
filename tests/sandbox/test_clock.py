"""The sandbox's clock: what Stripe does later (a pending refund settling, a dispute opening)
happens when the clock is moved past it, instead of after a real wait."""

import asyncio
import subprocess
import sys
from collections.abc import Iterator

import httpx
import pytest
import stripe

from paydesk.sandbox import SandboxConfig, SandboxServer
from paydesk.sandbox.timers import Scheduler
from tests.sandbox.conftest import ClientFactory, pay

HOUR = 3600.0


@pytest.fixture(scope="module")
def server() -> Iterator[SandboxServer]:
    # An hour for a pending refund and a dispute: nothing happens unless the clock moves.
    config = SandboxConfig(refund_delay_seconds=HOUR, dispute_delay_seconds=HOUR)
    with SandboxServer(config) as running:
        yield running


@pytest.fixture
def client(server: SandboxServer, client_for: ClientFactory) -> stripe.StripeClient:
    return client_for(server.url)


def advance(server: SandboxServer, seconds: float) -> dict[str, object]:
    answer = httpx.post(f"{server.url}/_sandbox/clock/advance", json={"seconds": seconds})
    assert answer.status_code == 200, answer.text
    body: dict[str, object] = answer.json()
    return body


def test_a_pending_refund_settles_when_the_clock_passes_its_time(
    server: SandboxServer, client: stripe.StripeClient
) -> None:
    pi = pay(client, "4000000000007726", amount=3000)
    refund = client.v1.refunds.create({"payment_intent": pi.id, "amount": 1000})
    assert refund.status == "pending"

    assert advance(server, HOUR / 2)["ran"] == 0
    assert client.v1.refunds.retrieve(refund.id).status == "pending"
    moved = advance(server, HOUR / 2)
    assert moved["ran"] == 1
    assert client.v1.refunds.retrieve(refund.id).status == "succeeded"
    updated = client.v1.events.list({"type": "refund.updated", "limit": 1}).data[0]
    assert updated.data.object.id == refund.id


def test_a_dispute_test_card_is_disputed_once_the_clock_has_moved(
    server: SandboxServer, client: stripe.StripeClient
) -> None:
    pi = pay(client, "4000000000000259", amount=2500)
    charge = client.v1.charges.retrieve(str(pi.latest_charge))
    assert charge.disputed is False
    assert server.advance_clock(HOUR) >= 1
    assert client.v1.charges.retrieve(charge.id).disputed is True


@pytest.mark.parametrize("seconds", [0, -5, "3600", True, None, 10**12])
def test_the_clock_only_moves_forward_by_a_number(server: SandboxServer, seconds: object) -> None:
    answer = httpx.post(f"{server.url}/_sandbox/clock/advance", json={"seconds": seconds})
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert (error["type"], error["param"]) == ("invalid_request_error", "seconds")


def test_paydesk_sandbox_clock_moves_it_from_the_command_line(server: SandboxServer) -> None:
    ahead = httpx.get(f"{server.url}/_sandbox/health").json()["clock_ahead_seconds"]
    command = [sys.executable, "-m", "paydesk.cli", "sandbox-clock", "2h"]
    done = subprocess.run(
        [*command, "--sandbox-url", server.url], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"sandbox clock {ahead + 2 * HOUR:g} s ahead:")
    bad = subprocess.run(
        [*command[:-1], "two days", "--sandbox-url", server.url],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 2
    assert "is not a duration" in bad.stderr


async def test_what_falls_due_runs_in_order_and_the_rest_comes_sooner() -> None:
    scheduler = Scheduler()
    scheduler.attach(asyncio.get_running_loop())
    ran: list[str] = []
    scheduler.later(20, lambda: ran.append("twenty"))
    scheduler.later(10, lambda: (ran.append("ten"), scheduler.later(5, lambda: ran.append("+5"))))
    scheduler.later(10, lambda: ran.append("ten, second"))
    scheduler.later(100, lambda: ran.append("hundred"))
    assert scheduler.advance(30) == 4
    assert ran == ["ten", "ten, second", "+5", "twenty"]
    assert scheduler.waiting == 1
    scheduler.later(0.05, lambda: ran.append("soon"))
    await asyncio.sleep(0.2)  # a real wait still runs what is due in real time
    assert ran[-1] == "soon"
    scheduler.advance(70)
    assert ran[-1] == "hundred"
    assert scheduler.waiting == 0
    scheduler.detach()
