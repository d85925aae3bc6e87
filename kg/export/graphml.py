"""The entity network for graph tools: GraphML, GEXF, CSV (nodes.csv + edges.csv), node-link JSON.

All four write the graph of :func:`kg.analyze.to_networkx`: entities as nodes, contract
relations as directed edges keyed by predicate. Nodes and edges are written in sorted
order and nothing depends on the clock, so the same graph gives the same bytes.

GraphML, GEXF and CSV hold only scalar attributes, so lists are flattened: aliases and
documents joined with ``|``, evidence sentences joined with a newline, plus
``evidence_count`` (sentences), the highest ``confidence`` (0 when none is recorded) and
the ``methods`` (rules, ``hand``) that asserted the relation. Node-link JSON keeps the lists.

>>> sorted(WRITERS)
['csv', 'gexf', 'graphml', 'nodelink']
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import networkx as nx
from rdflib import Graph

from kg.errors import KGError
from kg.export.atomic import atomic_write

SEPARATOR = "|"
NODE_COLUMNS = ("id", "label", "type", "en", "aliases", "wikidata", "key", "documents")
EDGE_COLUMNS = ("source", "target", "predicate", "evidence_count", "confidence", "methods", "documents", "evidence")


def flat(G: nx.MultiDiGraph) -> nx.MultiDiGraph:
    """A copy of ``G`` with scalar attributes only, nodes and edges in sorted order.

    Missing values become empty strings so that every node has every column. Edges
    get ids ``e0``, ``e1``, … in that order, and ``label`` (the predicate) for Gephi.
    """
    H = nx.MultiDiGraph()
    for node in sorted(G):
        attrs = G.nodes[node]
        H.add_node(node, **{c: _scalar(attrs.get(c)) for c in NODE_COLUMNS[1:]})
    edges = sorted(G.edges(keys=True, data=True), key=lambda e: (e[0], e[1], e[2]))
    for i, (u, v, key, attrs) in enumerate(edges):
        records = attrs.get("evidence") or []  # one per assertion; hand decisions have no sentence
        sentences = [r["text"] for r in records if r.get("text")]
        confidences = [r["confidence"] for r in records if r.get("confidence") is not None]
        H.add_edge(
            u, v, key=f"e{i}",  # GraphML and GEXF want edge ids unique in the file
            predicate=attrs.get("predicate", key),
            label=attrs.get("predicate", key),  # what Gephi shows on the edge
            evidence_count=len(sentences),
            confidence=max(confidences, default=0.0),
            methods=SEPARATOR.join(sorted({r["method"] for r in records if r.get("method")})),
            documents=_scalar(attrs.get("documents")),
            evidence="\n".join(sentences),
        )  # fmt: skip
    return H


def _scalar(value) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, tuple, set, frozenset)):
        return SEPARATOR.join(str(v) for v in value)
    return str(value)


def _xml(write: Callable, G: nx.MultiDiGraph) -> str:
    # through bytes: networkx's string generators escape every non-ASCII character
    buffer = io.BytesIO()
    write(flat(G), buffer, encoding="utf-8", prettyprint=True)
    return buffer.getvalue().decode("utf-8")


def to_graphml(G: nx.MultiDiGraph) -> str:
    """GraphML (read it back with ``networkx.read_graphml``; opens in Gephi, yEd, Cytoscape)."""
    return _xml(nx.write_graphml_xml, G)


def to_gexf(G: nx.MultiDiGraph) -> str:
    """GEXF 1.2 for Gephi, without the writer's "last modified" date."""
    return re.sub(r'\s+lastmodifieddate="[^"]*"', "", _xml(nx.write_gexf, G), count=1)


def to_nodelink(G: nx.MultiDiGraph) -> str:
    """networkx node-link JSON (``networkx.node_link_graph`` reads it), lists kept as lists."""
    H = nx.MultiDiGraph()
    H.graph.update(G.graph)
    for node in sorted(G):
        H.add_node(node, **G.nodes[node])
    for u, v, key, attrs in sorted(G.edges(keys=True, data=True), key=lambda e: (e[0], e[1], e[2])):
        H.add_edge(u, v, key=key, **attrs)
    data = nx.node_link_data(H, edges="edges")
    return json.dumps(data, ensure_ascii=False, sort_keys=True, indent=1) + "\n"


def to_csv(G: nx.MultiDiGraph) -> dict[str, str]:
    """``nodes.csv`` and ``edges.csv`` (headers ``id,label,…`` and ``source,target,…``)."""
    H = flat(G)
    nodes = io.StringIO()
    writer = csv.writer(nodes, lineterminator="\n")
    writer.writerow(NODE_COLUMNS)
    for node, attrs in H.nodes(data=True):
        writer.writerow([node, *(attrs[c] for c in NODE_COLUMNS[1:])])
    edges = io.StringIO()
    writer = csv.writer(edges, lineterminator="\n")
    writer.writerow(EDGE_COLUMNS)
    for u, v, attrs in H.edges(data=True):
        writer.writerow([u, v, *(attrs[c] for c in EDGE_COLUMNS[2:])])
    return {"nodes.csv": nodes.getvalue(), "edges.csv": edges.getvalue()}


@dataclass(frozen=True)
class Writer:
    """One format: what it is, and a function from the network to its files' text.

    ``directory`` writers take a directory path and write several named files into it.
    """

    description: str
    render: Callable[[nx.MultiDiGraph], str | dict[str, str]]
    suffix: str = ""
    directory: bool = False


WRITERS: dict[str, Writer] = {
    "graphml": Writer("GraphML (Gephi, yEd, Cytoscape, networkx)", to_graphml, ".graphml"),
    "gexf": Writer("GEXF 1.2 (Gephi)", to_gexf, ".gexf"),
    "csv": Writer("nodes.csv and edges.csv in a directory", to_csv, directory=True),
    "nodelink": Writer("networkx node-link JSON (d3 and friends)", to_nodelink, ".json"),
}


def write_network(G: nx.MultiDiGraph, fmt: str, path: str | Path) -> list[Path]:
    """Write ``G`` in ``fmt`` to ``path`` (a directory for ``csv``); return the files written."""
    if fmt not in WRITERS:
        raise KGError(f"unknown graph format {fmt!r}", hint=f"use {', '.join(WRITERS)}")
    writer, path = WRITERS[fmt], Path(path)
    rendered = writer.render(G)
    if writer.directory:
        if path.exists() and not path.is_dir():
            raise KGError("the csv format writes a directory, but this is a file", path=path,
                          hint="give a directory path; nodes.csv and edges.csv go into it")
        written = []
        for name, text in sorted(rendered.items()):
            atomic_write(path / name, text)
            written.append(path / name)
        return written
    atomic_write(path, rendered)
    return [path]


def export_graph(graph: Graph, fmt: str, path: str | Path) -> list[Path]:
    """The entity network of an RDF ``graph`` written in ``fmt`` (see :data:`WRITERS`)."""
    from kg.analyze import to_networkx

    return write_network(to_networkx(graph), fmt, path)
