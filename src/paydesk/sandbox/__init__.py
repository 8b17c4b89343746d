"""The offline Stripe: a Stripe-compatible API the official SDK talks to unchanged."""

from paydesk.sandbox.app import create_sandbox_app
from paydesk.sandbox.config import SandboxConfig, WebhookEndpointConfig
from paydesk.sandbox.server import SandboxServer, run_sandbox
from paydesk.sandbox.store import SandboxStore

__all__ = [
    "SandboxConfig",
    "SandboxServer",
    "SandboxStore",
    "WebhookEndpointConfig",
    "create_sandbox_app",
    "run_sandbox",
]
