"""Reading the server's cProfile output: CPU time per unit of work, by library, top entries."""

from __future__ import annotations

import pstats
import sys
import time
from pathlib import Path
from typing import Any


def by_library(stats: Any) -> list[tuple[str, float]]:
    """Own CPU time summed by installed package, paydesk module, or the standard library."""
    totals: dict[str, float] = {}
    for (filename, _line, function), (_cc, _nc, own, _cum, _callers) in stats.stats.items():
        if "site-packages/" in filename:
            key = filename.split("site-packages/", 1)[1].split("/", 1)[0]
        elif "/paydesk/" in filename:
            key = "paydesk." + filename.rsplit("/paydesk/", 1)[1].split("/", 1)[0]
        elif filename == "~":
            key = "built-in: " + function.split(" of ")[0].strip("<>")
        else:
            key = "stdlib"
        totals[key] = totals.get(key, 0.0) + own
    return sorted(totals.items(), key=lambda item: -item[1])


def print_profile(
    path: Path, count: int, *, unit: str, during: str, top: int = 25, cumulative: bool = False
) -> None:
    """Prints where paydesk's event loop spent its CPU during `count` units of work."""
    deadline = time.monotonic() + 10
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    if not path.exists():
        print(f"\nno profile was written to {path}", file=sys.stderr)
        return
    stats: Any = pstats.Stats(str(path))
    per_unit = stats.total_tt * 1000 / max(count, 1)
    print(
        f"\nprofile of paydesk's event loop thread (CPU time) during {during}: "
        f"{stats.total_tt:.2f} s, {per_unit:.3f} ms per {unit}; in {path}"
    )
    print("own time by library:")
    for name, seconds in by_library(stats)[:15]:
        share = seconds / stats.total_tt if stats.total_tt else 0.0
        print(f"  {share:6.1%}  {seconds * 1000 / max(count, 1):7.3f} ms/{unit}  {name}")
    print(f"\ntop {top} by own time")
    stats.sort_stats("tottime").print_stats(top)
    if cumulative:
        print(f"top {top} by cumulative time (a coroutine's counts every time it is resumed)")
        stats.sort_stats("cumulative").print_stats(top)
