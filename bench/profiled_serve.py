"""`paydesk …` under cProfile, switched on by SIGUSR1 and written out by SIGUSR2.

Usage: python bench/profiled_serve.py OUTPUT.prof serve --host 127.0.0.1 --port 8000

Only the event loop's thread is profiled, in CPU time: that is where requests are handled.
Database drivers that run in worker threads (aiosqlite) are not in it.
"""

from __future__ import annotations

import cProfile
import signal
import sys
import time
from pathlib import Path
from types import FrameType


def main() -> None:
    output = Path(sys.argv[1])
    # CPU time of the event loop's thread, so that waiting is nobody's time.
    profiler = cProfile.Profile(time.thread_time)

    def start(_signum: int, _frame: FrameType | None) -> None:
        profiler.enable()

    def stop(_signum: int, _frame: FrameType | None) -> None:
        profiler.disable()
        partial = output.with_suffix(".partial")
        profiler.dump_stats(partial)
        partial.replace(output)

    signal.signal(signal.SIGUSR1, start)
    signal.signal(signal.SIGUSR2, stop)

    from paydesk.cli import app

    app(args=sys.argv[2:], prog_name="paydesk")


if __name__ == "__main__":
    main()
