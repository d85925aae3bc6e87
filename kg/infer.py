"""Entailments of the ontology, computed on a copy of the graph (the built graph never changes).

Two regimes, each the rules that say something about this ontology (no axiomatic
triples, no `x a rdfs:Resource`, nothing about blank-node class expressions):

    rdfs     rdfs:subClassOf and rdfs:subPropertyOf (transitive, rdfs5/rdfs11), types from
             super-classes (rdfs9), triples from super-properties (rdfs7), types from
             rdfs:domain and rdfs:range when they name a class (rdfs2/rdfs3)
    owlrl    rdfs plus the OWL 2 RL rules for owl:SymmetricProperty (prp-symp, tk:partnerOf),
             owl:TransitiveProperty (prp-trp, tk:broader), owl:inverseOf (prp-inv1/2) and
             owl:equivalentClass/owl:equivalentProperty (cax-eqc, prp-eqp)

The owlrl package computes the full closures, at about 2 min (RDFS) and 50 s (OWL 2 RL)
for the 37k-triple corpus; these rules give the same entity-level answers in well under a
second (tests/test_store.py compares the two on the sample graph).

Example:
    >>> from rdflib import Graph
    >>> g = Graph().parse(data='''
    ...   @prefix tk: <https://w3id.org/techkg/ontology#> . @prefix owl: <http://www.w3.org/2002/07/owl#> .
    ...   tk:broader a owl:TransitiveProperty .
    ...   <urn:a> tk:broader <urn:b> . <urn:b> tk:broader <urn:c> .''', format="turtle")
    >>> (URIRef("urn:a"), URIRef("https://w3id.org/techkg/ontology#broader"), URIRef("urn:c")) in entailments(g, "owlrl")
    True
"""
from __future__ import annotations

from collections import defaultdict, deque
from typing import Iterable

from rdflib import RDF, RDFS, Dataset, Graph, Literal, URIRef
from rdflib.namespace import OWL

from kg.errors import KGError

REGIMES = ("rdfs", "owlrl")
Triple = tuple


def _ancestors(edges: dict[URIRef, set[URIRef]]) -> dict[URIRef, set[URIRef]]:
    """Every node's strict ancestors along `edges` (cycles are fine)."""
    result: dict[URIRef, set[URIRef]] = {}
    for start in edges:
        seen: set[URIRef] = set()
        stack = list(edges[start])
        while stack:
            node = stack.pop()
            if node in seen:
                continue
            seen.add(node)
            stack.extend(edges.get(node, ()))
        result[start] = seen
    return result


class _Schema:
    def __init__(self, triples: set[Triple], regime: str):
        sub_class: dict[URIRef, set[URIRef]] = defaultdict(set)
        sub_prop: dict[URIRef, set[URIRef]] = defaultdict(set)
        self.domain: dict[URIRef, set[URIRef]] = defaultdict(set)
        self.range: dict[URIRef, set[URIRef]] = defaultdict(set)
        self.symmetric: set[URIRef] = set()
        self.transitive: set[URIRef] = set()
        self.inverse: dict[URIRef, set[URIRef]] = defaultdict(set)
        owl = regime == "owlrl"
        pairs = {RDFS.subClassOf: [sub_class], RDFS.subPropertyOf: [sub_prop], RDFS.domain: [self.domain],
                 RDFS.range: [self.range]}
        if owl:
            pairs.update({OWL.equivalentClass: [sub_class], OWL.equivalentProperty: [sub_prop],
                          OWL.inverseOf: [self.inverse]})
        for s, p, o in triples:
            if not (isinstance(s, URIRef) and isinstance(o, URIRef)):
                continue
            if p in pairs:
                for target in pairs[p]:
                    target[s].add(o)
                    if p in (OWL.equivalentClass, OWL.equivalentProperty, OWL.inverseOf):
                        target[o].add(s)
            elif owl and p == RDF.type and o == OWL.SymmetricProperty:
                self.symmetric.add(s)
            elif owl and p == RDF.type and o == OWL.TransitiveProperty:
                self.transitive.add(s)
        self.super_class = _ancestors(sub_class)
        self.super_prop = _ancestors(sub_prop)

    def schema_triples(self) -> Iterable[Triple]:
        for c, supers in self.super_class.items():
            for d in supers:
                yield c, RDFS.subClassOf, d
        for p, supers in self.super_prop.items():
            for q in supers:
                yield p, RDFS.subPropertyOf, q


def _triples(graph: Graph | Dataset | Iterable[Triple]) -> set[Triple]:
    if isinstance(graph, Dataset):
        return {(s, p, o) for s, p, o, _ in graph.quads((None, None, None, None))}
    if isinstance(graph, Graph):
        return set(graph.triples((None, None, None)))
    return set(graph)


def entailments(graph: Graph | Dataset | Iterable[Triple], regime: str) -> set[Triple]:
    """The triples `regime` adds to `graph` (a Dataset counts as the union of its graphs;
    triples already there are left out).

    Single-premise rules fire once per triple; transitivity joins each new triple with the
    known ones through two indexes (semi-naive evaluation), so the work is proportional to
    the triples derived.
    """
    if regime not in REGIMES:
        raise KGError(f"unknown inference regime {regime!r} (use {' or '.join(REGIMES)})")
    known = _triples(graph)
    schema = _Schema(known, regime)
    added: set[Triple] = set()
    out_index: dict[URIRef, dict] = {p: defaultdict(set) for p in schema.transitive}
    in_index: dict[URIRef, dict] = {p: defaultdict(set) for p in schema.transitive}
    for s, p, o in known:
        if p in out_index:
            out_index[p][s].add(o)
            in_index[p][o].add(s)
    queue = deque(known)

    def emit(t: Triple) -> None:
        if t not in known:
            known.add(t)
            added.add(t)
            queue.append(t)
            s, p, o = t
            if p in out_index:
                out_index[p][s].add(o)
                in_index[p][o].add(s)

    for t in schema.schema_triples():
        emit(t)
    while queue:
        s, p, o = queue.popleft()
        if p == RDF.type:
            for c in schema.super_class.get(o, ()):
                emit((s, RDF.type, c))
            continue
        for q in schema.super_prop.get(p, ()):
            emit((s, q, o))
        for c in schema.domain.get(p, ()):
            emit((s, RDF.type, c))
        if not isinstance(o, Literal):
            for c in schema.range.get(p, ()):
                emit((o, RDF.type, c))
            if p in schema.symmetric:
                emit((o, p, s))
            for q in schema.inverse.get(p, ()):
                emit((o, q, s))
            if p in out_index:
                for x in list(out_index[p].get(o, ())):
                    emit((s, p, x))
                for y in list(in_index[p].get(s, ())):
                    emit((y, p, o))
    return added


def closure(ds: Graph | Dataset, regime: str) -> Dataset:
    """A new Dataset: every graph of `ds` plus the entailments in the graph `tkg:inferred`."""
    from kg import namespace as ns
    from kg.build import new_dataset
    extra = entailments(ds, regime)
    copy = new_dataset()
    graphs = ds.graphs() if isinstance(ds, Dataset) else [ds]
    for graph in graphs:
        target = copy.graph(graph.identifier) if isinstance(ds, Dataset) else copy.default_context
        for t in graph.triples((None, None, None)):
            target.add(t)
    inferred = copy.graph(ns.GRAPH["inferred"])
    for t in extra:
        inferred.add(t)
    return copy
