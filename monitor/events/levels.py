"""Warning levels from levels.yaml: blue < yellow < orange < red, with the reasons for each grade.

Colour names are the identifiers everywhere (API, config, messages). Display labels are
configurable and default to the usual numbering of monitoring teams (一级蓝色 … 四级红色); national emergency standards
number the other way round (I级 = red), so a deployment that follows them changes the labels, not
the colours.

A level holds when any of its clauses holds; a clause holds when all its conditions do. The grade is
the highest level that holds. Automatic grading only ever raises an event's level: a story that
quietens cools down and closes after the quiet period, and a duty officer downgrades by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from monitor.config import Duration, config_error, read_yaml
from monitor.events import hotsignal
from monitor.events.spread import WINDOWED, window_key
from monitor.states import LEVELS, WarningLevel, literal, rank  # noqa: F401  (neutral: storage ranks levels too)

Level = literal(WarningLevel)  # for configuration fields: a Literal, so messages list the colours
METRICS = (
    "items", "outlets", "tier_count", "central_media", "local_media", "government", "kol",
    "items_last_hour", "items_last_6h", "velocity", "negative_share", "max_risk", "max_sensitivity",
    "items_total", "outlets_total",
    *hotsignal.METRICS,  # on_hotlist, best_rank, best_national_rank, minutes_on_list
)
DEFAULT_FILE = Path(__file__).parent / "levels.yaml"


class Condition(BaseModel):
    model_config = ConfigDict(extra="forbid")
    metric: Literal[METRICS]  # type: ignore[valid-type]
    # Over which members: "episode" (since the event opened or last reopened, plus the carry-over),
    # or a duration (members published in the last 6h, 24h …) for the spread measures.
    window: Literal["episode"] | Duration = "episode"
    gte: float | None = None
    lte: float | None = None
    equals: bool | None = None

    @model_validator(mode="after")
    def _window_fits_metric(self) -> Condition:
        if self.window != "episode" and self.metric not in WINDOWED:
            raise ValueError(f"{self.metric} has its own window; a window applies to {', '.join(WINDOWED)}")
        return self

    @property
    def key(self) -> str:
        return self.metric if self.window == "episode" else window_key(self.metric, self.window)

    def holds(self, metrics: dict) -> bool:
        value = metrics.get(self.key)
        if value is None:
            return False
        if self.equals is not None and bool(value) != self.equals:
            return False
        if self.gte is not None and not value >= self.gte:
            return False
        if self.lte is not None and not value <= self.lte:
            return False
        return True

    def describe(self, metrics: dict) -> str:
        parts, key = [], self.key
        if self.equals is not None:
            parts.append(f"{key} is {str(self.equals).lower()}")
        if self.gte is not None:
            parts.append(f"{key} {metrics.get(key)} ≥ {self.gte:g}")
        if self.lte is not None:
            parts.append(f"{key} {metrics.get(key)} ≤ {self.lte:g}")
        return " and ".join(parts)


class LevelRule(BaseModel):
    model_config = ConfigDict(extra="forbid")
    description: str = ""
    any: list[list[Condition]] = Field(min_length=1, description="clauses; each a list of conditions")


def _hotlist_rules() -> dict:
    """The hot-list section's defaults, for a levels.yaml written before it existed (the shipped
    file says the same, with the reasons)."""
    negative = {"metric": "max_risk", "gte": 40}
    return {
        "orange": LevelRule(description="上了全国热搜", any=[[negative, {"metric": "best_national_rank", "lte": 50}]]),
        "red": LevelRule(description="全国热搜前十", any=[[negative, {"metric": "best_national_rank", "lte": 10}]]),
    }


class LevelsConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")
    labels: dict[Level, str] = Field(
        default_factory=lambda: {
            "blue": "一级（蓝色）", "yellow": "二级（黄色）", "orange": "三级（橙色）", "red": "四级（红色）"
        }
    )
    window: Duration = timedelta(hours=72)
    quiet_period: Duration = timedelta(hours=24)
    similarity: float = Field(0.5, gt=0, le=1)
    # A reopened event is graded on its activity since it reopened; this share of the outlets and
    # items it had before (outlets not seen again in the flare) still counts.
    reopen_carry_over: float = Field(0.1, ge=0, le=1)
    levels: dict[Level, LevelRule]
    # 上了热搜: graded beside `levels`, the higher grade wins; its escalations give the list and
    # the rank as their reason. `hotlists: {}` turns the signal off.
    hotlists: dict[Level, LevelRule] = Field(default_factory=_hotlist_rules)

    @model_validator(mode="before")
    @classmethod
    def _no_negative_risk(cls, raw):
        # negative_share used to count items with risk >= negative_risk: a second definition of
        # "negative" beside the model's. Said plainly rather than as "extra inputs not permitted".
        if isinstance(raw, dict) and "negative_risk" in raw:
            raise ValueError(
                "negative_risk is no longer a setting: an item counts as negative for negative_share when "
                "the analysis calls it negative (the model's own threshold, as in its risk reasons and the "
                "weekly report); remove the line"
            )
        return raw

    def windows(self) -> tuple[timedelta, ...]:
        """The fixed windows the rules name, which the metrics must measure."""
        rules = [*self.levels.values(), *self.hotlists.values()]
        found = {c.window for rule in rules for clause in rule.any for c in clause if c.window != "episode"}
        return tuple(sorted(found))


@dataclass(frozen=True)
class Grade:
    level: str | None
    reasons: list[str]  # the clause that tripped, with the metric values


def grade(metrics: dict, config: LevelsConfig) -> Grade:
    """The highest level whose rule holds, from `levels` and from `hotlists`; a grade the hot
    lists give (and the spread does not) leads with the list and rank: "微博热搜第7位"."""
    spread = _grade(metrics, config.levels)
    on_list = _grade(metrics, config.hotlists)
    if rank(on_list.level) > rank(spread.level):
        return Grade(on_list.level, [hotsignal.reason(metrics), *on_list.reasons])
    return spread


def _grade(metrics: dict, rules: dict[str, LevelRule]) -> Grade:
    for level in reversed(LEVELS):
        rule = rules.get(level)
        if rule is None:
            continue
        for clause in rule.any:
            if all(condition.holds(metrics) for condition in clause):
                reasons = [condition.describe(metrics) for condition in clause]
                return Grade(level, [f"{level}: {rule.description}".rstrip(": ")] + reasons)
    return Grade(None, [])


def load_levels(path: Path | None = None) -> LevelsConfig:
    path = path or DEFAULT_FILE
    raw = read_yaml(path)
    try:
        return LevelsConfig.model_validate(raw)
    except ValidationError as error:
        raise config_error(path, error) from None
