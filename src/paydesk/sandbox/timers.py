"""Things Stripe does a little later: run on the server's event loop, never in a request.

A dispute arriving after its charge, a pending refund settling: each is a plain callable
scheduled here. When the server stops, whatever is still waiting runs at once, so the
store never misses what a test was promised; its events are delivered on the next start.
"""

import asyncio
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import TypeVar

T = TypeVar("T")

_CALL_TIMEOUT_SECONDS = 10.0


class Scheduler:
    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._waiting: dict[asyncio.TimerHandle, Callable[[], None]] = {}
        self._lock = threading.Lock()

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def detach(self) -> None:
        """Run everything still waiting, now; called as the server stops."""
        with self._lock:
            waiting = list(self._waiting.items())
            self._waiting.clear()
        for handle, action in waiting:
            handle.cancel()
            action()
        self._loop = None

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    def later(self, delay_seconds: float, action: Callable[[], None]) -> None:
        """Run `action` after `delay_seconds` on the event loop; at once when not serving."""
        loop = self._loop
        if loop is None:
            action()
            return
        handle: asyncio.TimerHandle | None = None

        def run() -> None:
            with self._lock:
                if handle is None or self._waiting.pop(handle, None) is None:
                    return
            action()

        with self._lock:
            handle = loop.call_later(max(0.0, delay_seconds), run)
            self._waiting[handle] = action

    def call(self, action: Callable[[], T]) -> T:
        """Run `action` on the event loop from another thread and return its result."""
        loop = self._loop
        if loop is None or not loop.is_running():
            return action()
        try:
            if asyncio.get_running_loop() is loop:
                return action()
        except RuntimeError:
            pass
        future: Future[T] = Future()

        def run() -> None:
            try:
                future.set_result(action())
            except BaseException as exc:  # handed to the caller's thread
                future.set_exception(exc)

        loop.call_soon_threadsafe(run)
        return future.result(_CALL_TIMEOUT_SECONDS)
