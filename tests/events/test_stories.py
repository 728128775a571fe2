"""One story, many wordings: the story link beside MinHash, the reopen margin, episode and
windowed metrics, and the spread path."""

from datetime import UTC, datetime, timedelta
from itertools import combinations

import pytest

from monitor.config import ConfigError
from monitor.events.cluster import Clusterer, signature
from monitor.events.levels import grade, load_levels
from monitor.events.spread import Member, event_metrics, spread_path
from monitor.events.stories import Grouper, StoryIndex, incidents, numbers, story_doc
from tests.fixtures.events.stories.storyset import load

T0 = datetime(2026, 11, 23, 8, tzinfo=UTC)
SUBJECT = ("东岭化工集团", "东岭化工")


def doc(title, text, subject="dongling"):
    return story_doc(title, text, {subject}, SUBJECT)


POST = ("南港这边刚才一声巨响，好多人被抬出来了",
        "住南港厂区旁边的宿舍，刚才电梯间里东岭化工堆的几个原料桶炸了，一股刺鼻的味道，看到四个人被抬上救护车，有人说是中毒。")
NEWS = ("公寓电梯间化工原料桶爆炸4人中毒",
        "记者从南港区应急管理局获悉，今日上午，东岭化工集团南港厂区一职工公寓电梯间内存放的化工原料桶发生爆炸，"
        "4名住户吸入有害气体出现中毒症状，已送医救治，暂无生命危险。事故原因正在调查。")
OTHER_PLANT = ("氧气供应厂爆炸2名工人被炸飞死亡",
               "本报讯 昨天下午3时许，位于北湖开发区的东岭化工集团北湖分厂氧气供应站发生爆炸，正在充装作业的2名工人"
               "被气浪掀出数米，经抢救无效死亡。北湖区安监部门已介入调查。")


def test_counts_are_read_in_digits_or_words_and_kept_apart_from_sums():
    assert numbers("3死12伤") == {"3n", "12n"}
    assert numbers("三名工人和两个孩子") == {"3n", "2n"}
    assert numbers("索赔12.8万元") == {"12.8万"}
    assert numbers("一名男子") == frozenset()  # "one man" tells no story apart


def test_a_first_hand_post_starts_the_event_that_the_news_report_joins():
    grouper = Grouper()
    post = doc(*POST)
    assert grouper.match(signature(*POST), post, T0).event_id is None
    grouper.add(1, 100, T0, signature(*POST), post)
    assert signature(*POST).jaccard(signature(*NEWS)) < 0.2  # MinHash alone cannot see it
    match = grouper.match(signature(*NEWS), doc(*NEWS), T0 + timedelta(hours=2))
    assert (match.event_id, match.link) == (100, "story")
    assert any("4n" in reason or "南港" in reason or "cosine" in reason for reason in match.reasons)


def test_an_accident_at_another_plant_of_the_same_company_is_another_event():
    grouper = Grouper()
    for n, (title, text) in enumerate([POST, NEWS]):
        grouper.add(n, 100, T0 + timedelta(hours=n), signature(title, text), doc(title, text))
    match = grouper.match(signature(*OTHER_PLANT), doc(*OTHER_PLANT), T0 + timedelta(hours=30))
    assert match.event_id is None


def test_the_story_link_needs_a_shared_subject():
    grouper = Grouper()
    grouper.add(1, 100, T0, signature(*POST), doc(*POST))
    elsewhere = story_doc(*NEWS, {"another-group"}, SUBJECT)
    assert grouper.match(signature(*NEWS), elsewhere, T0 + timedelta(hours=1)).event_id is None


class FixedReprints:
    """A reprint index that always reports the same near-duplicate: the decision is under test."""

    def __init__(self, event_id, jaccard):
        self.answer = (event_id, jaccard, 7)

    def best(self, minhash, at, floor=None):
        return self.answer if self.answer[1] >= floor else (None, 0.0, None)

    def add(self, *args):
        pass


