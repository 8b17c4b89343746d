"""How a sandbox is set up: webhook endpoints, delivery retries and chaos, keys, delays."""

from dataclasses import dataclass, field

from paydesk.sandbox.exchange import USD_VALUE
from paydesk.sandbox.latency import check_latency_ms

API_VERSION = "2026-10-28.endive"


@dataclass(frozen=True, slots=True)
class WebhookEndpointConfig:
    """An endpoint registered when the sandbox starts, as if created in the dashboard."""

    url: str
    secret: str
    enabled_events: tuple[str, ...] = ("*",)


@dataclass(frozen=True, slots=True)
class SandboxConfig:
    webhook_endpoints: tuple[WebhookEndpointConfig, ...] = ()
    delivery_base_delay_seconds: float = 1.0
    delivery_max_attempts: int = 8
    delivery_timeout_seconds: float = 10.0
    publishable_key: str = "pk_test_sandbox"
    api_version: str = API_VERSION
    extra_currencies: frozenset[str] = field(default_factory=frozenset)
    # How long Stripe's test cards take: a dispute after its charge, a refund to settle.
    dispute_delay_seconds: float = 1.0
    refund_delay_seconds: float = 1.0
    # Webhook misbehaviour from the start, as `POST /_sandbox/chaos/webhooks` sets it.
    webhook_drop_rate: float = 0.0
    webhook_duplicate_rate: float = 0.0
    webhook_shuffle_window_seconds: float = 0.0
    webhook_delay_seconds: tuple[float, float] = (0.0, 0.0)
    webhook_chaos_seed: int | None = None
    # Stripe's answer time: every /v1 call waits latency_ms, plus up to latency_jitter_ms
    # at random (see latency.py); 0 answers at once.
    latency_ms: int = 0
    latency_jitter_ms: int = 0
    # The account's currency: every balance transaction is in it (see balance.py).
    settlement_currency: str = "usd"
    # Each advance of the clock pays the available balance out (payouts.py); False is
    # Stripe's manual payout schedule, where only `POST /v1/payouts` pays out.
    automatic_payouts: bool = True
    # The account's bank account: one of Stripe's failing test numbers makes every payout
    # fail (payouts.FAILING_ACCOUNTS); any other is paid.
    payout_account_number: str = "000123456789"

    def __post_init__(self) -> None:
        check_latency_ms("latency_ms", self.latency_ms)
        check_latency_ms("latency_jitter_ms", self.latency_jitter_ms)
        if self.settlement_currency not in USD_VALUE:
            raise ValueError(
                f"settlement_currency: no exchange rate for {self.settlement_currency!r}"
            )
