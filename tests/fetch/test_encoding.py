"""Bytes become the right text whatever the page claims about itself."""

import codecs

import pytest

from monitor.fetch.encoding import decode_body
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
