"""RDF writers: Turtle, JSON-LD, TriG, N-Triples, N-Quads; sorted so that diffs are meaningful."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

from rdflib import BNode, Dataset, Graph
from rdflib.compare import to_canonical_graph

from kg.export.atomic import atomic_write

CONTEXT_FILE = Path(__file__).resolve().parents[2] / "ontology" / "context.jsonld"


def union_graph(ds: Dataset | Graph) -> Graph:
    """All triples of every named graph in one Graph, with the dataset's prefixes."""
    if not isinstance(ds, Dataset):
        return ds
    g = Graph()
    for prefix, uri in ds.namespaces():
        g.bind(prefix, uri, override=True, replace=True)
    _add_stable(g, ((s, p, o) for s, p, o, _ in ds.quads((None, None, None, None))))
    return g


def _add_stable(g: Graph, triples) -> None:
    """Add triples, relabelling blank nodes canonically: parsing the ontology mints random
    blank-node ids, which would otherwise make N-Triples and JSON-LD differ between builds."""
    blank = Graph()
    for t in triples:
        if isinstance(t[0], BNode) or isinstance(t[2], BNode):
            blank.add(t)
        else:
            g.add(t)
    if len(blank):
        for t in to_canonical_graph(blank):
            g.add(t)


def to_turtle(ds: Dataset | Graph) -> str:
    return union_graph(ds).serialize(format="longturtle")


def to_ntriples(ds: Dataset | Graph) -> str:
    text = union_graph(ds).serialize(format="nt")
    return "".join(sorted(line + "\n" for line in text.splitlines() if line.strip()))


def to_nquads(ds: Dataset | Graph) -> str:
    if isinstance(ds, Dataset):
        stable = Dataset()
        for g in ds.graphs():
            _add_stable(stable.graph(g.identifier), iter(g))
        ds = stable
    text = ds.serialize(format="nquads")
    return "".join(sorted(line + "\n" for line in text.splitlines() if line.strip()))


def to_trig(ds: Dataset | Graph) -> str:
    if not isinstance(ds, Dataset):
        return ds.serialize(format="trig")
    # rdflib writes graphs in hash order; write each graph sorted and in name order
    parts = []
    prefixes = sorted(ds.namespaces())
    header = "".join(f"@prefix {p}: <{u}> .\n" for p, u in prefixes if p)
    parts.append(header)
    for g in sorted(ds.graphs(), key=lambda g: str(g.identifier)):
        if len(g) == 0 or str(g.identifier).startswith("urn:x-rdflib:"):
            continue
        sub = Graph()
        for p, u in prefixes:
            sub.bind(p, u, override=True, replace=True)
        for t in g:
            sub.add(t)
        body = sub.serialize(format="longturtle")
        body = "\n".join(line for line in body.splitlines() if not line.startswith(("@prefix", "PREFIX")))
        parts.append(f"\n<{g.identifier}> {{\n{body.strip()}\n}}\n")
    return "".join(parts)


def _canonical(value):
    if isinstance(value, dict):
        return {k: (_canonical(v) if k != "@list" else [_canonical(x) for x in v]) for k, v in value.items()}
    if isinstance(value, list):
        items = [_canonical(v) for v in value]
        return sorted(items, key=lambda v: json.dumps(v, sort_keys=True, ensure_ascii=False))
    return value


def load_context() -> dict:
    with CONTEXT_FILE.open(encoding="utf-8") as handle:
        data = json.load(handle)
    return data.get("@context", data)


def to_jsonld(ds: Dataset | Graph) -> str:
    context = load_context() if CONTEXT_FILE.exists() else {}
    text = union_graph(ds).serialize(format="json-ld", context=context, auto_compact=True)
    data = json.loads(text)
    if isinstance(data, dict) and "@graph" in data:
        data["@graph"] = _canonical(data["@graph"])
        if CONTEXT_FILE.exists():
            data["@context"] = context
    return json.dumps(data, ensure_ascii=False, sort_keys=True, indent=1) + "\n"


WRITERS: dict[str, tuple[str, Callable[[Dataset | Graph], str]]] = {
    "turtle": (".ttl", to_turtle),
    "jsonld": (".jsonld", to_jsonld),
    "trig": (".trig", to_trig),
    "nt": (".nt", to_ntriples),
    "nquads": (".nq", to_nquads),
}


def serialize(ds: Dataset | Graph, fmt: str) -> str:
    return WRITERS[fmt][1](ds)


def write(ds: Dataset | Graph, fmt: str, path: Path | str) -> Path:
    path = Path(path)
    atomic_write(path, serialize(ds, fmt))
    return path
