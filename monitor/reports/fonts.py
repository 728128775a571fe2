"""The CJK font every chart and page of the report is set in.

A report is no use to a press office with boxes (豆腐块) where the characters should be, so the
font is found before anything is drawn and a report that would miss glyphs says so. The font is
the file named by FENGHUO_REPORT_FONT, else the one fontconfig picks for simplified Chinese
(Debian's fonts-noto-cjk, which scripts/_system.sh and the Dockerfile install). Each report embeds
a subset holding only the characters it uses: the HTML stays self-contained and small.
"""

from __future__ import annotations

import functools

import io
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from fontTools import subset as font_subset
from fontTools.ttLib import TTFont

PROBE = "舆情预警监测报告"  # any font that has these is a Chinese font
INSTALL_HINT = (
    "install a Chinese font (Debian/Ubuntu: apt-get install fonts-noto-cjk) "
    "or set FENGHUO_REPORT_FONT to a .ttf/.otf/.ttc file"
)


class FontError(RuntimeError):
    pass


@dataclass(frozen=True)
class CjkFont:
    path: Path
    index: int  # face in a .ttc collection
    family: str
    codepoints: frozenset[int]

    def missing(self, text: str) -> list[str]:
        """Characters of text this font has no glyph for (whitespace and controls aside)."""
        return sorted({c for c in text if not c.isspace() and c.isprintable() and ord(c) not in self.codepoints})

    def subset(self, text: str, family: str | None = None) -> bytes:
        """An OpenType font with the glyphs of text only (plus ASCII), for embedding; renamed to
        family when given, so a chart library cannot confuse it with the installed full font."""
        # Bounding boxes are not recomputed over the subset (the full font's still bound it) and
        # hints are dropped (nothing here renders at screen sizes that need them): together they
        # halve the time a subset takes (measured on Noto Sans CJK, 900 characters: 5.6 s → 2.6 s).
        font = TTFont(self.path, fontNumber=self.index, recalcBBoxes=False)
        options = font_subset.Options()
        options.name_IDs = ["*"]
        options.notdef_outline = True
        options.layout_features = ["*"]
        options.hinting = False
        subsetter = font_subset.Subsetter(options)
        keep = {ord(c) for c in text} | set(range(0x20, 0x7F))
        subsetter.populate(unicodes=keep & self.codepoints)
        subsetter.subset(font)
        if family:
            for record in font["name"].names:
                if record.nameID in (1, 16):
                    record.string = family
                elif record.nameID in (4, 6):
                    record.string = family.replace(" ", "")
        out = io.BytesIO()
        font.save(out)
        return out.getvalue()


def _open(path: Path, index: int) -> CjkFont:
    try:
        font = TTFont(path, fontNumber=index, lazy=True)
    except Exception as error:  # fontTools raises many kinds for a file that is not a font
        raise FontError(f"{path}: not a usable font ({error}); {INSTALL_HINT}") from None
    codepoints = frozenset(font.getBestCmap() or {})
    family = font["name"].getBestFamilyName() or path.stem
    found = CjkFont(path, index, family, codepoints)
    if found.missing(PROBE):
        raise FontError(f"{path} ({family}) has no Chinese characters; {INSTALL_HINT}")
    return found


def _fontconfig_choice() -> tuple[Path, int] | None:
    if shutil.which("fc-match") is None:
        return None
    try:
        output = subprocess.run(
            ["fc-match", "--format=%{file}\n%{index}", "sans-serif:lang=zh-cn"],
            capture_output=True, text=True, timeout=10, check=True,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    file, _, index = output.partition("\n")
    return (Path(file), int(index or 0)) if file else None


def find_cjk_font(configured: Path | None = None) -> CjkFont:
    """The report font: the configured file, else fontconfig's choice for Chinese. Found once per
    process: asking fontconfig and reading a CJK font's character map cost 0.3–0.9 s, paid by
    every brief and review made on demand (bench/brief.py). Only a font found is kept, so one
    installed after a FontError is found by the next call."""
    return _find_cjk_font(configured)


@functools.cache
def _find_cjk_font(configured: Path | None) -> CjkFont:
    if configured is not None:
        if not configured.is_file():
            raise FontError(f"FENGHUO_REPORT_FONT: {configured} does not exist; {INSTALL_HINT}")
        return _open(configured, 0)
    choice = _fontconfig_choice()
    if choice is None:
        raise FontError(f"no font for Chinese text was found (fontconfig is missing); {INSTALL_HINT}")
    try:
        return _open(*choice)
    except FontError:
        raise FontError(f"no font for Chinese text is installed (fontconfig offers {choice[0]}); {INSTALL_HINT}") from None
