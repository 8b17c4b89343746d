from __future__ import annotations

import pytest
from pydantic import Field, ValidationError

from paydesk.money import parse_amount
from paydesk.validation import EmailAddress, RequestModel, control_character, email_address


class Item(RequestModel):
    name: str


class Order(RequestModel):
    items: list[Item]
    tags: list[str] = Field(default_factory=list)
    note: str | None = None


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("plain text", None),
        ("tabs\tand\nlines\r\n", None),
        ("a\x00b", "U+0000"),
        ("bell\x07", "U+0007"),
        ("del\x7f", "U+007F"),
        ("c1\x85", "U+0085"),
        ("lone \ud800 surrogate", "U+D800"),
        ("zero\u200bwidth and émoji 🙂", None),
    ],
)
def test_control_characters_are_found(text: str, found: str | None) -> None:
    assert control_character(text) == found


def test_one_line_text_refuses_line_breaks_too() -> None:
    assert control_character("a\tb", line_breaks=False) == "U+0009"
    assert control_character("pay_123", line_breaks=False) is None


def test_every_string_of_a_request_is_checked_and_the_field_named() -> None:
    with pytest.raises(ValidationError) as nested:
        Order.model_validate({"items": [{"name": "ok"}, {"name": "a\x00b"}]})
    error = nested.value.errors()[0]
    assert (error["type"], error["loc"]) == ("control_character", ("items", 1, "name"))
    with pytest.raises(ValidationError) as listed:
        Order.model_validate({"items": [], "tags": ["fine", "bad\x01"]})
    error = listed.value.errors()[0]
    assert (error["loc"], error["msg"]) == (
        ("tags",),
        "[1] must not contain the control character U+0001",
    )
    assert Order.model_validate({"items": [], "note": "two\nlines"}).note == "two\nlines"


def test_unknown_fields_are_refused() -> None:
    with pytest.raises(ValidationError):
        Order.model_validate({"items": [], "amount": 1})


class Customer(RequestModel):
    email: EmailAddress


@pytest.mark.parametrize(
    "address",
    [
        "victim,attacker@evil.example",
        "<script>alert(1)</script>@x.example",
        "Ada <ada@example.com>",
        "a@b@example.com",
        "ada@example.com, eve@example.com",
        "a\x00@b.cc",
        "not-an-email",
    ],
)
def test_an_email_address_is_one_address(address: str) -> None:
    with pytest.raises(ValidationError):
        Customer.model_validate({"email": address})
    with pytest.raises(ValueError, match="not one e-mail address"):
        email_address(address)


def test_an_email_address_is_kept_normalized() -> None:
    assert Customer.model_validate({"email": " Ada@Example.COM "}).email == "Ada@example.com"


@pytest.mark.parametrize("typed", ["²", "1²", "½", "1.²"])
def test_amounts_are_decimal_digits_only(typed: str) -> None:
    with pytest.raises(ValueError, match="is not an amount"):
        parse_amount(typed, "eur")


def test_decimal_digits_of_any_script_are_an_amount() -> None:
    assert parse_amount("١٢", "eur") == 1200
