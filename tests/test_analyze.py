"""kg.analyze: the network read from the graph, its measures, and `kg analyze`.

Exact values come from tests/fixtures/sample.trig; the properties every graph must have
(counts that match SPARQL, PageRank summing to 1, stable communities, the IBM → 量子计算
path) are checked on the bundled corpus, built once for this module.
"""

from __future__ import annotations

import json
from pathlib import Path

import networkx as nx
import numpy as np
import pytest
from click.testing import CliRunner
from rdflib import RDF

from kg import analyze as an
from kg.cli import DEFAULT_CORPUS, main
from kg.errors import KGError
from kg.export.html import ENTITY_TYPES, PREDICATES
from kg.export import rdf
from kg.export.rdf import to_trig
from kg.namespace import TK
from kg.pipeline import build
from kg.query import load_graph

SAMPLE = Path(__file__).parent / "fixtures" / "sample.trig"
R = "https://w3id.org/techkg/resource/"
IBM = R + "organization/ibm"
NVIDIA = R + "organization/英伟达"


@pytest.fixture(scope="module")
def sample():
    return an.to_networkx(load_graph(SAMPLE))


@pytest.fixture(scope="module")
def corpus_ds(tmp_path_factory):
    """The bundled corpus, built once per session (other modules reuse the written copy)."""
    cached = tmp_path_factory.getbasetemp() / "corpus.trig"
    if cached.exists():
        return load_graph(cached)
    ds = build([DEFAULT_CORPUS]).dataset
    rdf.write(ds, "trig", cached)
    return ds


@pytest.fixture(scope="module")
def corpus(corpus_ds):
    return an.to_networkx(corpus_ds)


def rdf_counts(ds) -> tuple[int, int]:
    """Entities and entity-to-entity contract relations, counted with rdflib directly."""
    entities = {s for t in ENTITY_TYPES for s in ds.subjects(RDF.type, TK[t])}
    relations = {(s, p, o) for p in PREDICATES for s, o in ds.subject_objects(TK[p]) if {s, o} <= entities}
    return len(entities), len(relations)


# ---------------------------------------------------------------- rdflib → networkx


def test_entities_and_relations_become_nodes_and_edges(sample):
    assert (sample.number_of_nodes(), sample.number_of_edges()) == rdf_counts(load_graph(SAMPLE)) == (12, 10)
    nvidia = sample.nodes[NVIDIA]
    assert (nvidia["type"], nvidia["label"], nvidia["en"]) == ("Organization", "英伟达", "NVIDIA")
    assert nvidia["aliases"] == ["NVIDIA", "英伟达公司"]
    assert nvidia["wikidata"] == "Q182477"
    edge = sample.edges[IBM, R + "product/heron", "develops"]
    assert edge["predicate"] == "develops"
    assert edge["evidence"][0]["text"].startswith("2023 年 12 月 4 日")
    assert edge["evidence"][0]["document"] == "001_6c33e5305bbf4742.txt"
    assert [d["fileName"] for d in sample.graph["documents"]] == ["000_b9d2339fb7495d4c.txt", "001_6c33e5305bbf4742.txt"]


def test_corpus_network_matches_sparql(corpus_ds, corpus):
    assert (corpus.number_of_nodes(), corpus.number_of_edges()) == rdf_counts(corpus_ds)
    assert list(corpus) == sorted(corpus)
    assert {t for _, t in corpus.nodes(data="type")} <= set(ENTITY_TYPES)
    assert {p for _, _, p in corpus.edges(data="predicate")} <= set(PREDICATES)


def test_statistics_add_up(sample, corpus):
    stats = an.statistics(sample)
    assert stats["types"] == {"Organization": 3, "Person": 1, "Technology": 2, "Product": 3, "Event": 1,
                              "Place": 1, "Policy": 1}  # fmt: skip
    assert stats["predicates"]["develops"] == 3
    assert (stats["isolates"], stats["components"], stats["largest_component"], stats["documents"]) == (0, 2, 8, 2)
    for G in (sample, corpus):
        stats = an.statistics(G)
        assert sum(stats["types"].values()) == stats["nodes"] == G.number_of_nodes()
        assert sum(stats["predicates"].values()) == stats["edges"] == G.number_of_edges()
        assert stats["component_sizes"] == sorted(stats["component_sizes"], reverse=True)
        assert stats["isolates"] <= stats["components"] <= stats["nodes"]


# ---------------------------------------------------------------- centrality


