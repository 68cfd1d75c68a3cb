"""Detail-view pictures drawn with matplotlib from a cell's stored evidence (never re-sampled).

One small figure per random cell: the observed histogram over the counts the reference expects
(for 16-bit dtypes the exact pmf of the distribution rounded to the dtype), a QQ plot of sample vs
reference quantiles, and the tail / bound-mass counts against their expectation with a ±2√E band.
Written as a 4-bit PNG over a fixed 8-colour palette, without antialiasing (about 4 KB):
matplotlib's SVG of the same figure is 45 KB, an antialiased PNG 7 KB, and thousands of cells must
fit the committed reports' size budget (40 MB). The colours are explained by the page's caption.
"""

from __future__ import annotations

import io
import math
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no display; must precede pyplot
import matplotlib.pyplot as plt
from PIL import Image

DPI = 90
# white, black, the two series, the observed fill (blue at alpha 0.45 on white), greys
PALETTE = [(255, 255, 255), (0, 0, 0), (31, 95, 168), (157, 185, 218), (210, 105, 30),
           (128, 128, 128), (200, 200, 200), (60, 60, 60)]
matplotlib.rcParams.update({
    "font.size": 7, "axes.titlesize": 7.5, "axes.linewidth": 0.6,
    "xtick.major.width": 0.5, "ytick.major.width": 0.5, "lines.linewidth": 0.9,
    "path.simplify": True,
    # flat colours (no antialiasing, a fixed palette) compress 2x better; the legend is the
    # page's caption (the same for every figure), not pixels in each of thousands of PNGs
    "lines.antialiased": False, "patch.antialiased": False, "text.antialiased": False,
})
OBSERVED, EXPECTED = "#1f5fa8", "#d2691e"


def _title(ax: Any, text: str) -> None:
    # a plain text, not set_title: matplotlib re-measures the axis to place a title on every draw
    ax.text(0.5, 1.03, text, transform=ax.transAxes, ha="center", va="bottom", fontsize=7.5)


def _short(value: float) -> str:
    return f"{value:.3g}"


def _histogram(ax: Any, ev: dict[str, Any]) -> None:
    hist = ev["histogram"]
    lo, hi = hist["range"]
    bins = len(hist["observed"])
    width = (hi - lo) / bins
    edges = [lo + i * width for i in range(bins)] + [hi]
    # one path per series (not a rectangle per bin): the SVG stays small
    ax.stairs(hist["observed"], edges, fill=True, color=OBSERVED, alpha=0.45, label="observed")
    ax.stairs(hist["expected"], edges, color=EXPECTED,
              label="expected (exact pmf)" if ev["reference"] == "rounded" else "expected")
    outside = (f"outside: {hist['under'] + hist['over']} obs, "
               f"{_short(hist['under_expected'] + hist['over_expected'])} exp")
    _title(ax, f"histogram, {bins} bins ({outside})")
    ax.set_xlabel("value")
    ax.set_ylabel("count")


def _qq(ax: Any, ev: dict[str, Any]) -> None:
    q = ev["quantiles"]
    x, y = q["expected_z"], q["observed_z"]
    ax.plot(x, x, color=EXPECTED, linewidth=0.7)
    ax.plot(x, y, linestyle="none", marker="o", markersize=2, color=OBSERVED)
    _title(ax, f"QQ, {len(x)} quantiles (in σ of the reference)")
    ax.set_xlabel("reference quantile")
    ax.set_ylabel("sample quantile")


def _tails(ax: Any, ev: dict[str, Any]) -> None:
    rows = ev["tails"]
    _title(ax, "tail and bound counts")
    if not rows:
        ax.text(0.5, 0.5, "no tail checks", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return
    names = [r["check"] for r in rows]
    pos = range(len(rows))
    expected = [max(r["expected"], 0.0) for r in rows]
    band = [2 * math.sqrt(e) for e in expected]
    low = [min(b, e) for b, e in zip(band, expected, strict=True)]  # counts are >= 0
    ax.errorbar(pos, expected, yerr=[low, band], fmt="_", color=EXPECTED,
                markersize=10, capsize=3, label="expected ±2√E")
    ax.plot(pos, [r["observed"] for r in rows], linestyle="none", marker="o", markersize=3,
            color=OBSERVED, label="observed")
    top = max([1.0, *(r["observed"] for r in rows), *(e + b for e, b in zip(expected, band,
                                                                          strict=True))])
    ax.set_yscale("symlog", linthresh=1)
    ax.set_ylim(0, top * 4)  # fixed: autoscaling a tiny expectation prints offset garbage
    ax.set_xticks(list(pos), names, rotation=30, ha="right")
    ax.set_xlim(-0.6, len(rows) - 0.4)


class Painter:
    """One figure reused for every cell: building a figure costs more than drawing on it."""

    def __init__(self, caption_lines: int = 0) -> None:
        """``caption_lines``: room above the panels for a caption drawn into the picture (the
        audit's pictures stand alone; the site's have the page's caption and leave none)."""
        extra = 0.13 * caption_lines + (0.06 if caption_lines else 0.0)
        self.fig, self.axes = plt.subplots(1, 3, figsize=(8.0, 2.2 + extra),
                                           gridspec_kw={"width_ratios": [3, 2, 2]})
        # fixed margins (tight_layout per figure would dominate the time)
        height = 2.2 + extra
        self.fig.subplots_adjust(left=0.085, right=0.99, bottom=0.27 * 2.2 / height,
                                 top=1 - 0.1 * 2.2 / height - extra / height, wspace=0.3)
        self.caption = self.fig.text(0.01, 1 - 0.04 / height, "", ha="left", va="top",
                                     fontsize=7.5) if caption_lines else None
        self.palette = Image.new("P", (1, 1))
        self.palette.putpalette([v for colour in PALETTE for v in colour])

    def png(self, ev: dict[str, Any], caption: str = "") -> bytes:
        """The three panels of one cell's evidence as a small palette PNG (``caption`` above
        them, for a painter made with caption lines)."""
        if self.caption is not None:
            self.caption.set_text(caption)
        for ax in self.axes:
            ax.clear()
            ax.set_axis_on()
        _histogram(self.axes[0], ev)
        _qq(self.axes[1], ev)
        _tails(self.axes[2], ev)
        raw = io.BytesIO()
        self.fig.savefig(raw, format="png", dpi=DPI)
        image = Image.open(io.BytesIO(raw.getvalue())).convert("RGB")
        small = image.quantize(palette=self.palette, dither=Image.Dither.NONE)
        out = io.BytesIO()
        small.save(out, format="PNG", optimize=True, bits=4)
        return out.getvalue()

    def close(self) -> None:
        plt.close(self.fig)
