"""The report's charts, drawn by matplotlib as SVG with every letter turned into outlines: the
picture needs no font wherever it is opened, and the HTML that embeds it stays self-contained.

Printed reports are often photocopied in black and white, so the series differ in lightness and in
hatching as well as in colour.
"""

from __future__ import annotations

import atexit
import io
import os
import tempfile
import threading
import uuid
import warnings
from contextlib import contextmanager

import matplotlib

matplotlib.use("Agg")  # no screen on a server; must precede pyplot

import matplotlib.pyplot as plt  # noqa: E402
from matplotlib import font_manager  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from monitor.events.levels import LEVELS  # noqa: E402
from monitor.reports.fonts import CjkFont  # noqa: E402

# Colour, then lightness order for grayscale: blue (mid), yellow (light), orange (mid-light), red (dark).
LEVEL_STYLE = {
    "blue": ("#3b78c2", "//"),
    "yellow": ("#f5d000", ""),
    "orange": ("#f08a24", ".."),
    "red": ("#b5171b", "xx"),
}
TONE_STYLE = {"positive": ("#9ecae1", ""), "neutral": ("#d9d9d9", ""), "negative": ("#b5171b", "//")}
TONE_LABELS = {"positive": "正面", "neutral": "中性", "negative": "负面"}
WIDTH_INCHES = 7.0


class MissingGlyph(RuntimeError):
    pass


def report_font(font: CjkFont, text: str) -> tuple[str, bytes]:
    """A subset of font holding text's characters, under a family name of its own (so matplotlib
    cannot confuse it with the installed full font): (family, OpenType bytes)."""
    family = f"FenghuoReport{uuid.uuid4().hex[:8]}"
    return family, font.subset(text, family=family)


@contextmanager
def chart_font(family: str, font_bytes: bytes):
    """Make matplotlib draw with the report font; a glyph it still cannot find becomes an error,
    not a box in the picture."""
    handle, path = tempfile.mkstemp(suffix=".otf")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(font_bytes)
        font_manager.fontManager.addfont(path)
        with drawing_with(family):
            yield
    finally:
        os.unlink(path)


_LASTING: dict[tuple[CjkFont, str], str] = {}
_LASTING_LOCK = threading.Lock()


def lasting_font(font: CjkFont, text: str) -> str:
    """A subset of font for text, registered with matplotlib for the life of the process; for
    charts whose characters are a closed set, drawn again and again (the event brief's). Making a
    subset of a CJK collection takes seconds, mostly reading the font; drawing with it, none."""
    key = (font, text)
    with _LASTING_LOCK:
        if key not in _LASTING:
            family, font_bytes = report_font(font, text)
            handle, path = tempfile.mkstemp(suffix=".otf", prefix="fenghuo-chart-")
            with os.fdopen(handle, "wb") as out:
                out.write(font_bytes)
            font_manager.fontManager.addfont(path)
            atexit.register(_remove, path)
            _LASTING[key] = family
        return _LASTING[key]


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


@contextmanager
def drawing_with(family: str):
    params = {"font.family": [family], "svg.fonttype": "path", "axes.unicode_minus": False,
              "hatch.linewidth": 0.6, "font.size": 9}
    with matplotlib.rc_context(params), warnings.catch_warnings():
        warnings.filterwarnings("error", message=r".*[Gg]lyph.*missing", category=UserWarning)
        try:
            yield
        except UserWarning as warning:
            raise MissingGlyph(str(warning)) from None


def _svg(figure) -> str:
    out = io.StringIO()
    figure.savefig(out, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(figure)
    # Each chart goes into the page as an <img> of its own: ids inside one picture cannot
    # clash with another's, and the PDF engine draws it with its SVG renderer.
    return out.getvalue()


def daily_volume(daily: list[dict]) -> str:
    figure, axes = plt.subplots(figsize=(WIDTH_INCHES, 2.8))
    labels = [f"{row['day'][5:7]}-{row['day'][8:10]}" for row in daily]
    bottom = [0] * len(daily)
    for tone_name in ("negative", "neutral", "positive"):
        values = [row[tone_name] for row in daily]
        colour, hatch = TONE_STYLE[tone_name]
        axes.bar(labels, values, bottom=bottom, color=colour, hatch=hatch, edgecolor="#333333",
                 linewidth=0.5, label=TONE_LABELS[tone_name])
        bottom = [b + v for b, v in zip(bottom, values)]
    axes.set_ylabel("涉我信息（条）")
    axes.set_title("每日涉我信息量（按倾向）")
    axes.legend(ncols=3, frameon=False, loc="upper left")
    axes.spines[["top", "right"]].set_visible(False)
    axes.set_ylim(0, max(bottom + [1]) * 1.25)
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))  # counts, never 0.5 of an item
    return _svg(figure)


def level_distribution(events_by_level: dict, alerts_by_level: dict, labels: dict[str, str]) -> str:
    figure, axes = plt.subplots(figsize=(WIDTH_INCHES, 2.4))
    names = [labels[level] for level in LEVELS]
    positions = range(len(LEVELS))
    for offset, (series, title) in enumerate(((events_by_level, "事件（最高级别）"), (alerts_by_level, "预警次数"))):
        for position, level in zip(positions, LEVELS):
            colour, hatch = LEVEL_STYLE[level]
            axes.barh(position + (offset - 0.5) * 0.38, series.get(level, 0), height=0.36, color=colour,
                      hatch=hatch if offset == 0 else "", edgecolor="#333333", linewidth=0.5,
                      alpha=1.0 if offset == 0 else 0.55)
            axes.text(series.get(level, 0), position + (offset - 0.5) * 0.38, f" {series.get(level, 0)} {title}",
                      va="center", fontsize=7.5)
    axes.set_yticks(list(positions), names)
    axes.set_title("预警级别分布")
    axes.spines[["top", "right"]].set_visible(False)
    axes.set_xlim(0, max([*events_by_level.values(), *alerts_by_level.values(), 1]) * 1.6)
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    return _svg(figure)


