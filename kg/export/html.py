"""Interactive HTML explorer: one self-contained page, openable offline by double-click.

Three steps, each usable alone:

- :func:`explorer_data` reads the graph (docs/data-model.md) into plain, sorted data:
  entities with labels and aliases, relations with their evidence sentences, documents.
- :func:`render_explorer` turns that data into a page. pyvis supplies the network
  options and its bundled vis-network, which is inlined so the page makes no network
  request; pyvis's own template is not used because it loads scripts from CDNs.
- :func:`write_html` does both and writes atomically.

Every string in the data comes from documents and is untrusted. It travels as JSON in
a ``<script type="application/json">`` block with ``<``, ``>``, ``&``, U+2028/U+2029
escaped, and the page builds its DOM with ``textContent``, never ``innerHTML``.
"""

from __future__ import annotations

import html
import json
import math
import os
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Iterator
from importlib import resources
from pathlib import Path

from rdflib import RDF, RDFS, SKOS, ConjunctiveGraph, Graph, Literal, Namespace, URIRef
from rdflib.namespace import DCTERMS

from kg.errors import KGError
from kg.export._layout import layout
from kg.export.atomic import atomic_write

TK = Namespace("https://w3id.org/techkg/ontology#")

ENTITY_TYPES = ("Organization", "Person", "Technology", "Product", "Event", "Place", "Policy")
PREDICATES = (
    "develops", "inField", "basedOn", "subsidiaryOf", "partnerOf", "investsIn",
    "acquires", "affiliatedWith", "participant", "locatedIn", "regulates", "broader",
)  # fmt: skip

# Colour-blind-friendly (Okabe-Ito) colours; shapes double the cue for print and
# for readers who cannot tell the colours apart.
TYPE_STYLE = {
    "Organization": ("#0072B2", "dot"),
    "Person": ("#E69F00", "triangle"),
    "Technology": ("#009E73", "diamond"),
    "Product": ("#CC79A7", "square"),
    "Event": ("#D55E00", "star"),
    "Place": ("#56B4E9", "triangleDown"),
    "Policy": ("#8C7E00", "hexagon"),
}

_LARGE = 2000  # from here on, hover effects and edges while dragging cost too much
_TEMPLATES = "templates"
_MARK = re.compile(r"@@(TITLE|VIS_CSS|VIS_JS|APP_CSS|APP_JS|DATA)@@")


def explorer_data(
    graph: Graph,
    *,
    focus: str | None = None,
    depth: int = 1,
    types: set[str] | None = None,
    doc: str | None = None,
    min_degree: int = 0,
    seed: int = 42,
) -> dict:
    """Read the explorer's nodes, edges, types and documents from ``graph``.

    ``graph`` is a Dataset (all named graphs are read, whatever ``default_union``
    says) or a plain Graph. Filters apply in this order: ``types`` (class names,
    any case) and ``doc`` (a file name: entities it mentions, relations it
    asserts); then ``min_degree`` on what is left; then, if ``focus`` (IRI,
    ``tk:key``, label or alias) is given, only entities within ``depth`` hops of it.
    Node ``degree`` and ``size`` are counted on the result; ``x``/``y`` are page
    pixels from a layout seeded with ``seed``. Raises KGError for an unknown type,
    document or focus.

    >>> data = explorer_data(Graph())
    >>> sorted(data)
    ['documents', 'edges', 'nodes', 'types']
    """
    reader = _Reader(graph)
    entities = reader.entities()
    documents = reader.documents()
    edges = reader.relations(entities)

    keep = set(entities)
    if types is not None:
        wanted = _check_types(types)
        keep = {iri for iri in keep if entities[iri]["type"] in wanted}
    if doc is not None:
        if doc not in documents:
            raise KGError(f"unknown document {doc!r}", hint=f"known: {', '.join(sorted(documents)) or 'none'}")
        edges = [e for e in edges if doc in e["documents"]]
        keep &= {iri for iri in keep if doc in entities[iri]["documents"]} | {
            end for e in edges for end in (e["from"], e["to"])
        }
    edges = [e for e in edges if e["from"] in keep and e["to"] in keep]

    focus_iri = _resolve_focus(focus, entities) if focus is not None else None
    if min_degree > 0:
        degree = _degrees(edges)
        keep = {n for n in keep if degree[n] >= min_degree or n == focus_iri}
        edges = [e for e in edges if e["from"] in keep and e["to"] in keep]
    if focus_iri is not None:
        if focus_iri not in keep:
            raise KGError(f"focus {focus!r} is removed by the type or document filter",
                          hint="widen --types/--doc or pick another focus")
        keep = _within(focus_iri, depth, edges)
        edges = [e for e in edges if e["from"] in keep and e["to"] in keep]

    return _assemble(entities, edges, documents, sorted(keep), seed=seed)


