"""Charts for console pages: billing.charts' inline SVG (the same drawing as billing's
printable statement), marked safe for the templates. See billing.charts for what a
chart shows and the arguments.

    line_chart("Wallet balance", {"Balance": [(date(2026, 1, 1), 1200), ...]}, y_label="tokens")
    bar_chart("Usage by month", {"Renders": [("2026-01", 14), ...]})
"""

from __future__ import annotations

from functools import wraps

from markupsafe import Markup

from billing import charts
from billing.charts import COLOURS, DASHES, nice_ticks

__all__ = ["COLOURS", "DASHES", "bar_chart", "line_chart", "nice_ticks"]


@wraps(charts.line_chart)
def line_chart(*args, **kwargs) -> Markup:
    return Markup(charts.line_chart(*args, **kwargs))


@wraps(charts.bar_chart)
def bar_chart(*args, **kwargs) -> Markup:
    return Markup(charts.bar_chart(*args, **kwargs))
