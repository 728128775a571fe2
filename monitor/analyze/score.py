"""An item's risk score (0–100) with the reasons for it.

    keyword strength k = strongest hit + a quarter of the others, at most 1, where a hit weighs
                         group sensitivity × rule weight, × 1.3 when it is in the title (capped at 1)
    tone s             = where a hit names us (a term of a `subject: true` group): the tone-toward-
                         subject model (monitor/analyze/tone.py) read at each place we are named,
                         the highest of them (the worst thing the item says of us), weighed by how
                         news-like the item is (the sentiment model's gate), the rest by the
                         sentiment model on the sentences holding the hits (posts and complaints,
                         which the news-trained tone model reads as neutral); else that sentiment
                         reading alone
    risk               = 100 × k × (0.2 + 0.8 × s)

An item with no keyword hit has risk 0: it is not about anything we watch. Tone is read around the
names, not from the whole item, so a negative story *about us* scores higher than a negative story
that merely *mentions* us, or that is bad for someone else named beside us; both probabilities are
kept, and the reason quotes the clause ("对「东海能源」负面：东海能源被罚款80万元").

One definition of negative everywhere: every probability stored here is on the scale where the
model's own decision threshold (from its file: the sentiment model's ``threshold``, the tone
model's ``threshold`` or its intercept) is at NEGATIVE_CALL (0.5), and ``is_negative`` is the one
test: the item's call and reasons, the event's negative share (monitor/db/events.py) and the
weekly report's tone (monitor/reports/figures.py) all use it. Risk is not that test: a sensitive
keyword in friendly sentences keeps a fifth of its strength.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field

from monitor.analyze.library import SEPARATOR, KeywordLibrary, RuleHit, joined_text
from monitor.analyze.sentiment import NEGATIVE_CALL, SentimentModel, calibrated, is_negative
from monitor.analyze.tone import ToneModel, load_tone_model

TITLE_BOOST = 1.3
OTHER_HITS_SHARE = 0.25
# Relevance alone (a sensitive hit in friendly sentences) keeps a fifth of the keyword strength.
TONE_FLOOR = 0.2
# Places where we are named that are read, title first: the rest of a long item adds time, and
# an item's worst sentence about us is nearly always among its first mentions.
MAX_MENTIONS = 8
_SENTENCE_END = re.compile(r"[。！？!?；;\n\u2029]+")


@dataclass(frozen=True)
class Reason:
    factor: str  # keyword | tone | none
    detail: str
    value: float


@dataclass(frozen=True)
class ItemScore:
    library_version: str
    model: str
    hits: list[RuleHit]
    negative_probability: float  # tone toward us where named, else of the sentences with the hits
    item_negative_probability: float  # of the whole item (sentiment model)
    keyword_strength: float
    risk: int
    reasons: list[Reason] = field(default_factory=list)

    @property
    def negative(self) -> bool:
        return is_negative(self.negative_probability)

    def hits_as_json(self) -> list[dict]:
        return [
            {**asdict(hit), "terms": list(hit.terms), "spans": [list(s) for s in hit.spans]}
            for hit in self.hits
        ]

    def reasons_as_json(self) -> list[dict]:
        return [asdict(reason) for reason in self.reasons]


NEWS_EXPERT = "general"  # the mixture's expert the gate sends news to (scripts/train_sentiment.py)


def news_share(model: SentimentModel, text: str) -> float:
    """How much the sentiment model's gate reads text as news (0–1); a model without a gate
    (snownlp) gives 1: the tone model alone, as for news."""
    parts = getattr(model, "parts", None)
    if parts is None:
        return 1.0
    return parts(text).shares.get(NEWS_EXPERT, 1.0)


def whole_reading(model: SentimentModel, text: str, normalised: bool = False) -> tuple[float, float]:
    """The sentiment model's negative probability (NEGATIVE_CALL scale) and news share of one text
    from one reading of it (the mixture computes both from the same grams)."""
    parts = getattr(model, "parts", None)
    if parts is None:
        return sentiment_negative(model, text), 1.0
    reading = parts(text, normalised) if normalised else parts(text)
    return (calibrated(reading.negative, getattr(model, "threshold", NEGATIVE_CALL)),
            reading.shares.get(NEWS_EXPERT, 1.0))


def sentiment_negative(model: SentimentModel, text: str, normalised: bool = False) -> float:
    """The sentiment model's negative probability on the NEGATIVE_CALL scale; ``normalised``: the
    text is normalised already (a model that reads raw text reads it as it is)."""
    parts = getattr(model, "parts", None) if normalised else None
    probability = parts(text, True).negative if parts else model.negative_probability(text)
    return calibrated(probability, getattr(model, "threshold", NEGATIVE_CALL))


def score_item(
    title: str, body: str, library: KeywordLibrary, model: SentimentModel, tone_model: ToneModel | None = None
) -> ItemScore:
    """``tone_model``: the tone-toward-subject model (default: the shipped one)."""
    text, title_length = joined_text(title, body)  # normalised once, for matching and both models
    hits = library.match_joined(text, title_length)
    # the whole item as title\nbody (normalising each part is normalising the whole: NFKC and
    # OpenCC do not reach across a line break)
    whole, news = whole_reading(model, f"{text[:title_length]}\n{text[title_length + len(SEPARATOR):]}", True)
    if not hits:
        return ItemScore(
            library.version, model.name, [], whole, whole, 0.0, 0,
            [Reason("none", "no keyword rule matched: not about anything in the library", 0.0)],
        )

    reasons: list[Reason] = []
    strengths = []
    for hit in hits:
        group = library.groups[hit.group]
        strength = min(1.0, group.sensitivity * hit.weight * (TITLE_BOOST if hit.in_title else 1.0))
        strengths.append(strength)
        where = "title" if hit.in_title else "body"
        reasons.append(
            Reason(
                "keyword",
                f"rule {hit.rule} ({group.name}, sensitivity {group.sensitivity:g} × weight "
                f"{hit.weight:g}{f' × {TITLE_BOOST} in title' if hit.in_title else ''}) "
                f"matched {'、'.join(hit.terms)} in the {where}",
                round(strength, 3),
            )
        )
    strengths.sort(reverse=True)
    keyword_strength = min(1.0, strengths[0] + OTHER_HITS_SHARE * sum(strengths[1:]))

    mentions = _subject_mentions(text, hits, library)
    if mentions:
        tone_model = tone_model or load_tone_model()
        calls = [(library.term_of.get(text[a:b], text[a:b]), tone_model.call(text, a, b)) for a, b in mentions]
        name, worst = max(calls, key=lambda c: c[1].probability)
        # The tone model learned news; a forum complaint ("水费单又多收了…真是乱收费") is a post,
        # which it reads as neutral. The sentiment model's gate says how news-like the item is:
        # its share of the news expert weighs the tone model, the rest the posts reading of the
        # sentences holding the hits (measured: BENCHMARKS.md, "Tone on posts and news").
        context = _hit_sentences(text, hits)
        posts = sentiment_negative(model, context, True) if context and news < 1.0 else worst.probability
        tone = news * worst.probability + (1.0 - news) * posts
        verdict = "负面" if is_negative(tone) else "未见负面"
        reasons.append(
            Reason(
                "tone",
                f"对「{name}」{verdict}：{worst.clause} (negative probability {worst.probability:.2f} toward the "
                f"subject, {f'the highest of {len(calls)} mentions' if len(calls) > 1 else 'its one mention'}; tone model "
                f"{tone_model.name}; read as news {news:.0%}, as a post {posts:.2f}: tone {tone:.2f}; whole item "
                f"{whole:.2f}, model {model.name})",
                round(tone, 3),
            )
        )
    else:
        context = _hit_sentences(text, hits)
        tone = sentiment_negative(model, context, True) if context else whole
        reasons.append(
            Reason(
                "tone",
                f"negative probability {tone:.2f} in the sentences holding the hits "
                f"(whole item {whole:.2f}; model {model.name})",
                round(tone, 3),
            )
        )
    risk = round(100 * keyword_strength * (TONE_FLOOR + (1 - TONE_FLOOR) * tone))
    return ItemScore(
        library.version, model.name, hits, tone, whole, keyword_strength, max(0, min(100, risk)),
        reasons,
    )


def _subject_mentions(text: str, hits: list[RuleHit], library: KeywordLibrary) -> list[tuple[int, int]]:
    """Where a hit names a subject (us), in the normalised title+body; title first, at most
    MAX_MENTIONS, a place named by several rules or variants (江城水务 inside 江城水务集团) read
    once, as its longest name."""
    spans = sorted(
        {span for hit in hits for span in hit.spans if text[span[0]:span[1]] in library.subject_terms},
        key=lambda span: (span[0], -span[1]),
    )
    places: list[tuple[int, int]] = []
    for start, end in spans:
        if places and start < places[-1][1]:
            continue  # inside (or overlapping) the longer name just kept
        places.append((start, end))
    return places[:MAX_MENTIONS]


def _hit_sentences(text: str, hits: list[RuleHit]) -> str:
    """The sentences of the normalised title+body that hold a hit."""
    bounds = list(zip(
        [0] + [m.end() for m in _SENTENCE_END.finditer(text)],
        [m.start() for m in _SENTENCE_END.finditer(text)] + [len(text)],
        strict=True,
    ))
    starts = [s for hit in hits for s, _ in hit.spans]
    chosen = [(a, b) for a, b in bounds if any(a <= s < b for s in starts)]
    return "。".join(text[a:b].strip() for a, b in chosen if text[a:b].strip())
