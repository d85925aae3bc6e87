"""Curated facts to an rdflib Dataset that follows the ontology (see docs/data-model.md).

No I/O except reading the ontology file. Each document's facts go into its own named
graph, hand-made facts into the curation graph, and the vocabulary into the ontology
graph; queries see their union.
"""
from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Iterable, Sequence

from rdflib import RDF, RDFS, XSD, Dataset, Graph, Literal, URIRef
from rdflib.namespace import DCTERMS, OWL, PROV, SKOS, Namespace

from kg import namespace as ns
from kg.model import Document, Entity, Relation
from kg.namespace import TK

SCHEMA = Namespace("https://schema.org/")
ONTOLOGY_FILE = Path(__file__).resolve().parents[1] / "ontology" / "techkg.ttl"
PREFIXES = {
    "tk": str(TK._NS), "tkr": str(ns.RES), "tkd": str(ns.DOC), "tka": str(ns.ASSERTION), "tkg": str(ns.GRAPH),
    "skos": str(SKOS), "prov": str(PROV), "dcterms": str(DCTERMS), "schema": str(SCHEMA), "owl": str(OWL),
    "rdfs": str(RDFS), "xsd": str(XSD), "wd": str(ns.WD),
}


def new_dataset() -> Dataset:
    ds = Dataset(default_union=True)
    for prefix, uri in PREFIXES.items():
        ds.bind(prefix, uri, override=True, replace=True)
    return ds


def _lang(text: str) -> str:
    return "en" if text.isascii() else "zh"


def _date_literal(value: str) -> Literal | None:
    value = value.strip()
    if len(value) == 4 and value.isdigit():
        return Literal(value, datatype=XSD.gYear)
    if len(value) == 7:
        return Literal(value, datatype=XSD.gYearMonth)
    if len(value) == 10:
        return Literal(value, datatype=XSD.date)
    return None


def _decimal(value: float) -> Literal:
    return Literal(Decimal(f"{value:.3f}"), datatype=XSD.decimal)


def _describe(g: Graph, entity: Entity, mention_count: int) -> None:
    iri = ns.entity_iri(entity.key)
    g.add((iri, RDF.type, TK[entity.type]))
    # the canonical label is the zh label whatever its script (IBM is written IBM in Chinese text)
    g.add((iri, RDFS.label, Literal(entity.label, lang="zh")))
    g.add((iri, SKOS.prefLabel, Literal(entity.label, lang="zh")))
    english = entity.label_en or (entity.label if entity.label.isascii() else "")
    if english:
        g.add((iri, RDFS.label, Literal(english, lang="en")))
        g.add((iri, SKOS.prefLabel, Literal(english, lang="en")))
    for alias in entity.aliases:
        g.add((iri, SKOS.altLabel, Literal(alias, lang=_lang(alias))))
    g.add((iri, TK.key, Literal(entity.key)))
    if entity.qid:
        g.add((iri, TK.wikidata, Literal(entity.qid)))
        g.add((iri, OWL.sameAs, ns.WD[entity.qid]))
    if entity.type == "Event" and entity.date:
        literal = _date_literal(entity.date)
        if literal is not None:
            g.add((iri, TK.date, literal))
    if mention_count:
        g.add((iri, TK.mentionCount, Literal(mention_count)))


def _document(g: Graph, document: Document) -> URIRef:
    iri = ns.document_iri(document.name)
    g.add((iri, RDF.type, TK.Document))
    g.add((iri, RDF.type, PROV.Entity))
    g.add((iri, TK.fileName, Literal(document.name)))
    meta = document.meta
    if meta.get("title"):
        g.add((iri, DCTERMS.title, Literal(str(meta["title"]), lang="zh")))
    if meta.get("date"):
        literal = _date_literal(str(meta["date"])[:10])
        if literal is not None:
            g.add((iri, DCTERMS.date, literal))
    if meta.get("description"):
        g.add((iri, DCTERMS.description, Literal(str(meta["description"]), lang="zh")))
    for key in ("keywords", "tags"):
        values = meta.get(key)
        for value in (values if isinstance(values, list) else [values] if values else []):
            g.add((iri, SCHEMA.keywords, Literal(str(value))))
    return iri


