"""Tone toward a named subject: the probability that a text reports something bad *for the subject
named at a given place* — a fall, a loss, a penalty, an accident, a complaint, criticism — as
opposed to bad news about someone else in the same sentence, or neutral reporting.

The posts/reviews model (``sentiment.py``) reads a whole text; a news sentence is often good for one
name and bad for another ("A 涨停，B 跌超 5%"). This head reads around one mention:

- the clause holding the name (split at , ; : 。 ! ?), the name masked by a placeholder so that the
  model learns what is said of *a* subject, not of which one;
- positioned features: grams left and right of the mention inside the clause, the two to four
  characters that follow it (the predicate: "跌至", "被罚"), what precedes it ("被", "对"), the
  predicate after a list of names ("A、B、C 等跌超 4%");
- negation and contrast words and where they stand, whether the name sits in a list of other names;
- grams of the whole sentence (both sides of the mention, cut to a window);
- a hand-reviewed news risk lexicon (``models/tone/news_risk_lexicon.txt``), counted in the clause,
  right of the mention and in the sentence.

One logistic regression over the presence of these features (row at unit length), trained by
``scripts/train_tone.py`` on real labelled news (CFSC-ABSA's financial news, labelled per entity,
and 270 hand-labelled headlines read whole) and shipped as a JSON-lines
file of feature weights; inference is plain Python, no scikit-learn. The decision threshold chosen in
training is folded into the intercept (a file may instead state it as ``threshold``, and the
probability is then shifted by it), so **negative means ``sentiment.is_negative``**: probability ≥
NEGATIVE_CALL, the one call every head, the event's negative share and the report use.
"""

from __future__ import annotations

import gzip
import json
import math
import operator
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from monitor.analyze.sentiment import NEGATIVE_CALL, Evaluation, calibrated, is_negative
from monitor.analyze.text import normalise

TONE_DIR = Path(__file__).parent / "models" / "tone"
DEFAULT_TONE_MODEL = "fenghuo-tone"
LEXICON_PATH = TONE_DIR / "news_risk_lexicon.txt"
PLACEHOLDER = "Ⓣ"  # put in after normalisation (NFKC would fold it to "t")
SENTENCE_WINDOW = 60  # characters of the sentence kept on each side of the mention
PREDICATE_SPAN = 4

# After normalise(): full-width punctuation is ASCII (，→,  ：→:  ；→;  ！→!  ？→?); 。 and 、 stay.
_SENTENCE_END = re.compile(r"[。!?;\n\u2029]")
_CLAUSE_END = re.compile(r"[。!?;\n\u2029,:]")
NEGATIONS = ("不", "未", "没", "无", "非", "否认", "澄清", "辟谣", "不存在", "并未", "尚未")
CONTRASTS = ("但", "但是", "然而", "却", "不过", "而")


class ToneModelError(ValueError):
    pass


def load_lexicon(path: Path = LEXICON_PATH) -> tuple[str, ...]:
    """One term per line; blank lines and ``#`` comments are skipped."""
    words = []
    for line in path.read_text(encoding="utf-8").splitlines():
        word = line.split("#", 1)[0].strip()
        if word:
            words.append(normalise(word))
    return tuple(dict.fromkeys(words))


@dataclass(frozen=True)
class Mention:
    """A mention cut out of its text: the normalised text left and right of it, inside its sentence
    (each side at most SENTENCE_WINDOW characters), and the clause around it."""

    left: str  # sentence text before the name
    right: str  # sentence text after the name
    clause_left: str
    clause_right: str

    @classmethod
    def cut(cls, text: str, start: int, end: int) -> Mention:
        """``text`` normalised already (as the keyword library's spans index it)."""
        # only the window before the name is searched for the sentence's start: the same left side
        # as searching all of the text before it (sentence ends are one character), without
        # scanning a long item from its beginning at every mention
        left = text[max(0, start - SENTENCE_WINDOW):start]
        ends = list(_SENTENCE_END.finditer(left))
        left = left[ends[-1].end():] if ends else left
        right = text[end:end + SENTENCE_WINDOW]
        stop = _SENTENCE_END.search(right)
        right = right[: stop.start()] if stop else right
        ends = list(_CLAUSE_END.finditer(left))
        clause_left = left[ends[-1].end():] if ends else left
        stop = _CLAUSE_END.search(right)
        clause_right = right[: stop.start()] if stop else right
        return cls(left.strip(), right.strip(), clause_left.strip(), clause_right.strip())

    @classmethod
    def whole(cls, text: str) -> Mention:
        """No named subject: the whole (normalised) text is the clause, as for a headline."""
        text = _WHITESPACE.sub(" ", text).strip()
        return cls("", text, "", text)

    @property
    def clause(self) -> str:
        """The clause as a reader sees it, name masked."""
        return f"{self.clause_left}{PLACEHOLDER}{self.clause_right}"

    @property
    def predicate_clause(self) -> str:
        """What is said of the name: the right part of its clause, past a list of other names that
        it stands in ("、B、C等跌超4%" → "跌超4%"), else the clause's right part; when the name
        ends its clause ("X:被立案"), the next clause of the sentence."""
        right = self.clause_right
        if right.startswith(("、", "和", "与", "及")):
            at = right.find("等")
            if at >= 0:
                right = right[at + 1:]
            else:
                right = right.rsplit("、", 1)[-1]
        if not right:
            rest = self.right.lstrip(",:;、 ")
            stop = _CLAUSE_END.search(rest)
            right = rest[: stop.start()] if stop else rest
        return right


