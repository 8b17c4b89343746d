"""What stands in for the world around paydesk in `paydesk demo`: a mailbox that keeps every
e-mail paydesk sends, and a shop backend that checks every webhook's signature."""

from __future__ import annotations

import socket
import threading
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import orjson
from aiohttp import web
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from standardwebhooks import Webhook, WebhookVerificationError


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class MailSink:
    """An SMTP server on 127.0.0.1 that files each message it gets as an .eml file."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.messages: list[tuple[Path, EmailMessage]] = []
        self._lock = threading.Lock()
        self._controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, _server: SMTP, _session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        message = message_from_bytes(content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        with self._lock:
            path = self.folder / f"{len(self.messages) + 1:03d}.eml"
            path.write_bytes(content)
            self.messages.append((path, message))
        return "250 Message accepted for delivery"

    def start(self) -> None:
        self.folder.mkdir(exist_ok=True)
        for old in self.folder.glob("*.eml"):
            old.unlink()
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()


class ShopBackend:
    """The shop's own server: receives paydesk's webhooks and verifies each signature."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/paydesk-webhooks"
        self.secret: str | None = None
        self.received: list[tuple[str, bool]] = []  # (event type, signature verified)
        self._runner: web.AppRunner | None = None

    async def _receive(self, request: web.Request) -> web.Response:
        body = await request.read()
        verified = False
        if self.secret is not None:
            try:
                Webhook(self.secret).verify(body, dict(request.headers))
                verified = True
            except WebhookVerificationError:
                verified = False
        event: dict[str, Any] = orjson.loads(body)
        self.received.append((str(event.get("type")), verified))
        return web.Response(status=204 if verified else 400)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/paydesk-webhooks", self._receive)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
