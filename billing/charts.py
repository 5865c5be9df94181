"""SVG charts drawn on the server, for billing's printable statement and the console's
pages: no JavaScript library, no CDN, and a chart reads the same printed, archived or
with scripts off. Each chart has axes, tick labels (dates on x), a legend, and a
<title>/<desc> that name it for screen readers.

They live in billing because the statement (a file billing writes, which may import
storage only) draws them, and api/ may import billing; api.console.charts marks them
safe for Jinja.

    line_chart("Wallet balance", {"Balance": [(date(2026, 1, 1), 1200), ...]}, y_label="tokens")
    bar_chart("Usage by month", {"Renders": [("2026-01", 14), ...]})

Values may be int, float or Decimal (drawn as floats; labels keep the ticks' own digits).
x values may be dates, datetimes or strings; the points of every series share the x
values of the first one that has them (bars) or are placed by date (lines).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from html import escape

Number = int | float | Decimal
Points = Sequence[tuple[object, Number]]

# Each at least 4.5:1 against white (WCAG 1.4.11 asks 3:1 for graphics), and lines also
# differ by dash, so that no series is told apart by colour alone.
COLOURS = ("#1f5fbf", "#b5431b", "#2e7d32", "#7b3fa0", "#8a6100", "#4a4a4a")
DASHES = ("", "6 4", "2 3", "10 3 2 3", "1 4", "8 6")

WIDTH, HEIGHT = 640, 260
LABEL_PX = 6.6  # about how wide a character of a 12 px label is
LEFT, RIGHT, TOP, BOTTOM = 64, 30, 16, 44
_ids = itertools.count(1)


def line_chart(
    title: str,
    series: Mapping[str, Points],
    *,
    y_label: str = "",
    width: int = WIDTH,
    height: int = HEIGHT,
    x_format: Callable[[object], str] | None = None,
    y_format: Callable[[float], str] | None = None,
) -> str:
    """Lines over time (or over any ordered x); a series with one point draws a dot."""
    xs = _ordered_x(series)
    if not xs:
        return _empty(title, width, height)
    frame = _Frame(width, height, _values(series), y_label, y_format)
    position = _x_positions(xs, frame)
    body = [frame.axes(), frame.x_ticks(xs, position, x_format or _default_x_format(xs))]
    for index, (name, points) in enumerate(series.items()):
        colour, dash = COLOURS[index % len(COLOURS)], DASHES[index % len(DASHES)]
        coords = [(position[_key(x)], frame.y(float(v))) for x, v in points]
        if len(coords) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
            dashed = f' stroke-dasharray="{dash}"' if dash else ""
            body.append(
                f'<polyline fill="none" stroke="{colour}" stroke-width="2.5"{dashed} '
                f'points="{path}"/>'
            )
        for (x, y), (raw_x, v) in zip(coords, points, strict=True):
            body.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colour}">'
                f"<title>{escape(name)}: {escape(_label_x(raw_x, x_format, xs))} "
                f"{escape(frame.format(v))}</title></circle>"
            )
    return _svg(title, series, xs, x_format, width, height, body, "line")


def bar_chart(
    title: str,
    series: Mapping[str, Points],
    *,
    y_label: str = "",
    width: int = WIDTH,
    height: int = HEIGHT,
    x_format: Callable[[object], str] | None = None,
    y_format: Callable[[float], str] | None = None,
) -> str:
    """Bars grouped by x (one bar per series in each group); x in first-seen order."""
    xs = _ordered_x(series, sort=False)
    if not xs:
        return _empty(title, width, height)
    fmt = x_format or _default_x_format(xs)
    # Names (products, say) are every one shown, slanted when they do not fit their bar;
    # the plot then leaves room on the left for the first name.
    longest = max(len(fmt(x)) for x in xs) * LABEL_PX
    slot = (width - LEFT - RIGHT) / len(xs)
    slant = not all(isinstance(x, date) for x in xs) and longest > slot - 6
    extra = round(longest * 0.5) if slant else 0
    left = max(LEFT, round(longest * 0.82 - slot / 2 + 8)) if slant else LEFT
    frame = _Frame(width, height, [*_values(series), 0.0], y_label, y_format, left)
    slot = frame.plot_width / len(xs)
    position = {_key(x): frame.left + slot * (i + 0.5) for i, x in enumerate(xs)}
    body = [frame.axes(), frame.x_ticks(xs, position, fmt, slant)]
    bar = min(40.0, slot * 0.8 / max(1, len(series)))
    zero = frame.y(0.0)
    for index, (name, points) in enumerate(series.items()):
        colour = COLOURS[index % len(COLOURS)]
        offset = (index - (len(series) - 1) / 2) * bar
        for x, v in points:
            top = frame.y(float(v))
            centre = position[_key(x)] + offset
            body.append(
                f'<rect x="{centre - bar / 2 + 1:.1f}" y="{min(top, zero):.1f}" '
                f'width="{max(1.0, bar - 2):.1f}" height="{abs(zero - top):.1f}" '
                f'fill="{colour}"><title>{escape(name)}: {escape(_label_x(x, x_format, xs))} '
                f"{escape(frame.format(v))}</title></rect>"
            )
    return _svg(title, series, xs, x_format, width, height, body, "bar", extra)


# --- geometry --------------------------------------------------------------------------


class _Frame:
    """The plot area, the y scale with round ticks, and the axes."""

    def __init__(self, width, height, values, y_label, y_format, left=LEFT):
        self.width, self.height = width, height
        self.left, self.right = left, width - RIGHT
        self.top, self.bottom = TOP, height - BOTTOM
        self.plot_width = self.right - self.left
        self.y_label = y_label
        low, high = min([*values, 0.0]), max([*values, 0.0])
        self.ticks = nice_ticks(low, high)
        self.low, self.high = self.ticks[0], self.ticks[-1]
        self.format = y_format or _number_format(self.ticks)

    def y(self, value: float) -> float:
        span = (self.high - self.low) or 1.0
        return self.bottom - (value - self.low) / span * (self.bottom - self.top)

    def axes(self) -> str:
        parts = []
        for tick in self.ticks:
            y = self.y(tick)
            parts.append(
                f'<line x1="{self.left}" x2="{self.right}" y1="{y:.1f}" y2="{y:.1f}" '
                f'stroke="#d0d4da" stroke-width="1"/>'
                f'<text x="{self.left - 6}" y="{y + 4:.1f}" text-anchor="end">'
                f"{escape(self.format(tick))}</text>"
            )
        parts.append(
            f'<line x1="{self.left}" x2="{self.left}" y1="{self.top}" y2="{self.bottom}" '
            f'stroke="#3d4450"/><line x1="{self.left}" x2="{self.right}" '
            f'y1="{self.y(0.0) if self.low < 0 else self.bottom:.1f}" '
            f'y2="{self.y(0.0) if self.low < 0 else self.bottom:.1f}" stroke="#3d4450"/>'
        )
        if self.y_label:
            middle = (self.top + self.bottom) / 2
            parts.append(
                f'<text x="14" y="{middle:.1f}" text-anchor="middle" '
                f'transform="rotate(-90 14 {middle:.1f})">{escape(self.y_label)}</text>'
            )
        return "".join(parts)

    def x_ticks(self, xs, position, fmt, slant: bool = False) -> str:
        # at most about one label per 70 px, always the first and the last (slanted: all)
        every = 1 if slant else max(1, math.ceil(len(xs) / max(1, self.plot_width // 70)))
        shown = [i for i in range(len(xs)) if i % every == 0]
        if shown[-1] != len(xs) - 1:
            if len(xs) - 1 - shown[-1] < every / 2 and len(shown) > 1:
                shown.pop()
            shown.append(len(xs) - 1)
        if not slant:
            shown = _apart(shown, [position[_key(x)] for x in xs], [fmt(x) for x in xs])
        parts = []
        for i in shown:
            x = position[_key(xs[i])]
            y = self.bottom + (14 if slant else 20)
            placed = (
                f'text-anchor="end" transform="rotate(-35 {x:.1f} {y})"'
                if slant
                else ('text-anchor="middle"')
            )
            parts.append(
                f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{self.bottom}" y2="{self.bottom + 5}" '
                f'stroke="#3d4450"/><text x="{x:.1f}" y="{y}" {placed}>'
                f"{escape(fmt(xs[i]))}</text>"
            )
        return "".join(parts)


def _apart(shown: list[int], at: list[float], labels: list[str]) -> list[int]:
    """The shown labels less those that would touch the one before (dates are placed by
    time, so neighbours in the list may be a day apart on the axis); the last one is
    kept over the one before it."""
    kept: list[int] = []
    for i in shown:
        if kept:
            room = LABEL_PX * (len(labels[i]) + len(labels[kept[-1]])) / 2 + 8
            if at[i] - at[kept[-1]] < room:
                if i != len(at) - 1 or len(kept) == 1:
                    continue
                kept.pop()
        kept.append(i)
    return kept


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values (1, 2, 2.5 or 5 times a power of ten) covering low..high."""
    low, high = float(low), float(high)
    if high == low:
        high = low + 1.0
    rough = (high - low) / max(1, count - 1)
    power = 10 ** math.floor(math.log10(rough))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= rough)
    start = math.floor(low / step) * step
    ticks, value = [], start
    while value < high - step * 1e-9:
        ticks.append(round(value, 10))
        value += step
    ticks.append(round(value, 10))
    return ticks


