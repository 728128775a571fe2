"""Canonical URLs and content fingerprints: how one story seen twice is recognised as one item.

A neutral module: the fetcher computes these when it stores an item, the item and hot-list stores
when they look one up, so it belongs to neither (storage imports nothing from fetch).
"""

from __future__ import annotations

import hashlib
import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from w3lib.url import canonicalize_url

# Parameters that say who shared a link, not what it links to. Dropping them makes the same
# article shared from WeChat, Weibo and a newsletter one URL.
TRACKING_PARAMETERS = frozenset(
    {
        "spm", "from", "isappinstalled", "scene", "srcid", "clicktime", "enterid", "wfr",
        "share_token", "share_source", "sharer_shareid", "sharer_sharetime", "share_from",
        "fbclid", "gclid", "yclid", "msclkid", "mc_cid", "mc_eid", "_hsenc", "_hsmi",
        "ref", "ref_src", "s_trackid", "timestamp", "_t", "xtrack",
    }
)
_TRACKING_PREFIXES = ("utm_", "pk_", "mtm_")


def canonical_url(url: str) -> str:
    parts = urlsplit(url.strip())
    query = [
        (name, value)
        for name, value in parse_qsl(parts.query, keep_blank_values=True)
        if name.lower() not in TRACKING_PARAMETERS and not name.lower().startswith(_TRACKING_PREFIXES)
    ]
    cleaned = urlunsplit(
        (parts.scheme.lower(), parts.netloc.lower(), parts.path or "/", urlencode(query), "")
    )
    # w3lib sorts the query, normalises percent-encoding and drops the fragment, as scrapy does.
    return canonicalize_url(cleaned, keep_fragments=False)


def url_hash(canonical: str) -> str:
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


_SPACE = re.compile(r"\s+")


def content_hash(title: str, text: str, canonical: str) -> str:
    """Fingerprint of what was said. Without body text a title alone is too weak (daily columns
    reuse titles), so the URL joins in."""
    body = _SPACE.sub(" ", text).strip()
    basis = f"{_SPACE.sub(' ', title).strip()}\n{body}" if body else f"{title}\n{canonical}"
    return hashlib.sha256(basis.encode("utf-8")).hexdigest()


_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_LATIN = re.compile(r"[A-Za-z]")


def script_language(text: str) -> str:
    """zh, en or und by script share: enough to route text to the Chinese analyser or not."""
    sample = text[:2000]
    cjk = len(_CJK.findall(sample))
    latin = len(_LATIN.findall(sample))
    if cjk == 0 and latin == 0:
        return "und"
    return "zh" if cjk * 3 >= latin else "en"  # a CJK character carries a word's worth
