"""The shipped sentiment model: loads without scikit-learn, agrees with training, tells sides apart."""

import math
from pathlib import Path

import pytest

from monitor.analyze.sentiment import (
    DEFAULT_MODEL,
    Evaluation,
    MixtureCharModel,
    ModelError,
    available_models,
    evaluate,
    load_model,
    read_labelled,
)


def test_default_model_ships_inside_the_package_with_its_card():
    model = load_model()
    assert model.name == DEFAULT_MODEL == "fenghuo-general"
    assert DEFAULT_MODEL in available_models() and "snownlp" in available_models()
    assert "weibo2018" in model.card["trained_on"]
    assert 0.3 < model.threshold < 0.7


@pytest.mark.parametrize(
    ("text", "negative"),
    [
        ("停水三天了没人管，打客服电话一直占线，太气人了！", True),
        ("自来水发黄有异味，孩子喝了拉肚子，水务公司到底管不管", True),
        ("水厂开放日活动很精彩，工作人员讲解耐心细致，点赞！", False),
        ("感谢抢修师傅连夜奋战，恢复供水了，辛苦了", False),
    ],
)
def test_clear_cases_fall_on_the_right_side(text, negative):
    assert load_model().is_negative(text) is negative


def test_inference_that_disagrees_with_training_refuses_to_load():
    header = {**TINY_HEADER, "checks": [["好", 0.9]]}
    with pytest.raises(ModelError, match="disagrees with training"):
        MixtureCharModel("broken", header, TINY_FEATURES)


# A hand-made model with two experts: "好" is positive to both, "[泪]" and "差评" are what the gate
# knows posts and reviews by, and "泪" reads negative only to the Weibo expert.
# Lines: gram, weibo weight, reviews weight, gate score for weibo, gate score for reviews.
TINY_HEADER = {
    "ngram_range": [1, 2], "experts": ["weibo", "reviews"],
    "intercepts": {"experts": [0.0, 0.0], "gate": [0.0, 0.0]},
}
TINY_FEATURES = [
    ("好", 2.0, 2.0, 0.0, 0.0),
    ("泪", -3.0, 0.0, 0.0, 0.0),
    ("[泪", 0.0, 0.0, 40.0, 0.0),
    ("差评", 0.0, -3.0, 0.0, 40.0),
]


def test_the_gate_hands_each_kind_of_text_to_its_expert():
    model = MixtureCharModel("tiny", TINY_HEADER, TINY_FEATURES)
    post = model.parts("好[泪]")  # grams known: 好, 泪, [泪 -> unit length divides by sqrt(3)
    assert post.shares["weibo"] > 0.999 and sum(post.shares.values()) == pytest.approx(1.0)
    assert post.negative == pytest.approx(post.negatives["weibo"], abs=1e-3)
    assert post.negatives["weibo"] == pytest.approx(1 - 1 / (1 + math.exp(-(2.0 - 3.0) / math.sqrt(3))))
    review = model.parts("差评")
    assert review.shares["reviews"] > 0.999
    assert review.negative == pytest.approx(review.negatives["reviews"], abs=1e-3)


def test_a_text_with_no_known_grams_gets_the_intercepts():
    model = MixtureCharModel("tiny", TINY_HEADER, TINY_FEATURES)
    assert model.parts("").shares == {"weibo": 0.5, "reviews": 0.5}
    assert model.negative_probability("") == pytest.approx(0.5)
    assert model.negative_probability("无关紧要") == pytest.approx(0.5)


@pytest.mark.parametrize(
    ("header", "features", "problem"),
    [
        ({**TINY_HEADER, "experts": []}, [], "one expert and one gate intercept per expert"),
        ({**TINY_HEADER, "intercepts": {"experts": [0.0], "gate": [0.0, 0.0]}}, [], "one expert and one gate intercept"),
        (TINY_HEADER, [("好", 1.0, 2.0)], "has 2 weights, expected 4"),
    ],
)
def test_a_model_file_of_the_wrong_shape_is_refused(header, features, problem):
    with pytest.raises(ModelError, match=problem):
        MixtureCharModel("odd", header, features)


