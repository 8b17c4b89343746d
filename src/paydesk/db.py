"""The database: engine and sessions built by the app factory or the CLI, never at import."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import secrets
import sqlite3
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any, Literal, Protocol, TypeVar

import asyncpg
import sqlalchemy.exc
from sqlalchemy import DateTime, MetaData, event
from sqlalchemy.dialects import postgresql, sqlite
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


@functools.cache
def insert_new(dialect: str, model: type[Base], *conflict: str) -> Any:
    """`INSERT … ON CONFLICT DO NOTHING` into the model's table for this database, built
    once per process: a row that would clash with one already there (on the `conflict`
    columns, or on any unique constraint without them) is left out, the others written."""
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    return insert(model).on_conflict_do_nothing(index_elements=list(conflict) or None)


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id(prefix: str) -> str:
    """A prefixed id that sorts by creation time: 12 hex digits of milliseconds, then 16 random."""
    return f"{prefix}_{int(time.time() * 1000):012x}{secrets.token_hex(8)}"


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


# How long a request waits on its database, at most: past it, 503 (a worker retries later).
# A stalled network then fails fast instead of holding every request for minutes.
DEFAULT_TIMEOUT_SECONDS = 5.0


def create_engine(
    url: str, *, timeout_seconds: float | None = DEFAULT_TIMEOUT_SECONDS, **kwargs: Any
) -> AsyncEngine:
    """The engine for `url`. `timeout_seconds` bounds a unit of work's wait on the database
    (None: statements take as long as they need, for migrations). A unit of work may wait
    twice, for a connection (checked, or made anew) and then for a statement, so each wait
    gets half of it."""
    url = async_url(url)
    if is_sqlite(url):
        busy = 30.0 if timeout_seconds is None else timeout_seconds
        engine = create_async_engine(url, connect_args={"timeout": busy}, **kwargs)
        _tune_sqlite(engine, busy_ms=int(busy * 1000))
        return engine
    connect_args: dict[str, Any] = {}
    pool_timeout = 30.0
    if timeout_seconds is not None:
        step = timeout_seconds / 2
        pool_timeout = step
        connect_args = {
            "timeout": step,
            "command_timeout": step,
            # The server gives up too, so a statement the client stopped waiting for does
            # not go on holding locks.
            "server_settings": {"statement_timeout": str(int(step * 1000))},
        }
    return create_async_engine(
        url,
        pool_size=10,
        max_overflow=10,
        pool_pre_ping=True,
        pool_timeout=pool_timeout,
        connect_args=connect_args,
        **kwargs,
    )


# paydesk's drivers are asynchronous; a URL naming no driver (or the usual synchronous
# one) means the same database through them.
_ASYNC_DRIVERS = {
    "sqlite": "sqlite+aiosqlite",
    "sqlite+pysqlite": "sqlite+aiosqlite",
    "postgresql": "postgresql+asyncpg",
    "postgres": "postgresql+asyncpg",
    "postgresql+psycopg2": "postgresql+asyncpg",
    "postgresql+psycopg": "postgresql+asyncpg",
}


def async_url(url: str) -> str:
    """`url` with the driver paydesk uses: `sqlite:///paydesk.db` is
    `sqlite+aiosqlite:///paydesk.db`, `postgresql://host/db` is `postgresql+asyncpg://…`."""
    scheme, sep, rest = url.partition("://")
    return f"{_ASYNC_DRIVERS.get(scheme, scheme)}{sep}{rest}"


def _tune_sqlite(engine: AsyncEngine, *, busy_ms: int) -> None:
    """WAL so readers never wait, and BEGIN IMMEDIATE for units of work that write, so two
    writers queue on the busy timeout instead of failing when a read turns into a write."""

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        # Another process's write (a CLI command) is waited for, up to the timeout.
        cursor.execute(f"PRAGMA busy_timeout={busy_ms}")
        # Checkpoints copy the WAL into the database and wait for the disk; run inside a
        # commit they stall every writer behind it. `SqliteCheckpointer` runs them aside.
        cursor.execute("PRAGMA wal_autocheckpoint=0")
        # SQLite keeps the WAL file at its high-water size when the log restarts; the
        # first commit after a restart cuts it back to this.
        cursor.execute(f"PRAGMA journal_size_limit={WAL_KEEP_BYTES}")
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


# SQLite's write-ahead log starts over only when a write transaction begins after a
# checkpoint has copied all of it and no reader still uses it. Under steady writes every
# PASSIVE round overlaps an open write transaction, which appends once the round ends, and
# readers keep older snapshots in use, so the log never starts over and its file grows as
# long as the load lasts.
WAL_TRUNCATE_BYTES = 32 * 2**20  # past this, checkpoint in the writer's turn and empty it
WAL_KEEP_BYTES = 4 * 2**20  # what the file is cut back to when the log does start over
# How long that checkpoint keeps trying while this process's writers queue behind it, and
# how far apart its attempts are; a round that runs out is retried on the next one.
TRUNCATE_WAIT_SECONDS = 0.25
TRUNCATE_RETRY_SECONDS = 0.005


class SqliteCheckpointer:
    """Folds SQLite's write-ahead log back into the database every `every_seconds`, on its
    own connection in a thread, so that no commit waits for it.

    Each round runs a PASSIVE checkpoint, which blocks nobody and copies what it can. Once
    the WAL file is past `truncate_above_bytes`, the round also runs a TRUNCATE checkpoint
    inside this process's writer turn (`writing`): the writers queue behind it while it
    copies the few frames the PASSIVE left and empties the file. Readers and other
    processes can hold it off for `TRUNCATE_WAIT_SECONDS`; then the next round tries again."""

    def __init__(
        self,
        path: str,
        writing: Callable[[], contextlib.AbstractAsyncContextManager[object]],
        every_seconds: float = 1.0,
        truncate_above_bytes: int = WAL_TRUNCATE_BYTES,
    ) -> None:
        self.path = path
        self.writing = writing
        self.every_seconds = every_seconds
        self.truncate_above_bytes = truncate_above_bytes

    async def run(self, stop: asyncio.Event) -> None:
        # No busy handler: a checkpoint that waits in SQLite keeps waiting on the reader
        # slot it first found taken, and readers that end and begin again keep taking that
        # slot, so it starves. Attempts a few milliseconds apart see the readers move on.
        connection = await asyncio.to_thread(
            sqlite3.connect, self.path, timeout=0, check_same_thread=False
        )
        try:
            while not stop.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.every_seconds)
                await self._round(connection)
        finally:
            await asyncio.to_thread(connection.close)

    async def _round(self, connection: sqlite3.Connection) -> None:
        await asyncio.to_thread(_checkpoint, connection, "PASSIVE")
        wal_bytes = _file_bytes(f"{self.path}-wal")
        if wal_bytes <= self.truncate_above_bytes:
            return
        async with self.writing():
            emptied = await _truncate(connection)
        if not emptied:
            # Once is another process's write or a long read in the way; a file twice the
            # bound means something keeps it from ever being emptied.
            twice = wal_bytes > 2 * self.truncate_above_bytes
            log.log(
                logging.WARNING if twice else logging.DEBUG,
                "WAL of %d MiB left in place, other connections were using it; retrying",
                wal_bytes >> 20,
            )


async def _truncate(connection: sqlite3.Connection) -> bool:
    """TRUNCATE checkpoints until one empties the log, or `TRUNCATE_WAIT_SECONDS` pass."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + TRUNCATE_WAIT_SECONDS
    while not await asyncio.to_thread(_checkpoint, connection, "TRUNCATE"):
        if loop.time() >= deadline:
            return False
        await asyncio.sleep(TRUNCATE_RETRY_SECONDS)
    return True


