"""Stripe's latency: every /v1 call waits, side by side with the others; controls never wait."""

import asyncio
import time
import uuid
from collections.abc import Iterator

import httpx
import pytest
import stripe
from typer.testing import CliRunner

from paydesk.cli import app as cli
from paydesk.sandbox import SandboxConfig, SandboxServer
from paydesk.sandbox.latency import StripeLatency
from tests.sandbox.conftest import ClientFactory, secret_auth

LATENCY_MS = 200
LATENCY = LATENCY_MS / 1000


@pytest.fixture(scope="module")
def slow() -> Iterator[SandboxServer]:
    """A sandbox of its own that answers as slowly as Stripe."""
    with SandboxServer(SandboxConfig(latency_ms=LATENCY_MS)) as server:
        yield server


def test_one_sdk_call_waits_the_latency(slow: SandboxServer, client_for: ClientFactory) -> None:
    client = client_for(slow.url)

    started = time.monotonic()
    pi = client.v1.payment_intents.create({"amount": 1200, "currency": "eur"})
    elapsed = time.monotonic() - started

    assert pi.status == "requires_payment_method"
    assert elapsed >= LATENCY


async def test_concurrent_sdk_calls_wait_side_by_side(slow: SandboxServer) -> None:
    http_client = stripe.AIOHTTPClient()
    client = stripe.StripeClient(
        "sk_test_sandbox",
        base_addresses={"api": slow.url},
        http_client=http_client,
        max_network_retries=0,
    )
    try:
        started = time.monotonic()
        intents = await asyncio.gather(
            *(
                client.v1.payment_intents.create_async(
                    {"amount": 1000 + n, "currency": "usd", "payment_method": "pm_card_visa"}
                )
                for n in range(32)
            )
        )
        elapsed = time.monotonic() - started
    finally:
        await http_client.close_async()  # type: ignore[no-untyped-call]

    assert len({pi.id for pi in intents}) == 32
    assert LATENCY <= elapsed < 4 * LATENCY


async def test_calls_sharing_an_idempotency_key_wait_outside_its_lock(
    slow: SandboxServer,
) -> None:
    headers = {**secret_auth(), "Idempotency-Key": str(uuid.uuid4())}
    async with httpx.AsyncClient(base_url=slow.url, timeout=10) as http:
        started = time.monotonic()
        answers = await asyncio.gather(
            *(
                http.post(
                    "/v1/payment_intents",
                    data={"amount": "900", "currency": "eur"},
                    headers=headers,
                )
                for _ in range(8)
            )
        )
        elapsed = time.monotonic() - started

    assert len({answer.json()["id"] for answer in answers}) == 1
    assert LATENCY <= elapsed < 2 * LATENCY


async def test_errors_and_unknown_urls_wait_too(slow: SandboxServer) -> None:
    async with httpx.AsyncClient(base_url=slow.url, timeout=10) as http:
        started = time.monotonic()
        unauthenticated, unknown = await asyncio.gather(
            http.get("/v1/payment_intents"), http.get("/v1/nothing_here", headers=secret_auth())
        )
        elapsed = time.monotonic() - started

    assert (unauthenticated.status_code, unknown.status_code) == (401, 404)
    assert elapsed >= LATENCY


def test_controls_and_preflights_do_not_wait(slow: SandboxServer) -> None:
    with httpx.Client(base_url=slow.url, timeout=10) as http:
        http.get("/_sandbox/health")  # the connection is open before the clock starts
        started = time.monotonic()
        health = http.get("/_sandbox/health")
        preflight = http.options("/v1/payment_intents")
        elapsed = time.monotonic() - started

    assert (health.status_code, preflight.status_code) == (200, 204)
    assert elapsed < LATENCY


def test_no_latency_by_default(sandbox: SandboxServer, client_for: ClientFactory) -> None:
    client = client_for(sandbox.url)
    client.v1.payment_intents.list({"limit": 1})  # the connection is open before the clock

    started = time.monotonic()
    client.v1.payment_intents.create({"amount": 1300, "currency": "eur"})
    elapsed = time.monotonic() - started

    assert SandboxConfig().latency_ms == 0
    assert not sandbox.app.latency.active
    assert elapsed < LATENCY


def test_jitter_adds_up_to_its_own_length_at_random() -> None:
    latency = StripeLatency(100, jitter_ms=50, seed=7)

    draws = [latency.draw_seconds() for _ in range(200)]

    assert all(0.1 <= draw <= 0.15 for draw in draws)
    assert max(draws) - min(draws) > 0.04
    assert StripeLatency(100).draw_seconds() == 0.1
    assert not StripeLatency().active


@pytest.mark.parametrize(
    "settings",
    [{"latency_ms": -1}, {"latency_jitter_ms": -5}, {"latency_ms": 1.5}, {"latency_ms": True}],
)
def test_config_refuses_what_is_not_a_whole_non_negative_latency(
    settings: dict[str, object],
) -> None:
    with pytest.raises(ValueError, match="non-negative integer"):
        SandboxConfig(**settings)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("option", "value"),
    [("--latency-ms", "-1"), ("--latency-ms", "1.5"), ("--latency-jitter-ms", "-3")],
)
def test_cli_refuses_a_bad_latency(
    option: str, value: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    started: list[object] = []
    monkeypatch.setattr("paydesk.sandbox.server.run_sandbox", lambda **kw: started.append(kw))

    result = CliRunner().invoke(cli, ["sandbox", option, value])

    assert result.exit_code == 2
    assert f"Invalid value for '{option}'" in result.output
    assert started == []


def test_cli_passes_the_latency_to_the_sandbox(monkeypatch: pytest.MonkeyPatch) -> None:
    configs: list[SandboxConfig] = []

    def run_sandbox(host: str, port: int, config: SandboxConfig) -> None:
        configs.append(config)

    monkeypatch.setattr("paydesk.sandbox.server.run_sandbox", run_sandbox)
    monkeypatch.setattr("paydesk.commands.server.configure_logging", lambda: None)

    result = CliRunner().invoke(
        cli, ["sandbox", "--port", "0", "--latency-ms", "300", "--latency-jitter-ms", "40"]
    )

    assert result.exit_code == 0, result.output
    assert [(c.latency_ms, c.latency_jitter_ms) for c in configs] == [(300, 40)]
