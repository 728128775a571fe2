"""Grading rules from levels.yaml, and near-duplicate clustering."""

from datetime import UTC, datetime, timedelta

import pytest

from monitor.config import ConfigError
from monitor.events.cluster import Clusterer, signature
from monitor.events.levels import grade, load_levels, rank

LEVELS = load_levels()
T0 = datetime(2026, 11, 23, 8, tzinfo=UTC)


@pytest.mark.parametrize(
    ("metrics", "level"),
    [
        ({"max_risk": 20, "negative_share": 0.0, "outlets": 1, "items": 1}, None),
        ({"max_risk": 45, "negative_share": 1.0, "outlets": 1, "items": 1}, "blue"),
        ({"max_risk": 80, "negative_share": 1.0, "outlets": 2, "items": 2}, "yellow"),
        ({"max_risk": 80, "negative_share": 0.2, "outlets": 2, "items": 2}, "blue"),  # mostly not negative
        ({"max_risk": 80, "negative_share": 0.7, "outlets": 3, "items": 3, "local_media": True}, "orange"),
        ({"max_risk": 80, "negative_share": 0.7, "outlets": 6, "items": 9, "central_media": True}, "red"),
        # one item in three called negative about us is a negative story (reports quote our answer)
        ({"max_risk": 43, "negative_share": 0.333, "outlets": 3, "items": 3, "local_media": True}, "orange"),
        # weak mentions the model reads as negative do not climb without one item that makes blue
        ({"max_risk": 19, "negative_share": 1.0, "outlets": 3, "items": 3, "local_media": True}, None),
    ],
)
def test_default_levels(metrics, level):
    assert grade(metrics, LEVELS).level == level


def test_a_grade_says_which_thresholds_tripped_with_the_values():
    verdict = grade({"max_risk": 80, "negative_share": 0.75, "outlets": 3, "items": 3, "local_media": True}, LEVELS)
    assert verdict.reasons == [
        "orange: 媒体报道或KOL介入，迅速传播", "max_risk 80 ≥ 40", "negative_share 0.75 ≥ 0.3", "local_media is true",
        "outlets 3 ≥ 3",
    ]


def test_labels_follow_the_usual_numbering_and_colours_rank_upwards():
    assert LEVELS.labels == {"blue": "一级（蓝色）", "yellow": "二级（黄色）", "orange": "三级（橙色）", "red": "四级（红色）"}
    assert [rank(level) for level in (None, "blue", "yellow", "orange", "red")] == [0, 1, 2, 3, 4]


def test_a_bad_levels_file_names_the_field(tmp_path):
    path = tmp_path / "levels.yaml"
    path.write_text("levels:\n  purple: {any: [[{metric: items, gte: 1}]]}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="field 'levels.purple.\\[key\\]'"):
        load_levels(path)
    path.write_text("levels:\n  red: {any: [[{metric: likes, gte: 1}]]}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="levels.red.any.0.0.metric"):
        load_levels(path)


def test_negative_risk_is_refused_with_what_replaced_it(tmp_path):
    """negative_share counts the analysis's own call; a file still setting a risk cut-off is told so."""
    path = tmp_path / "levels.yaml"
    path.write_text("negative_risk: 40\nlevels:\n  blue: {any: [[{metric: max_risk, gte: 40}]]}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="negative_risk is no longer a setting.*model's own threshold"):
        load_levels(path)


STORY = ("江城多个小区自来水浑浊发黄 居民质疑水质安全",
         "据报道，江城市河西片区多个小区停水后恢复供水，自来水浑浊发黄并有异味，居民质疑水质安全。"
         "江城水务集团回应称，检测结果将尽快公布。事件引发网友广泛关注和讨论。")


def test_reprints_with_edits_join_and_other_stories_do_not():
    clusters = Clusterer(threshold=0.5)
    clusters.add(1, 100, T0, signature(*STORY))
    edited = signature("转载：" + STORY[0], "（来源：江城日报）" + STORY[1][:-8] + "记者 张三")
    assert clusters.best_event(edited, T0 + timedelta(hours=1))[0] == 100
    other = signature("江城水务集团被曝违规收费 多收居民二次供水费",
                      "多名居民向记者反映，江城水务集团在水费中违规收取二次供水费用，涉及上千户。")
    assert clusters.best_event(other, T0 + timedelta(hours=1)) == (None, 0.0)


def test_an_item_outside_the_window_starts_a_new_story():
    clusters = Clusterer(threshold=0.5, window=timedelta(hours=72))
    clusters.add(1, 100, T0, signature(*STORY))
    assert clusters.best_event(signature(*STORY), T0 + timedelta(hours=73)) == (None, 0.0)
    assert clusters.forget_before(T0 + timedelta(hours=1)) == 1 and len(clusters) == 0


def test_spread_over_time_counts_hour_by_hour():
    from monitor.events.spread import Member, spread_over_time

    def member(n, minutes, outlet, tier):
        return Member(n, outlet, tier, T0 + timedelta(minutes=minutes), T0 + timedelta(minutes=minutes + 1), 80, True, 0.9)

    spread = spread_over_time([member(1, 5, "f", "forum"), member(2, 70, "l", "local_media"),
                               member(3, 75, "f", "forum"), member(4, 200, "c", "central_media")])
    assert [(s["new_items"], s["items"], s["outlets"]) for s in spread] == [(1, 1, 1), (2, 3, 2), (0, 3, 2), (1, 4, 3)]
    assert spread[-1]["tiers"] == ["central_media", "forum", "local_media"]
