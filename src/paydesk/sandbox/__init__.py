"""The offline Stripe: a Stripe-compatible API the official SDK talks to unchanged.

Point the SDK at it with `base_addresses={"api": server.url}` and any `sk_test_` key.
Stripe's routes live under /v1 (payment_intents, payment_methods, charges, refunds,
disputes, events, webhook_endpoints); the sandbox's own controls under /_sandbox:

- `GET /_sandbox/health`
- `POST /_sandbox/chaos` `{"fail_next_requests": N, "mode": "error_500" | "disconnect" |
  "disconnect_after" | "timeout", "timeout_seconds": x}`
- `POST /_sandbox/chaos/webhooks` `{"next_deliveries": N, "mode": "duplicate" | "drop" |
  "delay", "delay_seconds": x}`, or a standing random mix `{"drop_rate": p,
  "duplicate_rate": p, "shuffle_window_seconds": s, "delay_seconds": [low, high],
  "seed": n}` (all zero turns it off); `DELETE` stops both.
- `POST /_sandbox/payment_intents/{id}/authenticate` `{"outcome": "succeed" | "fail"}`
- `GET|POST /_sandbox/3ds/{id}`: the 3-D Secure page a `redirect_to_url` next action names.
- `POST /_sandbox/charges/{id}/dispute` `{"reason": r, "amount": n, "inquiry": bool}`
- `POST /_sandbox/disputes/{id}/close` `{"outcome": "won" | "lost"}`
- `POST /_sandbox/clock/advance` `{"seconds": n}` (`paydesk sandbox-clock 3d`): as if n more
  seconds had passed for what the sandbox does later (pending refunds, disputes of the
  dispute test cards), which runs at once, in order; timestamps on objects stay real.

`SandboxConfig(latency_ms=N, latency_jitter_ms=J)` (`paydesk sandbox --latency-ms N
--latency-jitter-ms J`) makes every /v1 call wait N ms plus up to J more, as Stripe takes
200-500 ms, without holding up other calls; the /_sandbox controls and pages never wait.

Test cards beyond approvals and declines: 4000000000000259 (disputed as fraudulent),
4000000000002685 (disputed, product not received), 4000000000001976 (an inquiry) a moment
after the charge; refunds to 4000000000007726 stay pending a moment, refunds to
4000000000005126 succeed and then fail.
"""

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
