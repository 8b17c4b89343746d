"""SQLite's write-ahead log stays bounded while writes and reads keep coming."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import func, select

from paydesk.db import Database, SqliteCheckpointer
from paydesk.idempotency.models import IdempotencyRecord

WRITES = 2000
WRITERS = 4
READERS = 2
READ_SECONDS = 0.02
BODY = b"{}" * 500
# Small bounds and short rounds, so that a few seconds of load crosses them many times.
TRUNCATE_ABOVE_BYTES = 2 * 2**20
ROUND_SECONDS = 0.1
# The threshold, plus what the writers append in a round and while the checkpoint waits
# for its turn, with room to spare on a busy machine.
WAL_BOUND_BYTES = 8 * 2**20


def _size(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


async def _eventually(condition: Callable[[], bool], rounds: int = 100) -> None:
    """Returns once `condition()` holds, checking each checkpoint round; fails after `rounds`."""
    for _ in range(rounds):
        if condition():
            return
        await asyncio.sleep(ROUND_SECONDS)
    pytest.fail(f"not true after {rounds} checkpoint rounds")


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_wal_stays_bounded_under_steady_writes_and_reads(database: Database) -> None:
    path = database.engine.url.database
    assert path is not None
    wal = Path(f"{path}-wal")
    checkpointer = SqliteCheckpointer(
        path,
        database.writing,
        every_seconds=ROUND_SECONDS,
        truncate_above_bytes=TRUNCATE_ABOVE_BYTES,
    )
    stop = asyncio.Event()
    largest = 0

    async def write(first: int) -> None:
        nonlocal largest
        for key in range(first, WRITES, WRITERS):
            async with database.transaction() as session:
                session.add(
                    IdempotencyRecord(
                        caller_hash="load",
                        key=str(key),
                        request_hash="hash",
                        status_code=200,
                        response_body=BODY,
                    )
                )
            largest = max(largest, _size(wal))

    async def read() -> None:
        # Each read keeps its snapshot across an await, as a request's queries do, so
        # that some reader is nearly always using the log.
        while not stop.is_set():
            async with database.sessions() as session:
                await session.scalar(select(func.max(IdempotencyRecord.id)))
                await asyncio.sleep(READ_SECONDS)
                await session.scalar(select(func.max(IdempotencyRecord.id)))

    background = [asyncio.create_task(checkpointer.run(stop))]
    background += [asyncio.create_task(read()) for _ in range(READERS)]
    await asyncio.gather(*(write(first) for first in range(WRITERS)))
    stop.set()
    await asyncio.gather(*background)

    assert largest < WAL_BOUND_BYTES, f"the WAL reached {largest / 2**20:.1f} MiB"
    assert _size(wal) < WAL_BOUND_BYTES
    async with database.sessions() as session:
        stored = await session.scalar(select(func.count()).select_from(IdempotencyRecord))
    assert stored == WRITES


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_checkpoint_another_process_blocks_is_retried(
    database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    path = database.engine.url.database
    assert path is not None
    wal = Path(f"{path}-wal")
    key = 0
    while _size(wal) <= TRUNCATE_ABOVE_BYTES:
        async with database.transaction() as session:
            session.add(IdempotencyRecord(caller_hash="load", key=str(key), request_hash="hash"))
        key += 1
    other_process = sqlite3.connect(path, isolation_level=None)
    other_process.execute("BEGIN IMMEDIATE")  # SQLite's one write lock, outside our turn
    checkpointer = SqliteCheckpointer(
        path,
        database.writing,
        every_seconds=ROUND_SECONDS,
        truncate_above_bytes=TRUNCATE_ABOVE_BYTES,
    )
    stop = asyncio.Event()
    caplog.set_level(logging.DEBUG, logger="paydesk.db")
    checkpoints = asyncio.create_task(checkpointer.run(stop))
    try:
        await _eventually(lambda: "left in place" in caplog.text)
        assert _size(wal) > TRUNCATE_ABOVE_BYTES
        other_process.execute("COMMIT")
        await _eventually(lambda: _size(wal) == 0)
    finally:
        other_process.close()
        stop.set()
        await checkpoints
