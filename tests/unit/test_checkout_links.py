"""The signed checkout links in a failed payment's e-mail: they open their own order until
they lapse, and nothing else."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from paydesk.principals import CheckoutLinks

ISSUED = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
LINKS = CheckoutLinks.from_secret("sk_test_one")


def test_a_link_opens_its_order_for_a_week() -> None:
    token = LINKS.issue("ord_1", ISSUED)
    assert token.startswith("pd_cl_ord_1.")
    assert LINKS.order_of(token, ISSUED) == "ord_1"
    assert LINKS.order_of(token, ISSUED + timedelta(days=7, seconds=-1)) == "ord_1"
    assert LINKS.order_of(token, ISSUED + timedelta(days=7)) is None


def test_the_same_mail_makes_the_same_link() -> None:
    assert LINKS.issue("ord_1", ISSUED) == LINKS.issue("ord_1", ISSUED)


@pytest.mark.parametrize(
    "change",
    [
        lambda t: t.replace("ord_1.", "ord_2.", 1),  # another order
        lambda t: t.replace(".", ".9", 1),  # a later expiry
        lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),  # a forged signature
        lambda t: t.rsplit(".", 1)[0],  # no signature
        lambda t: "pd_cl_",
        lambda t: "pd_ct_" + t[6:],
    ],
)
def test_a_changed_link_opens_nothing(change: Callable[[str], str]) -> None:
    assert LINKS.order_of(change(LINKS.issue("ord_1", ISSUED)), ISSUED) is None


def test_another_key_does_not_accept_the_link() -> None:
    token = LINKS.issue("ord_1", ISSUED)
    assert CheckoutLinks.from_secret("sk_test_two").order_of(token, ISSUED) is None