def _sentence(g: Graph, document: Document, index: int) -> URIRef | None:
    if not 0 <= index < len(document.sentences):
        return None
    s = document.sentences[index]
    iri = ns.sentence_iri(document.name, s.start, s.end)
    if (iri, RDF.type, TK.Sentence) not in g:
        g.add((iri, RDF.type, TK.Sentence))
        g.add((iri, TK.inDocument, ns.document_iri(document.name)))
        g.add((iri, TK.text, Literal(s.text, lang=_lang(s.text))))
        g.add((iri, TK.start, Literal(s.start)))
        g.add((iri, TK.end, Literal(s.end)))
        g.add((iri, TK.index, Literal(s.index)))
    return iri


def build_dataset(documents: Sequence[Document], entities: Iterable[Entity], relations: Iterable[Relation],
                  *, ontology: Path | None = ONTOLOGY_FILE) -> Dataset:
    ds = new_dataset()
    docs = {d.name: d for d in documents}
    graphs = {name: ds.graph(ns.document_graph(name)) for name in sorted(docs)}
    curation = ds.graph(ns.CURATION_GRAPH)
    if ontology is not None and Path(ontology).exists():
        ds.graph(ns.ONTOLOGY_GRAPH).parse(ontology, format="turtle")
    for name, document in docs.items():
        _document(graphs[name], document)
    entities = list(entities)
    for entity in entities:
        by_doc: dict[str, list] = {}
        for m in entity.mentions:
            by_doc.setdefault(m.doc, []).append(m)
        if entity.method == "hand" or not by_doc:
            _describe(curation, entity, len(entity.mentions))
        for doc_name, mentions in sorted(by_doc.items()):
            if doc_name not in graphs:
                continue
            g = graphs[doc_name]
            _describe(g, entity, len(entity.mentions))
            document = docs[doc_name]
            for m in mentions:
                sentence = document.sentences[m.sentence]
                start, end = sentence.original_span(m.start, m.end)
                sentence_iri = _sentence(g, document, m.sentence)
                iri = ns.mention_iri(doc_name, start, end)
                g.add((iri, RDF.type, TK.Mention))
                g.add((iri, TK.mentionOf, ns.entity_iri(entity.key)))
                g.add((iri, TK.inSentence, sentence_iri))
                g.add((iri, TK.inDocument, ns.document_iri(doc_name)))
                g.add((iri, TK.surface, Literal(m.text)))
                g.add((iri, TK.start, Literal(start)))
                g.add((iri, TK.end, Literal(end)))
                g.add((iri, TK.method, Literal(m.method)))
                g.add((iri, TK.confidence, _decimal(m.confidence)))
    for relation in relations:
        s, o = ns.entity_iri(relation.subject), ns.entity_iri(relation.object)
        p = TK[relation.predicate]
        for ev in _one_per_sentence(relation.evidence):
            hand = ev.method == "hand"
            g = curation if hand or ev.doc not in graphs else graphs[ev.doc]
            g.add((s, p, o))
            a = ns.assertion_iri(relation.subject, relation.predicate, relation.object, ev.doc or "hand", ev.sentence)
            g.add((a, RDF.type, TK.Assertion))
            g.add((a, RDF.type, RDF.Statement))
            g.add((a, RDF.subject, s))
            g.add((a, RDF.predicate, p))
            g.add((a, RDF.object, o))
            g.add((a, TK.method, Literal(ev.method)))
            g.add((a, TK.confidence, _decimal(ev.confidence)))
            if ev.doc in docs:
                g.add((a, TK.inDocument, ns.document_iri(ev.doc)))
                sentence_iri = _sentence(g, docs[ev.doc], ev.sentence)
                if sentence_iri is not None:
                    g.add((a, TK.evidence, sentence_iri))
                    if hand:
                        _sentence_in(graphs.get(ev.doc), docs[ev.doc], ev.sentence)
    return ds


def _one_per_sentence(evidence):
    """One assertion per relation and sentence: the surest rule that read it there."""
    best = {}
    for ev in evidence:
        key = (ev.doc, ev.sentence)
        if key not in best or (ev.confidence, ev.method == "hand", ev.method) > (
                best[key].confidence, best[key].method == "hand", best[key].method):
            best[key] = ev
    return [best[k] for k in sorted(best)]


def _sentence_in(g: Graph | None, document: Document, index: int) -> None:
    if g is not None:
        _sentence(g, document, index)
