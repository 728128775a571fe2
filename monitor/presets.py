"""Ready-made configuration: the hot-list mappings (monitor/hotlists.yaml) an outlet names with
`mapping: <name>` instead of writing one out. Weibo, Baidu, Zhihu, Toutiao, Douyin,
Bilibili and newsnow-compatible aggregators, each with its endpoint, terms and tolerated pace."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import yaml

from monitor.config import JsonMapping

MAPPINGS_FILE = Path(__file__).with_name("hotlists.yaml")
_ABOUT = ("label", "endpoint", "source", "terms")


@dataclass(frozen=True)
class ReadyMapping:
    name: str
    label: str
    endpoint: str
    source: str  # where the response shape came from
    terms: str  # the platform's terms and the pace it tolerates
    mapping: JsonMapping


@cache
def ready_mapping_catalogue() -> dict[str, ReadyMapping]:
    raw = yaml.safe_load(MAPPINGS_FILE.read_text(encoding="utf-8"))["mappings"]
    catalogue = {}
    for name, entry in raw.items():
        fields = {key: value for key, value in entry.items() if key not in _ABOUT}
        mapping = JsonMapping.model_validate({**fields, "preset": name})
        catalogue[name] = ReadyMapping(name, *(entry[key] for key in _ABOUT), mapping=mapping)
    return catalogue


def ready_mappings() -> dict[str, JsonMapping]:
    """Name → mapping; the outlet file's `mapping: <name>` is looked up here."""
    return {name: ready.mapping for name, ready in ready_mapping_catalogue().items()}
