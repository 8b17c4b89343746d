"""How a sandbox is set up: pre-registered webhook endpoints, delivery retries, keys."""

from dataclasses import dataclass, field

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
