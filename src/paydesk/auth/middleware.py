"""Who calls `/api/`: known from the Authorization header before a byte of the body is read.

A caller without valid credentials is answered 401 at once: it can make paydesk read no
body, validate nothing and store nothing (no idempotency record, no half-parsed JSON). The
caller is kept in the request's scope for the endpoints' dependencies (deps.py)."""

from __future__ import annotations

import logging
import time

from starlette.types import ASGIApp, Receive, Scope, Send

from paydesk.auth.service import AuthService
from paydesk.db import database_unavailable
from paydesk.edge.answers import has_body, send_error
from paydesk.errors import AuthenticationFailed
from paydesk.principals import Principal, Shop

log = logging.getLogger(__name__)

# Where the authenticated caller is kept in the request's scope.
PRINCIPAL = "paydesk.principal"

# A key's last use is written at most this often per process: a write per request would
# cost more than the read that authenticates it.
KEY_USE_RESOLUTION_SECONDS = 60.0


class Authentication:
    def __init__(self, app: ASGIApp, *, auth: AuthService, prefix: str = "/api/") -> None:
        self.app = app
        self.auth = auth
        self.prefix = prefix
        self._key_use_written: dict[str, float] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(self.prefix):
            await self.app(scope, receive, send)
            return
        authorization = next(
            (
                value.decode("latin-1")
                for name, value in scope["headers"]
                if name == b"authorization"
            ),
            None,
        )
        try:
            principal = await self.auth.authenticate(authorization)
        except AuthenticationFailed as error:
            await send_error(scope, send, error, close=has_body(scope))
            return
        scope[PRINCIPAL] = principal
        await self._note_use(principal)
        await self.app(scope, receive, send)

    async def _note_use(self, principal: Principal) -> None:
        """Records when a shop key was last used, to the minute; a failure to write it is
        logged and costs the request nothing."""
        if not isinstance(principal, Shop):
            return
        now = time.monotonic()
        written = self._key_use_written.get(principal.api_key_id)
        if written is not None and now - written < KEY_USE_RESOLUTION_SECONDS:
            return
        self._key_use_written[principal.api_key_id] = now
        try:
            await self.auth.record_use(principal.api_key_id)
        except Exception as exc:
            if not database_unavailable(exc):
                raise
            log.warning("could not record the use of key %s: %s", principal.api_key_id, exc)
