"""Risk scores with reasons, using the shipped library and the default sentiment model."""

from pathlib import Path

import pytest

from monitor.analyze.library import load_library
from monitor.analyze.score import score_item
from monitor.analyze.sentiment import load_model

LIBRARY = load_library(Path(__file__).parents[2] / "keywords")


@pytest.fixture(scope="module")
def model():
    return load_model()


def test_an_item_about_nothing_we_watch_has_no_risk(model):
    result = score_item("NBL第三日：四川河北鞍山取三连胜", "香港再遭败绩。", LIBRARY, model)
    assert (result.risk, result.hits) == (0, [])
    assert result.reasons[0].factor == "none"


def test_a_negative_story_about_us_outranks_one_that_merely_mentions_us(model):
    about_us = score_item(
        "江城水务集团停水三天无人管 居民愤怒投诉",
        "河西片区居民反映，江城水务集团停水三天没有任何通知，客服电话打不通，大家非常愤怒。",
        LIBRARY, model,
    )
    mentions_us = score_item(
        "外地一小区电梯故障困人 居民愤怒投诉物业",
        "居民对物业的处理非常不满，纷纷投诉。另据了解，江城水务集团本周举办水厂开放日，欢迎市民参观。",
        LIBRARY, model,
    )
    assert about_us.risk >= 60
    assert mentions_us.risk < about_us.risk / 2
    # the tone around the hits tells them apart even when the whole texts are both negative
    assert mentions_us.negative_probability < about_us.negative_probability


def test_a_hit_in_the_title_weighs_more_than_in_the_body(model):
    in_title = score_item("江城水务集团被曝水质超标", "记者调查发现相关问题。", LIBRARY, model)
    in_body = score_item("记者调查发现相关问题", "江城水务集团被曝水质超标。", LIBRARY, model)
    assert in_title.keyword_strength > in_body.keyword_strength
    assert in_title.risk > in_body.risk


def test_reasons_name_the_rules_terms_and_tone(model):
    result = score_item("江城多个小区自来水浑浊发黄 居民质疑水质安全",
                        "江城水务集团回应称，检测结果将尽快公布。", LIBRARY, model)
    details = " ".join(reason.detail for reason in result.reasons)
    assert "rule org-incident" in details and "水质" in details
    assert "negative probability" in details and result.model in details
    assert {h["rule"] for h in result.hits_as_json()} >= {"org-incident", "org-complaint"}


def test_good_news_about_us_stays_low(model):
    result = score_item(
        "江城水务集团举办水厂开放日 市民走进净水车间",
        "江城水务集团本周末举办水厂开放日活动，两百多名市民参观了净水车间和水质检测中心。",
        LIBRARY, model,
    )
    assert [hit.rule for hit in result.hits] == ["org-mention"]  # 水质检测 is not a water-quality incident
    assert result.risk < 20
