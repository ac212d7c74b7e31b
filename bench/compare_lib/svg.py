"""Latency plots written by hand: grouped bars of p50/p90/p99/p99.9 per server, log scale."""

import html
import math

from .statistics import PERCENTILES

WIDTH, HEIGHT = 640, 360
MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 70, 20, 40, 60
COLOURS = ("#1f6feb", "#d1495b", "#2a9d8f", "#e9c46a")
BAR_GAP = 4


def latency_plot(title, series):
    """series: [(server label, {percentile label: milliseconds})]; returns the SVG text."""
    values = [value for _, latencies in series for value in latencies.values() if value and value > 0]
    if not values:
        return None
    low_decade = math.floor(math.log10(min(values)))
    high_decade = math.ceil(math.log10(max(values)))
    if high_decade == low_decade:
        high_decade += 1
    plot = Plot(low_decade, high_decade)
    parts = [header(title), plot.axis()]
    group_width = plot.width / len(PERCENTILES)
    bar_width = (group_width - 3 * BAR_GAP * 2) / max(1, len(series))
    for group, (label, _) in enumerate(PERCENTILES):
        group_left = MARGIN_LEFT + group * group_width + BAR_GAP * 3
        for index, (_, latencies) in enumerate(series):
            value = latencies.get(label)
            if value:
                colour = COLOURS[index % len(COLOURS)]
                parts.append(plot.bar(group_left + index * bar_width, bar_width - BAR_GAP, value, colour))
        parts.append(text(MARGIN_LEFT + (group + 0.5) * group_width, HEIGHT - MARGIN_BOTTOM + 18, label, "middle"))
    parts.append(legend(series))
    parts.append("</svg>\n")
    return "".join(parts)


class Plot:
    def __init__(self, low_decade, high_decade):
        self.low, self.high = low_decade, high_decade
        self.width = WIDTH - MARGIN_LEFT - MARGIN_RIGHT
        self.height = HEIGHT - MARGIN_TOP - MARGIN_BOTTOM

    def y(self, value):
        fraction = (math.log10(value) - self.low) / (self.high - self.low)
        return MARGIN_TOP + self.height * (1 - fraction)

    def axis(self):
        parts = []
        for decade in range(self.low, self.high + 1):
            y = self.y(10 ** decade)
            right = WIDTH - MARGIN_RIGHT
            parts.append(f'<line x1="{MARGIN_LEFT}" y1="{y:.1f}" x2="{right}" y2="{y:.1f}" stroke="#ddd"/>')
            parts.append(text(MARGIN_LEFT - 6, y + 4, format_ms(10 ** decade), "end"))
        middle = MARGIN_TOP + self.height / 2
        rotation = f'transform="rotate(-90 16 {middle:.1f})"'
        parts.append(text(16, middle, "latency (ms, log)", "middle", rotation))
        return "".join(parts)

    def bar(self, x, width, value, colour):
        top = self.y(max(value, 10 ** self.low))
        bottom = MARGIN_TOP + self.height
        return (
            f'<rect x="{x:.1f}" y="{top:.1f}" width="{width:.1f}" height="{bottom - top:.1f}" fill="{colour}">'
            f"<title>{format_ms(value)} ms</title></rect>"
            + text(x + width / 2, top - 3, format_ms(value), "middle", 'font-size="9"')
        )


def header(title):
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="11">'
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="white"/>'
        + text(WIDTH / 2, 20, title, "middle", 'font-size="12" font-weight="bold"')
    )


def legend(series):
    parts = []
    x = MARGIN_LEFT
    y = HEIGHT - 18
    for index, (label, _) in enumerate(series):
        parts.append(f'<rect x="{x}" y="{y - 9}" width="10" height="10" fill="{COLOURS[index % len(COLOURS)]}"/>')
        parts.append(text(x + 14, y, label, "start"))
        x += 14 + 7 * len(label) + 20
    return "".join(parts)


def text(x, y, content, anchor, extra=""):
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" {extra}>{html.escape(str(content))}</text>'


def format_ms(value):
    if value >= 100:
        return f"{value:.0f}"
    if value >= 1:
        return f"{value:.1f}".rstrip("0").rstrip(".")
    return f"{value:.2g}"