@pytest.mark.parametrize(
    ("text", "expert"),
    [
        ("今天又加班到十点，累成狗[泪][泪] 还有人跟我一样吗", "weibo"),
        ("【转发】偶像生日快乐！永远支持你[心][心]@某某某", "weibo"),
        ("送餐太慢了，等了一个半小时，饭都凉了，差评", "reviews"),
        ("房间干净，前台服务热情，早餐品种丰富，下次还住这家酒店", "reviews"),
        ("江城水务集团被曝违规收费，多名居民向记者反映多收二次供水费用，涉及上千户。", "general"),
        ("外交部发言人就中美经贸磋商答记者问", "general"),
    ],
)
def test_the_shipped_gate_sends_posts_reviews_and_news_to_their_experts(text, expert):
    shares = load_model().parts(text).shares
    assert max(shares, key=shares.get) == expert, shares


def test_traditional_and_full_width_text_scores_like_simplified():
    model = load_model()
    assert model.negative_probability("停水三天了沒人管，太氣人了！") == pytest.approx(
        model.negative_probability("停水三天了没人管，太气人了！"), abs=1e-9
    )


def test_unknown_model_names_the_choices():
    with pytest.raises(ModelError, match="available: fenghuo-general, snownlp"):
        load_model("bert-large")


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("weibo.txt", "1,1,好开心，今天天气真好\n2,0,气死我了, 又停水\n"),
        ("waimai.csv", "label,review\n1,好开心，今天天气真好\n0,气死我了又停水\n"),
        ("shopping.csv", "cat,label,review\n书籍,1,好开心，今天天气真好\n书籍,0,气死我了又停水\n"),
        ("chnsenticorp.tsv", "label\ttext_a\n1\t好开心，今天天气真好\n0\t气死我了又停水\n"),
    ],
)
def test_every_shared_data_layout_is_read(tmp_path, name, content):
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    rows = read_labelled(path)
    assert [label for label, _ in rows] == [1, 0]
    assert rows[0][1] == "好开心，今天天气真好"
    assert rows[1][1].replace(", ", "") == "气死我了又停水"


def test_a_bad_label_names_the_line(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("label,review\n1,好\n2,坏\n", encoding="utf-8")
    with pytest.raises(ModelError, match=r"bad\.csv:3: label must be 0 or 1"):
        read_labelled(path)


def test_evaluation_counts_the_negative_class():
    class Fixed:
        threshold = 0.5

        def negative_probability(self, text):
            return 1.0 if "坏" in text else 0.0

    result = evaluate(Fixed(), [(0, "坏"), (0, "坏"), (0, "好"), (1, "好"), (1, "坏")])
    assert result == Evaluation(total=5, true_negative=2, false_positive_alarm=1, missed_negative=1, true_positive=1)
    assert result.accuracy == pytest.approx(0.6)
    assert result.negative_recall == pytest.approx(2 / 3)
    assert result.negative_precision == pytest.approx(2 / 3)


def test_on_hand_labelled_news_headlines_most_bad_news_is_caught():
    """300 THUCNews headlines labelled by us (0: the story reports harm, crime, loss, conflict,
    a fall or a complaint; 1: anything else), 100 of them bad news. News has no labelled training
    data here; measured 0.83 recall and 0.70 accuracy with the shipped model (the single model it
    replaced: 0.84 and 0.63). Floors, not the measured values, so retraining is not pinned."""
    rows = read_labelled(Path(__file__).parents[1] / "fixtures" / "analysis" / "news_headlines_labelled.tsv")
    assert len(rows) == 300 and sum(label == 0 for label, _ in rows) == 100
    result = evaluate(load_model(), rows)
    assert result.negative_recall >= 0.78
    assert result.accuracy >= 0.66