def ranking(rows: list[dict], title: str, unit: str, limit: int = 10) -> str:
    """A horizontal bar per row (name, items, negative), the negative part hatched and dark."""
    rows = rows[:limit]
    figure, axes = plt.subplots(figsize=(WIDTH_INCHES, 0.35 * max(len(rows), 2) + 0.9))
    names = [row["name"] for row in rows][::-1]
    totals = [row["items"] for row in rows][::-1]
    negatives = [row.get("negative", 0) for row in rows][::-1]
    colour, hatch = TONE_STYLE["negative"]
    axes.barh(names, totals, color="#9ecae1", edgecolor="#333333", linewidth=0.5, label="全部")
    if any(negatives):
        axes.barh(names, negatives, color=colour, hatch=hatch, edgecolor="#333333", linewidth=0.5, label="负面")
        axes.legend(frameon=False, loc="lower right")
    axes.set_xlabel(unit)
    axes.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes.set_title(title)
    axes.spines[["top", "right"]].set_visible(False)
    return _svg(figure)


TIER_ORDER = ("forum", "social", "self_media", "industry_media", "local_media", "government", "central_media")
TIER_COLOURS = {"forum": "#c6dbef", "social": "#9ecae1", "self_media": "#6baed6", "industry_media": "#fdd0a2",
                "local_media": "#fd8d3c", "government": "#a1d99b", "central_media": "#b5171b"}


def tier_spread(timeline: list[dict], tier_labels: dict[str, str], interval_minutes: int,
                image_format: str = "svg") -> str | bytes:
    """One story's items per interval, stacked by tier in the order a story usually travels
    (forum → … → central media); SVG for pages, PNG for Word, which cannot show SVG."""
    figure, axes = plt.subplots(figsize=(WIDTH_INCHES, 2.6))
    labels = [row["start"][5:] for row in timeline]
    positions = list(range(len(timeline)))
    bottom = [0] * len(timeline)
    for tier in [t for t in TIER_ORDER if t in tier_labels] + [t for t in tier_labels if t not in TIER_ORDER]:
        values = [row["by_tier"].get(tier, 0) for row in timeline]
        axes.bar(positions, values, bottom=bottom, color=TIER_COLOURS.get(tier, "#d9d9d9"), edgecolor="#333333",
                 linewidth=0.5, label=tier_labels[tier])
        bottom = [b + v for b, v in zip(bottom, values)]
    step = max(1, len(labels) // 8)
    axes.set_xticks(positions[::step], labels[::step], fontsize=7)
    axes.set_ylabel(f"信息（条/{interval_minutes}分钟）")
    axes.set_title("传播趋势（按传播层级）")
    axes.legend(ncols=4, frameon=False, loc="upper left", fontsize=7)
    axes.spines[["top", "right"]].set_visible(False)
    axes.set_ylim(0, max(bottom + [1]) * 1.35)
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    if image_format == "svg":
        return _svg(figure)
    out = io.BytesIO()
    figure.savefig(out, format="png", dpi=160, bbox_inches="tight")
    plt.close(figure)
    return out.getvalue()


VOLUME_WORDS = "每小时声量与常态区间：声量（条/小时）常态区间异常小时"


def volume_band(volume: dict, zone) -> str:
    """A keyword group's hourly volume over the week as bars, over its baseline band (expected to
    the upper bound, from the same model as the volume alerts), the anomalous hours dark and hatched."""
    from datetime import datetime

    figure, axes = plt.subplots(figsize=(WIDTH_INCHES, 2.4))
    hours = volume["hours"]
    positions = list(range(len(hours)))
    expected = [h["expected"] for h in hours]
    upper = [h["upper"] for h in hours]
    axes.fill_between(positions, expected, upper, step="mid", color="#cfe3f7", linewidth=0, label="常态区间")
    axes.step(positions, expected, where="mid", color="#3b78c2", linewidth=0.8)
    colour, hatch = TONE_STYLE["negative"]
    usual = [i for i, h in enumerate(hours) if not h["anomaly"]]
    axes.bar(usual, [hours[i]["count"] for i in usual], width=0.8, color="#777777", linewidth=0, label="声量（条/小时）")
    loud = [i for i, h in enumerate(hours) if h["anomaly"]]
    if loud:
        axes.bar(loud, [hours[i]["count"] for i in loud], width=0.8, color=colour, hatch=hatch, edgecolor="#333333",
                 linewidth=0.4, label=f"异常小时 {len(loud)}")
    days = [i for i, h in enumerate(hours) if datetime.fromisoformat(h["hour"]).astimezone(zone).hour == 0]
    axes.set_xticks(days, [datetime.fromisoformat(hours[i]["hour"]).astimezone(zone).strftime("%m-%d") for i in days])
    axes.set_title(f"每小时声量与常态区间：{volume['name']}")
    axes.set_ylabel("声量（条/小时）")
    axes.legend(ncols=3, frameon=False, loc="upper left", fontsize=7.5)
    axes.spines[["top", "right"]].set_visible(False)
    axes.set_xlim(-0.5, len(hours) - 0.5)
    axes.set_ylim(0, max([1, *upper, *(h["count"] for h in hours)]) * 1.3)
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    return _svg(figure)