def render_explorer(data: dict, *, title: str = "techkg") -> str:
    """Return one self-contained HTML page showing ``data`` from :func:`explorer_data`."""
    from pyvis.network import Network  # heavy import only where it is needed

    net = Network(directed=True)
    net.toggle_physics(False)
    large = len(data["nodes"]) >= _LARGE
    net.toggle_hide_edges_on_drag(large)
    style = {t["name"]: t for t in data["types"]}
    # Filled directly: add_node/add_edge check for duplicates by scanning the lists.
    net.nodes = [
        {
            "id": n["id"],
            "label": n["label"],
            "x": n["x"],
            "y": n["y"],
            "size": n["size"],
            "shape": style[n["type"]]["shape"],
            "color": style[n["type"]]["color"],
            "title": _tooltip(n),
        }
        for n in data["nodes"]
    ]
    # Canvas text is the cost of a big graph: vis draws every edge label, on screen or
    # not, so large pages label only the edges in view (the page adds them on zoom).
    net.edges = [
        {"id": e["id"], "from": e["from"], "to": e["to"], **({} if large else {"label": e["predicate"]})}
        for e in data["edges"]
    ]
    payload = {
        "data": data,
        "vis": {
            "nodes": net.nodes,
            "edges": net.edges,
            "options": _vis_options(net, large),
            "edgeLabels": "visible" if large else "all",
        },
    }
    parts = {
        "TITLE": html.escape(title),
        "VIS_CSS": _pyvis_asset("vis-network.css"),
        "VIS_JS": _pyvis_asset("vis-network.min.js"),
        "APP_CSS": _template("explorer.css"),
        "APP_JS": _template("explorer.js"),
        "DATA": script_json(payload),
    }
    # One pass, so a label that happens to contain a marker is never substituted.
    return _MARK.sub(lambda m: parts[m.group(1)], _template("explorer.html"))


def write_html(graph: Graph, path: str | os.PathLike, **kw) -> Path:
    """Write the explorer page for ``graph`` to ``path`` atomically and return the path.

    ``title`` goes to :func:`render_explorer`; other keywords to :func:`explorer_data`.
    """
    title = kw.pop("title", "techkg")
    page = render_explorer(explorer_data(graph, **kw), title=title)
    target = Path(path)
    atomic_write(target, page)
    return target


def script_json(value: object) -> str:
    """JSON that is safe inside ``<script type="application/json">`` and still valid JSON.

    >>> script_json({"a": "</script><b>&"})
    '{"a":"\\\\u003c/script\\\\u003e\\\\u003cb\\\\u003e\\\\u0026"}'
    """
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    for raw, safe in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                      ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):  # fmt: skip
        text = text.replace(raw, safe)
    return text


def fold(text: str) -> str:
    """The form labels are compared in: NFKC, case-folded (the page does the same)."""
    return unicodedata.normalize("NFKC", text).casefold()