_WHITESPACE = re.compile(r"\s+")


def _grams(text: str, low: int, high: int) -> set[str]:
    """Distinct grams of ``low``–``high`` (≤ 3) characters; pairs and triples joined by map in C
    rather than sliced in a Python loop."""
    found = set(text) if low <= 1 else set()
    if high >= 2:
        pairs = list(map(operator.add, text, text[1:]))
        found.update(pairs)
        if high >= 3:
            found.update(map(operator.add, pairs, text[2:]))
    return found


def mention_feature_groups(mention: Mention, lexicon: Sequence[str]) -> dict[str, set[str]]:
    """The features of one mention by kind: {"c": clause grams, "s": sentence grams, …}. The model
    looks each kind up in its own table, so scoring builds no "c:"+gram strings; a feature's name
    is ``kind:value`` (mention_features)."""
    clause = mention.clause
    sentence = f"{mention.left}{PLACEHOLDER}{mention.right}"
    predicate = mention.predicate_clause
    flags = {"any"}  # never empty, so a text with nothing known still has a row of unit length
    groups = {
        "c": _grams(clause, 1, 3),
        "s": _grams(sentence, 2, 3),
        "l": _grams(mention.clause_left, 1, 2),
        "r": _grams(mention.clause_right, 1, 3),
        "v": _grams(predicate, 1, 3),
        "p": {predicate[:n] for n in range(1, min(PREDICATE_SPAN, len(predicate)) + 1)},
        "a": {mention.clause_left[-n:] for n in (1, 2) if len(mention.clause_left) >= n},
        "f": flags,
    }
    if not mention.clause_left:
        flags.add("starts-clause")
    if not mention.clause_right:
        flags.add("ends-clause")
    if mention.clause_right.startswith(("、", "和", "与", "及")) or mention.clause_left.endswith("、"):
        flags.add("in-list")
    if "等" in mention.clause_right:
        flags.add("list-deng")
    if any(word in clause for word in NEGATIONS):
        flags.add("negation")
    for side, text in (("left", mention.left), ("right", mention.right)):
        if any(word in text for word in CONTRASTS):
            flags.add(f"contrast-{side}")
    # the clause and the predicate lie inside the sentence (and no word holds the placeholder), so
    # only the words found in the sentence need looking for in them
    present = [word for word in lexicon if word in sentence]
    hits = {
        "clause": sum(word in clause for word in present),
        "predicate": sum(word in predicate for word in present),
        "sentence": len(present),
    }
    lexical = groups["x"] = set()
    for where, count in hits.items():
        if count:
            lexical.add(where)
            lexical.add(f"{where}:{min(count, 3)}")
    if hits["predicate"] and "negation" in flags:
        lexical.add("negated")
    return groups


def mention_features(mention: Mention, lexicon: Sequence[str]) -> set[str]:
    """The features of one mention; the names are stable (they index the shipped weights)."""
    return {f"{kind}:{value}" for kind, values in mention_feature_groups(mention, lexicon).items() for value in values}


@dataclass(frozen=True)
class ToneCall:
    """Tone toward one mention: the probability it reports something bad for the subject, and the
    clause it was read from (name shown)."""

    probability: float
    clause: str

    @property
    def negative(self) -> bool:
        return is_negative(self.probability)


