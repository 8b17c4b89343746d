"""Payouts: the balance going out to the account's bank, as Stripe's test mode does it.

Automatic payouts. Whenever the sandbox's clock is advanced (`POST /_sandbox/clock/advance`),
the available balance transactions that are in no payout yet are gathered per currency;
when the sum of their `net`s is above zero they all go into one automatic payout of that
sum, each recorded as paid out by it (store.balance_payouts). When the sum is zero or less
there is no payout and they wait for the next advance. The payout's own balance transaction
(type `payout`, minus the amount, no fee, available at once) belongs to the payout too, so
`GET /v1/balance_transactions?payout=po_...` lists what it paid out and their nets add up
to zero, as Stripe's payout reconciliation shows. `SandboxConfig(automatic_payouts=False)`
is Stripe's manual payout schedule: no automatic payouts at all.

Manual payouts. `POST /v1/payouts` takes `amount` and `currency` (optional `description`,
`metadata`, `statement_descriptor`); the amount must not exceed the available balance in
that currency (else 400 `balance_insufficient`). Its `payout` transaction takes the money
out of the available balance at once; it is in no payout's contents itself, so the next
automatic payout sweeps it up with the rest and pays out only what is left.

`POST /_sandbox/payouts/run` (`paydesk sandbox-payouts`) makes the automatic payouts at once,
of what is available now, without moving the clock.

Every payout starts `in_transit` with `arrival_date` one day after `created`, and becomes
`paid` once a day has passed on the sandbox's clock (`payout.updated`, `payout.paid`); a
payout is created by the end of an advance, so it is paid on a later one. The account's
bank account is Stripe's test account `000123456789` unless `SandboxConfig.
payout_account_number` names one of the test accounts Stripe's test mode fails payouts to
(FAILING_ACCOUNTS: `000111111113` is a closed account, `000111111116` no account, …): then
each payout fails when it would have arrived, as below.
`POST /_sandbox/payouts/{id}/fail {"failure_code": "account_closed"}` makes it fail as a
bank's return would: status `failed`, Stripe's `failure_code` and `failure_message`, and a
`failure_balance_transaction` (`payout_failure`, plus the amount) that puts the money back in
the available balance (`payout.updated`, `payout.failed`).

`GET /v1/payouts/{id}`, and `GET /v1/payouts` filtered by `status` and `created`, newest
first; `GET /v1/balance`.
"""

import builtins

from paydesk.sandbox import objects
from paydesk.sandbox.balance import Balance
from paydesk.sandbox.currencies import check_step
from paydesk.sandbox.errors import InvalidRequestError, ResourceMissingError, StripeObject
from paydesk.sandbox.events import EventLog, RequestContext
from paydesk.sandbox.forms import Params
from paydesk.sandbox.ids import new_id
from paydesk.sandbox.listing import LIST_PARAMS, paginate
from paydesk.sandbox.params import (
    merge_metadata,
    optional_str,
    reject_unknown,
    required_int,
    required_str,
)
from paydesk.sandbox.store import SandboxStore
from paydesk.sandbox.timers import Scheduler

ARRIVAL_SECONDS = 86_400
CREATE_PARAMS = frozenset(
    {"amount", "currency", "description", "metadata", "statement_descriptor", "method", "expand"}
)
LIST_PAYOUT_PARAMS = LIST_PARAMS | {"status", "created"}
STATUSES = ("pending", "in_transit", "paid", "failed", "canceled")
# The account's bank account, where every payout goes.
DESTINATION = "ba_1SandboxBankAccount0001"
AUTOMATIC_DESCRIPTION = "STRIPE PAYOUT"
# Stripe's payout failure codes and their messages.
FAILURE_MESSAGES = {
    "account_closed": "The bank account has been closed.",
    "account_frozen": "The bank account has been frozen.",
    "bank_account_restricted": (
        "The bank account has restrictions on either the type, or the number, of payouts "
        "allowed. This normally indicates that the bank account is a savings or other "
        "non-checking account."
    ),
    "could_not_process": "The bank could not process this payout.",
    "debit_not_authorized": "Debit transactions are not approved on the bank account.",
    "declined": "The bank has declined this transfer. Please contact the bank before retrying.",
    "insufficient_funds": "Your Stripe account has insufficient funds to cover the payout.",
    "invalid_currency": "The bank was unable to process this payout because of its currency.",
    "invalid_account_number": (
        "The routing number seems correct, but the account number is invalid."
    ),
    "no_account": "The bank account details on file are probably incorrect. No bank account "
    "could be located with those details.",
}
# Stripe's test bank account numbers (routing number 110000000) and the code a payout to
# each fails with; any other number is paid.
SUCCEEDING_ACCOUNT = "000123456789"
FAILING_ACCOUNTS = {
    "000111111116": "no_account",
    "000111111113": "account_closed",
    "000222222227": "insufficient_funds",
    "000333333335": "debit_not_authorized",
    "000444444440": "invalid_currency",
}
INSUFFICIENT_MESSAGE = (
    "You have insufficient funds in your Stripe account. One likely reason you have "
    "insufficient funds is that your funds are automatically being paid out; try enabling "
    "manual payouts by going to https://dashboard.stripe.com/account/payouts."
)


