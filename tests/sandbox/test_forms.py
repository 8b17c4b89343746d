"""Stripe's form encoding, decoded."""

import pytest

from paydesk.sandbox.errors import InvalidRequestError
from paydesk.sandbox.forms import decode_form


def test_nested_keys() -> None:
    decoded = decode_form(
        "amount=100&metadata[order_id]=o-1&metadata[note]=&"
        "payment_method_data[card][number]=4242424242424242&payment_method_data[type]=card"
    )
    assert decoded == {
        "amount": "100",
        "metadata": {"order_id": "o-1", "note": ""},
        "payment_method_data": {"card": {"number": "4242424242424242"}, "type": "card"},
    }


def test_lists_with_brackets_and_indexes() -> None:
    assert decode_form("expand[]=latest_charge&expand[]=payment_method") == {
        "expand": ["latest_charge", "payment_method"]
    }
    assert decode_form("types[1]=b&types[0]=a") == {"types": ["a", "b"]}


def test_metadata_with_numeric_keys_stays_a_dict() -> None:
    assert decode_form("metadata[1]=one") == {"metadata": {"1": "one"}}


def test_url_escapes() -> None:
    assert decode_form("description=two+mugs%20%26+a+pot") == {"description": "two mugs & a pot"}


def test_conflicting_shapes_are_an_error() -> None:
    with pytest.raises(InvalidRequestError):
        decode_form("metadata=x&metadata[a]=b")
