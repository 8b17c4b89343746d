"""Stripe's `expand[]`: replace an id field with the object it names, without touching the store."""

from typing import Any

from paydesk.sandbox.errors import InvalidRequestError, StripeObject
from paydesk.sandbox.store import Collection, SandboxStore

_PREFIXES = {
    "pi_": "payment_intents",
    "ch_": "charges",
    "re_": "refunds",
    "pm_": "payment_methods",
    "evt_": "events",
    "we_": "webhook_endpoints",
    "txn_": "balance_transactions",
    "po_": "payouts",
    "dp_": "disputes",
    "issfr_": "early_fraud_warnings",
}


def expand(store: SandboxStore, obj: StripeObject, paths: list[str]) -> StripeObject:
    result = obj
    for path in paths:
        result = _expand_path(store, result, path.split("."), path)
    return result


def _expand_path(store: SandboxStore, obj: StripeObject, parts: list[str], path: str) -> Any:
    head, rest = parts[0], parts[1:]
    if obj.get("object") == "list" and head == "data":
        data = [_expand_path(store, item, rest, path) if rest else item for item in obj["data"]]
        return {**obj, "data": data}
    if head not in obj:
        raise InvalidRequestError(f"This property cannot be expanded ({path}).", param="expand")
    value = obj[head]
    if isinstance(value, str):
        value = _lookup(store, value, path)
    if rest and isinstance(value, dict):
        value = _expand_path(store, value, rest, path)
    return {**obj, head: value}


def _lookup(store: SandboxStore, object_id: str, path: str) -> StripeObject:
    for prefix, attribute in _PREFIXES.items():
        if object_id.startswith(prefix):
            collection: Collection = getattr(store, attribute)
            found = collection.get(object_id)
            if found is not None:
                return found
    raise InvalidRequestError(f"This property cannot be expanded ({path}).", param="expand")
