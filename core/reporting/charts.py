"""Charts drawn on the server: the geometry of an SVG bar or line chart, which the macro
in core/web/templates/core/charts.html draws. No JavaScript, nothing to load; every chart
has a table under it with the same figures (the accessible alternative).

Values are Decimals (money, counts); negative values (a day whose credit notes exceed its
invoices) go below a zero line. The scale's top and bottom are rounded to a "nice" step so
the gridlines read 0, 250, 500, ...
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

ZERO = Decimal(0)
# A colour per series, dark enough for text contrast on white (WCAG AA for large marks).
COLOURS = ("#2f5f8f", "#b35c00", "#2e7d32", "#8e2d8e", "#5d4037")


@dataclass(frozen=True)
class Tick:
    y: int
    value: Decimal


@dataclass(frozen=True)
class Bar:
    x: int
    y: int
    width: int
    height: int
    label: str  # the category or period under it
    value: Decimal
    series: int  # index into Chart.series_names


@dataclass(frozen=True)
class Line:
    name: str
    points: str  # SVG polyline points
    colour: str
    dots: list[tuple[int, int, str, Decimal]]  # x, y, label, value: a <title> each


@dataclass(frozen=True)
class XLabel:
    x: int
    text: str


@dataclass(frozen=True)
class Chart:
    kind: str  # bar | line
    width: int
    height: int
    plot_left: int
    plot_right: int
    zero_y: int
    ticks: list[Tick]
    bars: list[Bar]
    lines: list[Line]
    x_labels: list[XLabel]
    series_names: list[str]
    colours: tuple[str, ...] = COLOURS

    @property
    def empty(self) -> bool:
        return not self.bars and not any(l.dots for l in self.lines)


def _nice_step(span: Decimal, steps: int = 4) -> Decimal:
    raw = span / steps if span > 0 else Decimal(1)
    exponent = raw.adjusted()
    base = Decimal(10) ** exponent
    for m in (1, 2, Decimal("2.5"), 5, 10):
        if raw <= base * m:
            return base * m
    return base * 10


def _scale(values: list[Decimal], height: int, top_pad: int, bottom_pad: int):
    low = min([ZERO, *values])
    high = max([ZERO, *values])
    step = _nice_step(high - low)
    top = (high / step).to_integral_value(rounding="ROUND_CEILING") * step if high else ZERO
    bottom = (low / step).to_integral_value(rounding="ROUND_FLOOR") * step if low else ZERO
    if top == bottom:
        top = bottom + step
    plot = height - top_pad - bottom_pad

    def y(value: Decimal) -> int:
        return top_pad + int(round(plot * (top - value) / (top - bottom)))

    ticks = []
    v = bottom
    while v <= top:
        ticks.append(Tick(y(v), v))
        v += step
    return y, ticks


def _thin(labels: list[str], xs: list[int], most: int = 12) -> list[XLabel]:
    """At most `most` labels under the x axis, evenly spread, the last always shown."""
    if not labels:
        return []
    every = max(1, -(-len(labels) // most))
    keep = [i for i in range(len(labels)) if i % every == 0]
    if keep[-1] != len(labels) - 1 and len(labels) - 1 - keep[-1] >= every // 2 + 1:
        keep.append(len(labels) - 1)
    return [XLabel(xs[i], labels[i]) for i in keep]


def bar_chart(labels: list[str], series: dict[str, list[Decimal]], *, width: int = 720,
              height: int = 260) -> Chart:
    """Grouped bars: one group per label, one bar per series in it."""
    left, right, top_pad, bottom_pad = 72, 8, 8, 28
    names = list(series)
    values = [v for vs in series.values() for v in vs]
    y, ticks = _scale(values, height, top_pad, bottom_pad)
    zero = y(ZERO)
    slot = (width - left - right) / max(1, len(labels))
    bar_w = max(1, int(slot * 0.7 / max(1, len(names))))
    bars, centres = [], []
    for i, label in enumerate(labels):
        start = left + i * slot + slot * 0.15
        centres.append(int(left + i * slot + slot / 2))
        for s, name in enumerate(names):
            v = series[name][i]
            top_y = min(y(v), zero)
            bars.append(Bar(int(start + s * bar_w), top_y, bar_w, abs(zero - y(v)), label, v, s))
    return Chart("bar", width, height, left, width - right, zero, ticks, bars, [],
                 _thin(labels, centres), names)


def line_chart(labels: list[str], series: dict[str, list[Decimal]], *, width: int = 720,
               height: int = 260) -> Chart:
    """One line per series over the labels (periods), a dot with its value at each."""
    left, right, top_pad, bottom_pad = 72, 8, 8, 28
    names = list(series)
    values = [v for vs in series.values() for v in vs]
    y, ticks = _scale(values, height, top_pad, bottom_pad)
    n = len(labels)
    span = width - left - right
    xs = [int(left + (span * i / (n - 1) if n > 1 else span / 2)) for i in range(n)]
    lines = []
    for s, name in enumerate(names):
        dots = [(xs[i], y(v), labels[i], v) for i, v in enumerate(series[name])]
        lines.append(Line(name, " ".join(f"{x},{yy}" for x, yy, _, _ in dots),
                          COLOURS[s % len(COLOURS)], dots))
    return Chart("line", width, height, left, width - right, y(ZERO), ticks, [], lines,
                 _thin(labels, xs), names)
