"""The shipped sentiment model: loads without scikit-learn, agrees with training, tells sides apart."""

import json
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
from monitor.analyze.text import normalise
from monitor.analyze.tone import (
    LabelledMention,
    Mention,
    ToneModel,
    ToneModelError,
    evaluate_tone,
    load_tone_model,
    mention_features,
    read_mentions,
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


# -- tone toward a named subject (monitor/analyze/tone.py) ------------------------------------

FIXTURES = Path(__file__).parents[1] / "fixtures" / "analysis"


def test_tone_model_ships_with_a_card_saying_what_it_learned_from_and_what_it_held_out():
    model = load_tone_model()
    assert model.name == "fenghuo-tone"
    assert "CFSC" in model.card["trained_on"] and "30% of the sentences" in model.card["held_out"]
    assert len(model.lexicon) > 50 and "罚款" in model.lexicon and "跌超" in model.lexicon


def test_on_held_out_financial_news_tone_toward_the_named_entity_clears_the_targets():
    """300 mentions sampled from the 30% of CFSC-ABSA sentences that scripts/train_tone.py never
    trains or tunes on (issue 21 targets: negative F1 >= 0.70, accuracy >= 0.85; measured on all
    1,541 held-out mentions: 0.878 and 0.942; on this sample 0.881 and 0.943)."""
    mentions = read_mentions(FIXTURES / "cfsc_heldout_sample.json")
    assert len(mentions) == 300 and sum(m.negative for m in mentions) == 69
    result = evaluate_tone(load_tone_model().labelled_probability, mentions)
    assert result.negative_f1 >= 0.80
    assert result.accuracy >= 0.90


def test_on_the_hand_labelled_headlines_read_whole_the_tone_model_catches_most_bad_news():
    """The 300 headlines that measure the models (never trained on; the tone model trains on 270
    other headlines labelled the same way, news_headlines_train.tsv). Measured: accuracy 0.817,
    negative recall 0.63, precision 0.78 (the default: 0.70, 0.83, 0.53)."""
    train = {text for _, text in read_labelled(FIXTURES / "news_headlines_train.tsv")}
    rows = read_labelled(FIXTURES / "news_headlines_labelled.tsv")
    assert not train & {text for _, text in rows}
    mentions = [LabelledMention(normalise(text), 0, 0, label == 0) for label, text in rows]
    result = evaluate_tone(load_tone_model().labelled_probability, mentions)
    assert result.accuracy >= 0.78
    assert result.negative_recall >= 0.55 and result.negative_precision >= 0.70


def test_the_fixture_sample_is_held_out_by_the_recorded_split():
    import hashlib

    held_out = set((FIXTURES / "cfsc_heldout_sentences.txt").read_text(encoding="utf-8").split())
    rows = json.loads((FIXTURES / "cfsc_heldout_sample.json").read_text(encoding="utf-8"))
    assert all(hashlib.sha1(row["sentence"].encode()).hexdigest()[:16] in held_out for row in rows)


def test_the_whole_sentence_model_cannot_tell_whose_news_is_bad():
    """The reason for the tone model: on the held-out sample the posts/reviews default, reading the
    whole sentence, is below always answering "not negative" (0.77 here; measured 0.73)."""
    mentions = read_mentions(FIXTURES / "cfsc_heldout_sample.json")
    default = load_model()
    result = evaluate_tone(lambda m: float(default.negative_probability(m.text) >= default.threshold), mentions)
    assert result.accuracy < 0.77


def _tone(text: str, name: str) -> float:
    text = normalise(text)
    start = text.index(name)
    return load_tone_model().mention_probability(text, start, start + len(name))


@pytest.mark.parametrize(
    ("text", "name", "negative"),
    [
        ("中青宝涨停，东海能源跌超5%", "东海能源", True),
        ("中青宝涨停，东海能源跌超5%", "中青宝", False),
        ("东海能源因排污超标被罚款80万元", "东海能源", True),
        ("法媒关注：印度卢比跌至历史新低", "印度卢比", True),
        ("东海能源：控股股东拟减持不超过3%", "东海能源", True),
        ("东海能源一季度营业收入同比增长28.8%", "东海能源", False),
        ("江城水务集团本周举办水厂开放日，欢迎市民参观。", "江城水务集团", False),
    ],
)
def test_tone_is_read_toward_the_name_not_the_sentence(text, name, negative):
    assert (_tone(text, name) >= 0.5) is negative


def test_the_name_itself_is_masked_so_any_subject_is_read_alike():
    assert _tone("东海能源被罚款80万元", "东海能源") == pytest.approx(_tone("江城水务集团被罚款80万元", "江城水务集团"))


def test_the_clause_quoted_is_the_one_holding_the_name_and_its_predicate():
    text = normalise("据通报，东海能源：因排污超标被罚款80万元。另一家企业获奖。")
    start = text.index("东海能源")
    call = load_tone_model().call(text, start, start + 4)
    assert call.negative and call.clause == "东海能源:因排污超标被罚款80万元"


def test_a_tone_model_whose_checks_disagree_refuses_to_load():
    header = {"intercept": 0.0, "checks": [["东海能源被罚款", 0, 4, 0.9]]}
    with pytest.raises(ToneModelError, match="disagrees with training"):
        ToneModel("broken", header, [("c:罚", 1.0)], ("罚款",))


def test_a_hand_made_tone_model_adds_the_weights_of_the_features_it_knows():
    model = ToneModel("tiny", {"intercept": -1.0}, [("p:被罚", 3.0), ("x:predicate", 1.0)], ("罚款",))
    features = mention_features(Mention.cut("a被罚款", 0, 1), model.lexicon)
    assert {"p:被罚", "x:predicate", "c:Ⓣ被罚"} <= features
    known = 3.0 + 1.0  # two known features, unit length: divided by sqrt(2)
    assert model.mention_probability("a被罚款", 0, 1) == pytest.approx(1 / (1 + math.exp(1.0 - known / math.sqrt(2))))


def test_mentions_are_read_from_cfsc_json_with_or_without_positions(tmp_path):
    path = tmp_path / "mine.json"
    path.write_text(json.dumps([
        {"sentence": "ＡＢＣ公司股價大跌", "term": "ＡＢＣ公司", "polarity": "negative", "from": 0, "to": 6},
        {"sentence": "甲涨停，乙跌停", "term": "乙", "polarity": "neutral"},
    ], ensure_ascii=False), encoding="utf-8")
    first, second = read_mentions(path)
    assert first.text[first.start:first.end] == "abc公司" and first.negative  # normalised as the library matches
    assert second.text[second.start:second.end] == "乙" and second.start == 4 and not second.negative


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ('{"sentence": "x"}', "expected a JSON list"),
        ('[{"sentence": "甲跌", "term": "甲"}]', "entry 1 needs sentence, term and polarity"),
        ('[{"sentence": "甲跌", "term": "乙", "polarity": "negative"}]', "term '乙' is not in its sentence"),
        ('[{"sentence": "甲跌", "term": "甲", "polarity": "bad"}]', "polarity must be positive, neutral or negative"),
    ],
)
def test_a_bad_mention_file_names_the_entry(tmp_path, content, problem):
    path = tmp_path / "bad.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ToneModelError, match=problem):
        read_mentions(path)


