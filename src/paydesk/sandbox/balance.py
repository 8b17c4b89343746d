"""Balance transactions: one `txn_` object for every movement of money, as Stripe keeps them.

A charge's is made when the money is taken (at once for a card, at capture for a manual
one, when a SEPA debit settles, when the bank authorizes iDEAL or Bancontact): type
`charge`, Stripe's processing fee (fees.py) as `fee` with one `stripe_fee` entry in
`fee_details`, `net` = amount - fee. It is `pending`, `available_on` two days after it was
made, and becomes `available` once two days have passed on the sandbox's clock
(`POST /_sandbox/clock/advance`), when a `balance.available` event carries the Balance as it
then is. A refund's is `refund`, minus the refund, no fee; a failed
refund's is `refund_failure`, plus the refund; a dispute's withdrawal and reinstatement are
`adjustment`s with the dispute fee (disputes.py). Refunds, refund failures and dispute
movements are available at once.

Every amount is in the account's settlement currency (`SandboxConfig.settlement_currency`,
`usd` by default); a movement in another currency is converted at the sandbox's fixed rates
(exchange.py) and records the rate as `exchange_rate`.

`GET /v1/balance_transactions/{id}`, and `GET /v1/balance_transactions` filtered by `type`,
`source`, `currency`, `payout` and `created`, newest first.
"""

from paydesk.sandbox import objects
from paydesk.sandbox.errors import ResourceMissingError, StripeObject
from paydesk.sandbox.events import EventLog
from paydesk.sandbox.exchange import convert, exchange_rate
from paydesk.sandbox.fees import FEE_DESCRIPTION, fixed_fee, processing_fee
from paydesk.sandbox.forms import Params
from paydesk.sandbox.ids import new_id
from paydesk.sandbox.listing import LIST_PARAMS, paginate
from paydesk.sandbox.params import optional_str, reject_unknown
from paydesk.sandbox.store import SandboxStore
from paydesk.sandbox.timers import Scheduler

AVAILABLE_AFTER_SECONDS = 2 * 86_400
LIST_BALANCE_PARAMS = LIST_PARAMS | {"type", "source", "currency", "payout", "created"}


