"""E-mail to customers: a queued notification rendered from its templates (text and HTML,
autoescaped, no external assets) and sent over SMTP as Settings.smtp says.

A message's fate is the server's answer to it: once that is in, `send` returns and the
connection's QUIT goes on without the caller, so that a delivery is recorded at once and a
worker stopped while the server takes its time to say goodbye does not send it again."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from email.charset import QP, Charset
from email.message import EmailMessage, Message
from email.mime.multipart import MIMEMultipart
from email.mime.nonmultipart import MIMENonMultipart
from email.utils import formataddr, formatdate, parseaddr
from typing import Any
from urllib.parse import quote

import aiosmtplib
import orjson
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

from paydesk.config import SmtpSettings
from paydesk.money import format_amount
from paydesk.notifications.models import Notification
from paydesk.notifications.outbox import EmailKind
from paydesk.principals import CheckoutLinks

log = logging.getLogger(__name__)

_UTF8_QP = Charset("utf-8")
_UTF8_QP.body_encoding = QP

_SUBJECTS = {
    EmailKind.RECEIPT: "Your receipt for order {order_id}",
    EmailKind.PAYMENT_PROCESSING: "Your payment for order {order_id} is under way",
    EmailKind.PAYMENT_FAILED: "Your payment for order {order_id} did not go through",
    EmailKind.REFUND_ISSUED: "A refund for order {order_id} is on its way",
    EmailKind.PAYMENT_CANCELED: "Your payment for order {order_id} was canceled",
}


@dataclass(frozen=True, slots=True)
class Line:
    """One of the order's items, as an e-mail lists it."""

    name: str
    quantity: int
    unit_amount: int


class TemplateProblem(Exception):
    """The notification cannot be rendered: sending it again will not help."""


@dataclass(frozen=True)
class MailResult:
    succeeded: bool
    reply: str | None = None  # the server's last answer, as "250 OK"
    error: str | None = None
    permanent: bool = False  # the server refused for good (5xx on every recipient)


