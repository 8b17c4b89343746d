"""Every query on operators and their dashboard sessions, and the one place each is made."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from paydesk.db import new_id
from paydesk.operators.models import Operator, OperatorSession


class OperatorRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, email: str, password_hash: str) -> Operator:
        operator = Operator(id=new_id("op"), email=email, password_hash=password_hash)
        self.session.add(operator)
        await self.session.flush()
        return operator

    async def get(self, operator_id: str, *, for_update: bool = False) -> Operator | None:
        return await self.session.get(Operator, operator_id, with_for_update=for_update)

    async def get_id_by_email(self, email: str) -> str | None:
        return await self.session.scalar(select(Operator.id).where(Operator.email == email))

    async def get_by_email(self, email: str, *, for_update: bool = False) -> Operator | None:
        query = select(Operator).where(Operator.email == email)
        if for_update:
            query = query.with_for_update()
        return await self.session.scalar(query)

    async def add_session(
        self,
        *,
        token_hash: str,
        operator_id: str,
        csrf_token: str,
        created_at: datetime,
        expires_at: datetime,
    ) -> None:
        self.session.add(
            OperatorSession(
                token_hash=token_hash,
                operator_id=operator_id,
                csrf_token=csrf_token,
                created_at=created_at,
                expires_at=expires_at,
            )
        )

    async def get_live_session(
        self, token_hash: str, *, now: datetime
    ) -> tuple[str, str, str] | None:
        """The operator's id and e-mail and the CSRF token of the session whose token has
        `token_hash`, if it has not expired by `now`."""
        row = (
            await self.session.execute(
                select(Operator.id, Operator.email, OperatorSession.csrf_token)
                .join(OperatorSession, OperatorSession.operator_id == Operator.id)
                .where(OperatorSession.token_hash == token_hash, OperatorSession.expires_at > now)
            )
        ).one_or_none()
        return None if row is None else (row[0], row[1], row[2])

    async def delete_session(self, token_hash: str) -> None:
        await self.session.execute(
            delete(OperatorSession).where(OperatorSession.token_hash == token_hash)
        )

    async def delete_sessions_of(self, operator_id: str) -> None:
        await self.session.execute(
            delete(OperatorSession).where(OperatorSession.operator_id == operator_id)
        )

    async def delete_expired_sessions(self, now: datetime) -> None:
        await self.session.execute(delete(OperatorSession).where(OperatorSession.expires_at <= now))
