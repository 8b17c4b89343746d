"""The overview's bar chart: proportional bars on a round axis, an empty state, escaped text."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from paydesk.web.dashboard.chart import PLOT_HEIGHT, Day, axis_scale, bar_chart

SVG = "{http://www.w3.org/2000/svg}"


def render(days: list[Day], **names: str) -> ET.Element:
    options = {
        "chart_id": "c",
        "title": "Payments per day",
        "ok_name": "collected",
        "bad_name": "failed",
        "empty": "Nothing yet",
        **names,
    }
    return ET.fromstring(str(bar_chart(days, **options)))


def heights(svg: ET.Element, kind: str) -> list[float]:
    return [float(r.attrib["height"]) for r in svg.iter(f"{SVG}rect") if r.get("class") == kind]


def texts(svg: ET.Element, kind: str) -> list[str]:
    return [t.text or "" for t in svg.iter(f"{SVG}text") if t.get("class") == kind]


def days(*counts: tuple[int, int]) -> list[Day]:
    return [
        Day(f"2026-11-{n + 1:02d}", f"{n + 1} Nov", ok, bad) for n, (ok, bad) in enumerate(counts)
    ]


@pytest.mark.parametrize(
    ("largest", "scale"),
    [(0, (1, 1)), (1, (1, 1)), (4, (4, 1)), (5, (6, 2)), (8, (8, 2)), (9, (10, 5)),
     (20, (20, 5)), (21, (30, 10)), (999, (1000, 500)), (1001, (1500, 500))],
)  # fmt: skip
def test_the_axis_tops_out_at_a_round_number_in_at_most_four_steps(
    largest: int, scale: tuple[int, int]
) -> None:
    assert axis_scale(largest) == scale


def test_bar_heights_are_proportional_to_the_counts() -> None:
    svg = render(days((3, 1), (9, 0), (0, 2), (6, 9)))
    ok, bad = heights(svg, "bar-ok"), heights(svg, "bar-bad")
    assert len(ok) == len(bad) == 3  # no bar for a zero
    top = 10  # 9 rounds up to 10, in steps of 5
    assert ok == pytest.approx([PLOT_HEIGHT * n / top for n in (3, 9, 6)], abs=0.01)
    assert bad == pytest.approx([PLOT_HEIGHT * n / top for n in (1, 2, 9)], abs=0.01)
    assert texts(svg, "count") == ["0", "5", "10"]


def test_bars_stand_on_one_baseline_and_each_day_keeps_its_own_slot() -> None:
    svg = render(days((2, 1), (4, 4)))
    bars = [r for r in svg.iter(f"{SVG}rect") if r.get("class", "").startswith("bar-")]
    bottoms = {round(float(r.attrib["y"]) + float(r.attrib["height"]), 2) for r in bars}
    assert len(bottoms) == 1
    xs = [float(r.attrib["x"]) for r in bars]
    assert xs == sorted(xs)
    assert len(set(xs)) == 4


def test_every_day_says_its_numbers_in_a_title() -> None:
    svg = render(days((2, 1), (0, 0), (5, 3)))
    tips = [g.findtext(f"{SVG}title") for g in svg.iter(f"{SVG}g")]
    assert tips == [
        "2026-11-01: 2 collected, 1 failed",
        "2026-11-02: 0 collected, 0 failed",
        "2026-11-03: 5 collected, 3 failed",
    ]
    assert svg.attrib["role"] == "img"
    assert svg.attrib["aria-labelledby"] == "c-title c-desc"
    assert svg.findtext(f"{SVG}title") == "Payments per day"
    assert svg.findtext(f"{SVG}desc") == (
        "7 collected and 4 failed over 3 days, 2026-11-01 to 2026-11-03. "
        "Most collected: 5 on 2026-11-03."
    )


def test_day_labels_every_fifth_day_counted_back_from_the_last() -> None:
    svg = render(days(*[(1, 0)] * 12))
    assert texts(svg, "day") == ["2 Nov", "7 Nov", "12 Nov"]


def test_zero_data_draws_no_bars_and_says_so() -> None:
    svg = render(days((0, 0), (0, 0), (0, 0)))
    assert heights(svg, "bar-ok") == heights(svg, "bar-bad") == []
    assert texts(svg, "empty-chart") == ["Nothing yet"]
    assert (
        svg.findtext(f"{SVG}desc")
        == "0 collected and 0 failed over 3 days, 2026-11-01 to 2026-11-03."
    )
    assert texts(svg, "day") == ["3 Nov"]


def test_no_days_at_all_is_an_empty_chart() -> None:
    svg = render([])
    assert texts(svg, "empty-chart") == ["Nothing yet"]
    assert svg.findtext(f"{SVG}desc") == "No days to show."


def test_every_text_is_escaped() -> None:
    hostile = '<script>alert("x")</script> & co'
    markup = str(
        bar_chart(
            [Day(hostile, hostile, 1, 1)],
            chart_id='x" onload="alert(1)',
            title=hostile,
            ok_name=hostile,
            bad_name="failed",
            empty=hostile,
        )
    )
    assert "<script>" not in markup
    assert 'onload="' not in markup
    svg = ET.fromstring(markup)  # still well-formed
    assert svg.findtext(f"{SVG}title") == hostile
    assert texts(svg, "day") == [hostile]
    assert svg.findtext(f"{SVG}g/{SVG}title") == f"{hostile}: 1 {hostile}, 1 failed"
