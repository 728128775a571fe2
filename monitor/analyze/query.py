"""A search query in the keyword library's rule language, judged exactly as a library rule would be.

`"水务" & ("停水" | "断水") & !"演练"`, `near(停水, 小区, 10)` and `@group` mean in a search what they
mean in keywords/*.yaml: the query is compiled as one more rule of the library (same normalisation,
aliases, group terms and exclusion words), so a search answers "what would this rule have matched
in the archive?" — the database only narrows the rows down, and this module has the last word.

Two things come out of a query:

- `need`: what a matching item must contain, as an and/or tree of spellings. It keeps only the
  positive side of the rule (a `!term` or an exclusion word can only remove items, and deciding that
  needs the normalised text, so the database is not asked) and is a superset filter: every item the
  rule matches satisfies it, up to the spelling caveat below.
- `match(title, body)`: the library's own verdict, with the spans to highlight.

Spelling caveat: the library matches normalised text (NFKC, Simplified, lower case) while the
database indexes the text as published. Each term is therefore looked for as written, normalised
and in Traditional script (OpenCC s2t), case-insensitively; an item that spells a term in a
mixture no conversion produces (a rare variant character) is not found by search although a rule
scoring it at intake would match it.
"""

from __future__ import annotations

import re
import tempfile
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import opencc
import yaml

from monitor.analyze.library import KeywordLibrary, LibraryError, RuleHit, load_library
from monitor.analyze.rules import And, Near, Node, Not, RuleSyntaxError, Word, parse_rule, positive_words

RULE_ID = "search-query"
_GROUP_FILE = "zz-search-query.yaml"  # the group id (file stem) cannot clash: ids are file names
_S2T = opencc.OpenCC("s2t")


class QueryError(ValueError):
    """The query cannot be used: `message` says why, `column` (1-based) where, when known."""

    def __init__(self, message: str, column: int | None = None) -> None:
        super().__init__(f"column {column}: {message}" if column else message)
        self.message = message
        self.column = column


# -- what an item must contain ---------------------------------------------------------------


@dataclass(frozen=True)
class Contains:
    """At least one of these spellings occurs (case-insensitively) in the title or the body."""

    spellings: frozenset[str]


@dataclass(frozen=True)
class AllOf:
    parts: tuple[Need, ...]


@dataclass(frozen=True)
class AnyOf:
    parts: tuple[Need, ...]


Need = Contains | AllOf | AnyOf


def spellings(variant: str) -> frozenset[str]:
    """How a normalised variant may be written in stored text: as it is, and in Traditional."""
    return frozenset({variant, _S2T.convert(variant)})


# -- the compiled query ----------------------------------------------------------------------


@dataclass(frozen=True)
class SearchQuery:
    expression: str
    node: Node
    need: Need | None  # None: the rule constrains nothing the database can check (e.g. `a | !b`)
    library: KeywordLibrary  # the keyword library with this query added as rule RULE_ID

    def match(self, title: str, body: str) -> RuleHit | None:
        for hit in self.library.match(title, body):
            if hit.rule == RULE_ID:
                return hit
        return None

    @property
    def terms(self) -> set[str]:
        """Every spelling the query looks for (for people reading what was searched)."""
        return set(_spellings_in(self.need)) if self.need else set()


def _spellings_in(need: Need):
    if isinstance(need, Contains):
        yield from need.spellings
    else:
        for part in need.parts:
            yield from _spellings_in(part)


def _need(node: Node, variants_of: dict[str, frozenset[str]]) -> Need | None:
    if isinstance(node, Word):
        found = frozenset().union(*(spellings(v) for v in variants_of[node.text]))
        return Contains(found) if found else None
    if isinstance(node, Not):
        return None  # only removes items; decided on the normalised text, by match()
    if isinstance(node, Near):
        return _need(And((node.left, node.right)), variants_of)
    parts = [_need(operand, variants_of) for operand in node.operands]
    if isinstance(node, And):
        kept = tuple(p for p in parts if p is not None)
        if not kept:
            return None
        return kept[0] if len(kept) == 1 else AllOf(kept)
    if any(p is None for p in parts):  # Or: one unconstrained branch leaves all rows possible
        return None
    return parts[0] if len(parts) == 1 else AnyOf(tuple(parts))


