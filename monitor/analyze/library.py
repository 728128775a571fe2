"""The keyword library (关键词库): YAML files in keywords/, one per topic group.

A group file:

    name: 组织名称               # display name; the group id is the file name (organisation.yaml)
    sensitivity: 0.6             # 0–1: how much a hit in this group raises an item's risk
    terms:                       # the group's words; an alias counts as its term
      - 江城水务集团
      - {term: 江城水务集团, aliases: [江城水务, 江城水务公司], weight: 1.0}
    exclude: [江城水务局]          # an occurrence of a term inside one of these does not count
    rules:
      - id: org-incident
        expr: (@organisation) & (事故 | 爆炸 | 泄漏 | near(停水, 小区, 10)) & !演练
        weight: 1.0
        description: 本单位 + 事故类词

Matching runs one Aho–Corasick automaton over every term, alias and exclusion word of the whole
library, on text normalised to NFKC, Simplified Chinese and lower case, so that full-width,
traditional and upper-case variants of a term match. Rules are then evaluated only if one of their
positive words occurred: cost grows with what an item mentions, not with the size of the library.
Matching works on characters, not on jieba tokens, so a term that segmentation splits still matches.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ahocorasick
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from monitor.analyze.rules import (
    Node,
    RuleSyntaxError,
    Word,
    anchors,
    evaluate,
    parse_rule,
    positive_words,
    words,
)
from monitor.analyze.text import normalise
from monitor.config import ConfigError, describe_validation, read_config_text, yaml_mark

# Title and body are matched as one text joined by this, which no term can span.
SEPARATOR = "\n\u2029\n"


def joined_text(title: str, body: str) -> tuple[str, int]:
    """The normalised title+body that matching runs on (hit spans index into it), and the
    length of its title part."""
    title_n = normalise(title)
    return title_n + SEPARATOR + normalise(body), len(title_n)


class LibraryError(ValueError):
    """The library cannot be loaded; `problems` lists every one as 'file:line:column: message'."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


# -- file schema ----------------------------------------------------------------------------


class TermEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")
    term: str = Field(min_length=1)
    aliases: list[str] = Field(default_factory=list)
    weight: float = Field(1.0, gt=0, le=10)


class RuleEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
    expr: str
    weight: float = Field(1.0, gt=0, le=10)
    description: str = ""


class GroupFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    sensitivity: float = Field(0.5, ge=0, le=1)
    # A subject group names *us* (organisation, brands, leaders): the tone of an item is read
    # from the sentences that name a subject, which tells a story about us from a mere mention.
    subject: bool = False
    terms: list[TermEntry] = Field(default_factory=list)
    exclude: list[str] = Field(default_factory=list)
    rules: list[RuleEntry] = Field(default_factory=list)

    @field_validator("terms", mode="before")
    @classmethod
    def _plain_strings_are_terms(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [{"term": v} if isinstance(v, str) else v for v in value]
        return value


# -- the loaded library ---------------------------------------------------------------------


@dataclass(frozen=True)
class Group:
    id: str
    name: str
    sensitivity: float
    exclude: tuple[str, ...]
    terms: tuple[str, ...] = ()  # the group's terms as written (aliases not repeated)
    subject: bool = False


@dataclass(frozen=True)
class Rule:
    id: str
    group: str
    expression: str
    weight: float
    description: str
    source: str  # file:line, for people reading a hit
    node: Node = field(repr=False, compare=False)


@dataclass(frozen=True)
class RuleHit:
    rule: str
    group: str
    weight: float
    terms: tuple[str, ...]  # the variants that occurred, as normalised
    spans: tuple[tuple[int, int], ...]  # where, in the normalised title+body
    in_title: bool


@dataclass
class KeywordLibrary:
    version: str
    groups: dict[str, Group]
    rules: dict[str, Rule]
    # normalised variant -> the canonical term it stands for (with its weight)
    term_of: dict[str, str]
    term_weight: dict[str, float]
    subject_terms: frozenset[str]  # normalised variants of the terms of subject groups
    _variants_of_word: dict[str, frozenset[str]] = field(repr=False)
    _rules_by_variant: dict[str, list[str]] = field(repr=False)
    _exclusions: dict[str, tuple[str, ...]] = field(repr=False)
    _words_of_variant: dict[str, tuple[str, ...]] = field(repr=False)
    _automaton: Any = field(repr=False)

    @property
    def all_terms(self) -> set[str]:
        """Every term and alias as written (for jieba's user dictionary)."""
        return set(self.term_of)

    def match(self, title: str, body: str) -> list[RuleHit]:
        return self.match_joined(*joined_text(title, body))

    def match_joined(self, text: str, title_length: int) -> list[RuleHit]:
        """``match`` on what joined_text(title, body) gave, for a caller that needs the text too."""
        spans: dict[str, list[tuple[int, int]]] = defaultdict(list)
        if self._automaton is not None:
            # the automaton's value is (variant, its length - 1): this loop runs once per term
            # occurrence, the hottest line of the analysis stage
            for end, (variant, back) in self._automaton.iter(text):
                spans[variant].append((end - back, end + 1))
        if self._exclusions:
            spans = _mask(spans, self._exclusions)
        candidates: set[str] = set()
        present: set[str] = set()  # rule words (terms, @groups) that occur
        for variant, found in spans.items():
            if found:
                candidates.update(self._rules_by_variant.get(variant, ()))
                present.update(self._words_of_variant.get(variant, ()))
        hits = []

        def spans_of(word: Word) -> list[tuple[int, int]]:
            found: list[tuple[int, int]] = []
            for variant in self._variants_of_word[word.text]:
                found.extend(spans.get(variant, ()))
            return found

        for rule_id in sorted(candidates):
            rule = self.rules[rule_id]
            if not evaluate(rule.node, spans_of, present):
                continue
            positive = [
                v for w in positive_words(rule.node)
                for v in self._variants_of_word[w.text] if spans.get(v)
            ]
            where = sorted({span for v in positive for span in spans[v]})
            hits.append(
                RuleHit(
                    rule=rule.id, group=rule.group, weight=rule.weight,
                    terms=tuple(sorted(set(positive))), spans=tuple(where),
                    in_title=any(start < title_length for start, _ in where),
                )
            )
        return hits


def _invert(variants_of_word: dict[str, frozenset[str]]) -> dict[str, tuple[str, ...]]:
    words_of: dict[str, list[str]] = defaultdict(list)
    for word, variants in variants_of_word.items():
        for variant in variants:
            words_of[variant].append(word)
    return {variant: tuple(found) for variant, found in words_of.items()}


def _mask(spans: dict[str, list[tuple[int, int]]], exclusions: dict[str, tuple[str, ...]]):
    """Drop occurrences of a term that lie inside an occurrence of one of the exclusion words of
    the group defining it (华能 inside 华能路, a street, does not count as 华能)."""
    masked = dict(spans)
    for variant, excluding in exclusions.items():
        found = spans.get(variant)
        if not found:
            continue
        blocked = [span for word in excluding for span in spans.get(word, ())]
        if blocked:
            masked[variant] = [(s, e) for s, e in found if not any(bs <= s and e <= be for bs, be in blocked)]
    return masked


# -- loading --------------------------------------------------------------------------------


def load_library(folder: Path) -> KeywordLibrary:
    """Load and validate every *.yaml in folder; all problems are reported at once.

    A missing or empty folder is an error, not an empty library: a library that matches nothing
    scores nothing and never alerts, which is the silence this service exists to prevent."""
    if not folder.is_dir():
        what = "is not a folder" if folder.exists() else "no such folder"
        raise LibraryError([
            f"{folder}: {what}; point FENGHUO_KEYWORDS_DIR (keywords_dir) at the keyword library folder"
        ])
    files = sorted(folder.glob("*.yaml"))
    problems: list[str] = [
        f"{path}: keyword files must end in .yaml; rename it (it is not loaded)"
        for path in sorted(folder.glob("*.yml"))
    ]
    if not files:
        raise LibraryError(problems + [
            f"{folder}: no keyword files (*.yaml): an empty library matches nothing and never alerts"
        ])
    parsed: list[tuple[Path, GroupFile, yaml.Node]] = []
    broken: set[str] = set()  # groups whose file is named in problems already
    digest = hashlib.sha256()
    for path in files:
        try:
            text = read_config_text(path)
        except ConfigError as error:  # GBK from Notepad, unreadable, vanished: name it, go on
            problems.append(str(error))
            broken.add(path.stem)
            continue
        digest.update(path.name.encode() + b"\0" + text.encode() + b"\0")
        try:
            root = yaml.compose(text)
            data = yaml.safe_load(text)
        except yaml.YAMLError as error:
            mark = getattr(error, "problem_mark", None)
            where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
            problems.append(f"{where}: YAML syntax error: {getattr(error, 'problem', error)}")
            broken.add(path.stem)
            continue
        try:
            group = GroupFile.model_validate(data or {})
        except ValidationError as error:
            problems.extend(describe_validation(path, error, root=root))
            broken.add(path.stem)
            continue
        parsed.append((path, group, root))

    groups: dict[str, Group] = {}
    term_of: dict[str, str] = {}
    term_weight: dict[str, float] = {}
    entry_variants: dict[str, frozenset[str]] = {}  # normalised term or alias -> its entry's variants
    group_variants: dict[str, set[str]] = defaultdict(set)
    exclusions: dict[str, tuple[str, ...]] = {}
    for path, group_file, _root in parsed:
        group_id = path.stem
        groups[group_id] = Group(
            group_id, group_file.name, group_file.sensitivity,
            tuple(normalise(word) for word in group_file.exclude),
            tuple(entry.term for entry in group_file.terms),
            group_file.subject,
        )
        for entry in group_file.terms:
            variants = frozenset(normalise(v) for v in [entry.term, *entry.aliases] if v.strip())
            for variant in variants:
                entry_variants[variant] = entry_variants.get(variant, frozenset()) | variants
                term_of.setdefault(variant, entry.term)
                term_weight[variant] = max(term_weight.get(variant, 0), entry.weight)
            group_variants[group_id] |= variants
        for variant in group_variants[group_id]:
            exclusions[variant] = exclusions.get(variant, ()) + groups[group_id].exclude

    rules: dict[str, Rule] = {}
    variants_of_word: dict[str, frozenset[str]] = {}
    for path, group_file, root in parsed:
        for index, entry in enumerate(group_file.rules):
            mark = yaml_mark(root, ("rules", index, "expr"))
            try:
                node = parse_rule(entry.expr)
            except RuleSyntaxError as error:
                problems.append(
                    f"{_where(path, mark, error.column)}: rule '{entry.id}': {error.message}"
                )
                continue
            if entry.id in rules:
                problems.append(f"{_where(path, mark)}: rule id '{entry.id}' is used twice")
                continue
            unknown = [w.text for w in words(node) if w.is_group and w.text[1:] not in groups]
            if unknown and all(word[1:] in broken for word in unknown):
                continue  # its group's file is broken, and said so: one problem, not one per rule
            if unknown:
                problems.append(
                    f"{_where(path, mark)}: rule '{entry.id}': no keyword group {unknown[0]!r} "
                    f"(groups: {', '.join('@' + g for g in sorted(groups))})"
                )
                continue
            if not positive_words(node):
                problems.append(
                    f"{_where(path, mark)}: rule '{entry.id}': needs at least one term that must "
                    "occur; a rule of only '!' terms would match almost everything"
                )
                continue
            for word in words(node):
                if word.text not in variants_of_word:
                    if word.is_group:
                        variants = frozenset(group_variants[word.text[1:]])
                    else:
                        key = normalise(word.text)
                        variants = entry_variants.get(key, frozenset({key}))
                    variants_of_word[word.text] = variants
            rules[entry.id] = Rule(
                entry.id, path.stem, entry.expr, entry.weight, entry.description,
                f"{path.name}:{mark.line + 1 if mark else '?'}", node,
            )
    if not problems and not rules:
        problems.append(f"{folder}: no rules in any keyword file: an item can match nothing and never alerts")
    if problems:
        raise LibraryError(problems)

    rules_by_variant: dict[str, list[str]] = defaultdict(list)
    searched: set[str] = set()
    for rule in rules.values():
        for word in anchors(rule.node) or positive_words(rule.node):
            for variant in variants_of_word[word.text]:
                rules_by_variant[variant].append(rule.id)
        for word in words(rule.node):
            searched |= variants_of_word[word.text]
    for group in groups.values():
        searched |= set(group.exclude)
    searched |= set(term_of)
    automaton = None
    if searched:
        automaton = ahocorasick.Automaton()
        for variant in searched:
            automaton.add_word(variant, (variant, len(variant) - 1))
        automaton.make_automaton()
    return KeywordLibrary(
        version=digest.hexdigest()[:12],
        groups=groups,
        rules=rules,
        term_of=term_of,
        term_weight=term_weight,
        subject_terms=frozenset(
            v for g in groups.values() if g.subject for v in group_variants[g.id]
        ),
        _variants_of_word=variants_of_word,
        _rules_by_variant=dict(rules_by_variant),
        _exclusions={v: words for v, words in exclusions.items() if words},
        _words_of_variant=_invert(variants_of_word),
        _automaton=automaton,
    )


def _where(path: Path, mark: yaml.Mark | None, column_in_value: int | None = None) -> str:
    if mark is None:
        return str(path)
    column = mark.column + 1
    if column_in_value is not None:
        # A quoted value starts one character after its mark.
        quoted = mark.buffer is not None and mark.pointer < len(mark.buffer) and mark.buffer[mark.pointer] in "'\""
        column += column_in_value - 1 + (1 if quoted else 0)
    return f"{path}:{mark.line + 1}:{column}"
