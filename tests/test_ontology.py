"""The vocabulary, the SHACL shapes and the JSON-LD context in ontology/, checked
against each other and against the hand-written sample in tests/fixtures/sample.trig."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from pyshacl import validate
from rdflib import RDF, RDFS, Dataset, Graph, Literal, Namespace, URIRef
from rdflib.term import Node
from rdflib.collection import Collection
from rdflib.compare import isomorphic
from rdflib.namespace import DCTERMS, OWL, PROV, SH, SKOS

ROOT = Path(__file__).resolve().parents[1]
ONTOLOGY = ROOT / "ontology" / "techkg.ttl"
SHAPES = ROOT / "ontology" / "shapes.ttl"
CONTEXT = ROOT / "ontology" / "context.jsonld"
SAMPLE = ROOT / "tests" / "fixtures" / "sample.trig"

TK = Namespace("https://w3id.org/techkg/ontology#")
TKR = Namespace("https://w3id.org/techkg/resource/")
TKD = Namespace("https://w3id.org/techkg/doc/")
TKA = Namespace("https://w3id.org/techkg/assertion/")
TKG = Namespace("https://w3id.org/techkg/graph/")
ONTOLOGY_IRI = URIRef("https://w3id.org/techkg/ontology")
# Plain namespaces: pytest probes module attributes, and rdflib's open SDO and XSD
# namespaces warn on every unknown name.
SDO = Namespace("https://schema.org/")
XSD = Namespace("http://www.w3.org/2001/XMLSchema#")

ENTITY_CLASSES = ["Organization", "Person", "Technology", "Product", "Event", "Place", "Policy"]
CLASSES = [*ENTITY_CLASSES, "Document", "Sentence", "Mention", "Assertion"]
OR, PE, TE, PR, EV, PL, PO = ENTITY_CLASSES

# predicate: (domain classes, range classes), as in docs/data-model.md
RELATIONS: dict[str, tuple[set[str], set[str]]] = {
    "develops": ({OR, PE}, {PR, TE}),
    "inField": ({OR, PR, EV, PO}, {TE}),
    "basedOn": ({PR}, {PR, TE}),
    "subsidiaryOf": ({OR}, {OR}),
    "partnerOf": ({OR, PE}, {OR, PE}),
    "investsIn": ({OR, PE}, {OR}),
    "acquires": ({OR, PE}, {OR}),
    "affiliatedWith": ({PE}, {OR}),
    "participant": ({EV}, {OR, PE, PR}),
    "locatedIn": ({OR, EV}, {PL}),
    "regulates": ({PO}, {TE, OR}),
    "broader": ({TE}, {TE}),
}
PROVENANCE_OBJECT_PROPERTIES = ["inDocument", "inSentence", "mentionOf", "evidence"]
DATATYPE_PROPERTIES = [
    "date", "key", "wikidata", "mentionCount", "fileName", "text", "start", "end",
    "index", "surface", "method", "confidence",
]
OBJECT_PROPERTIES = [*RELATIONS, *PROVENANCE_OBJECT_PROPERTIES]

# Nodes of tests/fixtures/sample.trig
AI = TKR["technology/人工智能"]
AWS = TKR["organization/亚马逊云科技"]
LAS_VEGAS = TKR["place/拉斯维加斯"]
NVIDIA = TKR["organization/英伟达"]
REINVENT = TKR["event/re-invent-2024-ed4f4b6f"]
B200_MENTION = TKD["000_b9d2339fb7495d4c.txt/m/1696-1700"]
NVIDIA_DEVELOPS_B200 = TKA.a5c0af5bb02ea4a1
AWS_PARTNER_OF_NVIDIA = TKA.e453646ec5b5657f

SCHEMA_COUNTERPART = {
    "Organization": SDO.Organization,
    "Person": SDO.Person,
    "Technology": SDO.DefinedTerm,
    "Product": SDO.Product,
    "Event": SDO.Event,
    "Place": SDO.Place,
    "Policy": SDO.Legislation,
    "Document": SDO.CreativeWork,
}


@pytest.fixture(scope="module")
def ontology() -> Graph:
    return Graph().parse(ONTOLOGY, format="turtle")


@pytest.fixture(scope="module")
def shapes() -> Graph:
    return Graph().parse(SHAPES, format="turtle")


@pytest.fixture(scope="module")
def dataset() -> Dataset:
    return Dataset().parse(SAMPLE, format="trig")


@pytest.fixture(scope="module")
def context() -> dict:
    return json.loads(CONTEXT.read_text(encoding="utf-8"))["@context"]


@pytest.fixture()
def sample(dataset: Dataset) -> Graph:
    """A fresh copy of the union of the sample's named graphs (what queries see)."""
    union = Graph()
    for s, p, o, _ in dataset.quads():
        union.add((s, p, o))
    return union


