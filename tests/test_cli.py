"""The `kg` command through click's CliRunner: build, errors, atomic outputs, query, export,
validate, and that every command documents an example."""

from __future__ import annotations

import csv
import io
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from rdflib import Graph

from kg import __version__
from kg.cli import main
from kg.export import rdf

OUTPUTS = ["kg.html", "kg.jsonld", "kg.nt", "kg.trig", "kg.ttl"]
TK = "https://w3id.org/techkg/ontology#"
RES = "https://w3id.org/techkg/resource/"

QUANTUM = """---
title: 量子计算进展
date: 2024-12-01
tags: [量子计算]
---
# 量子计算

2023 年 12 月 4 日，IBM 公司宣布推出了第三代量子芯片 Heron。谷歌发布了量子芯片 Willow。
"""
BCI = """# 脑机接口

1月底，马斯克旗下的Neuralink公司宣布：首位人类成功接受脑机接口芯片植入手术。OpenAI 发布了文生视频大模型 Sora。
"""
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00"


def invoke(*args: str):
    return CliRunner().invoke(main, [str(a) for a in args])


def small_corpus(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "quantum.md").write_text(QUANTUM, encoding="utf-8")
    (directory / "bci.md").write_text(BCI, encoding="utf-8")
    return directory


def snapshot(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """`kg build` of two small documents; returns the output directory."""
    root = tmp_path_factory.mktemp("built")
    docs = small_corpus(root / "docs")
    result = invoke("build", docs, "-o", root / "out", "-q")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("Built 2 documents, ")
    assert lines[1].startswith("  entities:  ") and "Organization" in lines[1]
    assert lines[2].startswith("  relations: ") and "develops" in lines[2]
    assert "total 0" not in lines[1] + lines[2]
    return root / "out"


@pytest.fixture(scope="module")
def graph(built) -> Path:
    return built / "kg.trig"


# ---------------------------------------------------------------- build


def test_build_writes_every_output(built):
    assert sorted(p.name for p in built.iterdir()) == OUTPUTS
    for name in OUTPUTS:
        assert (built / name).stat().st_size > 1000
    assert json.loads((built / "kg.jsonld").read_text(encoding="utf-8"))["@graph"]
    assert len(Graph().parse(built / "kg.ttl", format="turtle")) == len(Graph().parse(built / "kg.nt", format="nt"))
    assert "<html" in (built / "kg.html").read_text(encoding="utf-8").lower()


def test_outputs_are_not_private_files(tmp_path):
    old = os.umask(0o022)
    try:
        result = invoke("build", small_corpus(tmp_path / "docs"), "-o", tmp_path / "out", "-q", "--no-curation")
    finally:
        os.umask(old)
    assert result.exit_code == 0, result.output
    assert {p.name: p.stat().st_mode & 0o777 for p in (tmp_path / "out").iterdir()} == {n: 0o644 for n in OUTPUTS}


def test_missing_path(tmp_path):
    missing = tmp_path / "nowhere"
    result = invoke("build", missing, "-o", tmp_path / "out", "-q")
    assert result.exit_code == 1
    assert result.stderr == f"Error: {missing}: no such file or directory\n"
    assert not (tmp_path / "out").exists()


def test_directory_without_documents(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "scan.pdf").write_bytes(b"%PDF-1.7")
    result = invoke("build", empty, "-o", tmp_path / "out", "-q")
    assert result.exit_code == 1
    assert result.stderr == f"Error: {empty}: directory contains no .txt, .md or .markdown documents\n"


@pytest.fixture
def mixed(tmp_path) -> tuple[Path, Path]:
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "good.md").write_text(QUANTUM, encoding="utf-8")
    (docs / "image.txt").write_bytes(PNG)
    return docs, docs / "image.txt"


def test_a_bad_file_is_reported_and_skipped(tmp_path, mixed):
    docs, bad = mixed
    result = invoke("build", docs, "-o", tmp_path / "out", "-q", "--no-curation", "--no-html")
    assert result.exit_code == 0, result.output
    assert f"Error: {bad}: binary file (contains NUL bytes), not a text document (skipped)\n" in result.stderr
    assert result.stdout.startswith("Built 1 documents, ")
    assert "skipped files: 1" in result.stdout
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["kg.jsonld", "kg.nt", "kg.trig", "kg.ttl"]


def test_strict_fails_on_the_bad_file(tmp_path, mixed):
    docs, bad = mixed
    result = invoke("build", docs, "-o", tmp_path / "out", "-q", "--strict")
    assert result.exit_code == 1
    assert result.stderr == f"Error: {bad}: binary file (contains NUL bytes), not a text document\n"
    assert result.stdout == ""
    assert not (tmp_path / "out").exists()


def test_only_bad_files(tmp_path):
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "a.txt").write_bytes(PNG)
    (docs / "b.md").write_bytes(b"")
    result = invoke("build", docs, "-o", tmp_path / "out", "-q")
    assert result.exit_code == 1
    assert result.stderr == (
        f"Error: nothing could be built: {docs / 'a.txt'}: binary file (contains NUL bytes), not a text document; "
        f"{docs / 'b.md'}: empty file\n"
    )


def _raises(ds):
    raise RuntimeError("JSON-LD writer failed")


