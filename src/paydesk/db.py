"""The database: engine and sessions built by the app factory or the CLI, never at import."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import sqlite3
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, MetaData, event
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.types import TypeDecorator

log = logging.getLogger(__name__)

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class UTCDateTime(TypeDecorator[datetime]):
    """Stored as UTC on every database; always read back timezone-aware."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; use datetime.now(UTC)")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id(prefix: str) -> str:
    """A prefixed id that sorts by creation time: 12 hex digits of milliseconds, then 16 random."""
    return f"{prefix}_{int(time.time() * 1000):012x}{secrets.token_hex(8)}"


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


def create_engine(url: str, **kwargs: Any) -> AsyncEngine:
    if is_sqlite(url):
        engine = create_async_engine(url, connect_args={"timeout": 30}, **kwargs)
        _tune_sqlite(engine)
        return engine
    return create_async_engine(url, pool_size=10, max_overflow=10, pool_pre_ping=True, **kwargs)


def _tune_sqlite(engine: AsyncEngine) -> None:
    """WAL so readers never wait, and BEGIN IMMEDIATE for units of work that write, so two
    writers queue on the busy timeout instead of failing when a read turns into a write."""

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        # Checkpoints copy the WAL into the database and wait for the disk; run inside a
        # commit they stall every writer behind it. `SqliteCheckpointer` runs them aside.
        cursor.execute("PRAGMA wal_autocheckpoint=0")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Any) -> None:
        writes = connection.get_execution_options().get(_WRITES, False)
        begin = "BEGIN IMMEDIATE" if writes else "BEGIN"
        # Straight to aiosqlite: one trip to its thread, where a statement through
        # SQLAlchemy's cursor takes three (open, execute, close), all in the writer's turn.
        try:
            connection.connection.dbapi_connection.run_async(lambda sqlite: sqlite.execute(begin))
        except sqlite3.Error as error:  # raised as SQLAlchemy raises the driver's errors
            raise DBAPIError.instance(begin, None, error, sqlite3.Error) from error


_WRITES = "paydesk_writes"


class SqliteCheckpointer:
    """Folds SQLite's write-ahead log back into the database every `every_seconds`, on its
    own connection in a thread, so that no commit waits for it (PASSIVE: it never blocks
    readers or writers, and copies what it can)."""

    def __init__(self, path: str, every_seconds: float = 1.0) -> None:
        self.path = path
        self.every_seconds = every_seconds

    async def run(self, stop: asyncio.Event) -> None:
        connection = await asyncio.to_thread(sqlite3.connect, self.path, check_same_thread=False)
        try:
            while not stop.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.every_seconds)
                await asyncio.to_thread(_checkpoint, connection)
        finally:
            await asyncio.to_thread(connection.close)


def _checkpoint(connection: sqlite3.Connection) -> None:
    try:
        connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
    except sqlite3.OperationalError as exc:  # busy or locked: the next round will do it
        log.debug("checkpoint skipped: %s", exc)


class Database:
    """The engine and a session factory: `transaction()` is a unit of work that writes,
    `sessions()` one that only reads."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.sessions = async_sessionmaker(engine, expire_on_commit=False)
        # SQLite has one writer. Writers of this process queue here, first come first
        # served, instead of polling SQLite's lock from their threads (its busy handler
        # sleeps, and lets late comers overtake). Other processes still wait on the lock.
        self._writer = asyncio.Lock() if self.is_sqlite else None

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session in one transaction: committed when the block ends, rolled back on error."""
        async with self.writing(), self.sessions() as session, session.begin():
            await session.connection(execution_options={_WRITES: True})
            yield session

    def writing(self) -> contextlib.AbstractAsyncContextManager[object]:
        """Held around every write: this process's turn at SQLite's one writer."""
        return self._writer if self._writer is not None else contextlib.nullcontext()

    def checkpointer(self) -> SqliteCheckpointer | None:
        """What keeps the WAL short on SQLite; None on other databases."""
        if not self.is_sqlite or not self.engine.url.database:
            return None
        return SqliteCheckpointer(self.engine.url.database)

    async def dispose(self) -> None:
        await self.engine.dispose()
