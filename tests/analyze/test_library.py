"""The keyword library as the monitoring team edits it: YAML in, hits with reasons out."""

import textwrap
from pathlib import Path

import jieba
import pytest
from structlog.testing import capture_logs

from monitor.analyze.holder import LibraryHolder
from monitor.analyze.library import LibraryError, load_library
from monitor.analyze.segment import Segmenter

ORG = """
name: 组织名称
sensitivity: 0.5
terms:
  - {term: 华能集团, aliases: [华能, 中国华能], weight: 1.0}
exclude: [华能路]
rules:
  - id: org-mention
    expr: "@org"
"""
INCIDENTS = """
name: 事故
sensitivity: 0.9
terms: [事故, 爆炸, {term: 泄漏, aliases: [泄露]}]
rules:
  - id: org-incident
    expr: "@org & @incidents & !演练"
    weight: 1.0
  - id: near-blast
    expr: near(华能, 爆炸, 5)
"""


def library_dir(tmp_path: Path, **files: str) -> Path:
    folder = tmp_path / "keywords"
    folder.mkdir(exist_ok=True)
    for name, text in files.items():
        (folder / f"{name}.yaml").write_text(textwrap.dedent(text), encoding="utf-8")
    return folder


@pytest.fixture
def library(tmp_path):
    return load_library(library_dir(tmp_path, org=ORG, incidents=INCIDENTS))


def rules_hit(library, title, body=""):
    return sorted(hit.rule for hit in library.match(title, body))


def test_an_alias_counts_as_its_term(library):
    assert rules_hit(library, "中国华能一电厂发生泄露事故") == ["org-incident", "org-mention"]


def test_negation_excludes_drills(library):
    assert rules_hit(library, "华能集团开展爆炸事故应急演练") == ["near-blast", "org-mention"]


def test_traditional_and_full_width_variants_match(library):
    assert "org-incident" in rules_hit(library, "華能集團發生洩漏事故")  # traditional
    assert "org-mention" in rules_hit(library, "ＨＵＡＮＥＮＧ 华能")  # full-width text around it


def test_exclusion_words_mask_the_occurrence_inside_them(library):
    assert rules_hit(library, "华能路发生交通事故") == []  # a street, not the company
    assert rules_hit(library, "华能路附近华能电厂发生事故") == ["org-incident", "org-mention"]


def test_proximity(library):
    assert "near-blast" in rules_hit(library, "华能电厂爆炸")
    assert "near-blast" not in rules_hit(library, "华能电厂昨日下午三点左右发生爆炸")


def test_hits_say_which_terms_where_and_whether_in_the_title(library):
    (hit,) = [h for h in library.match("电厂发生事故", "据悉涉事企业为华能集团") if h.rule == "org-incident"]
    assert hit.group == "incidents" and hit.weight == 1.0
    assert set(hit.terms) == {"事故", "华能集团", "华能"}
    assert hit.in_title  # 事故 is in the title
    body_only = [h for h in library.match("一则消息", "华能集团") if h.rule == "org-mention"][0]
    assert not body_only.in_title


def test_terms_split_by_segmentation_still_match(tmp_path):
    # jieba, without the library's user dictionary, cuts 江城水务集团 into pieces; the automaton
    # matches characters, not tokens, so the rule fires either way.
    folder = library_dir(tmp_path, org=ORG.replace("华能集团, aliases: [华能, 中国华能]", "江城水务集团, aliases: []").replace("华能路", "江城水务局"))
    assert "江城水务集团" not in jieba.lcut("江城水务集团回应停水")
    assert rules_hit(load_library(folder), "江城水务集团回应停水") == ["org-mention"]


def test_user_dictionary_keeps_library_terms_whole(library):
    segmenter = Segmenter()
    segmenter.use_terms(library.all_terms | {"江城水务集团"})
    assert "江城水务集团" in segmenter.cut("江城水务集团回应停水")
    segmenter.use_terms({"华能"})  # a term removed from the library leaves the dictionary
    assert "江城水务集团" not in segmenter.cut("江城水务集团回应停水")


