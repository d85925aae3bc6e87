"""The ontology's terms as a closed namespace, and deterministic IRIs for everything we mint.

A misspelt term raises instead of minting a new IRI (DefinedNamespace with `_fail`).
IRIs depend only on content (type and normalised name; document name and offsets), never
on processing order, so two builds of the same input give the same graph.
"""
from __future__ import annotations

import hashlib
import re
from urllib.parse import quote

from rdflib import Namespace, URIRef
from rdflib.namespace import DefinedNamespace

from kg.normalize import normalize_name

BASE = "https://w3id.org/techkg/"


class TK(DefinedNamespace):
    _NS = Namespace(BASE + "ontology#")
    _fail = True

    Organization: URIRef
    Person: URIRef
    Technology: URIRef
    Product: URIRef
    Event: URIRef
    Place: URIRef
    Policy: URIRef
    Document: URIRef
    Sentence: URIRef
    Mention: URIRef
    Assertion: URIRef

    develops: URIRef
    inField: URIRef
    basedOn: URIRef
    subsidiaryOf: URIRef
    partnerOf: URIRef
    investsIn: URIRef
    acquires: URIRef
    affiliatedWith: URIRef
    participant: URIRef
    locatedIn: URIRef
    regulates: URIRef
    broader: URIRef

    date: URIRef
    key: URIRef
    wikidata: URIRef
    mentionCount: URIRef
    fileName: URIRef
    text: URIRef
    start: URIRef
    end: URIRef
    index: URIRef
    inDocument: URIRef
    inSentence: URIRef
    mentionOf: URIRef
    surface: URIRef
    method: URIRef
    confidence: URIRef
    evidence: URIRef


RES = Namespace(BASE + "resource/")
DOC = Namespace(BASE + "doc/")
ASSERTION = Namespace(BASE + "assertion/")
GRAPH = Namespace(BASE + "graph/")
WD = Namespace("http://www.wikidata.org/entity/")

ONTOLOGY_GRAPH = GRAPH["ontology"]
CURATION_GRAPH = GRAPH["curation"]

_SLUG_DROP = re.compile(r"[^\w.-]+", re.UNICODE)


def slug(name: str) -> str:
    """A readable, IRI-safe slug of a name; a short hash keeps distinct names distinct."""
    norm = normalize_name(name)
    plain = norm.replace(" ", "-").replace("·", "-")
    text = _SLUG_DROP.sub("-", plain).strip("-_.") or "x"
    if text != norm:  # "a b", "a·b" and "a-b" are different keys, so only the last may go unhashed
        text += "-" + hashlib.sha1(norm.encode("utf-8")).hexdigest()[:6]
    return text


def entity_iri(key: str) -> URIRef:
    type_, _, name = key.partition(":")
    return RES[f"{type_}/{slug(name)}"]


def document_iri(name: str) -> URIRef:
    return DOC[quote(name, safe="-._~")]


def sentence_iri(doc_name: str, start: int, end: int) -> URIRef:
    return URIRef(f"{document_iri(doc_name)}/s/{start}-{end}")


def mention_iri(doc_name: str, start: int, end: int) -> URIRef:
    return URIRef(f"{document_iri(doc_name)}/m/{start}-{end}")


def document_graph(name: str) -> URIRef:
    return GRAPH[f"doc/{quote(name, safe='-._~')}"]


def assertion_iri(subject: str, predicate: str, obj: str, doc_name: str, start: int) -> URIRef:
    digest = hashlib.sha1(f"{subject}|{predicate}|{obj}|{doc_name}|{start}".encode("utf-8")).hexdigest()[:16]
    return ASSERTION[digest]
