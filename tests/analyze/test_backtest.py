"""Trying a library change on stored items shows what it gains and what it loses, per group."""

import textwrap

from monitor.analyze.backtest import backtest
from monitor.analyze.library import load_library

ITEMS = [
    (1, "华能电厂发生爆炸", ""),
    (2, "华能举行消防演练", ""),
    (3, "华能路交通拥堵", ""),
    (4, "大唐集团发布公告", ""),
]


def library(tmp_path, name, org_terms, rule):
    folder = tmp_path / name
    folder.mkdir()
    (folder / "org.yaml").write_text(textwrap.dedent(f"""
        name: 组织
        terms: [{org_terms}]
        exclude: [华能路]
        rules:
          - {{id: org, expr: "{rule}"}}
    """), encoding="utf-8")
    return load_library(folder)


def test_gains_and_losses_per_group(tmp_path):
    current = library(tmp_path, "current", "华能", "@org & !演练")
    candidate = library(tmp_path, "candidate", "华能, 大唐", "@org & !爆炸")
    result = backtest(current, candidate, ITEMS)
    change = result.groups["org"]
    assert result.items == 4
    assert (change.current, change.candidate) == (1, 2)
    assert change.gained == [2, 4] and change.lost == [1]
    assert result.gained_rules == {2: ["org"], 4: ["org"]}
    assert result.lost_rules == {1: ["org"]}


def test_an_unchanged_library_changes_nothing(tmp_path):
    current = library(tmp_path, "a", "华能", "@org")
    same = library(tmp_path, "b", "华能", "@org")
    assert backtest(current, same, ITEMS).changed_items == set()