@pytest.mark.parametrize(
    ("jaccard", "story_agrees", "reopens"),
    [
        (0.50, False, False),  # exactly on the threshold: one signal is not enough to reopen
        (0.50, True, True),  # ... with the story link pointing at the same event it is
        (0.45, True, True),  # a near miss confirmed by the second link
        (0.62, False, True),  # clear of the threshold by the margin
        (0.35, False, False),  # below threshold - margin the reprint link says nothing
        (0.35, True, True),  # the story link alone has two signals here: the text and "4名"
    ],
)
def test_reopening_a_closed_event_does_not_hang_on_one_threshold(jaccard, story_agrees, reopens):
    grouper = Grouper(threshold=0.5, margin=0.1, stories=StoryIndex(high=0.99, low=0.99))
    grouper.reprints = FixedReprints(100, jaccard)
    grouper.closed.add(100)
    if story_agrees:
        grouper.stories = StoryIndex()
        grouper.stories.add(7, 100, T0, doc(*NEWS))
    match = grouper.match(None, doc(*NEWS), T0 + timedelta(hours=40))
    assert (match.event_id == 100) is reopens


def test_an_open_event_takes_a_reprint_at_the_threshold():
    grouper = Grouper(threshold=0.5)
    grouper.reprints = FixedReprints(100, 0.5)
    match = grouper.match(None, None, T0)
    assert (match.event_id, match.link, match.reprint_of) == (100, "reprint", 7)


def test_on_the_labelled_story_set_the_story_link_groups_wordings_minhash_cannot():
    """The 43-story set (tests/fixtures/events/stories), no background index: the regression guard.
    BENCHMARKS.md has the measurement with 100,000 items indexed."""
    items = load()
    scores = {}
    for method in ("minhash", "grouper"):
        grouper, assigned = Grouper(), []
        for n, item in enumerate(items):
            minhash = signature(item.title, item.text)
            story = story_doc(item.title, item.text, {item.subject}, item.subject_terms) if method == "grouper" else None
            event = grouper.match(minhash, story, item.at).event_id
            assigned.append(n if event is None else event)
            grouper.add(n, assigned[-1], item.at, minhash, story, grouper.last_weights)
        pairs = [(items[a].story == items[b].story, assigned[a] == assigned[b]) for a, b in combinations(range(len(items)), 2)]
        both = sum(s and e for s, e in pairs)
        scores[method] = (both / sum(e for _s, e in pairs), both / sum(s for s, _e in pairs))
    assert scores["minhash"][1] < 0.3  # reprints only: posts and follow-ups are lost
    assert scores["grouper"][0] >= 0.95 and scores["grouper"][1] >= 0.85
    # 信息溯源: the event holding a story's news report starts at the story's first item (a forum
    # or Weibo post hours before the report) for most stories
    origins = []
    for story in {item.story for item in items}:
        news = next(n for n, item in enumerate(items) if item.story == story and item.role == "news")
        first = min((n for n in range(len(items)) if assigned[n] == assigned[news]), key=lambda n: items[n].at)
        origins.append(items[first].at == min(item.at for item in items if item.story == story))
    assert sum(origins) >= 0.8 * len(origins)  # 36 of 43 without a background index


def member(n, hours, outlet, tier, joined=None, published=True, reprint_of=None):
    at = T0 + timedelta(hours=hours)
    return Member(n, outlet, tier, at if published else None, at + timedelta(minutes=3), 80, True, 0.9,
                  joined_at=joined or at + timedelta(minutes=5), reprint_of=reprint_of)


def test_a_reopened_event_is_measured_on_the_flare_plus_the_carry_over():
    before = [member(n, n, f"old-{n}", "local_media") for n in range(8)] + [member(8, 8, "central", "central_media")]
    flare = [member(20 + n, 60 + n / 4, f"new-{n}", "local_media") for n in range(3)]
    reopened = T0 + timedelta(hours=60)
    metrics = event_metrics(before + flare, T0 + timedelta(hours=61), episode_start=reopened, carry_over=0.25)
    assert metrics["outlets"] == 3 + 3  # three in the flare, a quarter of nine earlier rounded up
    assert event_metrics(before + flare, T0 + timedelta(hours=61), episode_start=reopened, carry_over=0.1)["outlets"] == 4
    assert metrics["central_media"] is False  # central media covered the old episode, not this one
    assert (metrics["outlets_total"], metrics["items_total"]) == (12, 12)
    assert grade(metrics, load_levels()).level == "orange"  # before: red, on outlets it no longer has


