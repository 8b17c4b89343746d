"""Things Stripe does a little later: run on the server's event loop, never in a request.

A dispute arriving after its charge, a pending refund settling: each is a plain callable
scheduled here. When the server stops, whatever is still waiting runs at once, so the
store never misses what a test was promised; its events are delivered on the next start.
What must not happen early (an authorization expiring after seven days) is scheduled
`only_when_due`: it waits through a stop and a start, and runs only once its time has come.

The sandbox keeps a clock of its own for them, which `advance` moves ahead of the real
one (`POST /_sandbox/clock/advance`): what falls due meanwhile runs at once, in the order
it was due, as if that much time had passed. Timestamps on Stripe's objects stay real.
"""

import asyncio
import itertools
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import TypeVar

T = TypeVar("T")

_CALL_TIMEOUT_SECONDS = 10.0


@dataclass
class _Waiting:
    due: float  # on the sandbox's clock
    action: Callable[[], None]
    handle: asyncio.TimerHandle | None = None  # the real timer that runs it when due
    only_when_due: bool = False  # never run early: not as the server stops, nor unattached


class Scheduler:
    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        # By the order they were scheduled in, which breaks ties between equal due times.
        self._waiting: dict[int, _Waiting] = {}
        self._lock = threading.Lock()
        self._numbers = itertools.count()
        self.ahead_seconds = 0.0  # how far the sandbox's clock is ahead of the real one
        # Run, in order, at the end of every `advance` (automatic payouts, payouts.py).
        self.after_advance: list[Callable[[], object]] = []

    def now(self) -> float:
        """The sandbox's clock, in seconds (monotonic, not the time of day)."""
        return time.monotonic() + self.ahead_seconds

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        """Serve on `loop`; what waited through a stop is timed on it again."""
        self._loop = loop
        with self._lock:
            for number, item in self._waiting.items():
                item.handle = loop.call_later(max(0.0, item.due - self.now()), self._run, number)

    def detach(self) -> None:
        """Run everything still waiting, now, but what is `only_when_due`, which keeps
        waiting; called as the server stops."""
        with self._lock:
            waiting = sorted(self._waiting.items())
            for number, item in waiting:
                if item.handle is not None:
                    item.handle.cancel()
                    item.handle = None
                if not item.only_when_due:
                    del self._waiting[number]
        for _, item in waiting:
            if not item.only_when_due:
                item.action()
        self._loop = None

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    def later(
        self, delay_seconds: float, action: Callable[[], None], *, only_when_due: bool = False
    ) -> int | None:
        """Run `action` after `delay_seconds` on the event loop; at once when not serving,
        unless `only_when_due`, which waits for the clock (real, or moved by `advance`) even
        then. Returns the number that `cancel` takes, None when it ran at once."""
        loop = self._loop
        if loop is None and not only_when_due:
            action()
            return None
        delay = max(0.0, delay_seconds)
        with self._lock:
            number = next(self._numbers)
            item = _Waiting(self.now() + delay, action, only_when_due=only_when_due)
            self._waiting[number] = item
            if loop is not None:
                item.handle = loop.call_later(delay, self._run, number)
        return number

    def cancel(self, number: int) -> bool:
        """Forget what `later` scheduled as `number`, if it has not run; whether it had not."""
        with self._lock:
            item = self._waiting.pop(number, None)
        if item is None:
            return False
        if item.handle is not None:
            item.handle.cancel()
        return True

    def advance(self, seconds: float) -> int:
        """Moves the sandbox's clock `seconds` ahead and runs, on the calling thread (the
        event loop's), everything that falls due by then, earliest first, each with the
        clock at its own time, so that what it schedules within the window runs too; what
        is still waiting is due that much sooner. Returns how many ran."""
        if seconds < 0:
            raise ValueError("the sandbox's clock only moves forward")
        target = self.ahead_seconds + seconds
        ran = 0
        while True:
            with self._lock:
                until = time.monotonic() + target
                due = [(w.due, n) for n, w in self._waiting.items() if w.due <= until]
                if not due:
                    break
                when, number = min(due)
                item = self._waiting.pop(number)
                self.ahead_seconds = max(self.ahead_seconds, when - time.monotonic())
            if item.handle is not None:
                item.handle.cancel()
            item.action()
            ran += 1
        self.ahead_seconds = target
        loop = self._loop
        if loop is not None:
            with self._lock:
                for number, item in self._waiting.items():
                    if item.handle is not None:
                        item.handle.cancel()
                    item.handle = loop.call_later(item.due - self.now(), self._run, number)
        for hook in self.after_advance:
            hook()
        return ran

    def _run(self, number: int) -> None:
        with self._lock:
            item = self._waiting.pop(number, None)
        if item is not None:
            item.action()

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
