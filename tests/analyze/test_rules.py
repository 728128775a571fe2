"""The rule language, operator by operator."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from monitor.analyze.rules import And, Near, Not, Or, RuleSyntaxError, Word, anchors, evaluate, parse_rule


def holds(expression: str, text: str) -> bool:
    """Evaluate against plain substring occurrences in text (what the library does after matching)."""

    def spans_of(word: Word):
        found, start = [], text.find(word.text)
        while start != -1:
            found.append((start, start + len(word.text)))
            start = text.find(word.text, start + 1)
        return found

    return evaluate(parse_rule(expression), spans_of)


@pytest.mark.parametrize(
    ("expression", "text", "expected"),
    [
        ("华能", "华能集团发布公告", True),
        ("华能", "大唐集团发布公告", False),
        ("华能 & 爆炸", "华能电厂发生爆炸", True),
        ("华能 & 爆炸", "华能电厂发生火灾", False),
        ("爆炸 | 泄漏", "管道泄漏", True),
        ("爆炸 | 泄漏", "一切正常", False),
        ("华能 & !演练", "华能电厂发生爆炸", True),
        ("华能 & !演练", "华能举行爆炸应急演练", False),
        ("(华能 | 华能集团) & (事故 | 爆炸 | 泄漏) & !演练", "华能集团下属电厂泄漏", True),
        ("(华能 | 华能集团) & (事故 | 爆炸 | 泄漏) & !演练", "华能集团组织泄漏演练", False),
        ("!!华能", "华能", True),
        ("a | b & c", "a", True),  # & binds tighter than |
        ("(a | b) & c", "a", False),
        ("near(停水, 小区, 5)", "小区昨日停水", True),
        ("near(停水, 小区, 5)", "小区居民反映，今天上午又停水了", False),
        ("near(停水, 小区, 10)", "小区居民反映，今天上午又停水了", True),
        ("near(小区, 停水, 0)", "停水小区", True),  # order does not matter; touching is distance 0
        ('"A & B" | c', "公司 A & B 合并", True),
        ("华能＆（爆炸｜泄漏）", "华能泄漏", True),  # full-width operators from a Chinese keyboard
    ],
)
def test_operators(expression, text, expected):
    assert holds(expression, text) is expected


def test_tree_shape():
    assert parse_rule("a & (b | !c) | near(d, e, 3)") == Or((
        And((Word("a"), Or((Word("b"), Not(Word("c")))))),
        Near(Word("d"), Word("e"), 3),
    ))
    assert parse_rule("@organisation & 事故") == And((Word("@organisation"), Word("事故")))


@pytest.mark.parametrize(
    ("expression", "column", "message"),
    [
        ("", 1, "empty rule"),
        ("华能 &", 5, "expected a term, '@group', '(' or '!', found the end of the rule"),
        ("(华能 | 大唐", 9, "expected ')' to close the '(' at column 1"),
        ("华能 大唐", 4, "expected '&', '|' or the end of the rule, found '大唐'"),
        ("华能 & | 爆炸", 6, "found '|'"),
        ("near(华能, 爆炸)", 12, "expected ',' before the distance"),
        ("near(华能, 爆炸, ten)", 14, "expected a distance in characters"),
        ('"unclosed', 1, "unclosed quote"),
        ("华能)", 3, "found ')'"),
    ],
)
def test_syntax_errors_say_where_and_what(expression, column, message):
    with pytest.raises(RuleSyntaxError) as raised:
        parse_rule(expression)
    assert raised.value.column == column
    assert message in raised.value.message


terms = st.sampled_from(["华能", "事故", "爆炸", "演练", "@org", '"a b"'])


@st.composite
def expressions(draw, depth=3):
    if depth == 0 or draw(st.booleans()):
        return draw(terms)
    kind = draw(st.sampled_from(["and", "or", "not", "paren", "near"]))
    if kind == "not":
        return "!" + draw(expressions(depth=depth - 1))
    if kind == "paren":
        return "(" + draw(expressions(depth=depth - 1)) + ")"
    if kind == "near":
        return f"near(华能, 事故, {draw(st.integers(0, 50))})"
    op = " & " if kind == "and" else " | "
    return draw(expressions(depth=depth - 1)) + op + draw(expressions(depth=depth - 1))


@given(expressions())
def test_every_well_formed_expression_parses(expression):
    parse_rule(expression)


@given(st.text(alphabet='华能事故&|!()," near0123456789', max_size=30))
def test_any_text_parses_or_fails_with_a_column_inside_it(expression):
    try:
        parse_rule(expression)
    except RuleSyntaxError as error:
        assert 1 <= error.column <= len(expression) + 1


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("华能", {"华能"}),
        ("(华能 | 大唐) & 爆炸 & !演练", {"爆炸"}),  # the single required word, not the alternatives
        ("华能 | 大唐", {"华能", "大唐"}),
        ("@org & 爆炸事故", {"爆炸事故"}),  # a word over a whole group
        ("near(停水, 居民小区, 5)", {"居民小区"}),
        ("!演练", None),
        ("华能 | !演练", None),  # the second alternative needs no word at all
    ],
)
def test_anchors_are_the_words_a_rule_cannot_hold_without(expression, expected):
    found = anchors(parse_rule(expression))
    assert (None if found is None else {w.text for w in found}) == expected


@given(expressions(), st.sets(st.sampled_from(["华能", "事故", "爆炸", "演练", "a b"])))
def test_a_rule_never_holds_when_none_of_its_anchors_occur(expression, present):
    node = parse_rule(expression)
    found = anchors(node)
    if found is None or any(w.text in present or w.is_group for w in found):
        return

    def spans_of(word):
        return [(0, 1)] if word.text in present else []

    assert not evaluate(node, spans_of)