def _x_positions(xs: list, frame: _Frame) -> dict:
    """Dates by their distance in time; anything else evenly spaced."""
    if len(xs) == 1:
        return {_key(xs[0]): frame.left + frame.plot_width / 2}
    if all(isinstance(x, date) for x in xs):
        ordinals = [_ordinal(x) for x in xs]
        first, span = ordinals[0], (ordinals[-1] - ordinals[0]) or 1.0
        return {
            _key(x): frame.left + (o - first) / span * frame.plot_width
            for x, o in zip(xs, ordinals, strict=True)
        }
    step = frame.plot_width / (len(xs) - 1)
    return {_key(x): frame.left + i * step for i, x in enumerate(xs)}


def _ordinal(x: date) -> float:
    if isinstance(x, datetime):
        return x.timestamp() / 86400
    return float(x.toordinal())


# --- labels and the document ----------------------------------------------------------


def _key(x: object) -> object:
    return x.isoformat() if isinstance(x, date) else str(x)


def _ordered_x(series: Mapping[str, Points], sort: bool = True) -> list:
    seen: dict = {}
    for points in series.values():
        for x, _ in points:
            seen.setdefault(_key(x), x)
    xs = list(seen.values())
    if sort and all(isinstance(x, date) for x in xs):
        xs.sort(key=_ordinal)
    return xs


