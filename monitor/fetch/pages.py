"""HTML list pages and article pages, with selectolax (lexbor).

Per-outlet CSS selectors win when configured. Without them a generic extractor does what works
on most Chinese news sites: headline-length links on the same site for list pages; for articles,
the title from og:title/<h1>/<title>, the time from meta tags or the byline, and the body from the
element holding the most paragraph text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, tzinfo
from urllib.parse import urljoin, urlsplit

from selectolax.lexbor import LexborHTMLParser, LexborNode

from monitor.config import ArticleSelectors, ListSelectors
from monitor.fetch.parsed import ListLink
from monitor.fetch.times import find_time, parse_time
from monitor.fetch.urls import canonical_url

# A headline in Chinese is rarely shorter than 6 characters or longer than 80.
_HEADLINE_MIN, _HEADLINE_MAX = 6, 80
_ARTICLE_PATH = re.compile(r"\d{4,}|\.s?html?$|/(?:article|detail|content|news|doc)[/_-]", re.I)
_TITLE_SEPARATORS = re.compile(r"\s*(?:[-_|–—]|\s-\s)\s*")

_TIME_META = (
    "article:published_time", "og:release_date", "publishdate", "pubdate", "publish_time",
    "publishtime", "dc.date", "dc.date.issued", "date", "og:updated_time",
)
_AUTHOR_META = ("author", "article:author", "dc.creator")


@dataclass
class Article:
    title: str
    text: str
    published_at: datetime | None
    author: str | None


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
    tree = LexborHTMLParser(html)
    for node in tree.css("script, style, noscript, iframe, template"):
        node.decompose()
    selectors = selectors or ArticleSelectors()

    title = _select_text(tree, selectors.title) or _generic_title(tree)
    body = _select_block(tree, selectors.body) if selectors.body else None
    if not body:
        body = _largest_text_block(tree) or _meta(tree, ("description", "og:description")) or ""
    published = parse_time(_select_text(tree, selectors.time), zone) if selectors.time else None
    if published is None:
        published = _generic_time(tree, zone)
    author = _select_text(tree, selectors.author) if selectors.author else None
    author = author or _meta(tree, _AUTHOR_META)
    return Article(title=title, text=body, published_at=published, author=author)


# -- generic extraction ---------------------------------------------------------------------


def _generic_title(tree: LexborHTMLParser) -> str:
    page_title = " ".join((tree.css_first("title").text() if tree.css_first("title") else "").split())
    og_title = _meta(tree, ("og:title",))
    if og_title:
        return og_title
    for heading in tree.css("h1"):
        text = " ".join(heading.text(strip=True).split())
        if text and (not page_title or text in page_title):
            return text
    if not page_title:
        return ""
    # "标题 - 站点名 - 频道": the headline is the longest part.
    return max(_TITLE_SEPARATORS.split(page_title), key=len).strip()


def _generic_time(tree: LexborHTMLParser, zone: tzinfo) -> datetime | None:
    for key in _TIME_META:
        moment = parse_time(_meta(tree, (key,)), zone)
        if moment is not None:
            return moment
    for node in tree.css("time[datetime]"):
        moment = parse_time(node.attributes.get("datetime"), zone)
        if moment is not None:
            return moment
    # Bylines sit near the top of the article: "2024年01月02日 10:00 来源：新华网".
    for node in tree.css(
        ".time, .date, .pubtime, .pub_time, .publish-time, .info, .source, #pubtime_baidu"
    ):
        moment = find_time(node.text(), zone)
        if moment is not None:
            return moment
    return None


def _largest_text_block(tree: LexborHTMLParser) -> str:
    """Text of the element whose own <p> children carry the most text (the article body)."""
    best_text, best_score = "", 0
    for container in tree.css("article, div, section, td, main"):
        paragraphs = [
            " ".join(child.text(strip=True).split())
            for child in _children(container)
            if child.tag == "p"
        ]
        paragraphs = [p for p in paragraphs if p]
        score = sum(len(p) for p in paragraphs)
        if score > best_score:
            best_text, best_score = "\n\n".join(paragraphs), score
    return best_text


def _children(node: LexborNode):
    child = node.child
    while child is not None:
        yield child
        child = child.next


def _meta(tree: LexborHTMLParser, keys: tuple[str, ...]) -> str | None:
    wanted = {key.lower() for key in keys}
    for node in tree.css("meta[content]"):
        attrs = node.attributes
        name = (attrs.get("property") or attrs.get("name") or attrs.get("itemprop") or "").lower()
        if name in wanted:
            value = " ".join((attrs.get("content") or "").split())
            if value:
                return value
    return None


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