def test_a_condition_can_name_a_fixed_window(tmp_path):
    members = [member(n, n, f"o-{n}", "local_media") for n in range(10)]
    metrics = event_metrics(members, T0 + timedelta(hours=9, minutes=30), windows=(timedelta(hours=6),))
    assert (metrics["outlets"], metrics["outlets@6h"]) == (10, 6)
    levels = load_levels()
    assert levels.windows() == (timedelta(hours=6),)  # the burst rule's window
    path = tmp_path / "levels.yaml"
    path.write_text("levels:\n  red: {any: [[{metric: max_risk, window: 6h, gte: 1}]]}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="max_risk has its own window"):
        load_levels(path)


def test_the_spread_path_starts_at_the_first_publisher_and_dates_each_tier():
    members = [
        member(3, 3, "central-0", "central_media"),
        member(2, 1, "local-daily", "local_media", reprint_of=None),
        member(4, 1.5, "portal-1", "local_media", reprint_of=2),
        member(1, 0, "forum-a", "forum"),
    ]
    path = spread_path(members)
    assert path["origin"]["outlet_id"] == "forum-a" and path["origin"]["by"] == "published_at"
    assert [step["item_id"] for step in path["spread_path"]] == [1, 2, 4, 3]
    assert path["spread_path"][2]["reprint_of"] == 2
    assert [(t["tier"], t["at"]) for t in path["tiers_reached"]] == [
        ("forum", T0), ("local_media", T0 + timedelta(hours=1)), ("central_media", T0 + timedelta(hours=3)),
    ]


def test_the_kind_of_harm_is_read_in_a_report_s_words_and_a_poster_s():
    assert incidents("厂区发生爆炸") == incidents("刚才那边炸了") == {"explosion"}
    assert incidents("车间起火") == incidents("整个车间都着火了") == {"fire"}
    assert "death" in incidents("120来的时候人已经不行了") and "death" in incidents("经抢救无效死亡")
    assert incidents("获评省级绿色工厂") == frozenset()  # good news names no harm


FIRE_POST = ("鑫源电子车间着火了", "鑫源电子厂二车间冒黑烟了，听说一个员工拿水去浇着火的电焊机，结果火更大了，整个车间都烧起来了。")
FIRE_NEWS = ("员工救火方法失误引发火灾面临行政拘留",
             "鑫源电子厂二车间一台设备起火，一名员工用水扑救带电设备，导致火势蔓延引燃车间，所幸无人伤亡。"
             "消防部门认定该员工处置不当，其面临行政拘留。")
XINYUAN = ("鑫源电子", "鑫源电子厂", "鑫源公司")


def test_a_post_that_shares_little_wording_with_the_report_joins_it_on_the_same_incident():
    """The post says 着火, the report 起火/火灾: their text cosine is below the band, the kind of
    harm and the hours between them link them, and the post stays the event's first item."""
    grouper = Grouper()
    post = story_doc(*FIRE_POST, {"xinyuan"}, XINYUAN)
    grouper.add(1, 100, T0, signature(*FIRE_POST), post)
    news = story_doc(*FIRE_NEWS, {"xinyuan"}, XINYUAN)
    match = grouper.match(signature(*FIRE_NEWS), news, T0 + timedelta(hours=3))
    assert (match.event_id, match.link) == (100, "story")
    assert any("incident" in reason and "fire" in reason for reason in match.reasons), match.reasons
    # a day and a half later the same words no longer join: that is another fire
    assert grouper.match(signature(*FIRE_NEWS), news, T0 + timedelta(hours=36)).event_id is None


LEAK_POST = ("北湖这边全是刺鼻的气味", "北湖开发区东岭化工那边飘过来一股刺鼻的黄绿色气体，眼睛辣得睁不开，小区广播让大家马上往南边撤。")
LEAK_NEWS = ("东岭化工北湖分厂氯气泄漏 周边居民紧急疏散",
             "今日凌晨，东岭化工集团北湖分厂一氯气储罐阀门发生泄漏，北湖区紧急疏散周边约2000名居民，11人出现咽喉不适送医观察。")


def test_the_same_harm_at_the_same_place_links_wordings_that_share_nothing_else():
    grouper = Grouper()
    grouper.add(1, 100, T0, signature(*LEAK_POST), doc(*LEAK_POST))
    match = grouper.match(signature(*LEAK_NEWS), doc(*LEAK_NEWS), T0 + timedelta(hours=2))
    assert match.event_id == 100 and "shared 北湖" in match.reasons
    # the other plant's explosion, the same hours: another place, another event
    assert grouper.match(signature(*POST), doc(*POST), T0 + timedelta(hours=2)).event_id is None


def test_closeness_in_time_alone_does_not_join_two_stories_of_one_subject():
    """Two reports about one company within the hour, alike in wording (their cosine, 0.41 in this
    two-item index, sits in the band set here) but naming no common harm, count or place: two
    events. One organisation has several stories at once; time says which are fresh, not which are one."""
    award = ("东岭化工集团获评省级绿色工厂", "省工信厅日前公布年度绿色工厂名单，东岭化工集团榜上有名，企业负责人表示将继续推进节能改造。")
    plan = ("东岭化工集团发布节能改造计划", "东岭化工集团日前公布年度节能改造计划，企业负责人表示将在三年内完成全部生产线的节能改造。")
    grouper = Grouper(stories=StoryIndex(low=0.3, high=0.5))
    grouper.add(1, 100, T0, signature(*award), doc(*award))
    assert grouper.match(signature(*plan), doc(*plan), T0 + timedelta(minutes=30)).event_id is None
    assert grouper.match(signature(*award), doc(*award), T0 + timedelta(minutes=30)).event_id == 100


def test_the_story_index_forgets_compacts_and_keeps_linking_what_is_left():
    index = StoryIndex()
    for n in range(300):  # other stories of the subject, older, forgotten below
        text = f"东岭化工集团第{n}期工作简报" + "".join(chr(0x4E00 + (n * 7919 + k * 104729) % 20000) for k in range(60))
        index.add(1000 + n, 1000 + n, T0 - timedelta(hours=80), doc("", text))
    index.add(1, 100, T0, doc(*POST))
    assert index.forget_before(T0 - timedelta(hours=72)) == 300 and len(index) == 1
    match, _weights = index.best_event(doc(*NEWS), T0 + timedelta(hours=2))
    assert match.event_id == 100
    index.relabel({1: 200})
    assert index.best_event(doc(*NEWS), T0 + timedelta(hours=2))[0].event_id == 200


def test_the_index_forgets_old_items_compacts_and_still_finds_and_relabels_the_rest():
    """Enough items to merge the band tables' recent additions into the sorted arrays and, once
    most are forgotten, to compact them: lookups and relabelling still answer for what is left."""
    t0 = T0
    texts = [f"第{n}号通报：" + "".join(chr(0x4E00 + (n * 7919 + k * 104729) % 20000) for k in range(120)) for n in range(1200)]
    clusters = Clusterer(threshold=0.5, window=timedelta(hours=72))
    for n, text in enumerate(texts):
        clusters.add(n, 10_000 + n, t0 + timedelta(minutes=n), signature("", text))
    assert clusters.best_event(signature("", texts[5]), t0 + timedelta(hours=1)) == (10_005, 1.0)
    assert clusters.forget_before(t0 + timedelta(minutes=900)) == 900 and len(clusters) == 300
    assert clusters.best_event(signature("", texts[5]), t0 + timedelta(hours=21))[0] is None  # forgotten
    assert clusters.best(signature("", texts[1000] + "（责任编辑：王某）"), t0 + timedelta(hours=21))[::2] == (11_000, 1000)
    clusters.relabel({1000: 77})
    assert clusters.best_event(signature("", texts[1000]), t0 + timedelta(hours=21)) == (77, 1.0)
    clusters.add(5000, 5000, t0 + timedelta(hours=21), signature("", texts[5]))  # a forgotten text comes back
    assert clusters.best_event(signature("", texts[5]), t0 + timedelta(hours=21)) == (5000, 1.0)


MISSING_PUPILS = ("两名小学生放学后走失", "昨天下午两名小学生放学后没有回家，家长报警，民警调取监控连夜寻找，今晨在公园找到。")
LOST_HIKERS = ("两名驴友登山迷路被困", "两名驴友周末登山时迷路，被困山中一夜，民警和救援队连夜搜寻，今晨将二人救下山。")


def test_over_the_whole_intake_a_shared_count_alone_links_nothing():
    """Two stories of a day with some police-report wording in common and "two people" each.
    Among one subject's items (the events stage) the count is a second signal; over everything
    (the hot stories, counts_link=False) "2" is in many unrelated reports and links nothing."""
    from monitor.stages.trending import EVERYTHING

    for counts_link, expected in ((True, 100), (False, None)):
        grouper = Grouper(stories=StoryIndex(counts_link=counts_link))
        grouper.add(1, 100, T0, signature(*MISSING_PUPILS), story_doc(*MISSING_PUPILS, EVERYTHING))
        match = grouper.match(signature(*LOST_HIKERS), story_doc(*LOST_HIKERS, EVERYTHING), T0 + timedelta(hours=2))
        assert match.event_id == expected, (counts_link, match)
        if counts_link:
            assert "shared 2n" in match.reasons  # the count was the only second signal
