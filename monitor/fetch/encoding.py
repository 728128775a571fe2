"""Turn response bytes into text, trusting nobody blindly.

httpx decodes with the Content-Type charset alone; Chinese sites routinely send GBK bytes under a
``charset=utf-8`` header, or declare utf-8 in a template banner and gb2312 further down. So we try
the candidates in order of reliability and take the first under which the bytes really decode:

    outlet override → BOM → valid UTF-8 → HTTP header → <meta>/XML prolog (in order) → detection

gb2312 and gbk are decoded as gb18030 (their superset: pages labelled gb2312 use GBK characters),
big5 as big5hkscs, as browsers and w3lib do.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

import charset_normalizer

_SUPERSETS = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "gb_2312-80": "gb18030",
    "euc-cn": "gb18030",
    "big5": "big5hkscs",
    "cp950": "big5hkscs",
    "ascii": "utf-8",
    "us-ascii": "utf-8",
    "iso-8859-1": "cp1252",  # the WHATWG rule: latin-1 labels mean windows-1252
    "latin-1": "cp1252",
}

_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)

_DECLARATION = re.compile(
    rb"""<meta[^>]+charset\s*=\s*["']?\s*([a-zA-Z0-9_.:-]+)"""
    rb"""|<\?xml[^>]+encoding\s*=\s*["']([a-zA-Z0-9_.:-]+)""",
    re.IGNORECASE,
)
_HEADER_CHARSET = re.compile(r"charset\s*=\s*[\"']?([a-zA-Z0-9_.:-]+)", re.IGNORECASE)

# Real GBK pages carry the odd broken byte (truncated titles, pasted emoji); a candidate that
# fails strictly is still accepted if fewer than this share of characters are replaced.
_TOLERATED_ERRORS = 0.002


@dataclass(frozen=True)
class Decoded:
    text: str
    encoding: str  # the codec used, normalised (gb18030, utf-8, big5hkscs, ...)
    source: str  # what decided: override, bom, utf-8, header, declaration, detected, fallback


def normalise(label: str) -> str | None:
    label = label.strip().strip("\"'").lower()
    try:
        name = codecs.lookup(_SUPERSETS.get(label, label)).name
    except LookupError:
        return None
    return _SUPERSETS.get(name, name)


def header_charset(content_type: str | None) -> str | None:
    if not content_type:
        return None
    match = _HEADER_CHARSET.search(content_type)
    return match.group(1) if match else None


def declared_charsets(body: bytes, window: int = 8192) -> list[str]:
    """Charsets declared in <meta> tags or the XML prolog, in document order."""
    return [(m.group(1) or m.group(2)).decode("ascii") for m in _DECLARATION.finditer(body[:window])]


def decode_body(body: bytes, content_type: str | None = None, override: str | None = None) -> Decoded:
    if override:
        encoding = normalise(override) or override
        return Decoded(body.decode(encoding, errors="replace"), encoding, "override")

    for bom, encoding in _BOMS:
        if body.startswith(bom):
            return Decoded(body[len(bom):].decode(encoding, errors="replace"), encoding, "bom")

    # Valid UTF-8 is almost never accidental for non-ASCII text, so it outranks any label.
    try:
        return Decoded(body.decode("utf-8"), "utf-8", "utf-8")
    except UnicodeDecodeError:
        pass

    candidates: list[tuple[str, str]] = []
    if (label := header_charset(content_type)) is not None:
        candidates.append((label, "header"))
    candidates.extend((label, "declaration") for label in declared_charsets(body))
    for label, source in candidates:
        encoding = normalise(label)
        if encoding is None or encoding == "utf-8":  # utf-8 already failed above
            continue
        text = _decode_tolerantly(body, encoding)
        if text is not None:
            return Decoded(text, encoding, source)

    best = charset_normalizer.from_bytes(body).best()
    if best is not None and best.encoding:
        encoding = normalise(best.encoding) or best.encoding
        text = _decode_tolerantly(body, encoding)
        if text is not None:
            return Decoded(text, encoding, "detected")

    # Nothing fits: gb18030 can decode any byte sequence and is the likeliest for our sources.
    return Decoded(body.decode("gb18030", errors="replace"), "gb18030", "fallback")


def _decode_tolerantly(body: bytes, encoding: str) -> str | None:
    try:
        return body.decode(encoding)
    except UnicodeDecodeError:
        pass
    except LookupError:
        return None
    text = body.decode(encoding, errors="replace")
    if text.count("\ufffd") <= max(1, len(text) * _TOLERATED_ERRORS):
        return text
    return None