class _Reader:
    """Triple-pattern reads over every graph of a Dataset, or over a plain Graph."""

    def __init__(self, graph: Graph) -> None:
        self.graph = graph

    def pairs(self, predicate: URIRef, obj: URIRef | None = None) -> Iterator[tuple]:
        """Distinct (subject, object) pairs for ``predicate`` across all named graphs."""
        graph = self.graph
        if isinstance(graph, ConjunctiveGraph) and not graph.default_union:
            # quads() would do, but it looks up each triple's contexts: several times slower
            sources: Iterable[Graph] = list(graph.contexts())
        else:
            sources = [graph]
        yield from {(s, o) for g in sources for s, _, o in g.triples((None, predicate, obj))}

    def by_subject(self, predicate: URIRef) -> dict:
        out: dict = defaultdict(list)
        for s, o in self.pairs(predicate):
            out[s].append(o)
        return out

    def entities(self) -> dict[str, dict]:
        kinds: dict[URIRef, str] = {}
        for s, o in self.pairs(RDF.type):
            name = str(o)[len(str(TK)):] if str(o).startswith(str(TK)) else None
            if name in ENTITY_TYPES and isinstance(s, URIRef):
                # an entity typed twice keeps the first type in ENTITY_TYPES order
                if s not in kinds or ENTITY_TYPES.index(name) < ENTITY_TYPES.index(kinds[s]):
                    kinds[s] = name
        labels = self.by_subject(RDFS.label)
        pref = self.by_subject(SKOS.prefLabel)
        alt = self.by_subject(SKOS.altLabel)
        qids = self.by_subject(TK.wikidata)
        keys = self.by_subject(TK.key)
        docs_of = self._mention_documents()
        out = {}
        for iri, kind in kinds.items():
            zh = _pick(labels.get(iri, []), "zh")
            en = _pick(labels.get(iri, []), "en")
            label = _pick(pref.get(iri, []), "zh") or zh or en or _local(iri)
            aliases = sorted({str(a) for a in alt.get(iri, [])} - {label})
            out[str(iri)] = {
                "id": str(iri),
                "type": kind,
                "label": label,
                "zh": zh,
                "en": en,
                "aliases": aliases,
                "wikidata": min((str(q) for q in qids.get(iri, [])), default=None),
                "key": min((str(k) for k in keys.get(iri, [])), default=None),
                "documents": sorted(docs_of.get(iri, ())),
            }
        return out

    def documents(self) -> dict[str, dict]:
        names = self._file_names()
        titles = self.by_subject(DCTERMS.title)
        dates = self.by_subject(DCTERMS.date)
        out = {}
        for doc, name in names.items():
            out[name] = {
                "fileName": name,
                "title": min((str(t) for t in titles.get(doc, [])), default=None),
                "date": min((str(d) for d in dates.get(doc, [])), default=None),
            }
        return out

    def relations(self, entities: dict) -> list[dict]:
        names = self._file_names()
        text = {s: str(o) for s, o in self.pairs(TK.text)}
        sentence_doc = {s: o for s, o in self.pairs(TK.inDocument)}
        fields = {
            "s": self.by_subject(RDF.subject),
            "p": self.by_subject(RDF.predicate),
            "o": self.by_subject(RDF.object),
            "ev": self.by_subject(TK.evidence),
            "doc": self.by_subject(TK.inDocument),
            "method": self.by_subject(TK.method),
            "conf": self.by_subject(TK.confidence),
        }
        evidence: dict[tuple, set] = defaultdict(set)
        for a in {s for s, _ in self.pairs(RDF.type, TK.Assertion)}:
            spo = [fields[f].get(a, [None])[0] for f in ("s", "p", "o")]
            if None in spo:
                continue
            docs = fields["doc"].get(a) or []
            sentences = fields["ev"].get(a) or [None]
            for sentence in sentences:
                doc = docs[0] if docs else sentence_doc.get(sentence)
                evidence[tuple(spo)].add(
                    (
                        text.get(sentence, ""),
                        names.get(doc, _local(doc) if doc is not None else ""),
                        min((str(m) for m in fields["method"].get(a, [])), default=""),
                        max((float(c) for c in fields["conf"].get(a, [])), default=None),
                    )
                )
        out = []
        for name in PREDICATES:
            predicate = TK[name]
            for s, o in self.pairs(predicate):
                if str(s) in entities and str(o) in entities:
                    items = sorted(evidence.get((s, predicate, o), ()), key=lambda e: (e[1], e[0], e[2]))
                    out.append(
                        {
                            "from": str(s),
                            "to": str(o),
                            "predicate": name,
                            "evidence": [
                                {"text": t, "document": d, "method": m, "confidence": c}
                                for t, d, m, c in items
                            ],
                            "documents": sorted({d for _, d, _, _ in items if d}),
                        }
                    )
        return out

    def _file_names(self) -> dict:
        names = {}
        for doc, name in self.pairs(TK.fileName):
            if doc not in names or str(name) < names[doc]:
                names[doc] = str(name)
        return names

    def _mention_documents(self) -> dict[URIRef, set[str]]:
        names = self._file_names()
        doc_of = self.by_subject(TK.inDocument)
        out: dict[URIRef, set[str]] = defaultdict(set)
        for mention, entity in self.pairs(TK.mentionOf):
            for doc in doc_of.get(mention, []):
                out[entity].add(names.get(doc, _local(doc)))
        return out