def test_pagerank_sums_to_one_and_agrees_with_the_google_matrix(corpus):
    ranks = an.pagerank(corpus)
    assert set(ranks) == set(corpus)
    assert sum(ranks.values()) == pytest.approx(1.0, abs=1e-9)
    karate = nx.karate_club_graph()
    google = nx.google_matrix(karate, alpha=0.85, weight=None)
    values, vectors = np.linalg.eig(google.T)
    expected = np.real(vectors[:, np.argmax(np.real(values))])
    expected /= expected.sum()
    ours = an.pagerank(karate)
    assert [ours[v] for v in karate] == pytest.approx(list(expected), abs=1e-8)


def test_top_entities_are_ranked_and_typed(sample, corpus):
    top = [(e["label"], e["score"]) for e in an.top_entities(sample, n=3)]
    assert top == [("IBM", 3.0), ("B200", 2.0), ("re:Invent 2024", 2.0)]  # ties by label
    for measure in an.MEASURES:
        top = an.top_entities(corpus, measure=measure, n=10)
        assert 0 < len(top) <= 10
        assert [e["score"] for e in top] == sorted((e["score"] for e in top), reverse=True)
        for kind, items in an.top_by_type(corpus, measure=measure, n=3).items():
            assert items and len(items) <= 3 and {e["type"] for e in items} == {kind}
    degree = an.centrality(corpus, "degree")
    H = an.undirected(corpus)
    assert all(degree[v] == len(set(H[v])) for v in corpus)
    assert an.top_entities(corpus, type="Technology", n=3) == an.top_by_type(corpus, n=3)["Technology"]


def test_unknown_measure_is_an_error(sample):
    with pytest.raises(KGError, match="unknown measure 'fame'"):
        an.centrality(sample, "fame")


# ---------------------------------------------------------------- communities


def test_communities_are_stable_for_a_seed(corpus, corpus_ds):
    first = an.communities(corpus, seed=7)
    assert first == an.communities(an.to_networkx(corpus_ds), seed=7)
    members = [m["id"] for c in first for m in c["members"]]
    assert len(members) == len(set(members))
    assert [c["size"] for c in first] == sorted((c["size"] for c in first), reverse=True)
    assert all(c["size"] >= 2 and c["size"] == len(c["members"]) for c in first)
    for c in first:
        assert all(t["type"] == "Technology" for t in c["technologies"])
        assert all(o["type"] == "Organization" for o in c["organizations"])
        assert sum(c["types"].values()) == c["size"]
    H = an.undirected(corpus)
    assert set(members) <= {v for v in H if H.degree(v) > 0}


def test_sample_communities_follow_the_components(sample):
    found = an.communities(sample, seed=1)
    assert sum(c["size"] for c in found) == 12  # every entity of the sample is linked
    H = an.undirected(sample)
    for c in found:  # a community never spans two components
        ids = [m["id"] for m in c["members"]]
        assert all(nx.has_path(H, ids[0], other) for other in ids[1:])
    ibm = next(c for c in found if c["hub"]["label"] == "IBM")
    assert ibm["size"] == 4 and [o["label"] for o in ibm["organizations"]] == ["IBM"]
    assert [p["label"] for p in ibm["members"] if p["type"] == "Person"] == ["达里奥·吉尔"]


# ---------------------------------------------------------------- paths


def test_path_from_ibm_to_quantum_computing(corpus):
    paths = an.shortest_paths(corpus, "IBM", "量子计算")
    assert paths, "IBM and 量子计算 are not connected in the corpus graph"
    for hops in paths:
        assert hops[0]["from"]["label"] == "IBM" and hops[-1]["to"]["label"] == "量子计算"
        assert all(a["to"] == b["from"] for a, b in zip(hops, hops[1:]))
        for hop in hops:
            assert hop["relations"] and all(r["predicate"] in PREDICATES for r in hop["relations"])
    assert any(ev["text"] for hop in paths[0] for r in hop["relations"] for ev in r["evidence"])
    assert len({len(h) for h in paths}) == 1  # all shortest


def test_path_follows_relations_either_way(sample):
    (hops,) = an.shortest_paths(sample, "Darío Gil", "heron")  # English label; case does not matter
    assert [(h["from"]["label"], h["to"]["label"]) for h in hops] == [("达里奥·吉尔", "IBM"), ("IBM", "Heron")]
    assert [r["predicate"] for h in hops for r in h["relations"]] == ["affiliatedWith", "develops"]
    assert an.shortest_paths(sample, "IBM", "拉斯维加斯") == []
    assert an.shortest_paths(sample, "IBM", "IBM公司") == [[]]