def members(graph: Graph, node: Node) -> set[Node]:
    """The classes or datatypes `node` names, opening an owl:unionOf."""
    union = graph.value(node, OWL.unionOf)
    return set(Collection(graph, union)) if union is not None else {node}


def violations(data: Graph, shapes: Graph) -> set[tuple[URIRef, str]]:
    conforms, report, _ = validate(data, shacl_graph=shapes, ont_graph=None, inference="none")
    found = {
        (report.value(result, SH.focusNode), str(report.value(result, SH.resultMessage)))
        for result in report.subjects(RDF.type, SH.ValidationResult)
    }
    assert conforms == (not found)
    return found


# The ontology


def test_ontology_header(ontology: Graph) -> None:
    assert (ONTOLOGY_IRI, RDF.type, OWL.Ontology) in ontology
    for predicate in (DCTERMS.title, DCTERMS.description, OWL.versionInfo, DCTERMS.license):
        assert ontology.value(ONTOLOGY_IRI, predicate) is not None, predicate


@pytest.mark.parametrize(
    ("name", "kind"),
    [(name, OWL.Class) for name in CLASSES]
    + [(name, OWL.ObjectProperty) for name in OBJECT_PROPERTIES]
    + [(name, OWL.DatatypeProperty) for name in DATATYPE_PROPERTIES],
)
def test_term_is_declared_with_labels_and_comments_in_en_and_zh(
    ontology: Graph, name: str, kind: URIRef
) -> None:
    term = TK[name]
    assert (term, RDF.type, kind) in ontology
    for predicate in (RDFS.label, RDFS.comment):
        languages = sorted(value.language for value in ontology.objects(term, predicate))
        assert languages == ["en", "zh"], (name, predicate)


def test_the_namespace_is_closed(ontology: Graph) -> None:
    declared = {s for s in ontology.subjects(RDFS.isDefinedBy, ONTOLOGY_IRI)}
    expected = {TK[name] for name in CLASSES + OBJECT_PROPERTIES + DATATYPE_PROPERTIES}
    assert declared == expected
    used = {t for triple in ontology for t in triple if isinstance(t, URIRef) and t.startswith(TK)}
    assert used <= expected


@pytest.mark.parametrize("name", RELATIONS)
def test_relation_domain_and_range(ontology: Graph, name: str) -> None:
    domain, range_ = RELATIONS[name]
    assert members(ontology, ontology.value(TK[name], RDFS.domain)) == {TK[c] for c in domain}
    assert members(ontology, ontology.value(TK[name], RDFS.range)) == {TK[c] for c in range_}


def test_partner_of_is_symmetric(ontology: Graph) -> None:
    assert (TK.partnerOf, RDF.type, OWL.SymmetricProperty) in ontology


def test_broader_is_transitive_and_specialises_skos_broader(ontology: Graph) -> None:
    assert (TK.broader, RDF.type, OWL.TransitiveProperty) in ontology
    assert (TK.broader, RDFS.subPropertyOf, SKOS.broader) in ontology


def test_event_date_accepts_three_precisions(ontology: Graph) -> None:
    date_range = ontology.value(TK.date, RDFS.range)
    assert (date_range, RDF.type, RDFS.Datatype) in ontology
    assert members(ontology, date_range) == {XSD.date, XSD.gYearMonth, XSD.gYear}
    assert ontology.value(TK.date, RDFS.domain) == TK.Event
    assert set(ontology.objects(TK.date, RDFS.subPropertyOf)) == {SDO.startDate, DCTERMS.date}


