"""Records the stores hand to the pure parts: neutral, as monitor/states.py is, so that storage
(monitor/db) builds them without importing the code above it that reads them.

- Member: one item of an event, as the spread (monitor/events/spread.py) measures it.
- NEGATIVE_CALL / is_negative: the one definition of "negative" for a stored probability;
  POSITIVE_BELOW, where the report and search put "positive" apart from "neutral".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

# Every sentiment model has its own decision threshold, chosen in training and kept in its file (the
# sentiment model's ``threshold``; the tone model's folded into its intercept). Every probability
# the analysis stores is put on one scale, where that threshold lands on NEGATIVE_CALL, so that one
# test — is_negative — is the item's call, the event's negative share and the report's tone.
NEGATIVE_CALL = 0.5


def is_negative(probability: float) -> bool:
    """The model's own call on a stored (calibrated) negative probability."""
    return probability >= NEGATIVE_CALL


# Below this a stored probability reads "positive", between it and NEGATIVE_CALL "neutral": a
# fixed band of the report's (the models make no positive/neutral call), read by the weekly report
# and by search's tone filter, which must agree.
POSITIVE_BELOW = 0.4


@dataclass(frozen=True)
class Member:
    item_id: int
    outlet_id: str
    tier: str
    published_at: datetime | None
    first_seen_at: datetime
    risk: int
    negative: bool
    sensitivity: float  # highest group sensitivity among the item's hits
    joined_at: datetime | None = None  # when the events stage put it in the event
    reprint_of: int | None = None  # the member it is a near-duplicate of, when known

    @property
    def at(self) -> datetime:
        """When the item appeared: the outlet's claim if plausible, else when we saw it."""
        if self.published_at is not None and self.published_at <= self.first_seen_at:
            return self.published_at
        return self.first_seen_at
