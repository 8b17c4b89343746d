"""Stripe's form encoding: `a[b][c]=v`, `a[]=v`, `a[0]=v` into nested dicts and lists."""

import re
from typing import Any
from urllib.parse import parse_qsl

from paydesk.sandbox.errors import InvalidRequestError

Params = dict[str, Any]

_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")
_PART = re.compile(r"\[([^\[\]]*)\]")


def decode_form(body: str) -> Params:
    """Decode a query string or urlencoded body the way Stripe reads it."""
    root: Params = {}
    for key, value in parse_qsl(body, keep_blank_values=True):
        match = _KEY.match(key)
        if match is None:
            raise InvalidRequestError(f"Invalid parameter name: {key}", param=key)
        path = [match.group(1), *_PART.findall(match.group(2))]
        _assign(root, path, value, key)
    decoded: Params = _listify(root)
    return decoded


def _assign(root: Params, path: list[str], value: str, key: str) -> None:
    node: Params = root
    for part in path[:-1]:
        child = node.get(part)
        if child is None:
            child = {}
            node[part] = child
        if not isinstance(child, dict):
            raise InvalidRequestError(f"Invalid parameter structure: {key}", param=key)
        node = child
    last = path[-1]
    if last == "":
        # `a[]=x`: append using a synthetic numeric index.
        last = str(len(node))
    if isinstance(node.get(last), dict):
        raise InvalidRequestError(f"Invalid parameter structure: {key}", param=key)
    node[last] = value


_FREE_FORM = frozenset({"metadata"})


def _listify(node: Any, name: str = "") -> Any:
    """Turn dicts whose keys are all integers (`a[0]`, `a[]`) into lists; metadata stays a dict."""
    if not isinstance(node, dict):
        return node
    converted = {key: _listify(value, key) for key, value in node.items()}
    if name not in _FREE_FORM and converted and all(key.isdigit() for key in converted):
        return [converted[key] for key in sorted(converted, key=int)]
    return converted
