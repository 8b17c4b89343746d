"""A bar chart of days as inline SVG, built on the server: no script, no file to fetch.

Each day has two bars side by side, what went through and what failed, on one axis of counts
that tops out at a round number; bar heights are proportional to the counts. Each day's slot
carries a `<title>` with its numbers (a tooltip), and the chart a title and a description for
assistive technology. Every text is escaped here, so the result goes into a page as it is.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

WIDTH = 900
HEIGHT = 240
LEFT = 44  # room for the count labels
RIGHT = 8
TOP = 12
BOTTOM = 30  # room for the day labels
PLOT_WIDTH = WIDTH - LEFT - RIGHT
PLOT_HEIGHT = HEIGHT - TOP - BOTTOM
BASELINE = TOP + PLOT_HEIGHT
MAX_STEPS = 4
TICK_EVERY = 5  # days between labels under the axis, counted back from the last day


@dataclass(frozen=True, slots=True)
class Day:
    """One day's bars: `label` in full for titles, `tick` short for under the axis."""

    label: str
    tick: str
    ok: int
    bad: int


def axis_scale(largest: int) -> tuple[int, int]:
    """The axis' top and its step: the smallest step (1, 2 or 5 times a power of ten) that
    reaches `largest` in at most four steps, and the first multiple of it at or above it."""
    magnitude = 1
    while True:
        for step in (magnitude, 2 * magnitude, 5 * magnitude):
            steps = max(1, math.ceil(largest / step))
            if steps <= MAX_STEPS:
                return steps * step, step
        magnitude *= 10


def bar_chart(
    days: Sequence[Day],
    *,
    chart_id: str,
    title: str,
    ok_name: str,
    bad_name: str,
    empty: str,
) -> Markup:
    """`<svg role="img">` with two bars per day; `ok_name` and `bad_name` say what the bars
    count ("collected", "failed"), `empty` what to say when every count is zero."""
    total_ok = sum(day.ok for day in days)
    total_bad = sum(day.bad for day in days)
    description = _describe(days, total_ok, total_bad, ok_name, bad_name)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" aria-labelledby="{escape(chart_id)}-title '
        f'{escape(chart_id)}-desc">',
        f'<title id="{escape(chart_id)}-title">{escape(title)}</title>',
        f'<desc id="{escape(chart_id)}-desc">{escape(description)}</desc>',
    ]
    if total_ok + total_bad == 0:
        parts.append(_line(BASELINE))
        parts.append(
            f'<text class="empty-chart" x="{WIDTH / 2:.2f}" y="{TOP + PLOT_HEIGHT / 2:.2f}" '
            f'text-anchor="middle">{escape(empty)}</text>'
        )
    else:
        top, step = axis_scale(max(max(day.ok, day.bad) for day in days))
        parts.extend(_grid(top, step))
        parts.extend(_bars(days, top, ok_name, bad_name))
    parts.extend(_ticks(days))
    parts.append("</svg>")
    return Markup("".join(parts))


def _describe(
    days: Sequence[Day], total_ok: int, total_bad: int, ok_name: str, bad_name: str
) -> str:
    if not days:
        return "No days to show."
    span = f"over {len(days)} days, {days[0].label} to {days[-1].label}"
    summary = f"{total_ok} {ok_name} and {total_bad} {bad_name} {span}."
    if total_ok:
        busiest = max(days, key=lambda day: day.ok)
        summary += f" Most {ok_name}: {busiest.ok} on {busiest.label}."
    return summary


def _line(y: float) -> str:
    return f'<line class="axis" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.2f}" y2="{y:.2f}"/>'


def _grid(top: int, step: int) -> list[str]:
    parts = []
    for value in range(0, top + 1, step):
        y = BASELINE - PLOT_HEIGHT * value / top
        parts.append(_line(y))
        parts.append(
            f'<text class="count" x="{LEFT - 6}" y="{y + 4:.2f}" text-anchor="end">{value}</text>'
        )
    return parts


def _bars(days: Sequence[Day], top: int, ok_name: str, bad_name: str) -> list[str]:
    slot = PLOT_WIDTH / len(days)
    bar = slot * 0.36
    parts = []
    for index, day in enumerate(days):
        left = LEFT + index * slot
        tip = f"{day.label}: {day.ok} {ok_name}, {day.bad} {bad_name}"
        parts.append(f"<g><title>{escape(tip)}</title>")
        parts.append(
            f'<rect class="slot" x="{left:.2f}" y="{TOP}" width="{slot:.2f}" '
            f'height="{PLOT_HEIGHT}"/>'
        )
        for kind, value, x in (
            ("ok", day.ok, left + slot * 0.12),
            ("bad", day.bad, left + slot * 0.12 + bar + slot * 0.04),
        ):
            if value:
                height = PLOT_HEIGHT * value / top
                parts.append(
                    f'<rect class="bar-{kind}" x="{x:.2f}" y="{BASELINE - height:.2f}" '
                    f'width="{bar:.2f}" height="{height:.2f}"/>'
                )
        parts.append("</g>")
    return parts


def _ticks(days: Sequence[Day]) -> list[str]:
    if not days:
        return []
    slot = PLOT_WIDTH / len(days)
    last = len(days) - 1
    return [
        f'<text class="day" x="{LEFT + (index + 0.5) * slot:.2f}" y="{HEIGHT - 10}" '
        f'text-anchor="middle">{escape(day.tick)}</text>'
        for index, day in enumerate(days)
        if (last - index) % TICK_EVERY == 0
    ]
