"""Reading typed values out of decoded Stripe form parameters, with Stripe's errors."""

from typing import Any

from paydesk.sandbox.errors import InvalidRequestError, parameter_missing, parameter_unknown
from paydesk.sandbox.forms import Params


def reject_unknown(params: Params, allowed: frozenset[str]) -> None:
    for name in params:
        if name not in allowed:
            raise parameter_unknown(name)


def optional_str(params: Params, name: str) -> str | None:
    value = params.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise InvalidRequestError(
            f"Invalid string: {name}", code="parameter_invalid_string", param=name
        )
    return value or None


def required_str(params: Params, name: str) -> str:
    value = optional_str(params, name)
    if value is None:
        raise parameter_missing(name)
    return value


def optional_int(params: Params, name: str, param: str | None = None) -> int | None:
    value = params.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not value.lstrip("-").isdigit():
        raise InvalidRequestError(
            f"Invalid integer: {value}", code="parameter_invalid_integer", param=param or name
        )
    return int(value)


def required_int(params: Params, name: str) -> int:
    value = optional_int(params, name)
    if value is None:
        raise parameter_missing(name)
    return value


def optional_bool(params: Params, name: str) -> bool | None:
    value = params.get(name)
    if value is None:
        return None
    if value in ("true", "True", "1"):
        return True
    if value in ("false", "False", "0"):
        return False
    raise InvalidRequestError(
        f"Invalid boolean: {value}", code="parameter_invalid_boolean", param=name
    )


def optional_dict(params: Params, name: str) -> dict[str, Any] | None:
    value = params.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, dict):
        raise InvalidRequestError(f"Invalid object: {name}", param=name)
    return value


def str_list(params: Params, name: str) -> list[str]:
    value = params.get(name)
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return value
    raise InvalidRequestError(f"Invalid array: {name}", param=name)


def merge_metadata(current: dict[str, str], params: Params) -> dict[str, str]:
    """Stripe's metadata update: keys merge, an empty value deletes, `metadata=` clears."""
    if "metadata" not in params:
        return current
    value = params["metadata"]
    if value == "":
        return {}
    if not isinstance(value, dict):
        raise InvalidRequestError("Invalid object: metadata", param="metadata")
    merged = dict(current)
    for key, item in value.items():
        if not isinstance(item, str):
            raise InvalidRequestError(f"Invalid metadata value for {key}", param="metadata")
        if item == "":
            merged.pop(key, None)
        else:
            merged[key] = item
    return merged
