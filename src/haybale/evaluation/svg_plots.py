"""Small, dependency-free SVG charts for evaluation reports: score histograms and blame bars.

The SVG is self-contained text, so the same chart is inlined in the HTML report and saved next to the
Markdown report as a file it links to.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape

__all__ = ["bar_chart_svg", "histogram_svg"]

_PALETTE = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#9c755f")
_FONT = 'font-family="system-ui, sans-serif" font-size="11"'


def _bins(values: Sequence[float], bins: int) -> list[int]:
    counts = [0] * bins
    for value in values:
        counts[min(bins - 1, max(0, int(value * bins)))] += 1
    return counts


def histogram_svg(title: str, series: Mapping[str, Sequence[float]], bins: int = 10) -> str:
    """Grouped histogram of scores in [0, 1], one colour per series (metric), ``bins`` equal-width bins."""
    width, height, left, bottom, top = 520, 220, 40, 40, 28
    plot_w, plot_h = width - left - 10, height - top - bottom
    counted = {name: _bins(values, bins) for name, values in series.items()}
    peak = max((c for counts in counted.values() for c in counts), default=0) or 1
    group_w = plot_w / bins
    bar_w = max(1.0, (group_w - 4) / max(1, len(counted)))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height + 18 * len(counted)}" '
        f'role="img" aria-label="{escape(title)}">',
        f'<text x="{left}" y="16" {_FONT} font-weight="bold">{escape(title)}</text>',
        f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" stroke="#888"/>',
        f'<line x1="{left}" y1="{top}" x2="{left}" y2="{top + plot_h}" stroke="#888"/>',
        f'<text x="{left - 6}" y="{top + 4}" {_FONT} text-anchor="end">{peak}</text>',
        f'<text x="{left - 6}" y="{top + plot_h}" {_FONT} text-anchor="end">0</text>',
    ]
    for b in range(bins + 1):
        x = left + b * group_w
        if b % 2 == 0:
            parts.append(
                f'<text x="{x:.1f}" y="{top + plot_h + 14}" {_FONT} text-anchor="middle">{b / bins:g}</text>'
            )
    for s, (name, counts) in enumerate(counted.items()):
        color = _PALETTE[s % len(_PALETTE)]
        for b, count in enumerate(counts):
            if not count:
                continue
            h = plot_h * count / peak
            x = left + b * group_w + 2 + s * bar_w
            parts.append(
                f'<rect x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{bar_w:.1f}" height="{h:.1f}" '
                f'fill="{color}"><title>{escape(name)}: {count} rows in '
                f"[{b / bins:g}, {(b + 1) / bins:g})</title></rect>"
            )
        y = height + 18 * s + 4
        parts.append(f'<rect x="{left}" y="{y - 9}" width="10" height="10" fill="{color}"/>')
        parts.append(f'<text x="{left + 16}" y="{y}" {_FONT}>{escape(name)} ({sum(counts)} rows)</text>')
    parts.append(
        f'<text x="{left + plot_w / 2}" y="{top + plot_h + 30}" {_FONT} text-anchor="middle">score</text>'
    )
    parts.append("</svg>")
    return "\n".join(parts)


def bar_chart_svg(title: str, counts: Mapping[str, int]) -> str:
    """Horizontal bars, largest first, labelled with count and share."""
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    total = sum(counts.values()) or 1
    peak = max(counts.values(), default=0) or 1
    row_h, left, width = 24, 160, 520
    height = 30 + row_h * len(ordered)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
        f'aria-label="{escape(title)}">',
        f'<text x="4" y="16" {_FONT} font-weight="bold">{escape(title)}</text>',
    ]
    for i, (label, count) in enumerate(ordered):
        y = 26 + i * row_h
        w = (width - left - 90) * count / peak
        parts.append(f'<text x="{left - 6}" y="{y + 13}" {_FONT} text-anchor="end">{escape(label)}</text>')
        parts.append(f'<rect x="{left}" y="{y}" width="{w:.1f}" height="{row_h - 6}" fill="{_PALETTE[3]}"/>')
        parts.append(
            f'<text x="{left + w + 6:.1f}" y="{y + 13}" {_FONT}>{count} ({count / total:.0%})</text>'
        )
    parts.append("</svg>")
    return "\n".join(parts)