@pytest.mark.parametrize("name", SCHEMA_COUNTERPART)
def test_class_specialises_its_schema_org_counterpart(ontology: Graph, name: str) -> None:
    assert (TK[name], RDFS.subClassOf, SCHEMA_COUNTERPART[name]) in ontology


def test_alignment_with_skos_and_prov(ontology: Graph) -> None:
    assert (TK.Technology, RDFS.subClassOf, SKOS.Concept) in ontology
    for name in ("Document", "Sentence", "Mention", "Assertion"):
        assert (TK[name], RDFS.subClassOf, PROV.Entity) in ontology, name
    assert (TK.Assertion, RDFS.subClassOf, RDF.Statement) in ontology
    for name in ("evidence", "inDocument"):
        assert (TK[name], RDFS.subPropertyOf, PROV.wasDerivedFrom) in ontology, name


# The sample and the shapes


def test_sample_follows_the_data_model(dataset: Dataset, sample: Graph) -> None:
    graphs = {g.identifier for g in dataset.graphs() if len(g)}
    assert graphs == {
        TKG["doc/000_b9d2339fb7495d4c.txt"],
        TKG["doc/001_6c33e5305bbf4742.txt"],
        TKG.curation,
    }
    for name in ENTITY_CLASSES:
        for entity in sample.subjects(RDF.type, TK[name]):
            assert entity.startswith(TKR[name.lower() + "/"]), entity
    assert sample.value(REINVENT, TK.date) == Literal("2024-12", datatype=XSD.gYearMonth)
    assert Literal("英伟达", lang="zh") in set(sample.objects(NVIDIA, RDFS.label))
    assert Literal("NVIDIA", lang="en") in set(sample.objects(NVIDIA, SKOS.altLabel))
    assert sample.value(AWS_PARTNER_OF_NVIDIA, TK.method) == Literal("hand")
    assert sample.value(AWS_PARTNER_OF_NVIDIA, TK.evidence) is None
    xss = "<img src=x onerror=alert(1)>"
    assert Literal(xss, lang="zh") in set(sample.objects(None, RDFS.label))
    assert any(xss in text for text in sample.objects(None, TK.text))


def test_sample_uses_only_ontology_terms(ontology: Graph, sample: Graph) -> None:
    declared = set(ontology.subjects(RDFS.isDefinedBy, ONTOLOGY_IRI))
    used = {t for triple in sample for t in triple if isinstance(t, URIRef) and t.startswith(TK)}
    assert used <= declared, used - declared


def test_shapes_use_only_ontology_terms(ontology: Graph, shapes: Graph) -> None:
    declared = set(ontology.subjects(RDFS.isDefinedBy, ONTOLOGY_IRI))
    used = {t for triple in shapes for t in triple if isinstance(t, URIRef) and t.startswith(TK)}
    assert used <= declared, used - declared


def test_every_shape_message_is_in_english(shapes: Graph) -> None:
    messages = list(shapes.objects(None, SH.message))
    assert messages
    assert {message.language for message in messages} == {"en"}


def test_sample_conforms(sample: Graph, shapes: Graph) -> None:
    assert violations(sample, shapes) == set()


def test_sample_with_the_ontology_graph_conforms(
    sample: Graph, ontology: Graph, shapes: Graph
) -> None:
    assert violations(sample + ontology, shapes) == set()


def test_one_assertion_covers_both_directions_of_partner_of(sample: Graph, shapes: Graph) -> None:
    sample.add((NVIDIA, TK.partnerOf, AWS))
    assert violations(sample, shapes) == set()


# Each breaker damages a copy of the sample and returns the (focus node, message)
# pairs the validation report must hold, no more and no fewer.


def develops_from_technology_to_place(g: Graph) -> set[tuple[URIRef, str]]:
    g.add((AI, TK.develops, LAS_VEGAS))
    return {
        (AI, "The subject of tk:develops must be a tk:Organization or tk:Person."),
        (AI, "The object of tk:develops must be a tk:Product or tk:Technology."),
        (AI, f"The relation {AI} {TK.develops} {LAS_VEGAS} has no tk:Assertion record."),
    }


