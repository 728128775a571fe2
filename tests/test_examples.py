"""The worked examples a new user copies ("Your organisation in ten minutes") are valid and do
what the README says: a bad story about the example organisation scores high, good news and
texts about nobody watched score low."""

from pathlib import Path

import pytest

from monitor.alerts.routing import load_routing
from monitor.analyze.library import load_library
from monitor.analyze.score import score_item
from monitor.analyze.sentiment import load_model
from monitor.config import load_outlets

EXAMPLES = Path(__file__).parent.parent / "examples"

CASES = {
    "company": ("东海能源集团旗下东海石化厂区发生爆炸事故，造成3人受伤，周边居民紧急疏散。",
                "东海能源集团发布年度社会责任报告，新能源装机规模同比增长30%。"),
    "government": ("市民反映小区旁河道出现大量死鱼并伴有刺鼻气味，多次拨打12345热线投诉，江城市生态环境局至今无人回应。",
                   "江城市生态环境局召开蓝天保卫战推进会，全市优良天数比例同比提高。"),
}


@pytest.fixture(scope="module")
def model():
    return load_model("fenghuo-general")


@pytest.mark.parametrize("example", sorted(CASES))
def test_each_example_is_a_valid_configuration(example, monkeypatch):
    folder = EXAMPLES / example
    library = load_library(folder / "keywords")
    assert any(group.subject for group in library.groups.values())
    assert load_outlets(folder / "outlets.yaml")
    for variable in ("FENGHUO_WEBHOOK_DUTY_URL", "FENGHUO_WEBHOOK_LEADERS_URL"):
        monkeypatch.setenv(variable, "https://chat.example.com/hook")
    monkeypatch.setenv("FENGHUO_WEBHOOK_LEADERS_SECRET", "SECexample")
    routing = load_routing(folder / "notify.yaml")
    assert routing.channels_for("red")


@pytest.mark.parametrize("example", sorted(CASES))
def test_a_bad_story_about_the_example_scores_high_and_good_news_low(example, model):
    library = load_library(EXAMPLES / example / "keywords")
    bad, good = CASES[example]
    assert score_item("", bad, library, model).risk >= 80
    assert score_item("", good, library, model).risk < 20
    # the shipped demo library does not know these organisations: nothing to report
    assert score_item("", bad, load_library(Path(__file__).parent.parent / "keywords"), model).risk == 0
