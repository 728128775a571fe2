"""Keyword rules: boolean expressions over terms, parsed once and evaluated against term hits.

Grammar (whitespace between tokens is free):

    expression := either ('|' either)*            OR
    either     := unary ('&' unary)*              AND
    unary      := '!' unary | atom                NOT
    atom       := '(' expression ')'
                | 'near' '(' word ',' word ',' N ')'   both within N characters of each other
                | word
    word       := a run of characters other than  & | ! ( ) , " and whitespace
                | "a quoted term"                 (for terms with spaces or operator characters)
                | @group                          any term of that keyword group

Full-width operators (＆ ｜ ！ （ ） ，) are accepted as their ASCII forms, since rules are typed
on Chinese keyboards. A syntax error says where (column, 1-based) and what was expected.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

_FULL_WIDTH = str.maketrans({"＆": "&", "｜": "|", "！": "!", "（": "(", "）": ")", "，": ","})
_SPECIAL = set('&|!(),"')


class RuleSyntaxError(ValueError):
    def __init__(self, message: str, column: int) -> None:
        super().__init__(message)
        self.message = message
        self.column = column  # 1-based, in the expression text


# -- the tree -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Word:
    text: str  # a term as written, or "@group"

    @property
    def is_group(self) -> bool:
        return self.text.startswith("@")


@dataclass(frozen=True)
class Not:
    operand: Node


@dataclass(frozen=True)
class And:
    operands: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    operands: tuple[Node, ...]


@dataclass(frozen=True)
class Near:
    left: Word
    right: Word
    within: int


Node = Word | Not | And | Or | Near

# Where a word occurs: a list of (start, end) spans in the normalised text.
Spans = list[tuple[int, int]]


def words(node: Node) -> Iterator[Word]:
    if isinstance(node, Word):
        yield node
    elif isinstance(node, Not):
        yield from words(node.operand)
    elif isinstance(node, (And, Or)):
        for operand in node.operands:
            yield from words(operand)
    else:
        yield node.left
        yield node.right


def positive_words(node: Node) -> set[Word]:
    """Words whose presence can make the rule true: a rule needs at least one."""
    if isinstance(node, Word):
        return {node}
    if isinstance(node, Not):
        return set()
    if isinstance(node, (And, Or)):
        return set().union(*(positive_words(o) for o in node.operands))
    return {node.left, node.right}


def anchors(node: Node) -> frozenset[Word] | None:
    """Words of which at least one must occur for the rule to hold, as few and as specific as
    the tree allows (for `(a | b) & c & !d` that is {c}); None when no such set exists.

    Indexing rules by their anchors, not by every word, is what keeps matching cost tied to the
    rules an item can satisfy rather than to every rule that shares a common word with it."""
    if isinstance(node, Word):
        return frozenset({node})
    if isinstance(node, Not):
        return None
    if isinstance(node, Near):
        return frozenset({max(node.left, node.right, key=lambda w: len(w.text))})
    if isinstance(node, Or):
        parts = [anchors(o) for o in node.operands]
        if any(part is None for part in parts):
            return None
        return frozenset().union(*parts)
    options = [part for part in (anchors(o) for o in node.operands) if part]
    if not options:
        return None
    # Fewest words first; among equals, longer words (rarer in text), never a whole group.
    return min(options, key=lambda part: (
        any(w.is_group for w in part), len(part), -min(len(w.text) for w in part)
    ))


def evaluate(
    node: Node, spans_of: Callable[[Word], Spans], present: set[str] | None = None
) -> bool:
    """Does the rule hold? spans_of gives a word's occurrences; `present`, if given, is the set of
    words that occur at all, a cheaper test for everything but near()."""
    if isinstance(node, Word):
        return node.text in present if present is not None else bool(spans_of(node))
    if isinstance(node, And):
        for operand in node.operands:
            if not evaluate(operand, spans_of, present):
                return False
        return True
    if isinstance(node, Or):
        for operand in node.operands:
            if evaluate(operand, spans_of, present):
                return True
        return False
    if isinstance(node, Not):
        return not evaluate(node.operand, spans_of, present)
    return _near(spans_of(node.left), spans_of(node.right), node.within)


def _near(left: Spans, right: Spans, within: int) -> bool:
    # The gap between two spans is the number of characters strictly between them (0 if they
    # touch or overlap). Lists are short (occurrences in one item), so a double loop is fine.
    for a_start, a_end in left:
        for b_start, b_end in right:
            gap = max(b_start - a_end, a_start - b_end, 0)
            if gap <= within:
                return True
    return False


# -- the parser -----------------------------------------------------------------------------


@dataclass
class _Token:
    kind: str  # word, quoted, op, end
    text: str
    column: int


def _tokens(expression: str) -> list[_Token]:
    text = expression.translate(_FULL_WIDTH)
    tokens: list[_Token] = []
    i = 0
    while i < len(text):
        char = text[i]
        if char.isspace():
            i += 1
        elif char == '"':
            end = text.find('"', i + 1)
            if end == -1:
                raise RuleSyntaxError("unclosed quote", i + 1)
            if end == i + 1:
                raise RuleSyntaxError("empty quoted term", i + 1)
            tokens.append(_Token("quoted", text[i + 1 : end], i + 1))
            i = end + 1
        elif char in _SPECIAL:
            tokens.append(_Token("op", char, i + 1))
            i += 1
        else:
            start = i
            while i < len(text) and not text[i].isspace() and text[i] not in _SPECIAL:
                i += 1
            tokens.append(_Token("word", text[start:i], start + 1))
    tokens.append(_Token("end", "", len(text) + 1))
    return tokens


class _Parser:
    def __init__(self, expression: str) -> None:
        self.tokens = _tokens(expression)
        self.at = 0

    @property
    def token(self) -> _Token:
        return self.tokens[self.at]

    def take(self) -> _Token:
        token = self.tokens[self.at]
        self.at += 1
        return token

    def expect(self, text: str, what: str) -> None:
        if self.token.kind == "op" and self.token.text == text:
            self.take()
            return
        raise RuleSyntaxError(f"expected {what}, found {self._describe(self.token)}", self.token.column)

    def parse(self) -> Node:
        if self.token.kind == "end":
            raise RuleSyntaxError("empty rule", 1)
        node = self.expression()
        if self.token.kind != "end":
            raise RuleSyntaxError(
                f"expected '&', '|' or the end of the rule, found {self._describe(self.token)}",
                self.token.column,
            )
        return node

    def expression(self) -> Node:
        operands = [self.either()]
        while self.token.kind == "op" and self.token.text == "|":
            self.take()
            operands.append(self.either())
        return operands[0] if len(operands) == 1 else Or(tuple(operands))

    def either(self) -> Node:
        operands = [self.unary()]
        while self.token.kind == "op" and self.token.text == "&":
            self.take()
            operands.append(self.unary())
        return operands[0] if len(operands) == 1 else And(tuple(operands))

    def unary(self) -> Node:
        if self.token.kind == "op" and self.token.text == "!":
            self.take()
            return Not(self.unary())
        return self.atom()

    def atom(self) -> Node:
        token = self.token
        if token.kind == "op" and token.text == "(":
            self.take()
            node = self.expression()
            self.expect(")", "')' to close the '(' at column %d" % token.column)
            return node
        if token.kind == "word" and token.text.lower() == "near" and self._next_is("("):
            return self.near()
        return self.word("a term, '@group', '(' or '!'")

    def near(self) -> Near:
        self.take()
        self.expect("(", "'(' after near")
        left = self.word("a term inside near(…)")
        self.expect(",", "',' between the two terms of near(…)")
        right = self.word("a term inside near(…)")
        self.expect(",", "',' before the distance in near(…)")
        distance = self.token
        if distance.kind != "word" or not distance.text.isdigit():
            raise RuleSyntaxError(
                f"expected a distance in characters (a whole number), found {self._describe(distance)}",
                distance.column,
            )
        self.take()
        self.expect(")", "')' to close near(…)")
        return Near(left, right, int(distance.text))

    def word(self, what: str) -> Word:
        token = self.token
        if token.kind == "quoted":
            self.take()
            return Word(token.text)
        if token.kind == "word":
            self.take()
            if token.text == "@":
                raise RuleSyntaxError("expected a group name after '@'", token.column + 1)
            return Word(token.text)
        raise RuleSyntaxError(f"expected {what}, found {self._describe(token)}", token.column)

    def _next_is(self, text: str) -> bool:
        following = self.tokens[self.at + 1]
        return following.kind == "op" and following.text == text

    @staticmethod
    def _describe(token: _Token) -> str:
        if token.kind == "end":
            return "the end of the rule"
        return f"'{token.text}'"


def parse_rule(expression: str) -> Node:
    """Parse a rule expression; raises RuleSyntaxError with a 1-based column."""
    return _Parser(expression).parse()