def template_environment() -> Environment:
    return Environment(
        loader=PackageLoader("paydesk.notifications", "templates"),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


class Mailer:
    def __init__(
        self,
        smtp: SmtpSettings,
        *,
        public_url: str,
        links: CheckoutLinks,
        templates: Environment | None = None,
    ) -> None:
        self.smtp = smtp
        self.public_url = public_url.rstrip("/")
        self.links = links
        self.templates = templates or template_environment()
        # Connections still saying QUIT; held here so that they run to the end.
        self._leaving: set[asyncio.Task[None]] = set()

    def compose(self, notification: Notification, items: Sequence[Line]) -> Message:
        """The message for a queued e-mail, listing the order's `items`; its Message-ID is
        the notification's, so a receiver can tell a resend after a lost answer from a new
        message."""
        try:
            payload = orjson.loads(notification.payload)
            kind = EmailKind(payload["template"])
            context = self._context(payload, items, notification.created_at)
            text = self.templates.get_template(f"{kind}.txt").render(context)
            html = self.templates.get_template(f"{kind}.html").render(context)
        except Exception as exc:
            raise TemplateProblem(f"{type(exc).__name__}: {exc}") from exc
        headers = {
            "Subject": _SUBJECTS[kind].format(order_id=payload["order"]["id"]),
            "From": self.smtp.sender,
            "To": notification.recipient,
            "Date": formatdate(localtime=False, usegmt=True),
            "Message-ID": f"<{notification.id}@{_domain(self.smtp.sender)}>",
        }
        return _message(headers, text, html)

    def _context(
        self, payload: dict[str, Any], items: Sequence[Line], queued_at: datetime
    ) -> dict[str, Any]:
        order, payment = payload["order"], payload["payment"]
        currency = order["currency"]
        lines = [
            {
                "name": item.name,
                "quantity": item.quantity,
                "unit_display": format_amount(item.unit_amount, currency),
                "total_display": format_amount(item.unit_amount * item.quantity, currency),
            }
            for item in items
        ]
        refund = payload.get("refund")
        return {
            "order": order,
            "payment": payment,
            "items": lines,
            "total_display": format_amount(order["amount"], currency),
            "refund": refund,
            "refund_display": format_amount(refund["amount"], currency) if refund else None,
            # A link that opens the order's checkout for a week from when the mail was
            # queued (the same link on every resend); the checkout token is never stored.
            "pay_url": f"{self.public_url}/checkout/{quote(order['id'], safe='')}"
            f"?token={self.links.issue(order['id'], queued_at)}",
            "shop_name": _display_name(self.smtp.sender),
        }

    async def send(self, message: Message) -> MailResult:
        """Sends the message over a connection of its own and returns the server's answer
        to it, without waiting for the answer to the QUIT that follows."""
        smtp = self.smtp
        client = aiosmtplib.SMTP(
            hostname=smtp.host,
            port=smtp.port,
            username=smtp.username,
            password=smtp.password,
            use_tls=smtp.security == "tls",
            start_tls=smtp.security == "starttls",
            timeout=smtp.timeout_seconds,
        )
        try:
            await client.connect()
            errors, reply = await client.send_message(message)
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [refused.code for refused in exc.recipients]
            text = "; ".join(f"{r.code} {r.message}" for r in exc.recipients)
            return MailResult(
                False,
                reply=text,
                error=f"recipient refused: {text}",
                permanent=all(code >= 500 for code in codes),
            )
        except aiosmtplib.SMTPResponseException as exc:
            reply = f"{exc.code} {exc.message}"
            return MailResult(False, reply=reply, error=f"{type(exc).__name__}: {reply}")
        except (aiosmtplib.SMTPException, OSError) as exc:
            return MailResult(False, error=f"{type(exc).__name__}: {exc}")
        finally:
            self._leave(client)
        if errors:  # some recipients refused; there is only one, so this is rare
            text = "; ".join(f"{r.code} {r.message}" for r in errors.values())
            return MailResult(False, reply=text, error=f"recipient refused: {text}")
        return MailResult(True, reply=reply)

    def _leave(self, client: aiosmtplib.SMTP) -> None:
        """Says QUIT on a connection still open, without holding up the caller."""
        if not client.is_connected:
            client.close()
            return
        leaving = asyncio.create_task(_quit(client))
        self._leaving.add(leaving)
        leaving.add_done_callback(self._leaving.discard)

    async def close(self) -> None:
        """Waits for the connections still saying QUIT (each within the SMTP timeout)."""
        await asyncio.gather(*self._leaving)


async def _quit(client: aiosmtplib.SMTP) -> None:
    try:
        await client.quit()
    except (aiosmtplib.SMTPException, OSError) as exc:
        # The message's answer came before; an unanswered goodbye changes nothing for it.
        log.debug("SMTP server %s: QUIT not answered: %s", client.hostname, exc)
    finally:
        client.close()


def _message(headers: dict[str, str], text: str, html: str) -> Message:
    """A text and an HTML alternative under `headers`. Built with the `email` package's
    legacy classes, which cost far less than `EmailMessage` does to build, and read
    the same in a mail client: non-ASCII in a subject or in a sender's name (apart from its
    address) is RFC 2047-encoded, bodies are UTF-8 in quoted-printable. An address that is
    not ASCII itself (sent with SMTPUTF8) is written raw only by `EmailMessage`, which
    builds that message instead."""
    sender_name, sender = parseaddr(headers["From"])
    if not (sender + headers["To"]).isascii():
        modern = EmailMessage()
        for name, value in headers.items():
            modern[name] = value
        modern.set_content(text)
        modern.add_alternative(html, subtype="html")
        return modern
    message = MIMEMultipart("alternative")
    for name, value in headers.items():
        message[name] = value
    message.replace_header("From", formataddr((sender_name, sender), charset="utf-8"))
    message.attach(_text_part(text, "plain"))
    message.attach(_text_part(html, "html"))
    return message


def _text_part(body: str, subtype: str) -> MIMENonMultipart:
    part = MIMENonMultipart("text", subtype)
    part.set_payload(body, _UTF8_QP)
    return part


def _domain(sender: str) -> str:
    address = parseaddr(sender)[1]
    return address.rpartition("@")[2] or "localhost"


def _display_name(sender: str) -> str:
    return parseaddr(sender)[0] or "paydesk"