def payout_object(
    po_id: str,
    *,
    amount: int,
    currency: str,
    automatic: bool,
    created: int,
    description: str | None,
    metadata: dict[str, str],
    statement_descriptor: str | None,
) -> StripeObject:
    """Stripe's Payout, `in_transit` to the account's bank account."""
    return {
        "amount": amount,
        "application_fee": None,
        "application_fee_amount": None,
        "arrival_date": created + ARRIVAL_SECONDS,
        "automatic": automatic,
        "balance_transaction": None,
        "created": created,
        "currency": currency,
        "description": description,
        "destination": DESTINATION,
        "failure_balance_transaction": None,
        "failure_code": None,
        "failure_message": None,
        "id": po_id,
        "livemode": False,
        "metadata": metadata,
        "method": "standard",
        "object": "payout",
        "original_payout": None,
        "reconciliation_status": "completed" if automatic else "not_applicable",
        "reversed_by": None,
        "source_type": "card",
        "statement_descriptor": statement_descriptor,
        "status": "in_transit",
        "type": "bank_account",
        "trace_id": {"status": "pending", "value": None},
        "payout_method": None,
    }


class Payouts:
    def __init__(
        self,
        store: SandboxStore,
        events: EventLog,
        scheduler: Scheduler,
        balance: Balance,
        account_number: str = SUCCEEDING_ACCOUNT,
    ) -> None:
        self._store = store
        self._events = events
        self._scheduler = scheduler
        self._balance = balance
        self._failure = FAILING_ACCOUNTS.get(account_number)

    # -- the API ---------------------------------------------------------------------------

    def create(self, params: Params, context: RequestContext) -> StripeObject:
        reject_unknown(params, CREATE_PARAMS)
        amount = required_int(params, "amount")
        currency = required_str(params, "currency").lower()
        if amount <= 0:
            raise InvalidRequestError(
                "Invalid positive integer", code="parameter_invalid_integer", param="amount"
            )
        method = optional_str(params, "method")
        if method not in (None, "standard"):
            raise InvalidRequestError(
                "Instant payouts are not available in the sandbox.", param="method"
            )
        check_step(amount, currency, "amount")
        if amount > self._balance.available(currency):
            raise InvalidRequestError(INSUFFICIENT_MESSAGE, code="balance_insufficient")
        payout = payout_object(
            new_id("po"),
            amount=amount,
            currency=currency,
            automatic=False,
            created=objects.now(),
            description=optional_str(params, "description"),
            metadata=merge_metadata({}, params),
            statement_descriptor=optional_str(params, "statement_descriptor"),
        )
        payout["balance_transaction"] = self._balance.record_payout(payout)
        return self._send(payout, context)

    def retrieve(self, po_id: str) -> StripeObject:
        payout = self._store.payouts.get(po_id)
        if payout is None:
            raise ResourceMissingError("payout", po_id)
        return payout

    def list(self, params: Params) -> StripeObject:
        reject_unknown(params, LIST_PAYOUT_PARAMS)
        status = optional_str(params, "status")
        if status is not None and status not in STATUSES:
            raise InvalidRequestError(
                f"Invalid status: must be one of {', '.join(STATUSES)}", param="status"
            )
        return paginate(
            self._store.payouts,
            params,
            "/v1/payouts",
            "payout",
            lambda payout: status is None or payout["status"] == status,
        )

    # -- later -----------------------------------------------------------------------------

    def pay_out_available(self) -> builtins.list[StripeObject]:
        """One automatic payout per currency of what is available and in no payout yet;
        returns the payouts made."""
        made: builtins.list[StripeObject] = []
        for currency, txns in self._balance.unpaid_available().items():
            amount = sum(txn["net"] for txn in txns)
            if amount <= 0:
                continue
            payout = payout_object(
                new_id("po"),
                amount=amount,
                currency=currency,
                automatic=True,
                created=objects.now(),
                description=AUTOMATIC_DESCRIPTION,
                metadata={},
                statement_descriptor=None,
            )
            txn_id = self._balance.record_payout(payout)
            payout["balance_transaction"] = txn_id
            for txn in txns:
                self._store.balance_payouts[txn["id"]] = payout["id"]
            self._store.balance_payouts[txn_id] = payout["id"]
            made.append(self._send(payout, None))
        return made

    def fail(self, po_id: str, failure_code: object) -> StripeObject:
        """`POST /_sandbox/payouts/{id}/fail`: the bank returned the payout."""
        payout = self.retrieve(po_id)
        if not isinstance(failure_code, str) or failure_code not in FAILURE_MESSAGES:
            codes = ", ".join(FAILURE_MESSAGES)
            raise InvalidRequestError(f"failure_code must be one of {codes}", param="failure_code")
        if payout["status"] not in ("in_transit", "paid"):
            raise InvalidRequestError(
                f"Payout {po_id} is {payout['status']} and cannot fail.", param="payout"
            )
        previous = {
            "status": payout["status"],
            "failure_code": None,
            "failure_message": None,
            "failure_balance_transaction": None,
        }
        payout.update(
            status="failed",
            failure_code=failure_code,
            failure_message=FAILURE_MESSAGES[failure_code],
            failure_balance_transaction=self._balance.record_payout(payout, failure=True),
        )
        self._events.record("payout.updated", payout, None, previous)
        self._events.record("payout.failed", payout, None)
        return payout

    # -- helpers ---------------------------------------------------------------------------

    def _send(self, payout: StripeObject, context: RequestContext | None) -> StripeObject:
        self._store.payouts.add(payout)
        self._events.record("payout.created", payout, context)
        po_id: str = payout["id"]
        self._scheduler.later(ARRIVAL_SECONDS, lambda: self._arrive(po_id))
        return payout

    def _arrive(self, po_id: str) -> None:
        payout = self._store.payouts.get(po_id)
        if payout is None or payout["status"] != "in_transit":
            return
        if self._failure is not None:
            self.fail(po_id, self._failure)
            return
        payout["status"] = "paid"
        self._events.record("payout.updated", payout, None, {"status": "in_transit"})
        self._events.record("payout.paid", payout, None)