def test_version_changes_with_content(tmp_path):
    first = load_library(library_dir(tmp_path, org=ORG)).version
    assert load_library(library_dir(tmp_path, org=ORG)).version == first
    assert load_library(library_dir(tmp_path, org=ORG + "\n# comment\n")).version != first


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (INCIDENTS.replace("@org & @incidents & !演练", "@org & (爆炸 | "),
         "incidents.yaml:7:25: rule 'org-incident': expected a term"),
        (INCIDENTS.replace("@org & @incidents", "@orgs & @incidents"),
         "rule 'org-incident': no keyword group '@orgs' (groups: @incidents, @org)"),
        (INCIDENTS.replace("@org & @incidents & !演练", "!演练"),
         "rule 'org-incident': needs at least one term that must occur"),
        (INCIDENTS.replace("sensitivity: 0.9", "sensitivity: 9"),
         "incidents.yaml:3:14: field 'sensitivity': Input should be less than or equal to 1"),
        (INCIDENTS.replace("id: near-blast", "id: org-incident"), "rule id 'org-incident' is used twice"),
        (INCIDENTS + "  - {id: x, expr: 爆炸, colour: red}\n", "field 'rules.2.colour': Extra inputs"),
        (INCIDENTS.replace("terms: [", "terms: [[["), "incidents.yaml:5:1: YAML syntax error"),
    ],
)
def test_errors_name_file_line_column_and_what_was_expected(tmp_path, text, expected):
    folder = library_dir(tmp_path, org=ORG, incidents=text)
    with pytest.raises(LibraryError) as raised:
        load_library(folder)
    assert expected in str(raised.value)
    assert str(folder / "incidents.yaml") in str(raised.value)


def test_a_broken_change_keeps_the_last_good_library(tmp_path):
    folder = library_dir(tmp_path, org=ORG, incidents=INCIDENTS)
    holder = LibraryHolder(folder)
    good = holder.library.version
    assert holder.reload_if_changed() is None  # nothing changed: nothing loaded
    (folder / "incidents.yaml").write_text(INCIDENTS.replace("!演练", "!(演练"), encoding="utf-8")
    with capture_logs() as logs:
        result = holder.reload_if_changed()
    assert result is not None and not result.changed and result.problems
    assert holder.library.version == good
    assert logs[0]["event"] == "keyword_library_rejected" and logs[0]["kept_version"] == good
    (folder / "incidents.yaml").write_text(INCIDENTS.replace("!演练", "!演练 & !演习"), encoding="utf-8")
    result = holder.reload_if_changed()
    assert result.changed and holder.library.version != good and holder.last_problems == []


def test_the_shipped_library_loads_and_catches_the_demo_story():
    library = load_library(Path(__file__).parents[2] / "keywords")
    hits = {h.rule for h in library.match(
        "江城多个小区自来水浑浊发黄 居民质疑水质安全",
        "江城市河西片区多个小区停水后恢复供水，自来水浑浊发黄并有异味。江城水务集团回应称，检测结果将尽快公布。",
    )}
    assert {"org-incident", "org-complaint", "water-outage-near-residents"} <= hits
    assert {h.rule for h in library.match("市水务局通报", "江城水务局要求加快抢修")} == set()


# -- files that would silently switch alerting off ------------------------------------------


def test_a_keyword_file_saved_in_gbk_is_named_with_the_fix(tmp_path):
    folder = library_dir(tmp_path, org=ORG)
    (folder / "incidents.yaml").write_bytes(textwrap.dedent(INCIDENTS).encode("gbk"))  # Windows Notepad
    with pytest.raises(LibraryError) as raised:
        load_library(folder)
    (problem,) = raised.value.problems
    assert problem.startswith(f"{folder / 'incidents.yaml'}: is not UTF-8 text (it looks like GBK")
    assert "line 2, column 7" in problem and "save it as UTF-8" in problem


