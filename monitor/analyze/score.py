"""An item's risk score (0–100) with the reasons for it.

    keyword strength k = strongest hit + a quarter of the others, at most 1, where a hit weighs
                         group sensitivity × rule weight, × 1.3 when it is in the title (capped at 1)
    tone s             = negative probability of the sentences that name us (a term of a
                         `subject: true` group), else of the sentences that carry the hits
    risk               = 100 × k × (0.2 + 0.8 × s)

An item with no keyword hit has risk 0: it is not about anything we watch. Tone is read from the
sentences around the hits, not only the whole item, so a negative story *about us* (the complaint
sentence names us) scores higher than a negative story that merely *mentions* us in passing; both
probabilities are kept.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field

from monitor.analyze.library import KeywordLibrary, RuleHit, joined_text
from monitor.analyze.sentiment import SentimentModel

TITLE_BOOST = 1.3
OTHER_HITS_SHARE = 0.25
# Relevance alone (a sensitive hit in friendly sentences) keeps a fifth of the keyword strength.
TONE_FLOOR = 0.2
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
    negative_probability: float  # of the sentences carrying the hits (whole item if none)
    item_negative_probability: float  # of the whole item
    keyword_strength: float
    risk: int
    reasons: list[Reason] = field(default_factory=list)

    def hits_as_json(self) -> list[dict]:
        return [
            {**asdict(hit), "terms": list(hit.terms), "spans": [list(s) for s in hit.spans]}
            for hit in self.hits
        ]

    def reasons_as_json(self) -> list[dict]:
        return [asdict(reason) for reason in self.reasons]


def score_item(title: str, body: str, library: KeywordLibrary, model: SentimentModel) -> ItemScore:
    hits = library.match(title, body)
    whole = model.negative_probability(f"{title}\n{body}")
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

    context, about = _context(title, body, hits, library)
    tone = model.negative_probability(context) if context else whole
    reasons.append(
        Reason(
            "tone",
            f"negative probability {tone:.2f} in the sentences {about} "
            f"(whole item {whole:.2f}; model {model.name})",
            round(tone, 3),
        )
    )
    risk = round(100 * keyword_strength * (TONE_FLOOR + (1 - TONE_FLOOR) * tone))
    return ItemScore(
        library.version, model.name, hits, tone, whole, keyword_strength, max(0, min(100, risk)),
        reasons,
    )


def _context(title: str, body: str, hits: list[RuleHit], library: KeywordLibrary) -> tuple[str, str]:
    """The sentences that name a subject (us), else those holding any hit, of the normalised
    title+body as the library matched it; and a phrase saying which."""
    text, _title_length = joined_text(title, body)
    bounds = list(zip(
        [0] + [m.end() for m in _SENTENCE_END.finditer(text)],
        [m.start() for m in _SENTENCE_END.finditer(text)] + [len(text)],
        strict=True,
    ))
    subjects = {term for hit in hits for term in hit.terms if term in library.subject_terms}
    if subjects:
        chosen = [(a, b) for a, b in bounds if any(term in text[a:b] for term in subjects)]
        about = "naming us (" + "、".join(sorted(subjects)) + ")"
    else:
        starts = [s for hit in hits for s, _ in hit.spans]
        chosen = [(a, b) for a, b in bounds if any(a <= s < b for s in starts)]
        about = "holding the hits"
    return "。".join(text[a:b].strip() for a, b in chosen if text[a:b].strip()), about
