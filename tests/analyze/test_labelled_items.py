"""A hand-labelled set of real and realistic items: the shipped library and model should rank
them as a duty officer would. Thresholds, not exact scores, so the set tests behaviour, not tuning."""

from pathlib import Path

import pytest
import yaml

from monitor.analyze.library import load_library
from monitor.analyze.score import score_item
from monitor.analyze.sentiment import load_model

ROOT = Path(__file__).parents[2]
ITEMS = yaml.safe_load((ROOT / "tests" / "fixtures" / "analysis" / "labelled_items.yaml").read_text("utf-8"))


@pytest.fixture(scope="module")
def scored():
    library, model = load_library(ROOT / "keywords"), load_model()
    return [(item["label"], score_item(item["title"], item["body"], library, model).risk, item["title"]) for item in ITEMS]


def test_the_set_is_big_enough_to_mean_something():
    labels = [item["label"] for item in ITEMS]
    assert len(ITEMS) >= 30 and {labels.count(label) for label in ("high", "low", "none")} >= {10}


def test_items_about_nothing_we_watch_score_zero(scored):
    assert [(risk, title) for label, risk, title in scored if label == "none" and risk != 0] == []


def test_negative_stories_about_us_alert(scored):
    high = [(risk, title) for label, risk, title in scored if label == "high"]
    missed = [(risk, title) for risk, title in high if risk < 50]
    assert len(missed) <= len(high) // 10, missed  # at least 90% caught


def test_good_news_and_mentions_stay_below_the_alert_line(scored):
    low = [(risk, title) for label, risk, title in scored if label == "low"]
    false_alarms = [(risk, title) for risk, title in low if risk >= 50]
    assert len(false_alarms) <= len(low) // 10, false_alarms


def test_every_high_item_outranks_the_median_low_item(scored):
    lows = sorted(risk for label, risk, _ in scored if label == "low")
    median_low = lows[len(lows) // 2]
    assert all(risk > median_low for label, risk, _ in scored if label == "high")