class Balance:
    def __init__(
        self,
        store: SandboxStore,
        scheduler: Scheduler,
        settlement_currency: str = "usd",
        events: EventLog | None = None,
    ) -> None:
        self._store = store
        self._scheduler = scheduler
        self.currency = settlement_currency
        self._events = events

    # -- money moving ---------------------------------------------------------------------

    def record_charge(self, charge: StripeObject) -> str:
        """The captured amount of `charge` enters the balance, pending, less Stripe's fee."""
        currency: str = charge["currency"]
        amount = convert(charge["amount_captured"], currency, self.currency)
        method: str = charge["payment_method_details"]["type"]
        created = objects.now()
        txn = self._movement(
            amount=amount,
            fee=processing_fee(method, amount, self.currency),
            source_currency=currency,
            created=created,
            available_on=created + AVAILABLE_AFTER_SECONDS,
            description=charge["description"],
            reporting_category="charge",
            source=charge["id"],
            status="pending",
            kind="charge",
        )
        self._store.balance_pending[txn["id"]] = self._scheduler.now() + AVAILABLE_AFTER_SECONDS
        return str(txn["id"])

    def record_refund(self, re_id: str, amount: int, charge: StripeObject) -> str:
        """A refund of `amount` (the charge's currency) leaves the balance."""
        return self._refund_movement(re_id, -amount, charge["currency"], "refund", "refund")

    def record_refund_failure(self, refund: StripeObject) -> str:
        """A failed refund's money comes back."""
        return self._refund_movement(
            refund["id"], refund["amount"], refund["currency"], "refund_failure", "refund_failure"
        )

    def record_dispute(
        self, dispute: StripeObject, *, fee_usd: int, withdrawal: bool
    ) -> StripeObject:
        """A dispute's withdrawal (with Stripe's fee, priced in USD) or reinstatement."""
        currency: str = dispute["currency"]
        amount = convert(dispute["amount"], currency, self.currency)
        txn = objects.dispute_balance_transaction(
            new_id("txn"),
            dispute=dispute,
            amount=-amount if withdrawal else amount,
            fee=fixed_fee(fee_usd, "usd", self.currency),
            withdrawal=withdrawal,
            currency=self.currency,
            exchange_rate=self._rate(currency),
        )
        return self._store.balance_transactions.add(txn)

    def record_payout(self, payout: StripeObject, *, failure: bool = False) -> str:
        """A payout's money leaving the balance (`payout`, minus its amount), or, when it
        failed, coming back (`payout_failure`, plus its amount); available at once."""
        created = objects.now()
        amount: int = payout["amount"]
        txn = self._movement(
            amount=amount if failure else -amount,
            fee=0,
            source_currency=payout["currency"],
            created=created,
            available_on=created,
            description="STRIPE PAYOUT FAILURE" if failure else "STRIPE PAYOUT",
            reporting_category="payout_reversal" if failure else "payout",
            source=payout["id"],
            status="available",
            kind="payout_failure" if failure else "payout",
        )
        return str(txn["id"])

    def available(self, currency: str) -> int:
        """The available balance in `currency`: the nets of its available transactions."""
        self.release_due()
        return sum(
            txn["net"]
            for txn in self._store.balance_transactions.newest_first()
            if txn["status"] == "available" and txn["currency"] == currency
        )

    def unpaid_available(self) -> dict[str, list[StripeObject]]:
        """Available transactions in no payout yet, oldest first, by currency."""
        self.release_due()
        paid_out = self._store.balance_payouts
        unpaid: dict[str, list[StripeObject]] = {}
        for txn in reversed(list(self._store.balance_transactions.newest_first())):
            if txn["status"] == "available" and txn["id"] not in paid_out:
                unpaid.setdefault(txn["currency"], []).append(txn)
        return unpaid

    def summary(self) -> StripeObject:
        """`GET /v1/balance`: available and pending nets per currency, as Stripe's Balance."""
        self.release_due()
        totals: dict[str, dict[str, int]] = {self.currency: {"available": 0, "pending": 0}}
        for txn in self._store.balance_transactions.newest_first():
            sums = totals.setdefault(txn["currency"], {"available": 0, "pending": 0})
            sums["available" if txn["status"] == "available" else "pending"] += txn["net"]
        currencies = sorted(totals, key=lambda currency: (currency != self.currency, currency))

        def amounts(status: str) -> list[StripeObject]:
            return [
                {
                    "amount": totals[currency][status],
                    "currency": currency,
                    "source_types": {"card": totals[currency][status]},
                }
                for currency in currencies
            ]

        return {
            "object": "balance",
            "available": amounts("available"),
            "connect_reserved": [{"amount": 0, "currency": currency} for currency in currencies],
            "livemode": False,
            "pending": amounts("pending"),
        }

    def release_due(self) -> int:
        """Pending funds whose time has come on the sandbox's clock become available, and
        `balance.available` tells so."""
        now = self._scheduler.now()
        due = [txn_id for txn_id, when in self._store.balance_pending.items() if when <= now]
        for txn_id in due:
            del self._store.balance_pending[txn_id]
            txn = self._store.balance_transactions.get(txn_id)
            if txn is not None:
                txn["status"] = "available"
        if due and self._events is not None:
            self._events.record("balance.available", self.summary(), None)
        return len(due)

    # -- the API ---------------------------------------------------------------------------

    def retrieve(self, txn_id: str) -> StripeObject:
        self.release_due()
        txn = self._store.balance_transactions.get(txn_id)
        if txn is None:
            raise ResourceMissingError("balance_transaction", txn_id)
        return txn

    def list(self, params: Params) -> StripeObject:
        reject_unknown(params, LIST_BALANCE_PARAMS)
        self.release_due()
        kind = optional_str(params, "type")
        source = optional_str(params, "source")
        currency = optional_str(params, "currency")
        payout = optional_str(params, "payout")
        paid_out = self._store.balance_payouts

        def matches(txn: StripeObject) -> bool:
            return (
                (kind is None or txn["type"] == kind)
                and (source is None or txn["source"] == source)
                and (currency is None or txn["currency"] == currency.lower())
                and (payout is None or paid_out.get(txn["id"]) == payout)
            )

        return paginate(
            self._store.balance_transactions,
            params,
            "/v1/balance_transactions",
            "balance_transaction",
            matches,
        )

    # -- helpers ---------------------------------------------------------------------------

    def _rate(self, source_currency: str) -> float | None:
        rate = exchange_rate(source_currency, self.currency)
        return None if rate is None else float(rate)

    def _refund_movement(
        self, re_id: str, amount: int, currency: str, category: str, kind: str
    ) -> str:
        created = objects.now()
        txn = self._movement(
            amount=(1 if amount >= 0 else -1) * convert(abs(amount), currency, self.currency),
            fee=0,
            source_currency=currency,
            created=created,
            available_on=created,
            description="REFUND FOR CHARGE" if kind == "refund" else "REFUND FAILURE",
            reporting_category=category,
            source=re_id,
            status="available",
            kind=kind,
        )
        return str(txn["id"])

    def _movement(
        self,
        *,
        amount: int,
        fee: int,
        source_currency: str,
        created: int,
        available_on: int,
        description: str | None,
        reporting_category: str,
        source: str,
        status: str,
        kind: str,
    ) -> StripeObject:
        txn = objects.balance_transaction(
            new_id("txn"),
            amount=amount,
            fee=fee,
            fee_description=FEE_DESCRIPTION,
            currency=self.currency,
            exchange_rate=self._rate(source_currency),
            created=created,
            available_on=available_on,
            description=description,
            reporting_category=reporting_category,
            source=source,
            status=status,
            kind=kind,
        )
        return self._store.balance_transactions.add(txn)
