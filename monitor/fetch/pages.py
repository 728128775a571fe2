"""HTML list pages and article pages, with selectolax (lexbor).

Per-outlet CSS selectors win when configured. Without them a generic extractor does what works
on most Chinese news sites: headline-length links on the same site for list pages; for articles,
monitor.fetch.article (text and link density per element, the byline between title and body).
"""

from __future__ import annotations

import re
from datetime import tzinfo
from urllib.parse import urljoin, urlsplit

from selectolax.lexbor import LexborHTMLParser

from monitor.config import ArticleSelectors, ListSelectors
from monitor.fetch.article import Article, extract
from monitor.fetch.parsed import ListLink
from monitor.fetch.times import parse_time
from monitor.fetch.urls import canonical_url

# A headline in Chinese is rarely shorter than 6 characters or longer than 80.
_HEADLINE_MIN, _HEADLINE_MAX = 6, 80
_ARTICLE_PATH = re.compile(r"\d{4,}|\.s?html?$|/(?:article|detail|content|news|doc)[/_-]", re.I)


def parse_list_page(
    html: str, *, base_url: str, zone: tzinfo, selectors: ListSelectors | None = None
) -> list[ListLink]:
    tree = LexborHTMLParser(html)
    base = _base_href(tree, base_url)
    links: dict[str, ListLink] = {}
    if selectors is not None:
        for anchor in tree.css(selectors.link):
            href = anchor.attributes.get("href")
            if not href:
                continue
            url = urljoin(base, href.strip())
            if not url.startswith(("http://", "https://")):
                continue
            holder = anchor.parent or anchor
            title = _select_text(holder, selectors.title) or anchor.text(strip=True)
            when = parse_time(_select_text(holder, selectors.time), zone)
            links.setdefault(canonical_url(url), ListLink(url, title, when))
        return list(links.values())

    site = _site(base_url)
    for anchor in tree.css("a[href]"):
        href = (anchor.attributes.get("href") or "").strip()
        if not href or href.startswith(("javascript:", "mailto:", "#")):
            continue
        title = " ".join(anchor.text(strip=True).split())
        if not _HEADLINE_MIN <= len(title) <= _HEADLINE_MAX:
            continue
        url = urljoin(base, href)
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or _site(url) != site:
            continue
        if not _ARTICLE_PATH.search(parts.path):
            continue  # section fronts and tag pages, not articles
        links.setdefault(canonical_url(url), ListLink(url, title))
    return list(links.values())


def parse_article(
    html: str, *, url: str, zone: tzinfo, selectors: ArticleSelectors | None = None
) -> Article:
    """Configured selectors win field by field; the generic extractor (article.py) fills the rest."""
    found = extract(html, url=url, zone=zone)
    if selectors is None or not any(
        (selectors.title, selectors.body, selectors.time, selectors.author)
    ):
        return found
    tree = LexborHTMLParser(html)
    for node in tree.css("script, style, noscript, iframe, template"):
        node.decompose()
    title = _select_text(tree, selectors.title) or found.title
    body = (_select_block(tree, selectors.body) if selectors.body else None) or found.text
    published = parse_time(_select_text(tree, selectors.time), zone) if selectors.time else None
    author = (_select_text(tree, selectors.author) if selectors.author else None) or found.author
    return Article(title, body, published or found.published_at, author, found.source)


# -- selectors and links -----------------------------------------------------------------------







def _select_text(node, selector: str | None) -> str | None:
    if not selector:
        return None
    found = node.css_first(selector)
    if found is None:
        return None
    if found.tag == "meta":
        return (found.attributes.get("content") or "").strip() or None
    if found.tag == "time" and found.attributes.get("datetime"):
        return found.attributes["datetime"]
    return " ".join(found.text(strip=True, separator=" ").split()) or None


def _select_block(tree: LexborHTMLParser, selector: str) -> str | None:
    found = tree.css_first(selector)
    if found is None:
        return None
    lines = [" ".join(line.split()) for line in found.text(separator="\n").splitlines()]
    return "\n\n".join(line for line in lines if line) or None


def _base_href(tree: LexborHTMLParser, page_url: str) -> str:
    base = tree.css_first("base[href]")
    return urljoin(page_url, base.attributes["href"]) if base is not None else page_url


def _site(url: str) -> str:
    """news.qq.com and www.qq.com are one site; gov.cn sub-sites too (last two labels)."""
    host = (urlsplit(url).hostname or "").lower()
    if host.replace(".", "").isdigit() or ":" in host:  # an IP address is its own site
        return host
    labels = host.split(".")
    if len(labels) >= 3 and labels[-2] in ("com", "gov", "org", "net", "edu") and len(labels[-1]) == 2:
        return ".".join(labels[-3:])  # people.com.cn, www.gov.cn's siblings
    return ".".join(labels[-2:])