class ToneModel:
    """File: a JSON header (``intercept``, ``card``, ``checks``), then one ``[feature, weight]`` per
    line. The shipped lexicon is part of the features: the model refuses to load when the checks
    (texts and spans with the training script's probabilities) disagree."""

    def __init__(self, name: str, header: dict, weights: Iterable[Sequence], lexicon: Sequence[str]) -> None:
        self.name = name
        self.intercept: float = float(header["intercept"])
        # the decision threshold on this file's own probability; shipped files fold it into the
        # intercept, so it is NEGATIVE_CALL and the probability is used as it is
        self.threshold: float = float(header.get("threshold", NEGATIVE_CALL))
        self.card: dict = header.get("card", {})
        self.lexicon = tuple(lexicon)
        # feature "kind:value" -> weight, one table per kind (mention_feature_groups)
        self._tables: dict[str, dict[str, float]] = {}
        for line in weights:
            if len(line) != 2 or ":" not in line[0]:
                raise ToneModelError(f"tone model {name}: line {list(line)[:1]} is not [kind:value, weight]")
            kind, value = line[0].split(":", 1)
            self._tables.setdefault(kind, {})[value] = float(line[1])
        for text, start, end, expected in header.get("checks", []):
            got = self.mention_probability(text, start, end) if end > start else self.text_probability(text)
            if abs(got - expected) > 1e-6:
                raise ToneModelError(
                    f"tone model {name}: inference disagrees with training ({got} != {expected}); "
                    "were the features, the lexicon or the normaliser changed?"
                )

    @classmethod
    def load(cls, path: Path, lexicon_path: Path = LEXICON_PATH) -> ToneModel:
        with gzip.open(path, "rt", encoding="utf-8") as handle:
            header = json.loads(handle.readline())
            return cls(path.name.removesuffix(".jsonl.gz"), header, (json.loads(line) for line in handle),
                       load_lexicon(lexicon_path))

    def probability(self, mention: Mention) -> float:
        known: list[float] = []
        # per kind, one C-level intersection with the known values, then a gather
        for kind, values in mention_feature_groups(mention, self.lexicon).items():
            table = self._tables.get(kind)
            if table:
                known.extend(map(table.__getitem__, values & table.keys()))
        score = self.intercept + (sum(known) / math.sqrt(len(known)) if known else 0.0)
        if score < -500:
            return 0.0
        return calibrated(1.0 / (1.0 + math.exp(-score)), self.threshold)

    def mention_probability(self, text: str, start: int, end: int) -> float:
        """``text`` normalised, the name at ``text[start:end]``."""
        return self.probability(Mention.cut(text, start, end))

    def text_probability(self, text: str) -> float:
        """A text with no name in it (a headline): the whole text is the clause."""
        return self.probability(Mention.whole(normalise(text)))

    def labelled_probability(self, mention: LabelledMention) -> float:
        if mention.end > mention.start:
            return self.mention_probability(mention.text, mention.start, mention.end)
        return self.probability(Mention.whole(mention.text))

    def call(self, text: str, start: int, end: int) -> ToneCall:
        mention = Mention.cut(text, start, end)
        shown = f"{mention.clause_left}{text[start:end]}{mention.clause_right}"
        if not mention.clause_right and mention.predicate_clause:
            shown = f"{shown}:{mention.predicate_clause}"
        return ToneCall(self.probability(mention), shown)


_LOADED: dict[str, ToneModel] = {}


def load_tone_model(name: str = DEFAULT_TONE_MODEL) -> ToneModel:
    if name not in _LOADED:
        path = TONE_DIR / f"{name}.jsonl.gz"
        if not path.exists():
            raise ToneModelError(f"no tone model {name!r} in {TONE_DIR}")
        _LOADED[name] = ToneModel.load(path)
    return _LOADED[name]


# -- labelled mentions and evaluation ---------------------------------------------------------


@dataclass(frozen=True)
class LabelledMention:
    """A name in a sentence and whether the sentence is bad news for it. ``text`` is normalised and
    ``text[start:end]`` is the name (empty span: no name, the whole text is read)."""

    text: str
    start: int
    end: int
    negative: bool


def read_mentions(path: Path) -> list[LabelledMention]:
    """CFSC-ABSA's layout: a JSON list of objects with ``sentence``, ``term``, ``polarity``
    (positive / neutral / negative) and optionally ``from``/``to`` (where the term is; else its
    first occurrence)."""
    try:
        rows = json.loads(path.read_text(encoding="utf-8-sig"))
    except json.JSONDecodeError as error:
        raise ToneModelError(f"{path}: not JSON ({error})") from None
    if not isinstance(rows, list):
        raise ToneModelError(f"{path}: expected a JSON list of objects with sentence, term, polarity")
    out = []
    for number, row in enumerate(rows, start=1):
        if not isinstance(row, dict) or not {"sentence", "term", "polarity"} <= row.keys():
            raise ToneModelError(f"{path}: entry {number} needs sentence, term and polarity")
        sentence, term, polarity = row["sentence"], row["term"], row["polarity"]
        if polarity not in ("positive", "neutral", "negative"):
            raise ToneModelError(f"{path}: entry {number}: polarity must be positive, neutral or negative, found {polarity!r}")
        start = row.get("from")
        if start is None or sentence[start : start + len(term)] != term:
            start = sentence.find(term)
        if start < 0:
            raise ToneModelError(f"{path}: entry {number}: term {term!r} is not in its sentence")
        end = start + len(term)
        # normalised piece by piece, so that a character NFKC lengthens cannot shift the span
        left, name = normalise(sentence[:start]), normalise(term)
        text = left + name + normalise(sentence[end:])
        out.append(LabelledMention(text, len(left), len(left) + len(name), polarity == "negative"))
    return out


def evaluate_tone(probability, mentions: Sequence[LabelledMention]):
    """Scores of negative-for-the-name calls (``is_negative(probability(mention))``) as a
    sentiment.Evaluation, "positive" standing for "not negative"."""
    counts = {(True, True): 0, (True, False): 0, (False, True): 0, (False, False): 0}
    for mention in mentions:
        counts[(mention.negative, is_negative(probability(mention)))] += 1
    return Evaluation(
        total=len(mentions),
        true_negative=counts[(True, True)],
        false_positive_alarm=counts[(False, True)],
        missed_negative=counts[(True, False)],
        true_positive=counts[(False, False)],
    )
