"""Turn response bytes into text, trusting nobody blindly.

httpx decodes with the Content-Type charset alone; Chinese sites routinely send GBK bytes under a
``charset=utf-8`` header, or declare utf-8 in a template banner and gb2312 further down. So we try
the candidates in order of reliability and take the first under which the bytes really decode:

    outlet override → BOM → valid UTF-8 → HTTP header → <meta>/XML prolog (in order) → detection

gb2312 and gbk are decoded as gb18030 (their superset: pages labelled gb2312 use GBK characters),
big5 as big5hkscs, as browsers and w3lib do. Only text encodings may be named (see _TEXT_CODECS);
any other label counts as absent and is reported in ``Decoded.ignored``.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

import charset_normalizer

# A charset label comes from the remote server, so it picks the code that runs on the body: only
# text encodings may be named. Python knows codecs that are not text encodings at all (punycode,
# idna, rot13, base64, zlib, uu, ...), some of them quadratic (640 KB of punycode took 120 s);
# utf-7 is a classic filter-evasion trick that no browser decodes any more. These are the
# encodings the WHATWG Encoding Standard defines (what browsers accept), as Python codec names.
_TEXT_CODECS = frozenset(
    {
        "utf-8", "utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le", "utf-32-be",
        "gb18030", "big5hkscs", "cp932", "shift_jis_2004", "shift_jisx0213", "euc_jp",
        "euc_jis_2004", "euc_jisx0213", "cp949", "iso2022_jp", "koi8-r", "koi8-u", "cp866",
        "cp874", "mac-roman", "mac-cyrillic",
    }
    | {f"iso8859-{n}" for n in (2, 3, 4, 5, 6, 7, 8, 10, 13, 14, 15, 16)}
    | {f"cp{n}" for n in range(1250, 1259)}
)

# Labels browsers accept (WHATWG) that Python does not know, or knows as something else.
_WHATWG_LABELS = {
    **dict.fromkeys(
        ("unicode-1-1-utf-8", "unicode11utf8", "unicode20utf8", "x-unicode20utf8", "utf8"), "utf-8"
    ),
    **dict.fromkeys(
        ("unicode", "csunicode", "iso-10646-ucs-2", "ucs-2", "unicodefeff"), "utf-16-le"
    ),
    "unicodefffe": "utf-16-be",
    **dict.fromkeys(
        ("chinese", "csgb2312", "csiso58gb231280", "gb_2312", "gb_2312-80", "iso-ir-58", "x-gbk",
         "euc-cn"), "gb18030",
    ),
    **dict.fromkeys(("big5-hkscs", "cn-big5", "csbig5", "x-x-big5"), "big5hkscs"),
    **dict.fromkeys(("cseucpkdfmtjapanese", "x-euc-jp"), "euc_jp"),
    "csiso2022jp": "iso2022_jp",
    **dict.fromkeys(
        ("csshiftjis", "ms932", "ms_kanji", "shift-jis", "sjis", "windows-31j", "x-sjis"), "cp932"
    ),
    **dict.fromkeys(
        ("cseuckr", "csksc56011987", "iso-ir-149", "korean", "ks_c_5601-1987", "ks_c_5601-1989",
         "ksc5601", "ksc_5601", "windows-949"), "cp949",
    ),
    **dict.fromkeys(
        ("ansi_x3.4-1968", "ascii", "us-ascii", "cp819", "csisolatin1", "ibm819", "iso-8859-1",
         "iso-ir-100", "iso8859-1", "iso88591", "iso_8859-1", "iso_8859-1:1987", "l1", "latin1",
         "latin-1", "x-cp1252"), "cp1252",
    ),
    **{f"x-cp{n}": f"cp{n}" for n in range(1250, 1259)},
    **dict.fromkeys(
        ("csisolatin5", "iso-8859-9", "iso-ir-148", "iso8859-9", "iso88599", "iso_8859-9",
         "iso_8859-9:1989", "l5", "latin5"), "cp1254",
    ),
    **dict.fromkeys(("dos-874", "iso-8859-11", "iso8859-11", "iso885911", "tis-620", "windows-874"),
                    "cp874"),
    **dict.fromkeys(("csiso88598i", "iso-8859-8-i", "logical", "visual"), "iso8859-8"),
    **dict.fromkeys(("cskoi8r", "koi", "koi8", "koi8_r"), "koi8-r"),
    "koi8-ru": "koi8-u",
    **dict.fromkeys(("866", "csibm866", "ibm866"), "cp866"),
    **dict.fromkeys(("csmacintosh", "mac", "macintosh", "x-mac-roman"), "mac-roman"),
    **dict.fromkeys(("x-mac-cyrillic", "x-mac-ukrainian"), "mac-cyrillic"),
}

# Pages labelled gb2312 use GBK characters, big5 pages HKSCS ones, and so on: browsers decode each
# label with its superset, and so do we. (Keys are Python codec names.)
_SUPERSETS = {
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "big5": "big5hkscs",
    "cp950": "big5hkscs",
    "shift_jis": "cp932",
    "euc_kr": "cp949",
    "ascii": "utf-8",
    "utf-8-sig": "utf-8",
    "iso8859-1": "cp1252",  # the WHATWG rule: latin-1 labels mean windows-1252
    "iso8859-9": "cp1254",
    "iso8859-11": "cp874",
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
    # Labels named by the outlet, header or document that are not text encodings, so were
    # treated as absent: ("header: 'punycode'", ...). The caller reports them.
    ignored: tuple[str, ...] = ()


def normalise(label: str) -> str | None:
    """The codec for a charset label, or None unless it names a text encoding we accept."""
    label = label.strip().strip("\"'").lower()
    label = _WHATWG_LABELS.get(label, label)
    try:
        name = codecs.lookup(label).name
    except LookupError:
        return None
    name = _SUPERSETS.get(name, name)
    return name if name in _TEXT_CODECS else None


def header_charset(content_type: str | None) -> str | None:
    if not content_type:
        return None
    match = _HEADER_CHARSET.search(content_type)
    return match.group(1) if match else None


def declared_charsets(body: bytes, window: int = 8192) -> list[str]:
    """Charsets declared in <meta> tags or the XML prolog, in document order."""
    return [(m.group(1) or m.group(2)).decode("ascii") for m in _DECLARATION.finditer(body[:window])]


def decode_body(body: bytes, content_type: str | None = None, override: str | None = None) -> Decoded:
    ignored: list[str] = []
    if override:
        encoding = normalise(override)
        if encoding is not None:
            return Decoded(body.decode(encoding, errors="replace"), encoding, "override")
        ignored.append(f"outlet override: {override!r}")

    for bom, encoding in _BOMS:
        if body.startswith(bom):
            text = body[len(bom):].decode(encoding, errors="replace")
            return Decoded(text, encoding, "bom", tuple(ignored))

    # Valid UTF-8 is almost never accidental for non-ASCII text, so it outranks any label.
    try:
        return Decoded(body.decode("utf-8"), "utf-8", "utf-8", tuple(ignored))
    except UnicodeDecodeError:
        pass

    candidates: list[tuple[str, str]] = []
    if (label := header_charset(content_type)) is not None:
        candidates.append((label, "header"))
    candidates.extend((label, "declaration") for label in declared_charsets(body))
    for label, source in candidates:
        encoding = normalise(label)
        if encoding is None:
            ignored.append(f"{source}: {label!r}")
            continue
        if encoding == "utf-8":  # utf-8 already failed above
            continue
        text = _decode_tolerantly(body, encoding)
        if text is not None:
            return Decoded(text, encoding, source, tuple(ignored))

    best = charset_normalizer.from_bytes(body).best()
    if best is not None and best.encoding:
        encoding = normalise(best.encoding)  # None for a guess such as utf_7
        text = _decode_tolerantly(body, encoding) if encoding else None
        if text is not None:
            return Decoded(text, encoding, "detected", tuple(ignored))

    # Nothing fits: gb18030 can decode any byte sequence and is the likeliest for our sources.
    return Decoded(body.decode("gb18030", errors="replace"), "gb18030", "fallback", tuple(ignored))


def _decode_tolerantly(body: bytes, encoding: str) -> str | None:
    try:
        return body.decode(encoding)
    except UnicodeDecodeError:
        pass
    text = body.decode(encoding, errors="replace")
    if text.count("\ufffd") <= max(1, len(text) * _TOLERATED_ERRORS):
        return text
    return None