def event_date_as_string(g: Graph) -> set[tuple[URIRef, str]]:
    g.set((REINVENT, TK.date, Literal("2024-12", datatype=XSD.string)))
    return {
        (
            REINVENT,
            "A tk:Event has at most one tk:date, typed xsd:date, xsd:gYearMonth or xsd:gYear.",
        )
    }


def mention_without_mention_of(g: Graph) -> set[tuple[URIRef, str]]:
    g.remove((B200_MENTION, TK.mentionOf, None))
    return {
        (
            B200_MENTION,
            "A tk:Mention needs exactly one tk:mentionOf, "
            "an entity of one of the seven entity classes.",
        )
    }


def rule_assertion_without_evidence(g: Graph) -> set[tuple[URIRef, str]]:
    g.remove((NVIDIA_DEVELOPS_B200, TK.evidence, None))
    return {
        (
            NVIDIA_DEVELOPS_B200,
            'A tk:Assertion needs a tk:evidence sentence unless its tk:method is "hand".',
        )
    }


def hand_assertion_not_typed_statement(g: Graph) -> set[tuple[URIRef, str]]:
    g.remove((AWS_PARTNER_OF_NVIDIA, RDF.type, RDF.Statement))
    return {(AWS_PARTNER_OF_NVIDIA, "A tk:Assertion must be an IRI typed rdf:Statement too.")}


def confidence_above_one(g: Graph) -> set[tuple[URIRef, str]]:
    g.set((B200_MENTION, TK.confidence, Literal("1.5", datatype=XSD.decimal)))
    return {
        (B200_MENTION, "A tk:Mention needs exactly one tk:confidence, an xsd:decimal from 0 to 1.")
    }


def second_chinese_label(g: Graph) -> set[tuple[URIRef, str]]:
    g.add((AI, RDFS.label, Literal("AI", lang="zh")))
    return {
        (
            AI,
            "An entity needs at least one language-tagged rdfs:label and at most one per language.",
        )
    }


@pytest.mark.parametrize(
    "break_it",
    [
        develops_from_technology_to_place,
        event_date_as_string,
        mention_without_mention_of,
        rule_assertion_without_evidence,
        hand_assertion_not_typed_statement,
        confidence_above_one,
        second_chinese_label,
    ],
    ids=lambda break_it: break_it.__name__,
)
def test_broken_sample_fails_with_the_shape_message(
    sample: Graph, shapes: Graph, break_it: Callable[[Graph], set[tuple[URIRef, str]]]
) -> None:
    expected = break_it(sample)
    assert violations(sample, shapes) == expected


# The JSON-LD context


def test_context_file_is_sorted_with_two_space_indent() -> None:
    text = CONTEXT.read_text(encoding="utf-8")
    assert text == json.dumps(json.loads(text), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def test_context_has_a_term_for_every_property(context: dict) -> None:
    for name in OBJECT_PROPERTIES:
        assert context[name] == {"@id": f"tk:{name}", "@type": "@id"}, name
    for name in DATATYPE_PROPERTIES:
        term = context[name]
        assert (term if isinstance(term, str) else term["@id"]) == f"tk:{name}", name
    prefixes = "tk tkr tkd tka tkg skos prov dcterms schema rdfs xsd owl".split()
    assert all(prefix in context for prefix in prefixes)


def test_context_round_trips_the_sample_graph(sample: Graph, context: dict) -> None:
    text = sample.serialize(format="json-ld", context=context)
    document = json.loads(text)
    assert document["@context"] == context
    assert any("develops" in node for node in document["@graph"])
    assert isomorphic(Graph().parse(data=text, format="json-ld"), sample)


def test_context_round_trips_the_named_graphs(dataset: Dataset, context: dict) -> None:
    text = dataset.serialize(format="json-ld", context=context)
    again = Dataset().parse(data=text, format="json-ld")
    for graph in dataset.graphs():
        assert isomorphic(again.graph(graph.identifier), graph), graph.identifier
