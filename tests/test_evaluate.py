"""kg.evaluate and `kg eval` on a tiny gold whose scores are counted by hand, malformed gold
lines, and a leave-one-out floor on the real corpus (a regression guard for extraction quality).

The tiny corpus (rules only, no curation):

  a.txt  星辰科技发布了量子芯片 Quasar。王海涛也参加了活动。星辰科技总部位于杭州。
         extraction: 星辰科技, Quasar, 量子芯片, 杭州;  星辰科技 develops Quasar,
                     Quasar inField 量子芯片, 星辰科技 locatedIn 杭州
         gold:       星辰科技, Quasar, 杭州, 王海涛;  develops, locatedIn, 王海涛 affiliatedWith 星辰科技
         → entities tp 3 (星辰科技, Quasar, 杭州), fp 1 (量子芯片), fn 1 (王海涛): P = R = 0.75
           relations tp 2, fp 1 (inField), fn 1 (affiliatedWith): P = R = 2/3
  b.txt  星辰科技与云帆科技达成战略合作。
         extraction: 星辰科技, 云帆科技;  partnerOf between them (stored in key order)
         gold:       星辰科技, 云帆 (alias 云帆科技);  星辰科技 partnerOf 云帆 (the other direction)
         → entities tp 2 (one through an alias), relations tp 1 (partnerOf is symmetric)
  both   entities tp 5 fp 1 fn 1 (P = R = 5/6); relations tp 3 fp 1 fn 1 (P = R = 0.75)
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from click.testing import CliRunner

from kg.build import build_dataset
from kg.cli import main
from kg.errors import ConfigError
from kg.evaluate import Score, evaluate, format_table, load_gold, load_gold_dir
from kg.nlp.lexicon import load_lexicon
from kg.nlp.patterns import load_patterns
from kg.pipeline import extract_corpus, load_documents
from kg.query import load_graph

CORPUS = {
    "a.txt": "星辰科技发布了量子芯片 Quasar。王海涛也参加了活动。星辰科技总部位于杭州。\n",
    "b.txt": "星辰科技与云帆科技达成战略合作。\n",
}
GOLD = {
    "a.tsv": [
        "# hand gold for a.txt",
        "E\tOrganization\t星辰科技\t\t",
        "E\tProduct\tQuasar\t\tQuasar",
        "E\tPlace\t杭州\t\tHangzhou",
        "E\tPerson\t王海涛\t\t",
        "R\t星辰科技\tdevelops\tQuasar\t星辰科技发布了量子芯片 Quasar",
        "R\t星辰科技\tlocatedIn\t杭州\t星辰科技总部位于杭州",
        "R\t王海涛\taffiliatedWith\t星辰科技\t王海涛也参加了活动",
    ],
    "b.tsv": [
        "E\tOrganization\t星辰科技\t\t",
        "E\tOrganization\t云帆\t云帆科技\t",
        "",
        "R\t星辰科技\tpartnerOf\t云帆\t星辰科技与云帆科技达成战略合作",
    ],
}


def write_files(directory: Path, files: dict[str, str | list[str]]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        text = content if isinstance(content, str) else "\n".join(content) + "\n"
        (directory / name).write_text(text, encoding="utf-8")
    return directory


def counts(score: Score) -> tuple[int, int, int]:
    return score.tp, score.fp, score.fn


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("tiny")
    write_files(root / "corpus", CORPUS)
    write_files(root / "gold", GOLD)
    return root


@pytest.fixture(scope="module")
def graph(tiny):
    """The tiny corpus extracted with the rules only and built as kg.train.leave_one_out builds a fold."""
    documents, _ = load_documents([tiny / "corpus"])
    extraction = extract_corpus(documents, lexicon=load_lexicon(), patterns=load_patterns())
    return build_dataset(documents, extraction.entities, extraction.relations, ontology=None)


@pytest.fixture(scope="module")
def golds(tiny):
    return load_gold_dir(tiny / "gold")


# --- scores counted by hand --------------------------------------------------------------------

def test_one_document_three_of_four_entities_and_one_wrong(graph, golds):
    ev = evaluate(graph, [g for g in golds if g.doc == "a.txt"])
    assert counts(ev.entities) == (3, 1, 1)
    assert (ev.entities.precision, ev.entities.recall, ev.entities.f1) == (0.75, 0.75, 0.75)
    assert counts(ev.relations) == (2, 1, 1)
    assert math.isclose(ev.relations.f1, 2 / 3)


def test_scores_add_up_over_documents(graph, golds):
    ev = evaluate(graph, golds)
    assert ev.documents == ["a.txt", "b.txt"]
    assert counts(ev.entities) == (5, 1, 1)
    assert math.isclose(ev.entities.precision, 5 / 6) and math.isclose(ev.entities.recall, 5 / 6)
    assert counts(ev.relations) == (3, 1, 1)
    assert (ev.relations.precision, ev.relations.recall, ev.relations.f1) == (0.75, 0.75, 0.75)


def test_scores_per_type_and_predicate(graph, golds):
    ev = evaluate(graph, golds)
    assert counts(ev.by_type["Organization"]) == (3, 0, 0)  # 星辰科技 in a and in b, 云帆科技 in b
    assert counts(ev.by_type["Person"]) == (0, 0, 1)
    assert counts(ev.by_type["Technology"]) == (0, 1, 0)
    assert counts(ev.by_predicate["partnerOf"]) == (1, 0, 0)  # listed the other way round in the gold
    assert counts(ev.by_predicate["affiliatedWith"]) == (0, 0, 1)
    assert counts(ev.by_predicate["inField"]) == (0, 1, 0)


def test_misses_and_false_positives_are_listed(graph, golds):
    ev = evaluate(graph, golds)
    assert ("a.txt", "Person", "王海涛") in ev.misses
    assert any(d == "a.txt" and k == "affiliatedWith" and t.startswith("王海涛 → 星辰科技") for d, k, t in ev.misses)
    assert ("a.txt", "Technology", "量子芯片") in ev.false_positives
    assert any(d == "a.txt" and k == "inField" and t.startswith("Quasar → ?") for d, k, t in ev.false_positives)


def test_a_mistyped_entity_counts_only_untyped_and_its_relations_still_count(graph, golds, tmp_path):
    lines = [line.replace("E\tPlace\t杭州", "E\tOrganization\t杭州") for line in GOLD["a.tsv"]]
    gold = load_gold(write_files(tmp_path, {"a.tsv": lines}) / "a.tsv")
    ev = evaluate(graph, [gold])
    assert counts(ev.entities) == (2, 2, 2)  # 杭州 is now a miss and a false positive
    assert counts(ev.entities_untyped) == (3, 1, 1)
    assert counts(ev.relations) == (2, 1, 1)  # 星辰科技 locatedIn 杭州 still matches


def test_the_table_shows_every_score(graph, golds):
    table = format_table(evaluate(graph, golds)).splitlines()
    assert table[0] == "documents: a.txt, b.txt"
    rows = {line[:22].strip(): line[22:].split() for line in table if line[:22].strip()}
    assert rows["entities (typed)"] == ["0.833", "0.833", "0.833", "5", "1", "1"]
    assert rows["relations (typed)"] == ["0.750", "0.750", "0.750", "3", "1", "1"]
    assert "top misses (2):" in table and "top false positives (2):" in table


# --- the command -------------------------------------------------------------------------------

def invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture(scope="module")
def graph_file(tiny) -> Path:
    result = invoke("build", tiny / "corpus", "-o", tiny / "out", "--no-html", "-q", "--no-curation")
    assert result.exit_code == 0, result.output
    return tiny / "out" / "kg.trig"


def test_kg_eval_prints_the_table_for_a_built_graph(tiny, graph_file):
    result = invoke("eval", "--gold", tiny / "gold", "--graph", graph_file)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "documents: a.txt, b.txt"
    assert lines[3].split() == ["entities", "(typed)", "0.833", "0.833", "0.833", "5", "1", "1"]
    # `kg build` also runs the shipped relation model: the relation rows are whatever the library
    # computes for that graph file, and the table is exactly format_table's
    expected = format_table(evaluate(load_graph(graph_file), load_gold_dir(tiny / "gold")))
    assert result.stdout == expected + "\n"


def test_kg_eval_json_has_the_counts(tiny, graph_file):
    result = invoke("eval", "--gold", tiny / "gold", "--graph", graph_file, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["documents"] == ["a.txt", "b.txt"]
    assert {k: data["entities"][k] for k in ("tp", "fp", "fn")} == {"tp": 5, "fp": 1, "fn": 1}
    assert data["by_type"]["Person"]["fn"] == 1


@pytest.mark.parametrize("line, message", [
    ("E\tCompany\t星辰科技\t\t", "bad entity line (E, type, canonical, aliases, english)"),
    ("E\tOrganization", "bad entity line (E, type, canonical, aliases, english)"),
    ("R\t星辰科技\tmakes\tQuasar\t星辰科技发布了量子芯片", "bad relation line (R, subject, predicate, object, evidence)"),
    ("X\t星辰科技", "unknown record kind 'X' (expected E, R or D)"),
])
def test_a_malformed_gold_line_is_one_error_line_naming_file_and_line(tmp_path, graph_file, line, message):
    gold_dir = write_files(tmp_path / "gold", {"a.tsv": ["# comment", "E\tOrganization\t星辰科技\t\t", line]})
    result = invoke("eval", "--gold", gold_dir, "--graph", graph_file)
    assert result.exit_code == 1
    assert result.stderr == f"Error: {gold_dir / 'a.tsv'}:3: {message}\n"
    with pytest.raises(ConfigError):
        load_gold(gold_dir / "a.tsv")


# --- leave one out on the real corpus ----------------------------------------------------------

@pytest.fixture(scope="module")
def loo() -> dict:
    """Each gold document scored with lexicon and relation model from the others (≈ 60 s, run once)."""
    from kg.train import leave_one_out

    return leave_one_out(use_ner=False)


def test_leave_one_out_stays_above_its_floor(loo):
    assert sorted(loo["folds"]) == sorted(g.doc for g in load_gold_dir())
    # values when this floor was set: entity F1 0.780, relation F1 0.510 (docs/quality.md)
    assert loo["entities"]["f1"] >= 0.77, loo["entities"]
    assert loo["relations"]["f1"] >= 0.50, loo["relations"]
