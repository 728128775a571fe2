"""Bytes become the right text whatever the page claims about itself."""

import codecs
import time

import pytest

from monitor.fetch.encoding import decode_body, normalise
from tests.conftest import FIXTURES

PAGES = FIXTURES / "pages"
HEADLINE = "市民投诉供暖不达标，热力公司称正在排查管网故障"
HTML_TEMPLATE = "<html><head>{meta}<title>{title}</title></head><body><p>{body}</p></body></html>"


def page(encoding: str, meta: str = "", text: str = HEADLINE) -> bytes:
    return HTML_TEMPLATE.format(meta=meta, title=text, body=text * 5).encode(encoding)


@pytest.mark.parametrize(
    ("body", "content_type", "expected_encoding", "expected_source"),
    [
        # GBK bytes under a header that lies: the header cannot decode them, the <meta> can.
        (page("gbk", '<meta charset="gbk">'), "text/html; charset=utf-8", "gb18030", "declaration"),
        # GBK bytes with no header and no declaration: detection.
        (page("gbk"), "text/html", "gb18030", "detected"),
        # gb2312 label on GBK-only characters: decoded as the gb18030 superset.
        (page("gbk", text="镕基碁"), "text/html; charset=gb2312", "gb18030", "header"),
        # Big5 (Traditional Chinese) declared in the header.
        (page("big5", text="市民投訴供暖不達標，熱力公司稱正在排查"), "text/html; charset=big5",
         "big5hkscs", "header"),
        # A BOM wins over everything.
        (codecs.BOM_UTF8 + page("utf-8"), "text/html; charset=gbk", "utf-8", "bom"),
        # Valid UTF-8 under a GBK header (a common CMS migration leftover).
        (page("utf-8"), "text/html; charset=gbk", "utf-8", "utf-8"),
    ],
    ids=["gbk-wrong-header", "gbk-no-declaration", "gb2312-label", "big5", "bom", "utf8-under-gbk"],
)
def test_chinese_pages_decode_whatever_they_claim(body, content_type, expected_encoding, expected_source):
    decoded = decode_body(body, content_type)
    assert decoded.encoding == expected_encoding
    assert decoded.source == expected_source
    assert "\ufffd" not in decoded.text
    assert ("供暖" in decoded.text) or ("投訴" in decoded.text) or ("镕基碁" in decoded.text)


def test_real_gb2312_page_whose_first_declaration_says_utf8():
    body = (PAGES / "xinhuanet_gb2312_mixed_decl.html").read_bytes()
    decoded = decode_body(body, "text/html; charset=utf-8")
    assert decoded.encoding == "gb18030"
    assert "话剧《约定无期限》河北各市巡演结束" in decoded.text
    assert decoded.text.count("\ufffd") < 5


def test_real_gb2312_portal_with_missing_header_charset():
    decoded = decode_body((PAGES / "qq_homepage_gb2312.html").read_bytes(), "text/html")
    assert decoded.encoding == "gb18030"
    assert "腾讯" in decoded.text


def test_outlet_override_beats_everything():
    decoded = decode_body(page("gbk", '<meta charset="utf-8">'), "text/html; charset=utf-8", "GBK")
    assert (decoded.encoding, decoded.source) == ("gb18030", "override")
    assert HEADLINE in decoded.text


# -- only text encodings may be named (issue 18, item 1) ----------------------------------------

# punycode's decoder is quadratic: these bytes (an invalid UTF-8 byte, then one long "extended"
# run) took 120 s per 640 KB when the header's charset=punycode was obeyed.
PUNYCODE_BOMB = b"<html><head><title>t</title></head><body>\xff-" + b"abcdefgh" * (640 * 1024 // 8)


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("text/html; charset=punycode", PUNYCODE_BOMB),
        ("text/html", PUNYCODE_BOMB.replace(b"<head>", b'<head><meta charset="punycode">')),
        ("application/xml", b'<?xml version="1.0" encoding="punycode"?>' + PUNYCODE_BOMB),
    ],
    ids=["header", "meta", "xml-prolog"],
)
def test_a_declared_punycode_charset_is_ignored_and_the_body_decoded_as_text(content_type, body):
    started = time.monotonic()
    decoded = decode_body(body, content_type)
    assert decoded.encoding != "punycode"
    assert decoded.source in ("detected", "fallback")
    assert decoded.ignored and "punycode" in decoded.ignored[0]
    assert "abcdefgh" * 100 in decoded.text  # the body is there, as text
    assert time.monotonic() - started < 20  # loose: the quadratic decoder took minutes


@pytest.mark.parametrize(
    "label",
    ["punycode", "idna", "rot13", "rot_13", "base64", "zlib", "uu", "utf-7", "hex", "bz2", "quopri",
     "unicode_escape", "raw_unicode_escape", "hz", "undefined", "no-such-codec"],
)
def test_labels_that_are_not_text_encodings_count_as_absent(label):
    assert normalise(label) is None
    body = page("gbk", f'<meta charset="{label}">') + b"\xff"
    decoded = decode_body(body, f"text/html; charset={label}")
    assert decoded.encoding == "gb18030"
    assert decoded.ignored == (f"header: {label!r}", f"declaration: {label!r}")
    assert HEADLINE in decoded.text


def test_a_non_text_outlet_override_is_ignored_too():
    decoded = decode_body(page("gbk"), "text/html; charset=gbk", override="rot13")
    assert (decoded.encoding, decoded.source) == ("gb18030", "header")
    assert decoded.ignored == ("outlet override: 'rot13'",)


@pytest.mark.parametrize(
    ("label", "codec"),
    [
        # Each family the allow-list keeps, by its usual label and a WHATWG alias.
        ("UTF-8", "utf-8"), ("unicode-1-1-utf-8", "utf-8"), ("utf-16le", "utf-16-le"),
        ("utf-32be", "utf-32-be"), ("GB2312", "gb18030"), ("x-gbk", "gb18030"),
        ("chinese", "gb18030"), ("GB18030", "gb18030"), ("Big5", "big5hkscs"),
        ("big5-hkscs", "big5hkscs"), ("Shift_JIS", "cp932"), ("windows-31j", "cp932"),
        ("x-sjis", "cp932"), ("EUC-JP", "euc_jp"), ("EUC-KR", "cp949"),
        ("ks_c_5601-1987", "cp949"), ("ISO-2022-JP", "iso2022_jp"), ("iso-8859-1", "cp1252"),
        ("us-ascii", "cp1252"), ("ISO-8859-5", "iso8859-5"), ("iso-8859-9", "cp1254"),
        ("windows-1251", "cp1251"), ("x-cp1250", "cp1250"), ("KOI8-R", "koi8-r"),
        ("koi8-ru", "koi8-u"), ("tis-620", "cp874"), ("ibm866", "cp866"),
        ("macintosh", "mac-roman"),
    ],
)
def test_text_encodings_and_their_whatwg_aliases_are_accepted(label, codec):
    assert normalise(label) == codec