def test_a_byte_order_mark_is_fine_and_does_not_change_the_version(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    plain = load_library(library_dir(tmp_path / "a", org=ORG, incidents=INCIDENTS))
    folder = library_dir(tmp_path / "b", org=ORG)
    (folder / "incidents.yaml").write_bytes(textwrap.dedent(INCIDENTS).encode("utf-8-sig"))
    with_bom = load_library(folder)
    assert with_bom.version == plain.version and set(with_bom.rules) == set(plain.rules)


def test_a_missing_folder_is_an_error_not_an_empty_library(tmp_path):
    with pytest.raises(LibraryError) as raised:
        load_library(tmp_path / "keywrods")
    assert raised.value.problems == [
        f"{tmp_path / 'keywrods'}: no such folder; point FENGHUO_KEYWORDS_DIR (keywords_dir) at the keyword library folder"
    ]


def test_an_empty_folder_is_an_error(tmp_path):
    (tmp_path / "keywords").mkdir()
    with pytest.raises(LibraryError) as raised:
        load_library(tmp_path / "keywords")
    assert "no keyword files (*.yaml): an empty library matches nothing and never alerts" in str(raised.value)


def test_a_yml_file_is_not_silently_skipped(tmp_path):
    folder = library_dir(tmp_path, org=ORG)
    (folder / "incidents.yml").write_text(textwrap.dedent(INCIDENTS), encoding="utf-8")
    with pytest.raises(LibraryError) as raised:
        load_library(folder)
    assert f"{folder / 'incidents.yml'}: keyword files must end in .yaml" in str(raised.value)


def test_a_library_without_rules_is_an_error(tmp_path):
    with pytest.raises(LibraryError, match="no rules in any keyword file"):
        load_library(library_dir(tmp_path, org="name: 组织\nterms: [华能]\n"))


def test_a_gbk_change_keeps_the_last_good_library_and_says_so_until_fixed(tmp_path):
    folder = library_dir(tmp_path, org=ORG, incidents=INCIDENTS)
    holder = LibraryHolder(folder)
    good = holder.library.version
    (folder / "incidents.yaml").write_bytes(textwrap.dedent(INCIDENTS.replace("演练", "演习")).encode("gbk"))
    with capture_logs() as logs:
        result = holder.reload_if_changed()  # before: UnicodeDecodeError escaped and stopped scoring
    assert result is not None and result.version == good and "save it as UTF-8" in result.problems[0]
    assert holder.library.version == good and rules_hit(holder.library, "华能电厂爆炸") == ["near-blast", "org-incident", "org-mention"]
    assert holder.last_problems == result.problems and holder.rejected_at is not None
    assert logs[0]["event"] == "keyword_library_rejected" and logs[0]["log_level"] == "error"
    assert holder.problems_without_paths()[0].startswith("incidents.yaml: is not UTF-8 text")
    assert holder.reload_if_changed() is None and holder.last_problems  # not re-read, still shown

    (folder / "incidents.yaml").write_text(textwrap.dedent(INCIDENTS), encoding="utf-8")  # saved as UTF-8
    result = holder.reload_if_changed()
    assert result.problems == [] and holder.last_problems == [] and holder.rejected_at is None


def test_a_library_folder_removed_while_running_keeps_the_last_good_one(tmp_path):
    import shutil

    folder = library_dir(tmp_path, org=ORG, incidents=INCIDENTS)
    holder = LibraryHolder(folder)
    good = holder.library.version
    shutil.rmtree(folder)
    result = holder.reload_if_changed()
    assert result.version == good and holder.library.version == good
    assert holder.problems_without_paths() == [
        "the keyword folder: no such folder; point FENGHUO_KEYWORDS_DIR (keywords_dir) at the keyword library folder"
    ]


def test_the_service_refuses_to_start_on_an_empty_library(tmp_path):
    (tmp_path / "keywords").mkdir()
    with pytest.raises(LibraryError, match="no keyword files"):
        LibraryHolder(tmp_path / "keywords")