def _checkpoint(connection: sqlite3.Connection, mode: Literal["PASSIVE", "TRUNCATE"]) -> bool:
    """One checkpoint; False when other connections blocked it (a TRUNCATE is blocked by
    any reader or writer that keeps it from copying the whole log and emptying it)."""
    try:
        busy: int = connection.execute(f"PRAGMA wal_checkpoint({mode})").fetchone()[0]
    except sqlite3.OperationalError as exc:  # locked: a later attempt will do it
        log.debug("%s checkpoint skipped: %s", mode, exc)
        return False
    return busy == 0


def _file_bytes(path: str) -> int:
    try:
        return os.stat(path).st_size
    except FileNotFoundError:  # no WAL until the first write, none after the last close
        return 0


Work_co = TypeVar("Work_co", covariant=True)


class Units(Protocol[Work_co]):
    """Where services get their units of work: `writing()` is one transaction, committed
    when its block ends and rolled back when it raises; `reading()` one that only reads.
    paydesk/unit_of_work.py gives them over the database; tests may give them in memory."""

    def writing(self) -> contextlib.AbstractAsyncContextManager[Work_co]: ...

    def reading(self) -> contextlib.AbstractAsyncContextManager[Work_co]: ...


class Database:
    """The engine and a session factory: `transaction()` is a unit of work that writes,
    `sessions()` one that only reads."""

    def __init__(
        self, engine: AsyncEngine, *, timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS
    ) -> None:
        self.engine = engine
        self.timeout_seconds = timeout_seconds
        self.sessions = async_sessionmaker(engine, expire_on_commit=False)
        # SQLite has one writer. Writers of this process queue here, first come first
        # served, instead of polling SQLite's lock from their threads (its busy handler
        # sleeps, and lets late comers overtake). Other processes still wait on the lock.
        self._writer = asyncio.Lock() if self.is_sqlite else None

    @classmethod
    def connect(cls, url: str, *, timeout_seconds: float = DEFAULT_TIMEOUT_SECONDS) -> Database:
        """The database at `url`, every wait on it bounded by `timeout_seconds`."""
        return cls(
            create_engine(url, timeout_seconds=timeout_seconds), timeout_seconds=timeout_seconds
        )

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
        return SqliteCheckpointer(self.engine.url.database, self.writing)

    async def dispose(self) -> None:
        await self.engine.dispose()


# What a database that is down, unreachable, stalled or out of room raises, through
# SQLAlchemy or straight from the driver while connecting.
_UNAVAILABLE: tuple[type[BaseException], ...] = (
    sqlalchemy.exc.OperationalError,
    sqlalchemy.exc.InterfaceError,
    sqlalchemy.exc.TimeoutError,
    sqlalchemy.exc.DisconnectionError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
    asyncpg.QueryCanceledError,
    OSError,
    TimeoutError,
)


def database_unavailable(exc: BaseException) -> bool:
    """Whether `exc` says the database cannot be used right now (retrying later may work),
    rather than that a statement is wrong."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, _UNAVAILABLE):
            return True
        if isinstance(current, sqlalchemy.exc.DBAPIError) and current.connection_invalidated:
            return True
        orig = getattr(current, "orig", None)
        current = orig if isinstance(orig, BaseException) else current.__cause__
    return False
