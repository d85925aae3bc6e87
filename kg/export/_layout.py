"""Precomputed node positions for the HTML explorer.

The page draws with physics off so that it appears at once and never jiggles; that
means Python has to place the nodes. Components under 500 nodes use networkx's seeded
Fruchterman-Reingold. networkx needs scipy from 500 nodes on, and its solver is
quadratic, so larger components use a numpy variant whose repulsion is estimated from
a random sample of nodes: the same seed gives the same picture, whatever is installed.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import networkx as nx
import numpy as np

_NX_LIMIT = 500
_SPACING = 140.0  # typical pixel distance between linked nodes on the page


def layout(
    nodes: Sequence[Hashable],
    edges: Sequence[tuple[Hashable, Hashable]],
    *,
    seed: int = 42,
) -> dict[Hashable, tuple[float, float]]:
    """Place ``nodes`` in page pixels, deterministic for a given ``seed``.

    Each connected component is laid out on its own and the components are packed in
    rows, largest first: a force layout of the whole graph would fling small
    components to the rim and squeeze the big one into the middle.

    >>> pos = layout(["a", "b", "c"], [("a", "b")])
    >>> sorted(pos)
    ['a', 'b', 'c']
    """
    order = {n: i for i, n in enumerate(nodes)}
    graph = nx.Graph()
    graph.add_nodes_from(nodes)
    graph.add_edges_from(edges)
    components = [sorted(c, key=order.__getitem__) for c in nx.connected_components(graph)]
    components.sort(key=lambda c: (-len(c), order[c[0]]))
    shapes = [_component(graph, c, seed=seed) for c in components]
    return _pack(components, shapes)


def _component(graph: nx.Graph, members: list, *, seed: int) -> np.ndarray:
    """Positions of one component, centred on 0, about ``_SPACING`` between neighbours."""
    if len(members) == 1:
        return np.zeros((1, 2))
    if len(members) == 2:  # common in sparse graphs, and spring_layout costs ms per call
        return np.array([[-_SPACING / 2, 0.0], [_SPACING / 2, 0.0]])
    if len(members) < _NX_LIMIT:
        sub = nx.Graph()
        sub.add_nodes_from(members)
        sub.add_edges_from(graph.subgraph(members).edges)
        raw = nx.spring_layout(sub, seed=seed, iterations=100)
        arr = np.array([raw[n] for n in members], dtype=float)
    else:
        pairs = np.array(_index_pairs(graph, members), dtype=np.int64)
        arr = _sampled_fruchterman_reingold(len(members), pairs.reshape(-1, 2), seed=seed)
    arr = arr - arr.mean(axis=0)
    # Scale by the typical edge, not the extent: a chain must not shrink into a blob.
    ends = [(i, j) for i, j in _index_pairs(graph, members)]
    lengths = np.hypot(*(arr[[i for i, _ in ends]] - arr[[j for _, j in ends]]).T)
    typical = float(np.median(lengths)) if len(lengths) else 0.0
    return arr * (_SPACING / typical if typical > 1e-9 else 1.0)


def _index_pairs(graph: nx.Graph, members: list) -> list[tuple[int, int]]:
    index = {n: i for i, n in enumerate(members)}
    return [(index[a], index[b]) for a, b in graph.subgraph(members).edges if a != b]


def _pack(components: list[list], shapes: list[np.ndarray]) -> dict:
    """Shelf-pack the components' bounding boxes into rows of a roughly square block."""
    if not components:
        return {}
    gap = _SPACING * 0.8
    boxes = [(a[:, 0].min(), a[:, 1].min(), a[:, 0].max(), a[:, 1].max()) for a in shapes]
    sizes = [(x1 - x0 + gap, y1 - y0 + gap) for x0, y0, x1, y1 in boxes]
    width = max(max(w for w, _ in sizes), np.sqrt(sum(w * h for w, h in sizes)) * 1.2)
    x = y = row = 0.0
    out: dict = {}
    for members, arr, (x0, y0, _, _), (w, h) in zip(components, shapes, boxes, sizes):
        if x > 0 and x + w > width:
            x, y, row = 0.0, y + row, 0.0
        shifted = arr - (x0, y0) + (x + gap / 2, y + gap / 2)
        for n, (px, py) in zip(members, shifted):
            out[n] = (float(px), float(py))
        x += w
        row = max(row, h)
    cx = (min(p[0] for p in out.values()) + max(p[0] for p in out.values())) / 2
    cy = (min(p[1] for p in out.values()) + max(p[1] for p in out.values())) / 2
    return {n: (round(px - cx, 1), round(py - cy, 1)) for n, (px, py) in out.items()}


def _sampled_fruchterman_reingold(
    n: int, pairs: np.ndarray, *, seed: int, iterations: int = 60, sample: int = 160
) -> np.ndarray:
    """Fruchterman-Reingold with repulsion from ``sample`` random nodes per step.

    O(n * sample) per iteration instead of O(n^2): 20,000 nodes take seconds, not
    minutes, and memory stays near n * sample floats.
    """
    rng = np.random.default_rng(seed)
    pos = (rng.random((n, 2)) * np.sqrt(n)).astype(np.float32)
    k = 1.0
    temperature = np.sqrt(n) / 10.0
    cooling = temperature / (iterations + 1)
    src, dst = (pairs[:, 0], pairs[:, 1]) if len(pairs) else (np.empty(0, int), np.empty(0, int))
    for _ in range(iterations):
        picks = rng.choice(n, size=min(sample, n), replace=False)
        dx = pos[:, 0:1] - pos[picks, 0]
        dy = pos[:, 1:2] - pos[picks, 1]
        weight = k * k / np.maximum(dx * dx + dy * dy, 1e-4)
        disp = np.stack([(dx * weight).sum(axis=1), (dy * weight).sum(axis=1)], axis=1)
        disp *= n / len(picks)
        if len(src):
            d = pos[src] - pos[dst]
            pull = d * (np.sqrt((d**2).sum(axis=1)) / k)[:, None]
            np.add.at(disp, src, -pull)
            np.add.at(disp, dst, pull)
        length = np.maximum(np.sqrt((disp**2).sum(axis=1)), 1e-9)
        pos += disp * (np.minimum(length, temperature) / length)[:, None]
        temperature -= cooling
    return pos
