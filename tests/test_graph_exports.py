"""kg.export.graphml: GraphML, GEXF, CSV and node-link JSON, and `kg export-graph`."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import networkx as nx
import pytest
from click.testing import CliRunner

from kg.analyze import to_networkx
from kg.cli import DEFAULT_CORPUS, GRAPH_FORMATS, main
from kg.errors import KGError
from kg.export import rdf
from kg.export.graphml import EDGE_COLUMNS, NODE_COLUMNS, WRITERS, write_network
from kg.pipeline import build
from kg.query import load_graph

SAMPLE = Path(__file__).parent / "fixtures" / "sample.trig"
PAYLOAD = "<img src=x onerror=alert(1)>"
R = "https://w3id.org/techkg/resource/"
IBM = R + "organization/ibm"
NVIDIA = R + "organization/英伟达"


@pytest.fixture(scope="module")
def sample():
    return to_networkx(load_graph(SAMPLE))


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """The bundled corpus, built once per session (test_analyze may have written it)."""
    cached = tmp_path_factory.getbasetemp() / "corpus.trig"
    if cached.exists():
        return to_networkx(load_graph(cached))
    ds = build([DEFAULT_CORPUS]).dataset
    rdf.write(ds, "trig", cached)
    return to_networkx(ds)


def read_back(fmt: str, path: Path) -> nx.Graph:
    if fmt == "graphml":
        return nx.read_graphml(path)
    if fmt == "gexf":
        return nx.read_gexf(path)
    if fmt == "nodelink":
        return nx.node_link_graph(json.loads(path.read_text(encoding="utf-8")), edges="edges")
    G = nx.MultiDiGraph()
    with (path / "nodes.csv").open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            G.add_node(row.pop("id"), **row)
    with (path / "edges.csv").open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            G.add_edge(row.pop("source"), row.pop("target"), **row)
    return G


def test_registry_and_cli_agree():
    assert tuple(WRITERS) == GRAPH_FORMATS


@pytest.mark.parametrize("fmt", GRAPH_FORMATS)
def test_round_trip_keeps_nodes_edges_and_text(sample, tmp_path, fmt):
    out = tmp_path / f"graph.{fmt}"
    written = write_network(sample, fmt, out)
    assert all(p.exists() for p in written)
    G = read_back(fmt, out)
    assert (G.number_of_nodes(), G.number_of_edges()) == (12, 10)
    assert G.nodes[NVIDIA]["label"] == "英伟达"
    assert G.nodes[NVIDIA]["type"] == "Organization"
    payload = next(v for v in G if G.nodes[v]["label"] == PAYLOAD)
    assert payload.startswith(R + "product/")
    predicates = sorted(d["predicate"] for _, _, d in G.edges(data=True))
    assert predicates == sorted(d["predicate"] for _, _, d in sample.edges(data=True))
    heron = next(d for u, v, d in G.edges(data=True) if (u, v) == (IBM, R + "product/heron"))
    evidence = heron["evidence"]  # a list in node-link JSON, flattened text elsewhere
    assert (evidence[0]["text"] if isinstance(evidence, list) else evidence).startswith("2023 年 12 月 4 日")


def test_flattened_columns(sample, tmp_path):
    write_network(sample, "csv", tmp_path)
    with (tmp_path / "nodes.csv").open(encoding="utf-8", newline="") as handle:
        nodes = list(csv.DictReader(handle))
    with (tmp_path / "edges.csv").open(encoding="utf-8", newline="") as handle:
        edges = list(csv.DictReader(handle))
    assert tuple(nodes[0]) == NODE_COLUMNS and tuple(edges[0]) == EDGE_COLUMNS
    nvidia = next(n for n in nodes if n["id"] == NVIDIA)
    assert (nvidia["aliases"], nvidia["wikidata"]) == ("NVIDIA|英伟达公司", "Q182477")
    assert nvidia["documents"] == "000_b9d2339fb7495d4c.txt|001_6c33e5305bbf4742.txt"
    curated = next(e for e in edges if e["predicate"] == "partnerOf")
    assert (curated["methods"], curated["evidence_count"], curated["evidence"]) == ("hand", "0", "")
    assert float(curated["confidence"]) == 1.0
    heron = next(e for e in edges if e["target"] == R + "product/heron")
    assert (heron["evidence_count"], heron["methods"]) == ("1", "rule:develops-verb")
    assert [n["id"] for n in nodes] == sorted(n["id"] for n in nodes)
    assert [(e["source"], e["target"]) for e in edges] == sorted((e["source"], e["target"]) for e in edges)


def test_node_link_keeps_lists(sample, tmp_path):
    write_network(sample, "nodelink", tmp_path / "g.json")
    data = json.loads((tmp_path / "g.json").read_text(encoding="utf-8"))
    nvidia = next(n for n in data["nodes"] if n["id"] == NVIDIA)
    assert nvidia["aliases"] == ["NVIDIA", "英伟达公司"]
    edge = next(e for e in data["edges"] if e["source"] == IBM and e["target"] == R + "product/heron")
    assert edge["key"] == "develops" and edge["evidence"][0]["document"] == "001_6c33e5305bbf4742.txt"


@pytest.mark.parametrize("fmt", GRAPH_FORMATS)
def test_output_is_deterministic(sample, tmp_path, fmt):
    first = write_network(sample, fmt, tmp_path / "a" / "out")
    second = write_network(to_networkx(load_graph(SAMPLE)), fmt, tmp_path / "b" / "out")
    assert [p.read_bytes() for p in first] == [p.read_bytes() for p in second]
    if fmt in ("graphml", "gexf"):
        text = first[0].read_text(encoding="utf-8")
        assert "英伟达" in text and "&#" not in text  # readable UTF-8, not character references
        assert "lastmodifieddate" not in text


def test_corpus_graphml_round_trips(corpus, tmp_path):
    (path,) = write_network(corpus, "graphml", tmp_path / "kg.graphml")
    G = nx.read_graphml(path)
    assert (G.number_of_nodes(), G.number_of_edges()) == (corpus.number_of_nodes(), corpus.number_of_edges())
    assert {v: d["label"] for v, d in G.nodes(data=True)} == dict(corpus.nodes(data="label"))


def test_unknown_format_and_csv_onto_a_file_are_errors(sample, tmp_path):
    with pytest.raises(KGError, match="unknown graph format 'dot'"):
        write_network(sample, "dot", tmp_path / "g.dot")
    (tmp_path / "file").write_text("x")
    with pytest.raises(KGError, match="writes a directory"):
        write_network(sample, "csv", tmp_path / "file")


def test_cli_export_graph(tmp_path):
    graph = tmp_path / "kg.trig"
    rdf.write(load_graph(SAMPLE), "trig", graph)
    result = CliRunner().invoke(main, ["export-graph", "--format", "graphml", "-o", str(tmp_path / "g.graphml"),
                                       "--graph", str(graph)])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert result.output.endswith("(graphml, 12 nodes, 10 edges)\n")
    result = CliRunner().invoke(main, ["export-graph", "--format", "csv", "-o", str(tmp_path / "csv"),
                                       "--graph", str(graph)])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "csv").iterdir()) == ["edges.csv", "nodes.csv"]
    result = CliRunner().invoke(main, ["export-graph", "--format", "csv", "-o", str(graph), "--graph", str(graph)])
    assert result.exit_code == 1 and result.output.startswith("Error: ") and result.output.count("\n") == 1