def _assemble(entities: dict, edges: list[dict], documents: dict, keep: list, *, seed: int) -> dict:
    edges = sorted(edges, key=lambda e: (e["from"], e["predicate"], e["to"]))
    for i, edge in enumerate(edges):
        edge["id"] = f"e{i}"
    degree = _degrees(edges)
    top = max((degree[n] for n in keep), default=0) or 1
    pos = layout(keep, [(e["from"], e["to"]) for e in edges], seed=seed)
    nodes = []
    for iri in keep:
        node = dict(entities[iri])
        node["degree"] = degree[iri]
        node["size"] = round(8 + 22 * math.sqrt(degree[iri] / top), 1)
        node["x"], node["y"] = pos[iri]
        nodes.append(node)
    counts = defaultdict(int)
    for node in nodes:
        counts[node["type"]] += 1
    types = [
        {"name": t, "color": TYPE_STYLE[t][0], "shape": TYPE_STYLE[t][1], "count": counts[t]}
        for t in ENTITY_TYPES
    ]
    return {
        "nodes": nodes,
        "edges": edges,
        "types": types,
        "documents": [documents[name] for name in sorted(documents)],
    }


def _degrees(edges: list[dict]) -> dict:
    degree: dict = defaultdict(int)
    for e in edges:
        degree[e["from"]] += 1
        degree[e["to"]] += 1
    return degree


def _within(start: str, depth: int, edges: list[dict]) -> set:
    """Entities at most ``depth`` hops from ``start``, ignoring edge direction."""
    around: dict = defaultdict(set)
    for e in edges:
        a, b = e["from"], e["to"]
        around[a].add(b)
        around[b].add(a)
    seen, frontier = {start}, {start}
    for _ in range(max(depth, 0)):
        frontier = {n for f in frontier for n in around[f]} - seen
        seen |= frontier
    return seen


def _check_types(types: set[str]) -> set[str]:
    canonical = {t.lower(): t for t in ENTITY_TYPES}
    unknown = sorted(t for t in types if t.lower() not in canonical)
    if unknown:
        raise KGError(f"unknown entity type {', '.join(unknown)}", hint=f"use {', '.join(ENTITY_TYPES)}")
    return {canonical[t.lower()] for t in types}


def _resolve_focus(focus: str, entities: dict) -> str:
    if focus in entities:
        return focus
    by_key = [iri for iri, e in entities.items() if e["key"] == focus]
    if by_key:
        return by_key[0]
    wanted = fold(focus)
    hits = sorted(
        iri
        for iri, e in entities.items()
        if wanted in {fold(n) for n in [e["label"], e["zh"], e["en"], *e["aliases"]] if n}
    )
    if len(hits) == 1:
        return hits[0]
    if not hits:
        raise KGError(f"no entity is named {focus!r}", hint="give an IRI, a tk:key, a label or an alias")
    raise KGError(f"{focus!r} names {len(hits)} entities", hint=f"give one of: {', '.join(hits)}")


def _pick(values: list, lang: str) -> str | None:
    """The smallest literal in ``lang`` (deterministic when a graph has several)."""
    found = [str(v) for v in values if isinstance(v, Literal) and (v.language or "").lower().startswith(lang)]
    return min(found, default=None)


def _local(iri) -> str:
    return re.split(r"[/#]", str(iri).rstrip("/"))[-1]


def _tooltip(node: dict) -> str:
    # vis-network shows string titles with innerText; keep it plain text.
    lines = [node["label"], node["type"]]
    if node["en"] and node["en"] != node["label"]:
        lines.append(node["en"])
    if node["aliases"]:
        lines.append(" · ".join(node["aliases"][:5]))
    return "\n".join(lines)


def _vis_options(net, large: bool) -> dict:
    options = json.loads(net.options.to_json())
    options["physics"] = {"enabled": False}
    options["layout"] = {"improvedLayout": False}
    options["edges"] = {
        "smooth": False,
        "arrows": {"to": {"enabled": True, "scaleFactor": 0.5}},
        "color": {"color": "#9aa0a6", "highlight": "#333333", "inherit": False},
        "font": {"size": 10, "align": "middle", "color": "#555555", "strokeWidth": 3},
        "width": 1,
    }
    options["nodes"] = {"font": {"size": 14, "face": "sans-serif"}, "borderWidth": 1}
    options["interaction"].update(
        {
            "hover": not large,
            "hideEdgesOnZoom": large,
            "tooltipDelay": 200,
            "navigationButtons": False,
            "keyboard": False,
        }
    )
    options.pop("configure", None)
    return options


def _pyvis_asset(name: str) -> str:
    import pyvis

    base = Path(pyvis.__file__).parent / "lib" / "vis-9.1.2"
    text = (base / name).read_text(encoding="utf-8")
    # Inlined code must not close its own element early.
    return text.replace("</script", "<\\/script").replace("</style", "<\\/style")


def _template(name: str) -> str:
    return resources.files("kg.export").joinpath(_TEMPLATES, name).read_text(encoding="utf-8")