# -- compiling, with a small cache ------------------------------------------------------------

_cache: OrderedDict[tuple, SearchQuery] = OrderedDict()
_cache_lock = threading.Lock()
_CACHE_SIZE = 64


MAX_TERMS = 64
MAX_DEPTH = 16


def _bounded(expression: str) -> None:
    """A query is a person's question, not a program: a few dozen terms and a few levels of
    brackets. Without a bound one query of a thousand alternatives took 1.7 s of CPU, and a dozen
    of them slowed the whole API (QA probe, issue #18); the API and the CLI both ask here."""
    terms = len(re.findall(r'"[^"]*"|[^\s()&|!,"]+', expression))
    depth = deepest = 0
    for character in expression:
        depth += (character == "(") - (character == ")")
        deepest = max(deepest, depth)
    if terms > MAX_TERMS:
        raise QueryError(f"at most {MAX_TERMS} terms in one query ({terms} given)")
    if deepest > MAX_DEPTH or expression.count("!") > MAX_TERMS:
        raise QueryError(f"at most {MAX_DEPTH} levels of brackets and {MAX_TERMS} negations")


def compile_query(expression: str, library_folder: Path | None = None) -> SearchQuery:
    """Parse `expression` and add it, as a rule, to the keyword library in `library_folder` (none:
    a library of this rule alone, so `@group` is unknown). Raises QueryError."""
    _bounded(expression)
    try:
        node = parse_rule(expression)
    except RuleSyntaxError as error:
        raise QueryError(error.message, error.column) from None
    except RecursionError:
        raise QueryError("the query is nested too deeply") from None
    if not positive_words(node):
        raise QueryError("needs at least one term that must occur; a query of only '!' terms "
                         "would match almost everything")
    key = (expression, str(library_folder), _stamp(library_folder))
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    library = _library_with(expression, library_folder)
    # The library resolved each word of the query to its normalised variants (aliases, a group's
    # terms): the same table its matcher uses, so the database is asked for exactly those.
    variants_of = library._variants_of_word
    query = SearchQuery(expression, node, _need(node, variants_of), library)
    with _cache_lock:
        _cache[key] = query
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return query


def _stamp(folder: Path | None) -> tuple:
    if folder is None:
        return ()
    try:
        return tuple(sorted((p.name, p.stat().st_mtime_ns, p.stat().st_size) for p in folder.glob("*.yaml")))
    except OSError:
        return ("unreadable",)


def _library_with(expression: str, folder: Path | None) -> KeywordLibrary:
    rule_file = yaml.safe_dump(
        {"name": "搜索", "rules": [{"id": RULE_ID, "expr": expression}]}, allow_unicode=True
    )
    with tempfile.TemporaryDirectory(prefix="fenghuo-search-") as scratch:
        target = Path(scratch)
        if folder is not None:
            for path in sorted(folder.glob("*.yaml")):
                (target / path.name).write_bytes(path.read_bytes())
        (target / _GROUP_FILE).write_text(rule_file, encoding="utf-8")
        try:
            return load_library(target)
        except LibraryError as error:
            ours = [p.split(f"rule '{RULE_ID}': ", 1)[-1] for p in error.problems if _GROUP_FILE in p]
            if ours:
                raise QueryError(ours[0].replace(", @" + Path(_GROUP_FILE).stem, "")) from None
            raise QueryError(
                f"the keyword library in {folder} does not load, so its groups cannot be used: "
                + "; ".join(p.replace(scratch, str(folder)) for p in error.problems[:3])
            ) from None
