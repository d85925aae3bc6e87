"""The graph as a network: rdflib → networkx, and measures as functions of a graph.

:func:`to_networkx` turns a built graph into a :class:`networkx.MultiDiGraph`: one node
per entity (``type``, ``label``, ``en``, ``aliases``, ``wikidata``, ``key``,
``documents``), one edge per contract relation, keyed by its predicate, carrying its
``evidence`` sentences. Every other function takes such a graph and returns plain data
(dicts, lists, numbers), sorted so that two runs print the same thing. Measures that
draw random numbers take a ``seed``.

Centrality and communities treat a relation as a tie between two entities whatever its
direction: a company that develops ten products is central, not peripheral.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from itertools import combinations, islice
from pathlib import Path

import networkx as nx
from rdflib import Graph

from kg.errors import KGError
from kg.export.html import ENTITY_TYPES, PREDICATES, explorer_data, fold

MEASURES = ("degree", "pagerank", "betweenness")
_NODE_FIELDS = ("type", "label", "zh", "en", "aliases", "wikidata", "key", "documents")
_DIGITS = 6  # scores are rounded so that printed and JSON output are stable


def to_networkx(graph: Graph) -> nx.MultiDiGraph:
    """Entities and contract relations of ``graph`` (Dataset or Graph) as a MultiDiGraph.

    Nodes are entity IRIs, added in sorted order; edges go subject → object with
    ``key`` and ``predicate`` the relation's local name and ``evidence`` a list of
    ``{"text", "document", "method", "confidence"}``. ``G.graph["documents"]`` lists
    the corpus documents (``fileName``, ``title``, ``date``).

    >>> from kg.query import load_graph
    >>> G = to_networkx(load_graph("tests/fixtures/sample.trig"))
    >>> G.nodes["https://w3id.org/techkg/resource/organization/ibm"]["label"]
    'IBM'
    """
    data = explorer_data(graph)
    G = nx.MultiDiGraph(documents=data["documents"])
    for node in data["nodes"]:
        G.add_node(node["id"], **{f: node[f] for f in _NODE_FIELDS})
    for edge in data["edges"]:
        G.add_edge(
            edge["from"], edge["to"], key=edge["predicate"],
            predicate=edge["predicate"], evidence=edge["evidence"], documents=edge["documents"],
        )  # fmt: skip
    return G


def undirected(G: nx.Graph) -> nx.Graph:
    """A simple undirected graph with the same nodes: one tie per linked pair.

    ``weight`` counts the relations between the pair (in either direction).
    """
    H = nx.Graph()
    H.add_nodes_from(G.nodes(data=True))
    for u, v in G.edges():
        if u == v:
            continue
        if H.has_edge(u, v):
            H[u][v]["weight"] += 1
        else:
            H.add_edge(u, v, weight=1)
    return H


# ---------------------------------------------------------------- statistics


def statistics(G: nx.MultiDiGraph) -> dict:
    """Counts that describe the graph: size, types, predicates, components, density.

    >>> statistics(nx.MultiDiGraph())["nodes"]
    0
    """
    H = undirected(G)
    components = sorted((len(c) for c in nx.connected_components(H)), reverse=True)
    types = Counter(t for _, t in G.nodes(data="type"))
    predicates = Counter(p for _, _, p in G.edges(data="predicate"))
    n = G.number_of_nodes()
    return {
        "nodes": n,
        "edges": G.number_of_edges(),
        "linked_pairs": H.number_of_edges(),
        "documents": len(G.graph.get("documents", [])),
        "types": {t: types[t] for t in ENTITY_TYPES if types[t]},
        "predicates": {p: predicates[p] for p in PREDICATES if predicates[p]},
        "density": round(nx.density(H), _DIGITS) if n > 1 else 0.0,
        "average_degree": round(2 * H.number_of_edges() / n, _DIGITS) if n else 0.0,
        "isolates": sum(1 for _ in nx.isolates(H)),
        "components": len(components),
        "largest_component": components[0] if components else 0,
        "component_sizes": components[:10],
        "self_loops": nx.number_of_selfloops(G),
    }


# ---------------------------------------------------------------- centrality


def pagerank(G: nx.Graph, *, alpha: float = 0.85, tol: float = 1.0e-10, max_iter: int = 200) -> dict[str, float]:
    """PageRank over the undirected ties of ``G``; the values sum to 1.

    networkx's own ``pagerank`` needs scipy, which the project does not install; this
    is the same power iteration (dangling nodes spread their rank evenly) in numpy.

    >>> sorted(pagerank(nx.path_graph(["a", "b", "c"])).items())[1][0]
    'b'
    """
    import numpy as np

    H = undirected(G)
    nodes = list(H)
    n = len(nodes)
    if n == 0:
        return {}
    index = {v: i for i, v in enumerate(nodes)}
    rows, cols, weights = [], [], []
    for u, v, w in H.edges(data="weight"):
        rows += [index[u], index[v]]
        cols += [index[v], index[u]]
        weights += [w, w]
    out = np.zeros(n)
    np.add.at(out, rows, weights)
    rows_a, cols_a, weights_a = np.array(rows, dtype=int), np.array(cols, dtype=int), np.array(weights, float)
    dangling = out == 0
    rank = np.full(n, 1.0 / n)
    for _ in range(max_iter):
        spread = np.zeros(n)
        if len(rows_a):
            np.add.at(spread, cols_a, rank[rows_a] * weights_a / out[rows_a])
        new = alpha * (spread + rank[dangling].sum() / n) + (1 - alpha) / n
        done = np.abs(new - rank).sum() < n * tol
        rank = new
        if done:
            break
    rank /= rank.sum()
    return {v: float(rank[index[v]]) for v in nodes}


def centrality(G: nx.Graph, measure: str = "degree", *, seed: int = 42, k: int | None = None) -> dict[str, float]:
    """One score per node: ``degree`` (distinct neighbours), ``pagerank`` or ``betweenness``.

    Betweenness is exact unless ``k`` is given: then it is estimated from ``k`` source
    nodes drawn with ``seed`` (for large graphs).

    >>> centrality(nx.star_graph(3), "degree")[0]
    3.0
    """
    H = undirected(G)
    if measure == "degree":
        return {v: float(d) for v, d in H.degree()}
    if measure == "pagerank":
        return pagerank(H)
    if measure == "betweenness":
        # isolated entities (most of a sparse graph) lie on no path: leave them out of the
        # search, and normalise by the size of the whole graph as networkx would
        n = H.number_of_nodes()
        linked = H.subgraph(v for v in H if H.degree(v) > 0)
        sample = k if k is not None and k < len(linked) else None
        raw = nx.betweenness_centrality(linked, k=sample, normalized=False, seed=seed)  # scaled up when sampled
        scale = 2 / ((n - 1) * (n - 2)) if n > 2 else 1.0
        return {v: raw.get(v, 0.0) * scale for v in H}
    raise KGError(f"unknown measure {measure!r}", hint=f"use {', '.join(MEASURES)}")


def _entity(G: nx.Graph, node: str, score: float | None = None) -> dict:
    attrs = G.nodes[node]
    item = {"id": node, "label": attrs.get("label", node), "type": attrs.get("type")}
    if score is not None:
        item["score"] = round(score, _DIGITS)
    return item


def _ranked(G: nx.Graph, scores: dict[str, float], nodes: Iterable[str], n: int) -> list[dict]:
    order = sorted(nodes, key=lambda v: (-scores[v], G.nodes[v].get("label", v), v))
    return [_entity(G, v, scores[v]) for v in order[:n] if scores[v] > 0]


def top_entities(
    G: nx.Graph, *, measure: str = "degree", n: int = 10, type: str | None = None, seed: int = 42
) -> list[dict]:
    """The ``n`` highest-scoring entities (optionally of one ``type``), best first.

    Ties are broken by label, then IRI; entities scoring 0 are left out.

    >>> G = nx.MultiDiGraph([("a", "b"), ("a", "c")])
    >>> [e["id"] for e in top_entities(G, n=1)]
    ['a']
    """
    scores = centrality(G, measure, seed=seed)
    nodes = [v for v in G if type is None or G.nodes[v].get("type") == type]
    return _ranked(G, scores, nodes, n)


def top_by_type(G: nx.Graph, *, measure: str = "degree", n: int = 5, seed: int = 42) -> dict[str, list[dict]]:
    """:func:`top_entities` for every entity type present, in ontology order."""
    scores = centrality(G, measure, seed=seed)
    out = {}
    for kind in ENTITY_TYPES:
        nodes = [v for v, t in G.nodes(data="type") if t == kind]
        ranked = _ranked(G, scores, nodes, n)
        if ranked:
            out[kind] = ranked
    return out


# ---------------------------------------------------------------- communities


def communities(G: nx.Graph, *, seed: int = 42, min_size: int = 2, top: int = 3, resolution: float = 1.0) -> list[dict]:
    """Louvain communities of linked entities, largest first, each described by its members.

    Each community lists its ``size``, member ``types``, and the ``technologies`` and
    ``organizations`` (top ``top`` by degree inside the community) that dominate it.
    Communities smaller than ``min_size`` (isolated entities) are left out. The same
    graph and ``seed`` give the same list.

    >>> G = nx.MultiDiGraph([("a", "b"), ("c", "d")])
    >>> [c["size"] for c in communities(G, seed=1)]
    [2, 2]
    """
    H = undirected(G)
    linked = H.subgraph(sorted(v for v in H if H.degree(v) > 0))
    found = nx.community.louvain_communities(linked, seed=seed, resolution=resolution) if len(linked) else []
    groups = sorted((sorted(c) for c in found if len(c) >= min_size), key=lambda c: (-len(c), c[0]))
    out = []
    for i, members in enumerate(groups):
        inner = linked.subgraph(members)
        degree = dict(inner.degree())
        types = Counter(inner.nodes[v].get("type") for v in members)

        def leading(kind: str) -> list[dict]:
            of_kind = [v for v in members if inner.nodes[v].get("type") == kind]
            order = sorted(of_kind, key=lambda v: (-degree[v], inner.nodes[v].get("label", v), v))
            return [_entity(inner, v, degree[v]) for v in order[:top]]

        hub = min(members, key=lambda v: (-degree[v], inner.nodes[v].get("label", v), v))
        out.append(
            {
                "id": i,
                "size": len(members),
                "edges": inner.number_of_edges(),
                "hub": _entity(inner, hub),
                "types": {t: types[t] for t in ENTITY_TYPES if types[t]},
                "technologies": leading("Technology"),
                "organizations": leading("Organization"),
                "members": [_entity(inner, v) for v in members],
            }
        )
    return out


# ---------------------------------------------------------------- paths


def find_entity(G: nx.Graph, name: str) -> str:
    """The node ``name`` refers to: an IRI, a ``tk:key``, a label, an English label or an alias.

    Names are compared after NFKC and case folding. Raises KGError when nothing or
    more than one entity matches (the hint lists the candidates).
    """
    if name in G:
        return name
    by_key = sorted(v for v, k in G.nodes(data="key") if k == name)
    if len(by_key) == 1:
        return by_key[0]
    wanted = fold(name)

    def names(v: str) -> set[str]:
        a = G.nodes[v]
        return {fold(x) for x in [a.get("label"), a.get("zh"), a.get("en"), *(a.get("aliases") or [])] if x}

    hits = sorted(v for v in G if wanted in names(v))
    if len(hits) == 1:
        return hits[0]
    if not hits:
        raise KGError(f"no entity is named {name!r}", hint="give an IRI, a tk:key, a label or an alias")
    preferred = sorted(v for v in hits if fold(G.nodes[v].get("label") or "") == wanted)
    if len(preferred) == 1:
        return preferred[0]
    raise KGError(f"{name!r} names {len(hits)} entities", hint=f"give one of: {', '.join(hits)}")


def shortest_paths(G: nx.MultiDiGraph, source: str, target: str, *, limit: int = 5) -> list[list[dict]]:
    """Up to ``limit`` shortest paths between two entities, ignoring relation direction.

    ``source`` and ``target`` are names as :func:`find_entity` takes them. Each path is
    a list of hops ``{"from", "to", "relations"}``; ``from``/``to`` are entities
    (``id``, ``label``, ``type``) in path order and ``relations`` every relation
    between the two, in its own direction: ``{"subject", "predicate", "object",
    "evidence"}`` (subject and object are labels). Returns ``[]`` when the entities are
    not connected.
    """
    a, b = find_entity(G, source), find_entity(G, target)
    if a == b:
        return [[]]
    H = undirected(G)
    try:
        paths = sorted(islice(nx.all_shortest_paths(H, a, b), 1000))
    except nx.NetworkXNoPath:
        return []
    out = []
    for path in paths[:limit]:
        hops = []
        for u, v in zip(path, path[1:]):
            relations = []
            for s, o in ((u, v), (v, u)):
                for key, attrs in sorted(G.get_edge_data(s, o, default={}).items()):
                    relations.append(
                        {
                            "subject": G.nodes[s].get("label", s),
                            "predicate": attrs.get("predicate", key),
                            "object": G.nodes[o].get("label", o),
                            "evidence": attrs.get("evidence", []),
                        }
                    )
            hops.append({"from": _entity(G, u), "to": _entity(G, v), "relations": relations})
        out.append(hops)
    return out


# ---------------------------------------------------------------- co-occurrence


def cooccurrence(G: nx.Graph, *, type: str = "Technology", min_documents: int = 2, n: int = 20) -> list[dict]:
    """Pairs of entities of ``type`` mentioned in the same documents, most shared first.

    Each pair has ``a`` and ``b`` (entities), ``documents`` (the shared file names),
    ``count`` and ``jaccard`` (shared / either). Pairs sharing fewer than
    ``min_documents`` documents are left out; ``n`` caps the list (``0``: no cap).

    >>> G = nx.MultiDiGraph()
    >>> G.add_node("x", type="Technology", label="X", documents=["1", "2"])
    >>> G.add_node("y", type="Technology", label="Y", documents=["2"])
    >>> [(p["a"]["label"], p["b"]["label"], p["count"]) for p in cooccurrence(G, min_documents=1)]
    [('X', 'Y', 1)]
    """
    docs = {v: frozenset(d or ()) for v, d in G.nodes(data="documents") if G.nodes[v].get("type") == type}
    by_doc: dict[str, list[str]] = defaultdict(list)
    for v in sorted(docs):
        for d in docs[v]:
            by_doc[d].append(v)
    shared: Counter = Counter()
    for members in by_doc.values():
        for pair in combinations(sorted(members), 2):
            shared[pair] += 1
    pairs = []
    for (u, v), count in shared.items():
        if count < min_documents:
            continue
        union = len(docs[u] | docs[v])
        pairs.append(
            {
                "a": _entity(G, u),
                "b": _entity(G, v),
                "count": count,
                "jaccard": round(count / union, _DIGITS) if union else 0.0,
                "documents": sorted(docs[u] & docs[v]),
            }
        )
    pairs.sort(key=lambda p: (-p["count"], -p["jaccard"], p["a"]["label"], p["b"]["label"], p["a"]["id"], p["b"]["id"]))
    return pairs[:n] if n else pairs


# ---------------------------------------------------------------- everything at once


def report(G: nx.MultiDiGraph, *, n: int = 10, seed: int = 42, min_documents: int = 2) -> dict:
    """Everything ``kg analyze`` shows: statistics, top entities, communities, co-occurrence.

    ``top`` maps each measure to the overall top ``n``; ``top_by_type`` maps each
    measure to the top 5 of each type; ``communities`` keeps the ``n`` largest.
    """
    return {
        "statistics": statistics(G),
        "top": {m: top_entities(G, measure=m, n=n, seed=seed) for m in MEASURES},
        "top_by_type": {m: top_by_type(G, measure=m, n=5, seed=seed) for m in MEASURES},
        "communities": communities(G, seed=seed)[:n],
        "cooccurrence": cooccurrence(G, min_documents=min_documents, n=n),
        "seed": seed,
    }


def write_charts(summary: dict, directory: str | Path) -> list[Path]:
    """PNG bar charts of a :func:`report`: top entities per measure and community sizes.

    matplotlib is imported here only, and pyplot not at all: figures are drawn on the
    Agg canvas directly, so no display is needed and a notebook's backend is left alone.
    Labels use a CJK font when one is installed. Returns the files written.
    """
    try:
        from matplotlib import font_manager, rc_context
        from matplotlib.figure import Figure
    except ImportError:
        raise KGError("charts need matplotlib, which is not installed", hint="pip install matplotlib") from None

    cjk = {f.name for f in font_manager.fontManager.ttflist if "CJK" in f.name or f.name in _CJK_FONTS}
    family = sorted(cjk, key=lambda name: (name not in _CJK_FONTS, name))[:1] + ["DejaVu Sans"]
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    with rc_context({"font.family": "sans-serif", "font.sans-serif": family, "axes.unicode_minus": False}):
        for measure, items in summary["top"].items():
            fig = Figure(figsize=(8, 0.35 * max(len(items), 3) + 1.2), layout="tight")
            ax = fig.subplots()
            # positions, not category names: two entities may share a label
            rows = range(len(items))
            ax.barh(rows, [e["score"] for e in reversed(items)], color="#0072B2")
            ax.set_yticks(rows, [f"{e['label']} ({e['type']})" for e in reversed(items)])
            ax.set_title(f"Top entities by {measure}")
            ax.set_xlabel(measure)
            written.append(_save(fig, out / f"top-{measure}.png"))
        communities_ = summary["communities"]
        fig = Figure(figsize=(8, 4), layout="tight")
        ax = fig.subplots()
        ax.bar(range(len(communities_)), [c["size"] for c in communities_], color="#009E73")
        ax.set_xticks(range(len(communities_)), [f"{c['id']}: {c['hub']['label']}" for c in communities_],
                      rotation=45, ha="right", rotation_mode="anchor")
        ax.set_title("Community sizes (labelled by hub)")
        ax.set_ylabel("entities")
        written.append(_save(fig, out / "communities.png"))
    return written


_CJK_FONTS = ("Noto Sans CJK SC", "Noto Sans CJK JP", "WenQuanYi Zen Hei", "WenQuanYi Micro Hei", "SimHei")


def _save(fig, path: Path) -> Path:
    # no timestamp or software version in the file, so the same data gives the same bytes
    fig.savefig(path, dpi=100, metadata={"Software": None})
    return path