def _values(series: Mapping[str, Points]) -> list[float]:
    return [float(v) for points in series.values() for _, v in points]


def _default_x_format(xs: list) -> Callable[[object], str]:
    dates = [x for x in xs if isinstance(x, date)]
    if dates and len(dates) == len(xs):
        if len(dates) > 1 and all(not isinstance(d, datetime) and d.day == 1 for d in dates):
            return lambda d: d.strftime("%b %Y")
        if len({d.year for d in dates}) > 1:
            return lambda d: d.strftime("%d %b %Y")
        return lambda d: d.strftime("%d %b")
    return str


def _label_x(x: object, fmt, xs: list) -> str:
    return (fmt or _default_x_format(xs))(x)


def _number_format(ticks: list[float]) -> Callable[[Number], str]:
    step = abs(ticks[1] - ticks[0]) if len(ticks) > 1 else 1.0
    digits = 0 if step >= 1 else len(f"{step:.10f}".rstrip("0").split(".")[1])

    def fmt(value: Number) -> str:
        if isinstance(value, Decimal | int) and not isinstance(value, bool):
            return f"{value:,}"
        return f"{float(value):,.{digits}f}"

    return fmt


def _legend(series: Mapping[str, Points], kind: str, width: int, y: float) -> str:
    parts, x = [], LEFT
    for index, name in enumerate(series):
        colour, dash = COLOURS[index % len(COLOURS)], DASHES[index % len(DASHES)]
        if kind == "line":
            dashed = f' stroke-dasharray="{dash}"' if dash else ""
            mark = (
                f'<line x1="{x}" x2="{x + 22}" y1="{y - 4}" y2="{y - 4}" stroke="{colour}" '
                f'stroke-width="2.5"{dashed}/>'
            )
        else:
            mark = f'<rect x="{x + 6}" y="{y - 10}" width="12" height="12" fill="{colour}"/>'
        parts.append(f'{mark}<text x="{x + 28}" y="{y}">{escape(name)}</text>')
        x += 28 + 8 * len(name) + 24
    return f'<g class="legend">{"".join(parts)}</g>'


def _summary(series, xs, x_format) -> str:
    """The <desc>: each series' first and last point, for those who cannot see lines."""
    parts = []
    for name, points in series.items():
        if not points:
            continue
        (x0, v0), (x1, v1) = points[0], points[-1]
        parts.append(
            f"{name}: {v0} at {_label_x(x0, x_format, xs)}, {v1} at {_label_x(x1, x_format, xs)}"
            f" ({len(points)} points)"
        )
    return "; ".join(parts)


def _svg(title, series, xs, x_format, width, height, body, kind, extra=0) -> str:
    ident = f"chart-{next(_ids)}"
    legend_y = height + 10 + extra
    return (
        f'<svg class="chart" role="img" viewBox="0 0 {width} {legend_y + 8}" '
        f'width="{width}" height="{legend_y + 8}" aria-labelledby="{ident}-t {ident}-d" '
        f'font-family="inherit" font-size="12" fill="#2b3038">'
        f'<title id="{ident}-t">{escape(title)}</title>'
        f'<desc id="{ident}-d">{escape(_summary(series, xs, x_format))}</desc>'
        f"{''.join(body)}{_legend(series, kind, width, legend_y)}</svg>"
    )


def _empty(title: str, width: int, height: int) -> str:
    ident = f"chart-{next(_ids)}"
    return (
        f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" aria-labelledby="{ident}-t" font-family="inherit" font-size="14" '
        f'fill="#4a4f57"><title id="{ident}-t">{escape(title)}: no data yet</title>'
        f'<rect x="1" y="1" width="{width - 2}" height="{height - 2}" fill="none" '
        f'stroke="#d0d4da" stroke-dasharray="4 4"/><text x="{width / 2}" y="{height / 2}" '
        f'text-anchor="middle">No data yet for this period</text></svg>'
    )