def _breaks_mid_file(ds):
    text = rdf.to_jsonld(ds)
    return text[: len(text) // 2] + "\ud800" + text[len(text) // 2:]  # a lone surrogate cannot be written as UTF-8


@pytest.mark.parametrize("writer", [_raises, _breaks_mid_file], ids=["serialiser-raises", "write-fails-mid-file"])
def test_a_failed_build_leaves_previous_outputs_untouched(tmp_path, built, monkeypatch, writer):
    out = tmp_path / "out"
    shutil.copytree(built, out)
    before = snapshot(out)
    docs = small_corpus(tmp_path / "docs")
    (docs / "more.md").write_text("谷歌发布了量子芯片 Willow。\n", encoding="utf-8")  # the new build differs
    monkeypatch.setitem(rdf.WRITERS, "jsonld", (".jsonld", writer))
    result = invoke("build", docs, "-o", out, "-q")
    assert result.exit_code != 0
    assert isinstance(result.exception, (RuntimeError, UnicodeEncodeError))
    assert snapshot(out) == before  # same names (no temporary files left) and same bytes


# ---------------------------------------------------------------- query


SELECT = (
    f"PREFIX tk: <{TK}> PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#> "
    "SELECT ?org ?label WHERE { ?org a tk:Organization ; rdfs:label ?label . FILTER(lang(?label) = 'zh') } "
    "ORDER BY ?label"
)


def test_query_csv(graph):
    result = invoke("query", SELECT, "--graph", graph, "--format", "csv")
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert rows[0] == ["org", "label"]
    assert [RES + "organization/ibm", "IBM"] in rows
    assert [r[1] for r in rows[1:]] == sorted(r[1] for r in rows[1:])


def test_query_json_is_sparql_results_json(graph):
    result = invoke("query", SELECT, "--graph", graph, "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["head"]["vars"] == ["org", "label"]
    ibm = [b for b in data["results"]["bindings"] if b["org"]["value"] == RES + "organization/ibm"]
    assert ibm == [{"org": {"type": "uri", "value": RES + "organization/ibm"},
                    "label": {"type": "literal", "value": "IBM", "xml:lang": "zh"}}]


def test_query_markdown(graph):
    result = invoke("query", SELECT, "--graph", graph, "--format", "markdown")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[:2] == ["| org | label |", "|---|---|"]
    assert f"| {RES}organization/ibm | IBM |" in lines


def test_saved_query_by_name(graph):
    result = invoke("query", "--name", "relations", "--graph", graph, "--format", "csv")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert list(rows[0]) == ["s", "p", "o", "doc", "evidence"]
    ibm = [r for r in rows if r["s"] == RES + "organization/ibm" and r["p"] == TK + "develops"]
    assert [r["o"] for r in ibm] == [RES + "product/heron"]
    assert ibm[0]["doc"].endswith("/quantum.md")
    assert ibm[0]["evidence"] == "2023 年 12 月 4 日，IBM 公司宣布推出了第三代量子芯片 Heron。"


def test_query_syntax_error_points_at_line_and_column(graph):
    query = "PREFIX tk: <https://w3id.org/techkg/ontology#>\nSELECT ?s WHERE { ?s ?p }"
    result = invoke("query", query, "--graph", graph)
    assert result.exit_code == 1
    lines = result.stderr.splitlines()
    match = re.match(r"Error: <query>:(\d+):(\d+): SPARQL syntax error: ", lines[0])
    assert match, lines[0]
    line, column = int(match[1]), int(match[2])
    assert line == 2
    quoted, caret = lines[-2], lines[-1]
    assert quoted.strip() == "SELECT ?s WHERE { ?s ?p }"
    assert caret.strip() == "^"
    indent = len(quoted) - len(quoted.lstrip())
    assert caret.index("^") == indent + column - 1
    # pyparsing reports where the failing group began: inside the WHERE block, on a character
    assert quoted.index("{") < caret.index("^") and not quoted[caret.index("^")].isspace()


def test_query_list_names_the_saved_questions():
    result = invoke("query", "--list")
    assert result.exit_code == 0, result.output
    names = {line.split()[0] for line in result.stdout.splitlines() if line.strip()}
    assert {"entities", "relations"} <= names
    assert any(line.startswith("relations") and "relation" in line.split(None, 1)[1]
               for line in result.stdout.splitlines())


def test_query_on_a_missing_graph(tmp_path):
    result = invoke("query", "--name", "entities", "--graph", tmp_path / "kg.trig")
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: {tmp_path / 'kg.trig'}: ")


# ---------------------------------------------------------------- export, validate


def test_export_ntriples_matches_the_build(tmp_path, built, graph):
    target = tmp_path / "again.nt"
    result = invoke("export", "--format", "nt", "-o", target, "--graph", graph)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"Wrote {target} (nt, ")
    # the graph read back from TriG exports byte for byte as the build wrote it
    assert target.read_bytes() == (built / "kg.nt").read_bytes()


def test_validate_a_built_graph(graph):
    result = invoke("validate", "--graph", graph)
    assert result.exit_code == 0, result.output
    assert "conforms" in result.stdout


# ---------------------------------------------------------------- docs


def commands(group: click.Group, prefix: tuple[str, ...] = ()):
    for name, command in sorted(group.commands.items()):
        yield (*prefix, name)
        if isinstance(command, click.Group):
            yield from commands(command, (*prefix, name))


@pytest.mark.parametrize("path", [(), *commands(main)], ids=lambda p: " ".join(p) or "kg")
def test_every_command_documents_an_example(path):
    result = invoke(*path, "--help")
    assert result.exit_code == 0, result.output
    assert "Example:" in result.stdout
    example = result.stdout.split("Example:", 1)[1]
    assert re.search(rf"^\s+kg {' '.join(path)}", example, re.M), f"`kg {' '.join(path)} --help` shows no example"


def test_version_from_the_installed_script():
    script = Path(sys.executable).parent / "kg"
    done = subprocess.run([str(script), "--version"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"kg, version {__version__}\n"