def test_sentiment_eval_measures_tone_toward_the_term_in_a_json_file():
    from typer.testing import CliRunner

    from monitor.cli import app

    result = CliRunner().invoke(app, ["sentiment", "eval", str(FIXTURES / "cfsc_heldout_sample.json")])
    assert result.exit_code == 0, result.output
    assert "300 mentions, tone toward the term, model fenghuo-tone" in result.output
    for line in ("accuracy", "negative precision", "negative recall", "negative F1", "positive or neutral"):
        assert line in result.output
    assert "accuracy            0.9" in result.output


def test_sentiment_eval_of_a_json_file_with_a_named_model_reads_the_whole_sentence_for_comparison():
    from typer.testing import CliRunner

    from monitor.cli import app

    result = CliRunner().invoke(app, ["sentiment", "eval", str(FIXTURES / "cfsc_heldout_sample.json"),
                                      "--model", "fenghuo-general"])
    assert result.exit_code == 0, result.output
    assert "300 mentions, whole sentence, model fenghuo-general" in result.output
    assert "accuracy            0.7" in result.output  # measured 0.733: below always "not negative"


def test_sentiment_eval_names_a_bad_entry_in_a_json_file(tmp_path):
    from typer.testing import CliRunner

    from monitor.cli import app

    path = tmp_path / "mine.json"
    path.write_text('[{"sentence": "甲跌", "term": "乙", "polarity": "negative"}]', encoding="utf-8")
    result = CliRunner().invoke(app, ["sentiment", "eval", str(path)])
    assert result.exit_code == 2 and "entry 1: term '乙' is not in its sentence" in result.output


