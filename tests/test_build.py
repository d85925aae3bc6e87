"""kg.pipeline.build over the bundled corpus: determinism, round trips, shapes, provenance,
saved queries and stable IRIs.

The whole corpus is built once per session (no curation) for what the graph says. The
format checks run on the two smaller corpus documents, because on the whole corpus the
writers, parsers and pyshacl alone take minutes: determinism compares a build here with
the same build by `kg build` in another process under another hash seed; round trips and
SHACL use a build with a ledger (the real decisions in data/curation plus a few made here,
so the curation graph is never empty).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from rdflib import RDF, RDFS, Dataset, Graph, Literal, URIRef
from rdflib.compare import isomorphic

from kg import namespace as ns
from kg.curate import DEFAULT_DIR as CURATION_DIR
from kg.export import rdf
from kg.model import PREDICATES, entity_key
from kg.namespace import TK
from kg.pipeline import BuildResult, build
from kg.query import QUERIES_DIR, load_graph, run
from kg.validate import validate

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "data" / "corpus"
CORPUS_FILES = sorted(p.name for p in CORPUS.glob("*.txt"))
SUBSET = [CORPUS / "000_b9d2339fb7495d4c.txt", CORPUS / "003_37c8f3a9b7f9f7a6.txt"]
CONTRACT = {TK[p] for p in PREDICATES}

TEST_DECISIONS = [
    {"op": "add-entity", "type": "Organization", "label": "测试量子实验室", "label_en": "Test Quantum Lab",
     "aliases": ["测试实验室"], "qid": "Q4115189", "who": "tests", "when": "2025-01-01"},
    {"op": "add-entity", "type": "Technology", "label": "测试量子纠错", "who": "tests", "when": "2025-01-01"},
    {"op": "add-relation", "subject": "organization:测试量子实验室", "predicate": "develops",
     "object": "technology:测试量子纠错", "who": "tests", "when": "2025-01-01", "why": "fixture"},
]


@pytest.fixture(scope="session")
def corpus() -> BuildResult:
    return build([CORPUS], use_curation=False)


@pytest.fixture(scope="session")
def subset() -> BuildResult:
    return build(SUBSET, use_curation=False)


@pytest.fixture(scope="session")
def subset_elsewhere(tmp_path_factory) -> Path:
    """The same build in another process with another hash seed (set and dict order of
    strings change with PYTHONHASHSEED, outputs must not); returns its output directory."""
    out = tmp_path_factory.mktemp("elsewhere")
    seed = "2" if os.environ.get("PYTHONHASHSEED") == "1" else "1"
    command = [sys.executable, "-m", "kg.cli", "build", *map(str, SUBSET), "-o", str(out), "--no-curation",
               "--no-html", "-q"]
    done = subprocess.run(command, env={**os.environ, "PYTHONHASHSEED": seed}, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    return out


@pytest.fixture(scope="session")
def curated(tmp_path_factory) -> BuildResult:
    ledger = tmp_path_factory.mktemp("curation")
    for path in sorted(CURATION_DIR.glob("*.jsonl")):
        shutil.copy(path, ledger / path.name)
    lines = [json.dumps(d, ensure_ascii=False) for d in TEST_DECISIONS]
    (ledger / "zz-tests.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return build(SUBSET, curation_dir=ledger)


_CACHE: dict[tuple[int, str], object] = {}


def serialized(result: BuildResult, fmt: str) -> str:
    """Serialise each build once per format: the corpus is large and writers are slow."""
    key = (id(result), fmt)
    if key not in _CACHE:
        _CACHE[key] = rdf.serialize(result.dataset, fmt)
    return _CACHE[key]


def union(result: BuildResult) -> Graph:
    key = (id(result), "union")
    if key not in _CACHE:
        _CACHE[key] = rdf.union_graph(result.dataset)
    return _CACHE[key]


def named_graphs(ds: Dataset) -> dict[str, int]:
    return {str(g.identifier): len(g) for g in ds.graphs() if len(g) and not str(g.identifier).startswith("urn:x-rdflib")}


# ---------------------------------------------------------------- determinism


def test_the_whole_corpus_is_built(corpus):
    assert [d.name for d in corpus.documents] == CORPUS_FILES
    assert corpus.skipped == []
    summary = corpus.summary()
    assert summary["entities"] and summary["relations"]
    assert summary["triples"] == len(corpus.dataset) > 1000


_NOT_IN_IRI = re.compile(r'[\x00-\x20<>"{}|\\^`]')


def test_every_iri_of_the_corpus_is_a_valid_iri(corpus):
    """The format round trips run on a subset; this guards the rest of the corpus."""
    bad = {str(t) for triple in union(corpus) for t in triple if isinstance(t, URIRef) and _NOT_IN_IRI.search(t)}
    assert bad == set()


FILES = {"turtle": "kg.ttl", "trig": "kg.trig", "nt": "kg.nt", "jsonld": "kg.jsonld"}


def test_two_builds_give_isomorphic_datasets(subset, subset_elsewhere):
    other = Graph().parse(subset_elsewhere / "kg.nt", format="nt")
    assert isomorphic(union(subset), other)


@pytest.mark.parametrize("fmt", list(FILES))
def test_two_builds_serialise_byte_identically(subset, subset_elsewhere, fmt):
    here = serialized(subset, fmt)
    assert (subset_elsewhere / FILES[fmt]).read_bytes() == here.encode("utf-8")
    assert len(here) > 100_000


def test_nquads_do_not_depend_on_blank_node_ids(subset, subset_elsewhere):
    reloaded = load_graph(subset_elsewhere / "kg.trig")  # parsing mints fresh blank-node ids
    first = serialized(subset, "nquads")
    assert rdf.to_nquads(reloaded) == first
    assert first.count("\n") == sum(named_graphs(subset.dataset).values())


# ---------------------------------------------------------------- round trips


def test_turtle_round_trip(curated):
    parsed = Graph().parse(data=serialized(curated, "turtle"), format="turtle")
    assert isomorphic(parsed, union(curated))


def test_jsonld_round_trip(curated):
    text = serialized(curated, "jsonld")
    assert json.loads(text)["@context"]
    parsed = Graph().parse(data=text, format="json-ld")
    assert isomorphic(parsed, union(curated))


def test_trig_round_trip_keeps_the_named_graphs(curated):
    parsed = Dataset(default_union=True)
    parsed.parse(data=serialized(curated, "trig"), format="trig")
    expected = {str(ns.document_graph(p.name)) for p in SUBSET}
    expected |= {str(ns.ONTOLOGY_GRAPH), str(ns.CURATION_GRAPH)}
    assert set(named_graphs(parsed)) == expected
    assert named_graphs(parsed) == named_graphs(curated.dataset)
    assert isomorphic(rdf.union_graph(parsed), union(curated))


# ---------------------------------------------------------------- shapes


def test_built_graph_conforms_to_the_shapes(curated):
    conforms, violations = validate(curated.dataset)
    assert conforms, "\n".join(f"{v.shape} {v.focus} {v.path}: {v.message}" for v in violations[:20])
    assert violations == []


# ---------------------------------------------------------------- provenance


def _one(g: Graph, s, p):
    values = list(g.objects(s, p))
    assert len(values) == 1, (s, p, values)
    return values[0]


def _subsequence(needle: str, haystack: str) -> bool:
    it = iter(haystack)
    return all(c in it for c in needle)


def check_provenance(result: BuildResult) -> int:
    g = union(result)
    documents = {d.name: d for d in result.documents}
    assertions = set(g.subjects(RDF.type, TK.Assertion))
    assert assertions
    for a in assertions:
        s, p, o = _one(g, a, RDF.subject), _one(g, a, RDF.predicate), _one(g, a, RDF.object)
        assert (s, p, o) in g, f"{a} describes a triple that is not in the graph"
        method = str(_one(g, a, TK.method))
        confidence = _one(g, a, TK.confidence).toPython()
        assert 0 < confidence <= 1
        if method == "hand":
            continue
        sentence = _one(g, a, TK.evidence)
        doc_iri = _one(g, sentence, TK.inDocument)
        assert _one(g, a, TK.inDocument) == doc_iri
        text = str(_one(g, sentence, TK.text))
        start, end = int(_one(g, sentence, TK.start)), int(_one(g, sentence, TK.end))
        document = documents[str(_one(g, doc_iri, TK.fileName))]
        original = document.text[start:end]
        assert text.strip(), sentence
        assert text[0] == original[0] and text[-1] == original[-1], (text, original)
        assert _subsequence(text.replace(" ", ""), original), (text, original)
        kept = document.sentences[int(_one(g, sentence, TK.index))]
        assert (kept.text, kept.start, kept.end) == (text, start, end)
        assert all(document.text[i] == c for c, i in zip(text, kept.offsets) if not c.isspace())
    relations = [(s, p, o) for s, p, o in g if p in CONTRACT and str(s).startswith(str(ns.RES))]
    assert relations
    described = {(g.value(a, RDF.subject), g.value(a, RDF.predicate), g.value(a, RDF.object)) for a in assertions}
    missing = [t for t in relations if t not in described]
    assert missing == [], f"relations without an assertion: {missing[:5]}"
    return len(assertions)


def test_every_extracted_relation_has_provenance(corpus):
    check_provenance(corpus)


def test_curated_relations_have_provenance_too(curated):
    check_provenance(curated)
    g = union(curated)
    lab = ns.entity_iri(entity_key("Organization", "测试量子实验室"))
    qec = ns.entity_iri(entity_key("Technology", "测试量子纠错"))
    assert (lab, TK.develops, qec) in curated.dataset.graph(ns.CURATION_GRAPH)
    hand = [a for a in g.subjects(RDF.subject, lab) if g.value(a, TK.method) == Literal("hand")]
    assert len(hand) == 1 and g.value(hand[0], RDF.object) == qec
    assert g.value(lab, TK.wikidata) == Literal("Q4115189")
    assert Literal("Test Quantum Lab", lang="en") in set(g.objects(lab, RDFS.label))
    applied = {(d.op, d.line) for d in curated.report.applied if d.path.endswith("zz-tests.jsonl")}
    assert applied == {("add-entity", 1), ("add-entity", 2), ("add-relation", 3)}


def test_mentions_point_at_their_surface_in_the_original(corpus):
    g = union(corpus)
    documents = {d.name: d for d in corpus.documents}
    mentions = list(g.subjects(RDF.type, TK.Mention))
    assert len(mentions) > 100
    for m in mentions:
        document = documents[str(g.value(g.value(m, TK.inDocument), TK.fileName))]
        start, end = int(g.value(m, TK.start)), int(g.value(m, TK.end))
        surface = str(g.value(m, TK.surface))
        assert _subsequence(surface.replace(" ", ""), document.text[start:end]), (surface, document.text[start:end])
        assert (g.value(m, TK.mentionOf), RDF.type, None) in g


# ---------------------------------------------------------------- saved queries


def saved(name: str, result: BuildResult):
    path = QUERIES_DIR / f"{name}.rq"
    return run(result.dataset, path.read_text(encoding="utf-8"), source=str(path))


@pytest.fixture(scope="module")
def relation_rows(corpus) -> list[tuple[str, str, str, str, str]]:
    result = saved("relations", corpus)
    assert result.variables == ("s", "p", "o", "doc", "evidence")
    return [tuple("" if v is None else str(v) for v in row) for row in result.rows]


def test_entities_query_columns_and_rows(corpus):
    result = saved("entities", corpus)
    assert result.variables == ("entity", "type", "label", "doc")
    rows = [tuple("" if v is None else str(v) for v in row) for row in result.rows]
    ibm = [r for r in rows if r[0] == str(ns.RES["organization/ibm"])]
    assert ibm, "IBM is not an entity"
    assert {r[1] for r in ibm} == {str(TK.Organization)}
    assert {r[2] for r in ibm} == {"IBM"}
    assert str(ns.document_iri("001_6c33e5305bbf4742.txt")) in {r[3] for r in ibm}
    assert all(r[3].rsplit("/", 1)[-1] in CORPUS_FILES for r in rows if r[3])


def has_fact(rows, subject_end: str, predicate: str, object_end: str) -> list[tuple]:
    return [r for r in rows if r[0].endswith(subject_end) and r[1] == str(TK[predicate]) and r[2].endswith(object_end)]


@pytest.mark.parametrize(
    ("subject", "predicate", "obj"),
    [
        ("/organization/ibm", "develops", "/product/heron"),
        ("/organization/neuralink", "inField", "/technology/脑机接口"),
        ("/product/heron", "inField", "/technology/量子计算"),
    ],
    ids=["IBM-develops-Heron", "Neuralink-inField-脑机接口", "Heron-inField-量子计算"],
)
def test_known_facts_of_the_corpus_are_extracted(relation_rows, subject, predicate, obj):
    found = has_fact(relation_rows, subject, predicate, obj)
    assert found, f"missing {subject} {predicate} {obj}"
    for _, _, _, doc, evidence in found:
        assert doc.rsplit("/", 1)[-1] in CORPUS_FILES
        assert evidence.strip()


def test_relation_rows_are_contract_predicates_with_evidence(relation_rows):
    assert relation_rows
    assert {r[1] for r in relation_rows} <= {str(p) for p in CONTRACT}
    assert all(r[0].startswith(str(ns.RES)) and r[2].startswith(str(ns.RES)) for r in relation_rows)
    assert all(r[4].strip() for r in relation_rows if r[3])
    assert relation_rows == sorted(relation_rows, key=lambda r: r[:4])


# ---------------------------------------------------------------- stable IRIs


TRICKY = [
    ("Technology", "C++"), ("Technology", "C"), ("Technology", "C#"), ("Technology", "C-"),
    ("Product", "Gemini 1.5 Pro"), ("Product", "Gemini 1.5 Flash"), ("Product", "Gemini"),
    ("Product", "Gemini-1.5-Pro"), ("Product", "Gemini 1.5"), ("Product", "Gemini 15"),
    ("Person", "埃隆·马斯克"), ("Person", "埃隆-马斯克"), ("Person", "埃隆马斯克"), ("Person", "马斯克"),
    ("Organization", "IBM"), ("Organization", "IBM公司"), ("Organization", "OpenAI"), ("Organization", "Open AI"),
    ("Organization", "台积电"), ("Technology", "AI"), ("Product", "AI"), ("Technology", "AI/ML"),
    ("Technology", "AI ML"), ("Event", "re:Invent 2024"), ("Event", "re-Invent 2024"),
]
SAME = [
    (("Organization", "IBM"), ("Organization", "ＩＢＭ")),
    (("Organization", "IBM"), ("Organization", "ibm")),
    (("Organization", "台积电"), ("Organization", "臺積電")),
    (("Person", "埃隆·马斯克"), ("Person", "埃隆・马斯克")),
    (("Product", "Gemini 1.5 Pro"), ("Product", "gemini  1.5 pro")),
]


def test_entity_iris_depend_only_on_the_key():
    keys = [entity_key(t, n) for t, n in TRICKY]
    assert len(set(keys)) == len(keys)
    iris = [ns.entity_iri(k) for k in keys]
    assert [ns.entity_iri(entity_key(t, n)) for t, n in TRICKY] == iris  # same key, same IRI
    assert len(set(iris)) == len(iris), "different keys must give different IRIs"
    for (t, _), iri in zip(TRICKY, iris):
        assert str(iri).startswith(f"{ns.RES}{t.lower()}/")
        assert not any(c in str(iri) for c in ' <>"{}|\\^`#?')
    g = Graph()
    for iri in iris:
        g.add((iri, RDF.type, TK.Technology))
    assert set(Graph().parse(data=g.serialize(format="nt"), format="nt").subjects()) == set(iris)


@pytest.mark.parametrize(("a", "b"), SAME)
def test_spellings_of_one_key_share_an_iri(a, b):
    assert entity_key(*a) == entity_key(*b)
    assert ns.entity_iri(entity_key(*a)) == ns.entity_iri(entity_key(*b))


def test_readable_slugs():
    assert str(ns.entity_iri(entity_key("Organization", "IBM"))).endswith("/organization/ibm")
    assert str(ns.entity_iri(entity_key("Product", "Heron"))).endswith("/product/heron")
    assert str(ns.entity_iri(entity_key("Technology", "量子计算"))).endswith("/technology/量子计算")
    assert str(ns.entity_iri(entity_key("Product", "GPT-4"))).endswith("/product/gpt-4")
