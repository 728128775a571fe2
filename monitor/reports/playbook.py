"""The response playbook (应急预案): per warning level, who is told, the first-response deadline,
the actions and a holding statement. Config as data (playbook.yaml), validated like the others;
the brief fills it with the event's stored facts and nothing else."""

from __future__ import annotations

import string
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from monitor.config import config_error, read_yaml
from monitor.events.levels import LEVELS

DEFAULT_FILE = Path(__file__).with_name("playbook.yaml")
# Every placeholder a statement may use: each is a fact the brief has from storage.
PLACEHOLDERS = frozenset({"title", "first_at", "origin", "outlets", "level"})


class LevelPlaybook(BaseModel):
    model_config = ConfigDict(extra="forbid")

    first_response_minutes: int = Field(gt=0)
    notify: list[str] = Field(default_factory=list)
    actions: list[str] = Field(default_factory=list)
    statement: str = ""

    @field_validator("statement")
    @classmethod
    def _known_placeholders(cls, value: str) -> str:
        try:
            names = {name for _, name, _, _ in string.Formatter().parse(value) if name is not None}
        except ValueError as error:  # an unmatched brace
            raise ValueError(f"statement: {error}") from None
        unknown = names - PLACEHOLDERS
        if unknown:
            raise ValueError(f"unknown placeholder(s) {sorted(unknown)}; known: {sorted(PLACEHOLDERS)}")
        return value


class Playbook(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # 发现及时: a negative story counts as found in time when it was first fetched within this
    # many minutes of its first publication (the reviews and their 发现及时率 use it).
    found_within_minutes: int = Field(60, gt=0)
    levels: dict[str, LevelPlaybook]

    @field_validator("levels")
    @classmethod
    def _every_level(cls, value: dict[str, LevelPlaybook]) -> dict[str, LevelPlaybook]:
        unknown = set(value) - set(LEVELS)
        if unknown:
            raise ValueError(f"unknown level(s) {sorted(unknown)}; levels are {list(LEVELS)}")
        missing = [level for level in LEVELS if level not in value]
        if missing:
            raise ValueError(f"every level needs an entry; missing: {missing}")
        return value


def load_playbook(path: Path | None = None) -> Playbook:
    path = path or DEFAULT_FILE
    raw = read_yaml(path)
    try:
        return Playbook.model_validate(raw)
    except ValidationError as error:
        raise config_error(path, error) from None