def test_a_tone_model_file_that_states_its_threshold_is_called_at_it():
    """One call for every model: a tone model whose file states its decision threshold has its
    probability shifted so that the threshold lands on NEGATIVE_CALL (is_negative), as the
    sentiment model's is; a file without one has the threshold folded into its intercept."""
    from monitor.analyze.sentiment import NEGATIVE_CALL, is_negative
    from monitor.analyze.tone import ToneModel

    folded = ToneModel("t", {"intercept": -0.5}, [], ())  # nothing known: sigmoid(-0.5) = 0.378
    stated = ToneModel("t", {"intercept": -0.5, "threshold": 0.3}, [], ())
    assert not is_negative(folded.text_probability("某公司发布公告"))
    assert stated.threshold == 0.3 and is_negative(stated.text_probability("某公司发布公告"))
    at_threshold = ToneModel("t", {"intercept": math.log(0.3 / 0.7), "threshold": 0.3}, [], ())
    assert at_threshold.text_probability("某公司发布公告") == pytest.approx(NEGATIVE_CALL)
    assert at_threshold.call("某公司被罚款", 0, 3).negative


@pytest.mark.parametrize("text", [
    "", "水", "江城水务集团停水三天 居民愤怒投诉", "江城水務集團\n發佈會  ＡＢＣ１２３ 😀👍🏻 test\u2029结尾", "a" * 3 + "𠀀𠀁" * 5,
])
def test_grams_found_as_numbers_are_the_grams_of_the_text(text):
    """The shipped model looks a text's character 1–3-grams up as numbers (numpy) rather than as a
    set of substrings; the two must be the same grams, characters beyond the BMP included."""
    from monitor.analyze.sentiment import _WHITESPACE, _gram_code, _gram_codes, load_model

    model = load_model()
    assert model._codes is not None and len(model._codes) > 100_000
    normalised = _WHITESPACE.sub(" ", normalise(text))
    assert _gram_codes(normalised, 1, 3).tolist() == sorted(_gram_code(g) for g in model.grams(text))
    known = set(model._codes.tolist())
    rows = list(model.rows(text))
    assert len(rows) == len(set(rows))  # each gram once: the features are presence
    assert {int(model._codes[row]) for row in rows} == {_gram_code(g) for g in model.grams(text)} & known
    assert model.parts(normalise(text), normalised=True) == model.parts(text)


def test_a_mention_is_cut_from_its_own_sentence_however_long_the_text_before_it():
    """Mention.cut searches only the window before the name for the sentence's start; what comes
    before that sentence, short or long, changes nothing, and the window still bounds the left."""
    sentence = "据报道，东海能源被罚款80万元，股价跌超5%。"
    for before in ("", "甲公司发布公告。", "乙公司涨停。" * 200, "无标点的长文" * 40 + "!"):
        text = normalise(before + sentence)  # as the library's spans index it
        start = text.index("东海能源")
        mention = Mention.cut(text, start, start + 4)
        assert (mention.left, mention.clause_left, mention.clause_right) == ("据报道,", "", "被罚款80万元")
    long_left = "长" * 100 + "东海能源被罚款"
    assert Mention.cut(long_left, 100, 104).left == "长" * 60
