"""What every input is checked for before paydesk acts on it.

Text may hold tabs and line breaks, never other control characters: NUL cannot be stored
in PostgreSQL at all, and the rest have no business in an order, an e-mail or an id. Ids
and query values (one line each) hold no control character at all. An e-mail address is
one address: no list, no display name, no angle brackets."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterator
from typing import Annotated, Any

from email_validator import SPECIAL_USE_DOMAIN_NAMES, EmailNotValidError, validate_email
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    field_validator,
)
from pydantic_core import PydanticCustomError

_LINE_BREAKS = frozenset("\t\n\r")


def control_character(text: str, *, line_breaks: bool = True) -> str | None:
    """The first character of `text` that input must not hold, as `U+0000`; None if none.
    With `line_breaks`, tabs and line breaks are allowed (free text); without, they are not
    (ids, query values, single-line fields)."""
    for char in text:
        category = unicodedata.category(char) if not char.isprintable() else ""
        # Cc: C0 and C1 controls and DEL; Cs: a lone surrogate, which no encoder accepts.
        if category in ("Cc", "Cs") and not (line_breaks and char in _LINE_BREAKS):
            return f"U+{ord(char):04X}"
    return None


def _strings(value: Any, where: str = "") -> Iterator[tuple[str, str]]:
    """Every string inside `value` (lists and dicts walked), with where it is: `[2]`."""
    if isinstance(value, str):
        yield where, value
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from _strings(item, f"{where}[{index}]")
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(key, f"{where}.{key}")
            yield from _strings(item, f"{where}.{key}")


class RequestModel(BaseModel):
    """The base of every request body: unknown fields are refused, and no text field holds
    a control character other than tabs and line breaks."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _no_control_characters(cls, value: Any, info: ValidationInfo) -> Any:
        for where, text in _strings(value):
            found = control_character(text)
            if found is not None:
                raise PydanticCustomError(
                    "control_character",
                    "{where}must not contain the control character {found}",
                    {"where": f"{where.lstrip('.')} " if where else "", "found": found},
                )
        return value


def _email(value: str) -> str:
    try:
        checked = validate_email(value, check_deliverability=False)
    except EmailNotValidError as exc:
        reason = {"reason": str(exc)}
        domain = value.rpartition("@")[2].lower().rstrip(".")
        if any(domain == name or domain.endswith(f".{name}") for name in SPECIAL_USE_DOMAIN_NAMES):
            # An address in its form, at a domain reserved never to receive mail (`.test`).
            raise PydanticCustomError("email_undeliverable", "{reason}", reason) from None
        raise PydanticCustomError("email", "not one e-mail address: {reason}", reason) from None
    return checked.normalized


EmailAddress = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=320),
    AfterValidator(_email),
    Field(json_schema_extra={"format": "email"}),
]
"""One e-mail address, normalized (its domain lowercased); refused when it is a list, has a
display name or angle brackets, or is not an address."""


def email_address(value: str) -> str:
    """`EmailAddress` outside a model: the normalized address, or ValueError saying why."""
    try:
        return _email(value.strip())
    except PydanticCustomError as exc:
        raise ValueError(exc.message()) from None
