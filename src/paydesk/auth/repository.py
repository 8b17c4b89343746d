"""Every query on shop API keys, and the one place a key is made."""

from __future__ import annotations

import secrets
from collections.abc import Sequence

from sqlalchemy import bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from paydesk.auth.models import ApiKey
from paydesk.db import new_id, utcnow
from paydesk.principals import API_KEY_PREFIX, digest

# How much of a key is kept in the clear, to name it in lists: `pd_sk_` and six more.
KEY_PREFIX_LENGTH = 12


# Asked on every request a shop makes, so built once.
_LIVE_BY_HASH = select(ApiKey.id).where(
    ApiKey.key_hash == bindparam("key_hash"), ApiKey.revoked_at.is_(None)
)


class ApiKeyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def create(self, name: str) -> tuple[str, ApiKey]:
        """A new shop key: the plaintext is returned here and never again."""
        plaintext = API_KEY_PREFIX + secrets.token_urlsafe(32)
        key = ApiKey(
            id=new_id("key"),
            name=name,
            prefix=plaintext[:KEY_PREFIX_LENGTH],
            key_hash=digest(plaintext),
        )
        self.session.add(key)
        await self.session.flush()
        return plaintext, key

    async def get_live_id_by_hash(self, key_hash: str) -> str | None:
        return await self.session.scalar(_LIVE_BY_HASH, {"key_hash": key_hash})

    async def list_keys(self) -> Sequence[ApiKey]:
        """Every shop key, revoked ones too, oldest first."""
        query = select(ApiKey).order_by(ApiKey.created_at, ApiKey.id)
        return (await self.session.scalars(query)).all()

    async def list_live_by_prefix(self, prefix: str) -> Sequence[ApiKey]:
        query = (
            select(ApiKey)
            .where(ApiKey.revoked_at.is_(None), ApiKey.prefix.startswith(prefix, autoescape=True))
            .with_for_update()
        )
        return (await self.session.scalars(query)).all()

    async def list_live_by_hash(self, key_hash: str) -> Sequence[ApiKey]:
        query = (
            select(ApiKey)
            .where(ApiKey.revoked_at.is_(None), ApiKey.key_hash == key_hash)
            .with_for_update()
        )
        return (await self.session.scalars(query)).all()

    async def record_use(self, api_key_id: str) -> None:
        await self.session.execute(
            update(ApiKey).where(ApiKey.id == api_key_id).values(last_used_at=utcnow())
        )