@pytest.mark.parametrize(
    "name, found",
    [("NVIDIA", NVIDIA), ("nvidia", NVIDIA), ("英伟达公司", NVIDIA), ("organization:ibm", IBM), (IBM, IBM)],
)
def test_find_entity_by_label_alias_key_or_iri(sample, name, found):
    assert an.find_entity(sample, name) == found


def test_unknown_entity_is_an_error(sample):
    with pytest.raises(KGError, match="no entity is named 'Nokia'"):
        an.shortest_paths(sample, "Nokia", "IBM")


# ---------------------------------------------------------------- co-occurrence


def test_cooccurrence_counts_shared_documents(sample, corpus):
    pairs = an.cooccurrence(sample, min_documents=1)
    assert [(p["a"]["label"], p["b"]["label"], p["count"]) for p in pairs] == [("人工智能", "生成式AI", 1)]
    pairs = an.cooccurrence(corpus, n=0)
    assert pairs
    for p in pairs[:50]:
        shared = set(corpus.nodes[p["a"]["id"]]["documents"]) & set(corpus.nodes[p["b"]["id"]]["documents"])
        assert p["count"] == len(shared) == len(p["documents"]) >= 2
        assert 0 < p["jaccard"] <= 1 and p["a"]["type"] == p["b"]["type"] == "Technology"
    assert [p["count"] for p in pairs] == sorted((p["count"] for p in pairs), reverse=True)


# ---------------------------------------------------------------- kg analyze


@pytest.fixture(scope="module")
def sample_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("graph") / "kg.trig"
    path.write_text(to_trig(load_graph(SAMPLE)), encoding="utf-8")
    return path


def test_cli_analyze_prints_tables_and_json(sample_file):
    result = CliRunner().invoke(main, ["analyze", "--graph", str(sample_file), "--top", "3"])
    assert result.exit_code == 0, result.output
    for title in ("Graph", "Top 3 entities", "Top 5 per type", "Communities", "Technologies mentioned together"):
        assert title in result.output
    result = CliRunner().invoke(main, ["analyze", "--graph", str(sample_file), "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert sorted(data) == ["communities", "cooccurrence", "seed", "statistics", "top", "top_by_type"]
    assert data == an.report(an.to_networkx(load_graph(sample_file)))
    assert data["statistics"]["nodes"] == 12


def test_cli_analyze_png_writes_charts(sample_file, tmp_path):
    args = ["analyze", "--graph", str(sample_file), "--png", str(tmp_path / "charts")]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    names = sorted(p.name for p in (tmp_path / "charts").iterdir())
    assert names == ["communities.png", "top-betweenness.png", "top-degree.png", "top-pagerank.png"]
    first = (tmp_path / "charts" / "top-degree.png").read_bytes()
    assert first.startswith(b"\x89PNG")
    CliRunner().invoke(main, args)
    assert (tmp_path / "charts" / "top-degree.png").read_bytes() == first  # no timestamp inside


def test_cli_analyze_path(sample_file):
    result = CliRunner().invoke(main, ["analyze", "--graph", str(sample_file), "path", "IBM", "Heron"])
    assert result.exit_code == 0, result.output
    assert "Path 1 (1 hop): IBM — Heron" in result.output
    assert "IBM —develops→ Heron" in result.output
    assert "2023 年 12 月 4 日" in result.output and "001_6c33e5305bbf4742.txt" in result.output
    result = CliRunner().invoke(main, ["analyze", "--graph", str(sample_file), "--json", "path", "IBM", "Heron"])
    (hops,) = json.loads(result.output)
    assert [r["predicate"] for r in hops[0]["relations"]] == ["develops"]
    result = CliRunner().invoke(main, ["analyze", "path", "--graph", str(sample_file), "IBM", "拉斯维加斯", "--json"])
    assert result.exit_code == 0 and json.loads(result.output) == []
    result = CliRunner().invoke(main, ["analyze", "path", "--graph", str(sample_file), "IBM", "拉斯维加斯"])
    assert "No path between IBM and 拉斯维加斯" in result.output


@pytest.mark.parametrize(
    "args, message",
    [
        (["path", "Nokia", "IBM"], "Error: no entity is named 'Nokia'"),
        (["path", "IBM", "Heron", "--graph", "missing.trig"], "Error: missing.trig: no such graph file"),
    ],
)
def test_cli_analyze_errors_are_one_line(sample_file, args, message):
    result = CliRunner().invoke(main, ["analyze", "--graph", str(sample_file), *args])
    assert result.exit_code == 1
    assert result.output.startswith(message) and result.output.count("\n") == 1
