"""Risk scores with reasons, using the shipped library and the default sentiment model."""

from pathlib import Path

import pytest

from monitor.analyze.library import load_library
from monitor.analyze.score import NEGATIVE_CALL, calibrated, score_item
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


def test_where_we_are_named_the_reason_says_what_is_bad_for_us_and_quotes_the_clause(model):
    result = score_item(
        "江城水务集团被罚款80万元",
        "市生态环境局通报，江城水务集团因污水处理厂排放超标被罚款80万元。",
        LIBRARY, model,
    )
    tone = result.reasons[-1]
    assert tone.factor == "tone" and result.negative
    assert tone.detail.startswith("对「江城水务集团」负面：江城水务集团")
    assert "被罚款80万元" in tone.detail and "tone model fenghuo-tone" in tone.detail
    assert result.risk >= 80


def test_bad_news_about_others_beside_us_is_not_negative_for_us(model):
    """The whole item is a list of penalties; the one sentence naming us is good news."""
    result = score_item(
        "环保督查通报多家企业违规排污",
        "通报称，某化工企业违规排污被罚款50万元，某印染厂被责令停产。江城水务集团获评年度优秀供水企业。",
        LIBRARY, model,
    )
    assert not result.negative
    assert result.reasons[-1].detail.startswith("对「江城水务集团」未见负面：江城水务集团获评年度优秀供水企业")
    assert result.risk < 20


def test_a_name_inside_a_longer_name_is_read_once(model):
    result = score_item("江城水务集团拖欠工程款 施工方讨薪", "", LIBRARY, model)
    assert "its one mention" in result.reasons[-1].detail


def test_without_a_subject_the_sentiment_model_reads_the_sentences_holding_the_hits(model):
    result = score_item("河西小区停水两天 居民无奈排队接水", "", LIBRARY, model)
    assert [hit.rule for hit in result.hits] == ["water-outage-near-residents"]  # names no one
    assert result.reasons[-1].detail.startswith("negative probability")
    assert result.negative_probability == pytest.approx(
        calibrated(model.negative_probability("河西小区停水两天 居民无奈排队接水"), model.threshold), abs=1e-9
    )


def test_one_definition_of_negative_the_models_call_at_one_point():
    """Every stored tone is on the scale where the model's own threshold sits at NEGATIVE_CALL, and
    the weekly report counts an item negative exactly there."""
    from monitor.reports.figures import tone

    default = load_model()
    assert calibrated(default.threshold, default.threshold) == pytest.approx(NEGATIVE_CALL)
    assert calibrated(default.threshold + 0.01, default.threshold) > NEGATIVE_CALL
    assert tone(NEGATIVE_CALL) == "negative" and tone(NEGATIVE_CALL - 1e-9) != "negative"
