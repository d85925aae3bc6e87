"""Score a graph against hand annotations in `data/gold/` (see data/gold/README.md).

Per document, a predicted entity matches a gold entity when one of its names (label or
alias, normalised) is one of the gold entity's names; each side is matched at most once.
Typed scores also require the same type. A predicted relation matches a gold relation
when both ends match and the predicate is the same (partnerOf in either direction);
untyped relation scores ignore the predicate.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping

from rdflib import RDF, RDFS, Dataset, Graph
from rdflib.namespace import SKOS

from kg.errors import ConfigError
from kg.model import ENTITY_TYPES, PREDICATES, SYMMETRIC
from kg.namespace import TK
from kg.normalize import normalize_name

GOLD_DIR = Path(__file__).resolve().parents[1] / "data" / "gold"


@dataclass(frozen=True)
class GoldEntity:
    type: str
    canonical: str
    names: frozenset[str]


@dataclass
class Gold:
    doc: str
    entities: list[GoldEntity] = field(default_factory=list)
    relations: list[tuple[str, str, str, str]] = field(default_factory=list)  # s, p, o, evidence
    dates: dict[str, str] = field(default_factory=dict)


def load_gold(path: Path) -> Gold:
    gold = Gold(doc=path.stem + ".txt")
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            line = line.rstrip("\n")
            if not line.strip() or line.startswith("#"):
                continue
            cells = line.split("\t")
            kind = cells[0]
            if kind == "E":
                if len(cells) < 3 or cells[1] not in ENTITY_TYPES:
                    raise ConfigError("bad entity line (E, type, canonical, aliases, english)", path=path, line=number)
                names = {cells[2]}
                if len(cells) > 3:
                    names.update(a for a in cells[3].split("|") if a.strip())
                if len(cells) > 4 and cells[4].strip():
                    names.add(cells[4].strip())
                gold.entities.append(GoldEntity(cells[1], cells[2], frozenset(normalize_name(n) for n in names)))
            elif kind == "R":
                if len(cells) < 4 or cells[2] not in PREDICATES:
                    raise ConfigError("bad relation line (R, subject, predicate, object, evidence)", path=path,
                                      line=number)
                gold.relations.append((cells[1], cells[2], cells[3], cells[4] if len(cells) > 4 else ""))
            elif kind == "D":
                gold.dates[cells[1]] = cells[2] if len(cells) > 2 else ""
            else:
                raise ConfigError(f"unknown record kind {kind!r} (expected E, R or D)", path=path, line=number)
    return gold


def load_gold_dir(directory: Path | str | None = None) -> list[Gold]:
    directory = Path(directory) if directory else GOLD_DIR
    return [load_gold(p) for p in sorted(directory.glob("*.tsv"))]


@dataclass(frozen=True)
class Predicted:
    key: str
    type: str
    label: str
    names: frozenset[str]


def predictions(graph: Graph | Dataset) -> tuple[dict[str, list[Predicted]], dict[str, set[tuple[str, str, str]]],
                                                 dict[tuple[str, str, str, str], str]]:
    """Per document: entities mentioned in it, and relations with evidence in it."""
    by_iri: dict = {}
    for type_ in ENTITY_TYPES:
        for iri in graph.subjects(RDF.type, TK[type_]):
            names = {normalize_name(str(l)) for l in graph.objects(iri, RDFS.label)}
            names |= {normalize_name(str(l)) for l in graph.objects(iri, SKOS.altLabel)}
            labels = sorted(graph.objects(iri, RDFS.label), key=lambda l: (getattr(l, "language", None) != "zh", str(l)))
            label = str(labels[0]) if labels else str(iri)  # the Chinese label, whatever the graph's order
            by_iri[iri] = Predicted(str(iri), type_, label, frozenset(names))
    entities: dict[str, dict] = defaultdict(dict)
    for mention in graph.subjects(RDF.type, TK.Mention):
        entity = graph.value(mention, TK.mentionOf)
        doc = graph.value(mention, TK.inDocument)
        name = graph.value(doc, TK.fileName) if doc is not None else None
        if entity in by_iri and name is not None:
            entities[str(name)][entity] = by_iri[entity]
    relations: dict[str, set] = defaultdict(set)
    evidence: dict[tuple[str, str, str, str], str] = {}
    for a in graph.subjects(RDF.type, TK.Assertion):
        s, p, o = graph.value(a, RDF.subject), graph.value(a, RDF.predicate), graph.value(a, RDF.object)
        doc = graph.value(a, TK.inDocument)
        name = graph.value(doc, TK.fileName) if doc is not None else None
        if name is None or s not in by_iri or o not in by_iri:
            continue
        p_local = str(p).rsplit("#", 1)[-1]
        relations[str(name)].add((str(s), p_local, str(o)))
        sentence = graph.value(a, TK.evidence)
        if sentence is not None:
            evidence[(str(name), str(s), p_local, str(o))] = str(graph.value(sentence, TK.text) or "")
        # entities at the ends of a relation count as mentioned in that document
        entities[str(name)].setdefault(s, by_iri[s])
        entities[str(name)].setdefault(o, by_iri[o])
    return {d: list(v.values()) for d, v in entities.items()}, dict(relations), evidence


@dataclass
class Score:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0

    def add(self, other: "Score") -> None:
        self.tp += other.tp
        self.fp += other.fp
        self.fn += other.fn

    def as_dict(self) -> dict:
        return {"tp": self.tp, "fp": self.fp, "fn": self.fn, "precision": round(self.precision, 4),
                "recall": round(self.recall, 4), "f1": round(self.f1, 4)}


@dataclass
class Evaluation:
    entities: Score = field(default_factory=Score)
    entities_untyped: Score = field(default_factory=Score)
    relations: Score = field(default_factory=Score)
    relations_untyped: Score = field(default_factory=Score)
    by_type: dict[str, Score] = field(default_factory=lambda: defaultdict(Score))
    by_predicate: dict[str, Score] = field(default_factory=lambda: defaultdict(Score))
    misses: list[tuple[str, str, str]] = field(default_factory=list)  # (doc, kind, description)
    false_positives: list[tuple[str, str, str]] = field(default_factory=list)
    documents: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "documents": self.documents,
            "entities": self.entities.as_dict(), "entities_untyped": self.entities_untyped.as_dict(),
            "relations": self.relations.as_dict(), "relations_untyped": self.relations_untyped.as_dict(),
            "by_type": {k: v.as_dict() for k, v in sorted(self.by_type.items())},
            "by_predicate": {k: v.as_dict() for k, v in sorted(self.by_predicate.items())},
        }


def _contains(a: frozenset[str], b: frozenset[str]) -> bool:
    """Event names are descriptions: one containing the other counts (re:Invent, re:Invent大会)."""
    return any(len(x) >= 4 and len(y) >= 4 and (x in y or y in x) for x in a for y in b)


def _match(gold: list[GoldEntity], predicted: list[Predicted], *, typed: bool) -> dict[str, Predicted]:
    """Greedy one-to-one matching; exact label matches first, then alias matches."""
    out: dict[str, Predicted] = {}
    used: set[str] = set()
    for exact in (True, False):
        for g in gold:
            if g.canonical in out:
                continue
            for p in sorted(predicted, key=lambda p: p.key):
                if p.key in used or (typed and p.type != g.type):
                    continue
                hit = normalize_name(p.label) in g.names if exact else bool(p.names & g.names) or (
                    g.type == "Event" and p.type == "Event" and _contains(p.names, g.names))
                if hit:
                    out[g.canonical] = p
                    used.add(p.key)
                    break
    return out


def evaluate(graph: Graph | Dataset, golds: Iterable[Gold]) -> Evaluation:
    pred_entities, pred_relations, evidence = predictions(graph)
    ev = Evaluation()
    for gold in golds:
        ev.documents.append(gold.doc)
        predicted = pred_entities.get(gold.doc, [])
        typed = _match(gold.entities, predicted, typed=True)
        untyped = _match(gold.entities, predicted, typed=False)
        ev.entities.add(Score(len(typed), len(predicted) - len(typed), len(gold.entities) - len(typed)))
        ev.entities_untyped.add(Score(len(untyped), len(predicted) - len(untyped), len(gold.entities) - len(untyped)))
        matched_keys = {p.key for p in typed.values()}
        for type_ in ENTITY_TYPES:
            g_n = sum(1 for g in gold.entities if g.type == type_)
            p_n = sum(1 for p in predicted if p.type == type_)
            tp = sum(1 for g in gold.entities if g.type == type_ and g.canonical in typed)
            ev.by_type[type_].add(Score(tp, p_n - tp, g_n - tp))
        for g in gold.entities:
            if g.canonical not in typed:
                ev.misses.append((gold.doc, g.type, g.canonical))
        for p in predicted:
            if p.key not in matched_keys:
                ev.false_positives.append((gold.doc, p.type, p.label))
        # relations, through the untyped entity matching so that a mistyped end still counts
        key_to_gold = {p.key: g for g, p in untyped.items()}
        gold_rel = {(s, p, o) for s, p, o, _ in gold.relations}
        gold_pairs = {frozenset((s, o)) for s, _, o in gold_rel}
        predicted_rel = set()
        for s, p, o in pred_relations.get(gold.doc, set()):
            gs, go = key_to_gold.get(s), key_to_gold.get(o)
            predicted_rel.add((gs or f"?{s}", p, go or f"?{o}", s, o))
        hits = set()
        for gs, p, go, s, o in predicted_rel:
            triple = (gs, p, go)
            if triple in gold_rel or (p in SYMMETRIC and (go, p, gs) in gold_rel):
                hits.add(triple if triple in gold_rel else (go, p, gs))
                ev.by_predicate[p].tp += 0
            else:
                ev.false_positives.append((gold.doc, p, f"{gs} → {go} | {evidence.get((gold.doc, s, p, o), '')[:80]}"))
        tp = len(hits)
        ev.relations.add(Score(tp, len(predicted_rel) - tp, len(gold_rel) - tp))
        pair_hits = {frozenset((gs, go)) for gs, _, go, _, _ in predicted_rel} & gold_pairs
        predicted_pairs = {frozenset((gs, go)) for gs, _, go, _, _ in predicted_rel}
        ev.relations_untyped.add(Score(len(pair_hits), len(predicted_pairs) - len(pair_hits),
                                       len(gold_pairs) - len(pair_hits)))
        for predicate in PREDICATES:
            g_n = sum(1 for t in gold_rel if t[1] == predicate)
            p_n = sum(1 for t in predicted_rel if t[1] == predicate)
            tp_p = sum(1 for t in hits if t[1] == predicate)
            ev.by_predicate[predicate].add(Score(tp_p, p_n - tp_p, g_n - tp_p))
        for s, p, o, text in gold.relations:
            if (s, p, o) not in hits:
                ev.misses.append((gold.doc, p, f"{s} → {o} | {text[:80]}"))
    return ev


def format_table(ev: Evaluation, *, top: int = 15) -> str:
    lines = [f"documents: {', '.join(ev.documents)}", "",
             f"{'':<22}{'P':>8}{'R':>8}{'F1':>8}{'tp':>6}{'fp':>6}{'fn':>6}"]

    def row(name: str, s: Score) -> str:
        return f"{name:<22}{s.precision:>8.3f}{s.recall:>8.3f}{s.f1:>8.3f}{s.tp:>6}{s.fp:>6}{s.fn:>6}"

    lines.append(row("entities (typed)", ev.entities))
    lines.append(row("entities (untyped)", ev.entities_untyped))
    lines.append(row("relations (typed)", ev.relations))
    lines.append(row("relations (untyped)", ev.relations_untyped))
    lines.append("")
    for t, s in sorted(ev.by_type.items()):
        lines.append(row(f"  {t}", s))
    lines.append("")
    for p, s in sorted(ev.by_predicate.items()):
        if s.tp or s.fp or s.fn:
            lines.append(row(f"  {p}", s))
    lines.append("")
    lines.append(f"top misses ({len(ev.misses)}):")
    lines.extend(f"  {d[:3]} {k:<14} {t}" for d, k, t in ev.misses[:top])
    lines.append(f"top false positives ({len(ev.false_positives)}):")
    lines.extend(f"  {d[:3]} {k:<14} {t}" for d, k, t in ev.false_positives[:top])
    return "\n".join(lines)


def summary(ev: Evaluation) -> Mapping[str, float]:
    return {"entity_f1": ev.entities.f1, "relation_f1": ev.relations.f1}


__all__ = ["load_gold", "load_gold_dir", "evaluate", "format_table", "Evaluation", "Score", "Counter"]
