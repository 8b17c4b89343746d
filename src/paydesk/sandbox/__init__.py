"""The offline Stripe: a Stripe-compatible API the official SDK talks to unchanged.

Point the SDK at it with `base_addresses={"api": server.url}` and any `sk_test_` key.
Stripe's routes live under /v1 (payment_intents, payment_methods, mandates, charges,
refunds, disputes, radar/early_fraud_warnings, balance_transactions, balance, payouts,
events, webhook_endpoints); the sandbox's own controls under /_sandbox:

- `GET /_sandbox/health`
- `POST /_sandbox/chaos` `{"fail_next_requests": N, "mode": "error_500" | "disconnect" |
  "disconnect_after" | "timeout", "timeout_seconds": x}`
- `POST /_sandbox/chaos/webhooks` `{"next_deliveries": N, "mode": "duplicate" | "drop" |
  "delay", "delay_seconds": x}`, or a standing random mix `{"drop_rate": p,
  "duplicate_rate": p, "shuffle_window_seconds": s, "delay_seconds": [low, high],
  "seed": n}` (all zero turns it off); `DELETE` stops both.
- `POST /_sandbox/payment_intents/{id}/authenticate` `{"outcome": "succeed" | "fail"}`: the
  answer to a 3-D Secure challenge or at an iDEAL or Bancontact bank page, without a browser.
- `GET|POST /_sandbox/3ds/{id}`: the 3-D Secure page a `redirect_to_url` next action names.
- `GET|POST /_sandbox/redirect/{id}`: the bank page of an iDEAL or Bancontact payment.
- `GET /_sandbox/mandates/{id}`: what a SEPA mandate's `url` shows.
- `POST /_sandbox/charges/{id}/dispute` `{"reason": r, "amount": n, "inquiry": bool}`
- `POST /_sandbox/charges/{id}/early_fraud_warning` `{"fraud_type": t}` (optional, default
  `made_with_stolen_card`): the issuer reports a captured charge as fraud; answers the
  `radar.early_fraud_warning` (fraud_warnings.py).
- `POST /_sandbox/disputes/{id}/close` `{"outcome": "won" | "lost"}`
- `POST /_sandbox/payouts/{id}/fail` `{"failure_code": "account_closed"}`: the bank returns
  the payout (payouts.py).
- `POST /_sandbox/clock/advance` `{"seconds": n}` (`paydesk sandbox-clock 3d`): as if n more
  seconds had passed for what the sandbox does later (pending refunds, disputes of the
  dispute test cards, uncaptured authorizations expiring), which runs at once, in order;
  timestamps on objects stay real.

`SandboxConfig(latency_ms=N, latency_jitter_ms=J)` (`paydesk sandbox --latency-ms N
--latency-jitter-ms J`) makes every /v1 call wait N ms plus up to J more, as Stripe takes
200-500 ms, without holding up other calls; the /_sandbox controls and pages never wait.

Every movement of money has a balance transaction (balance.py): Stripe's standard fees
(fees.py), in `SandboxConfig(settlement_currency="usd")` at fixed exchange rates
(exchange.py), a charge's `pending` until two days have passed on the sandbox's clock.
Each advance of the clock pays what is available out in an automatic payout (payouts.py).

Payment methods: card, sepa_debit, ideal and bancontact, created by `POST
/v1/payment_methods` (a publishable key will do) or `payment_method_data[type]=...`. An EUR
PaymentIntent with automatic payment methods (the default without `payment_method_types`)
takes all four, any other currency card alone; `automatic_payment_methods[allow_redirects]=
never` leaves out iDEAL and Bancontact, manual capture all but card (method_types.py). An
explicit list naming an unknown type, or an EUR-only type in another currency, is refused
(param `payment_method_types`), and so is a confirmation with a PaymentMethod of a type the
PaymentIntent does not take (`payment_intent_incompatible_payment_method`). A confirmation
without `return_url` is refused (param `return_url`) for iDEAL and Bancontact always
(`payment_intent_redirect_confirmation_without_return_url`) and for any method when
automatic payment methods allow redirects, except a card on a PaymentIntent that asked for
neither parameter (confirmations.py).

SEPA Direct Debit (sepa.py): an IBAN is checked (registry length, mod-97; code
`invalid_bank_account_iban`) and kept only as country, bank and branch code, last four and
fingerprint; the holder's name and e-mail are required. A secret-key confirmation needs
`mandate_data[customer_acceptance]` (online with ip_address and user_agent, or offline;
refused with param `mandate_data` otherwise); a Mandate is made (`GET /v1/mandates/{id}`),
the charge is `pending` and the PaymentIntent `processing` (`charge.pending`,
`payment_intent.processing`). Stripe's test IBANs, in each of the 19 countries of its table
(docs.stripe.com/payments/sepa-debit/accept-a-payment, e.g. for AT and DE), and their
tokens `pm_<kind>_<country>`:

| kind                          | AT                   | DE                     | settles after  |
| ----------------------------- | -------------------- | ---------------------- | -------------- |
| success                       | AT611904300234573201 | DE89370400440532013000 | 60 s, paid     |
| successDelayed                | AT321904300235473204 | DE08370400440532013003 | 180 s, paid    |
| failed                        | AT861904300235473202 | DE62370400440532013001 | 60 s, fails 1  |
| failedDelayed                 | AT051904300235473205 | DE78370400440532013004 | 180 s, fails 1 |
| disputed                      | AT591904300235473203 | DE35370400440532013002 | 60 s, paid 2   |
| exceedsWeeklyVolumeLimit      | AT981904300000343434 | DE65370400440000343434 | 60 s, fails 3  |
| exceedsWeeklyTransactionLimit | AT601904300000121212 | DE27370400440000121212 | 60 s, fails 4  |
| insufficientFunds             | AT981904300002222227 | DE65370400440002222227 | 60 s, fails 5  |

1: `generic_could_not_process`; 2: then disputed (`debit_not_authorized`) a moment later;
3: `charge_exceeds_source_limit`; 4: `charge_exceeds_weekly_limit`; 5: `insufficient_funds`.
Any other valid IBAN succeeds. Stripe's test mode settles in moments, and the "delayed" ones
after at least three minutes: the sandbox waits 60 and 180 seconds of its clock, so that the
processing step can be seen; move the clock past them.
Success: the charge succeeds with a balance transaction, the PaymentIntent too
(`charge.succeeded`, `payment_intent.succeeded`); failure: the charge fails with the code,
the PaymentIntent needs a payment method again with it as `last_payment_error`
(`charge.failed`, `payment_intent.payment_failed`). A refund of a SEPA debit is `pending` for
60 seconds of the clock, then succeeds. SEPA, iDEAL and Bancontact take no manual capture.

iDEAL and Bancontact (redirects.py): a confirmation with a return_url leaves the
PaymentIntent `requires_action`, its `redirect_to_url` naming `/_sandbox/redirect/{id}`, a
page with the bank and the amount and two buttons, "Authorize test payment" (a succeeded
charge and PaymentIntent) and "Fail test payment" (`payment_intent_authentication_failure`);
either answers 303 to the return_url with `payment_intent`, `payment_intent_client_secret`
and `redirect_status=succeeded|failed` added.

Test cards beyond approvals and declines: 4000000000000259 (disputed as fraudulent),
4000000000002685 (disputed, product not received), 4000000000001976 (an inquiry) a moment
after the charge; refunds to 4000000000007726 stay pending a moment, refunds to
4000000000005126 succeed and then fail.

Radar (radar.py, docs.stripe.com/radar/testing): every card charge's `outcome` has
`risk_level`, `risk_score` and `rule`; other methods' are `not_assessed`, without score.

| card (PaymentMethod)                         | risk, score  | outcome `type`, `reason`           |
| -------------------------------------------- | ------------ | ---------------------------------- |
| any other card                               | normal, 23   | authorized (or the bank's decline) |
| 4000000000009235 (pm_card_riskLevelElevated) | elevated, 70 | manual_review, elevated_risk_level |
| 4000000000004954 (pm_card_riskLevelHighest)  | highest, 92  | blocked, highest_risk_level, 1     |
| 4100000000000019 (pm_card_radarBlock)        | highest, 92  | blocked, highest_risk_level, 2     |

1: rule `block_if_high_risk`, Radar's default "Block if :risk_level: = 'highest'"; 2: rule
null, blocked whatever the rules. A blocked payment fails as a decline does (card_error
`card_declined`, decline_code `fraudulent`, `fraud_details.stripe_report: fraudulent`,
network_status `not_sent_to_network`; `charge.failed`, `payment_intent.payment_failed`).
An elevated one succeeds (no Review object is made).

Early fraud warnings (fraud_warnings.py): 4000000000005423 (pm_card_createIssuerFraudRecord)
gets a `radar.early_fraud_warning` as soon as its charge is captured, its
`radar.early_fraud_warning.created` after `charge.succeeded` and `payment_intent.succeeded`
(after `charge.captured` and `payment_intent.succeeded` for a manual capture). A full refund
or a dispute makes it `actionable: false` (`radar.early_fraud_warning.updated`). `GET
/v1/radar/early_fraud_warnings` lists them (`charge`, `payment_intent`, `created`).

Uncaptured authorizations (authorizations.py): a PaymentIntent still `requires_capture`
seven days of the clock after its authorization is canceled by Stripe: its charge is
refunded in full, not captured (`charge.expired`), the PaymentIntent `canceled` with
`cancellation_reason: "automatic"` (`payment_intent.canceled`). A capture or a cancellation
before then takes the timer away; a server restart neither runs it early nor forgets it.
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
