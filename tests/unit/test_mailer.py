"""The receipt as it goes on the wire: headers and both parts readable by a standard parser,
names and addresses that are not ASCII written as mail clients expect."""

from __future__ import annotations

from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest

from paydesk.config import SmtpSettings
from paydesk.db import utcnow
from paydesk.notifications.mailer import Line, Mailer
from paydesk.notifications.models import Channel, Notification
from paydesk.notifications.outbox import EmailKind, email_payload
from paydesk.payments.changes import PaymentState
from paydesk.principals import CheckoutLinks

PAYMENT = PaymentState(
    id="pay_1",
    order_id="ord_1",
    status="succeeded",
    amount=2350,
    currency="eur",
    stripe_payment_intent_id="pi_1",
    review_reason=None,
    last_error_message=None,
)


def receipt(sender: str, recipient: str) -> EmailMessage:
    mailer = Mailer(
        SmtpSettings(sender=sender),
        public_url="https://shop.example",
        links=CheckoutLinks.from_secret("sk_test_unit"),
    )
    notification = Notification(
        id="ntf_1",
        channel=Channel.EMAIL,
        kind=EmailKind.RECEIPT,
        cause="timeline:1",
        recipient=recipient,
        payment_id=PAYMENT.id,
        payload=email_payload(EmailKind.RECEIPT, PAYMENT, {}, utcnow()).decode(),
        created_at=utcnow(),
    )
    message = mailer.compose(notification, [Line("Café crème", 2, 1175)])
    # As aiosmtplib sends it: raw UTF-8 (SMTPUTF8) only for an address that needs it.
    wire = message.as_bytes(policy=None if recipient.isascii() else policy.SMTPUTF8)
    parsed = message_from_bytes(wire, policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


@pytest.mark.parametrize(
    ("sender", "recipient"),
    [
        ("paydesk <payments@shop.example>", "ann@example.com"),
        ("Café Zoë <payments@shop.example>", "ann@example.com"),
        ('"Shop, Inc." <payments@shop.example>', "ann@example.com"),
        ("Café Zoë <payments@shop.example>", "jörg@bücher.example"),
    ],
)
def test_a_receipt_reads_back_as_it_was_written(sender: str, recipient: str) -> None:
    parsed = receipt(sender, recipient)
    assert str(parsed["From"]) == sender
    assert str(parsed["To"]) == recipient
    assert parsed["Subject"] == "Your receipt for order ord_1"
    assert parsed["Message-ID"] == "<ntf_1@shop.example>"
    plain = parsed.get_body(("plain",))
    html = parsed.get_body(("html",))
    assert plain is not None
    assert html is not None
    assert "Café crème" in plain.get_content()
    assert "Café crème" in html.get_content()
    assert "23.50" in plain.get_content()


def test_a_display_name_is_encoded_apart_from_its_address() -> None:
    parsed = receipt("Café Zoë <payments@shop.example>", "ann@example.com")
    [address] = parsed["From"].addresses
    assert (address.display_name, address.addr_spec) == ("Café Zoë", "payments@shop.example")
