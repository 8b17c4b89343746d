"""Settings, read once from the environment and passed down; never read at import."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from paydesk.db import DEFAULT_TIMEOUT_SECONDS, async_url
from paydesk.errors import ConfigurationError
from paydesk.payments.methods import METHODS

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///paydesk.db"
SANDBOX_SECRET_KEY = "sk_test_paydesk_sandbox"
UNCAPTURED_ACTIONS = ("release", "capture", "none")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True)
class SmtpSettings:
    host: str = "127.0.0.1"
    port: int = 25
    security: str = "none"  # none | starttls | tls
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    sender: str = "paydesk <payments@localhost>"
    timeout_seconds: float = 10.0


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    # Every wait on the database (connect, pool, statement); past it: 503, or a retry later.
    database_timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
    stripe_secret_key: str = SANDBOX_SECRET_KEY
    stripe_api_base: str | None = None
    stripe_webhook_secrets: tuple[str, ...] = ()
    # Stripe.js in the checkout page needs it with real keys; the sandbox has its own.
    stripe_publishable_key: str = ""
    stripe_max_retries: int = 2
    stripe_timeout_seconds: float = 20.0
    demo: bool = False
    public_url: str = "http://127.0.0.1:8000"
    log_level: str = "INFO"
    # Apply the inbox inside `paydesk serve`; None: yes on SQLite (one writer), no elsewhere.
    worker_in_process: bool | None = None
    # The payment method types to pin on every PaymentIntent (PAYDESK_PAYMENT_METHOD_TYPES);
    # None leaves the choice to Stripe (automatic_payment_methods). See payments/methods.py.
    payment_method_types: tuple[str, ...] | None = None
    # How long a payment may stay processing (a bank debit) before the reconciler asks
    # Stripe about it (PAYDESK_RECONCILE_PROCESSING_AFTER, seconds).
    reconcile_processing_after: timedelta = timedelta(days=1)
    # Who the customer authorises to debit their account, in the SEPA mandate's words.
    shop_name: str = "this shop"
    # Signs the checkout links paydesk e-mails (PAYDESK_CHECKOUT_LINK_SECRET); unset, the
    # Stripe secret key does, so a new Stripe key also ends the links sent before it.
    checkout_link_secret: str = ""
    smtp: SmtpSettings = field(default_factory=lambda: SmtpSettings())
    # Networks (CIDR) that shop webhook URLs may resolve to although they are private or
    # loopback: empty in production; the demo and the tests name their loopback receivers.
    webhook_allowed_networks: tuple[str, ...] = ()
    # An unpaid order expires this long after it is made (PAYDESK_ORDER_TTL: 24h, 90m, 3600),
    # unless the shop gives it an `expires_at` of its own.
    order_ttl: timedelta = timedelta(hours=24)
    # A manual-capture authorization left this long (PAYDESK_UNCAPTURED_AFTER, before
    # Stripe's seven days) is captured, released or left to Stripe (PAYDESK_UNCAPTURED_ACTION:
    # release, capture or none); the dashboard warns a day before.
    uncaptured_after: timedelta = timedelta(days=6)
    uncaptured_action: str = "release"
    # A payment with an early fraud warning at or below this amount (minor units of its own
    # currency) is refunded in full (PAYDESK_EFW_AUTO_REFUND_MAX); None: the operator decides.
    efw_auto_refund_max: int | None = None

    @property
    def uses_sandbox(self) -> bool:
        """True when Stripe's address is not Stripe's own: the offline sandbox or another fake."""
        return self.stripe_api_base is not None and not self.stripe_api_base.startswith(
            "https://api.stripe.com"
        )

    @property
    def runs_worker_in_process(self) -> bool:
        if self.worker_in_process is not None:
            return self.worker_in_process
        return self.database_url.startswith("sqlite")

    @property
    def link_signing_secret(self) -> str:
        return self.checkout_link_secret or self.stripe_secret_key

    @property
    def livemode(self) -> bool:
        return self.stripe_secret_key.startswith(("sk_live_", "rk_live_"))

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, *, demo: bool = False) -> Settings:
        env = os.environ if env is None else env
        key = env.get("STRIPE_SECRET_KEY", "").strip()
        base = env.get("STRIPE_API_BASE", "").strip().rstrip("/") or None
        if not key:
            if not demo and base is None:
                raise ConfigurationError(
                    "STRIPE_SECRET_KEY is not set: set it to your Stripe secret key, "
                    "or point STRIPE_API_BASE at the sandbox (paydesk sandbox), "
                    "or run `paydesk demo`."
                )
            key = SANDBOX_SECRET_KEY
        secrets = tuple(
            s.strip() for s in env.get("STRIPE_WEBHOOK_SECRET", "").split(",") if s.strip()
        )
        settings = cls(
            database_url=async_url(env.get("PAYDESK_DATABASE_URL", DEFAULT_DATABASE_URL)),
            database_timeout_seconds=_float(
                env, "PAYDESK_DATABASE_TIMEOUT", DEFAULT_TIMEOUT_SECONDS
            ),
            stripe_secret_key=key,
            stripe_api_base=base,
            stripe_webhook_secrets=secrets,
            stripe_publishable_key=env.get("STRIPE_PUBLISHABLE_KEY", "").strip(),
            stripe_max_retries=_int(env, "PAYDESK_STRIPE_MAX_RETRIES", 2),
            stripe_timeout_seconds=_float(env, "PAYDESK_STRIPE_TIMEOUT", 20.0),
            demo=demo,
            public_url=env.get("PAYDESK_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/"),
            log_level=env.get("PAYDESK_LOG_LEVEL", "INFO").upper(),
            worker_in_process=_bool(env, "PAYDESK_WORKER_IN_PROCESS"),
            payment_method_types=_method_types(env.get("PAYDESK_PAYMENT_METHOD_TYPES", "")),
            reconcile_processing_after=timedelta(
                seconds=_float(env, "PAYDESK_RECONCILE_PROCESSING_AFTER", 86400.0)
            ),
            shop_name=env.get("PAYDESK_SHOP_NAME", "").strip() or "this shop",
            checkout_link_secret=env.get("PAYDESK_CHECKOUT_LINK_SECRET", "").strip(),
            smtp=SmtpSettings(
                host=env.get("PAYDESK_SMTP_HOST", "127.0.0.1"),
                port=_int(env, "PAYDESK_SMTP_PORT", 25),
                security=env.get("PAYDESK_SMTP_SECURITY", "none").lower(),
                username=env.get("PAYDESK_SMTP_USERNAME") or None,
                password=env.get("PAYDESK_SMTP_PASSWORD") or None,
                sender=env.get("PAYDESK_MAIL_FROM", "paydesk <payments@localhost>"),
            ),
            webhook_allowed_networks=tuple(
                n.strip()
                for n in env.get("PAYDESK_WEBHOOK_ALLOWED_NETWORKS", "").split(",")
                if n.strip()
            ),
            order_ttl=_duration(env, "PAYDESK_ORDER_TTL", timedelta(hours=24)),
            uncaptured_after=_duration(env, "PAYDESK_UNCAPTURED_AFTER", timedelta(days=6)),
            uncaptured_action=env.get("PAYDESK_UNCAPTURED_ACTION", "release").strip().lower(),
            efw_auto_refund_max=_optional_int(env, "PAYDESK_EFW_AUTO_REFUND_MAX"),
        )
        settings.check()
        return settings

    def check(self) -> None:
        """Refuse configurations that would lose or misdirect money, with one clear sentence."""
        key = self.stripe_secret_key
        if not key.startswith(("sk_test_", "sk_live_", "rk_test_", "rk_live_")):
            raise ConfigurationError(
                "STRIPE_SECRET_KEY must be a Stripe secret key (sk_test_… or sk_live_…), "
                "never a publishable key (pk_…)."
            )
        if self.livemode and self.uses_sandbox:
            raise ConfigurationError(
                "A live Stripe key (sk_live_…) is pointed at a sandbox through STRIPE_API_BASE: "
                "unset STRIPE_API_BASE to use Stripe, or use an sk_test_ key with the sandbox."
            )
        if self.stripe_api_base is not None and not self.stripe_api_base.startswith(
            ("http://", "https://")
        ):
            raise ConfigurationError(
                f"STRIPE_API_BASE must be an http(s) URL, not {self.stripe_api_base!r}."
            )
        if self.reconcile_processing_after.total_seconds() <= 0:
            raise ConfigurationError(
                "PAYDESK_RECONCILE_PROCESSING_AFTER must be a number of seconds above 0."
            )
        if self.database_timeout_seconds <= 0:
            raise ConfigurationError(
                "PAYDESK_DATABASE_TIMEOUT must be a number of seconds above 0."
            )
        if not self.database_url.startswith(("sqlite+aiosqlite:", "postgresql+asyncpg:")):
            raise ConfigurationError(
                "PAYDESK_DATABASE_URL must be a SQLite or PostgreSQL URL "
                "(sqlite:///file.db or postgresql://user@host/db)."
            )
        if self.smtp.security not in ("none", "starttls", "tls"):
            raise ConfigurationError(
                f"PAYDESK_SMTP_SECURITY must be none, starttls or tls, not {self.smtp.security!r}."
            )
        for network in self.webhook_allowed_networks:
            try:
                ipaddress.ip_network(network)
            except ValueError:
                raise ConfigurationError(
                    "PAYDESK_WEBHOOK_ALLOWED_NETWORKS must list networks such as "
                    f"127.0.0.0/8, not {network!r}."
                ) from None
        if self.order_ttl.total_seconds() <= 0:
            raise ConfigurationError("PAYDESK_ORDER_TTL must be a time above 0, such as 24h.")
        if not timedelta(0) < self.uncaptured_after < timedelta(days=7):
            raise ConfigurationError(
                "PAYDESK_UNCAPTURED_AFTER must be above 0 and under Stripe's 7 days, such as 6d."
            )
        if self.uncaptured_action not in UNCAPTURED_ACTIONS:
            raise ConfigurationError(
                "PAYDESK_UNCAPTURED_ACTION must be release, capture or none, "
                f"not {self.uncaptured_action!r}."
            )
        if self.efw_auto_refund_max is not None and self.efw_auto_refund_max < 0:
            raise ConfigurationError(
                "PAYDESK_EFW_AUTO_REFUND_MAX must be an amount in minor units (0 or more)."
            )
        for secret in self.stripe_webhook_secrets:
            if not secret.startswith("whsec_"):
                raise ConfigurationError(
                    "STRIPE_WEBHOOK_SECRET must hold Stripe signing secrets (whsec_…), "
                    "separated by commas while rotating."
                )


def _method_types(raw: str) -> tuple[str, ...] | None:
    """The pinned payment method types, each one paydesk knows, once; None when unset."""
    types = tuple(dict.fromkeys(t.strip().lower() for t in raw.split(",") if t.strip()))
    if not types:
        return None
    unknown = [t for t in types if t not in METHODS]
    if unknown:
        raise ConfigurationError(
            f"PAYDESK_PAYMENT_METHOD_TYPES names {', '.join(unknown)}, which paydesk does not "
            f"take; it takes {', '.join(METHODS)} (or leave it unset to let Stripe choose)."
        )
    return types


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigurationError(f"{name} must be a whole number, not {raw!r}.") from None


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError:
        raise ConfigurationError(f"{name} must be a number of seconds, not {raw!r}.") from None


def _bool(env: Mapping[str, str], name: str) -> bool | None:
    raw = env.get(name, "").strip().lower()
    if raw == "":
        return None
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise ConfigurationError(f"{name} must be 1 or 0, not {raw!r}.")


def _optional_int(env: Mapping[str, str], name: str) -> int | None:
    raw = env.get(name, "").strip()
    return None if raw == "" else _int(env, name, 0)


def _duration(env: Mapping[str, str], name: str, default: timedelta) -> timedelta:
    """A time such as `90m`, `24h` or `6d`; a plain number is seconds."""
    raw = env.get(name, "").strip().lower()
    if raw == "":
        return default
    number, unit = (raw[:-1], raw[-1]) if raw[-1] in _UNITS else (raw, "s")
    try:
        return timedelta(seconds=float(number) * _UNITS[unit])
    except ValueError:
        raise ConfigurationError(
            f"{name} must be a time such as 90m, 24h or 6d, not {raw!r}."
        ) from None
