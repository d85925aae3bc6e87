"""Hand decisions: a JSON-lines ledger in `data/curation/`, validated, then replayed.

One decision per line, appended, never rewritten, so the ledger diffs and merges like
code. Decisions name their targets by stable keys (type:normalised name for entities,
`doc#start-end` for mentions, `subject|predicate|object` for relations), so they apply
again after re-extraction. A decision whose target is gone is reported as stale.

Replay order (documented in the README): add-entity, retype, merge, rename, set-en,
set-qid, set-date, reject, add-relation, accept, note. Within one kind, ledger order.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Iterable, Mapping, Sequence

from kg.errors import CurationError
from kg.model import ENTITY_TYPES, PREDICATES, SYMMETRIC, Entity, Evidence, Relation, admits, entity_key
from kg.normalize import normalize_name

DEFAULT_DIR = Path(__file__).resolve().parents[1] / "data" / "curation"
ORDER = ("add-entity", "retype", "merge", "rename", "set-en", "set-qid", "set-date", "reject",
         "add-relation", "accept", "note")
REQUIRED: Mapping[str, tuple[str, ...]] = {
    "add-entity": ("type", "label"),
    "retype": ("target", "type"),
    "merge": ("target", "into"),
    "rename": ("target", "label"),
    "set-en": ("target", "label_en"),
    "set-qid": ("target", "qid"),
    "set-date": ("target", "date"),
    "reject": ("target",),
    "add-relation": ("subject", "predicate", "object"),
    "accept": ("target",),
    "note": ("target", "text"),
}


@dataclass(frozen=True)
class Decision:
    op: str
    fields: Mapping[str, object]
    who: str
    when: str
    why: str
    path: str
    line: int

    def get(self, name: str, default: object = "") -> object:
        return self.fields.get(name, default)

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}"


@dataclass
class Report:
    applied: list[Decision] = field(default_factory=list)
    stale: list[tuple[Decision, str]] = field(default_factory=list)
    conflicts: list[tuple[Decision, str]] = field(default_factory=list)


def parse_line(text: str, *, path: str, line: int) -> Decision:
    try:
        record = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CurationError(f"invalid JSON: {exc.msg}", path=path, line=line, column=exc.colno) from None
    if not isinstance(record, dict):
        raise CurationError("a decision must be a JSON object", path=path, line=line)
    op = record.get("op")
    if op not in REQUIRED:
        raise CurationError(f"unknown operation {op!r} (expected one of {', '.join(ORDER)})", path=path, line=line)
    for name in REQUIRED[op]:
        if not isinstance(record.get(name), str) or not record[name].strip():
            raise CurationError(f"field {name!r} is missing or empty for {op}", path=path, line=line)
    if "type" in record and record["type"] not in ENTITY_TYPES:
        raise CurationError(f"field 'type': unknown type {record['type']!r}", path=path, line=line)
    if op == "add-relation" and record["predicate"] not in PREDICATES:
        raise CurationError(f"field 'predicate': unknown predicate {record['predicate']!r}", path=path, line=line)
    for name in ("who", "when"):
        if not isinstance(record.get(name), str) or not record[name]:
            raise CurationError(f"field {name!r} is missing (every decision records who and when)",
                                path=path, line=line)
    fields = {k: v for k, v in record.items() if k not in ("op", "who", "when", "why")}
    return Decision(op=op, fields=fields, who=record["who"], when=record["when"], why=str(record.get("why", "")),
                    path=path, line=line)


def load_ledger(directory: Path | str | None = None) -> list[Decision]:
    """Every decision in `*.jsonl` files of the directory, in file then line order."""
    directory = Path(directory) if directory else DEFAULT_DIR
    decisions: list[Decision] = []
    if not directory.is_dir():
        return decisions
    for path in sorted(directory.glob("*.jsonl")):
        with path.open(encoding="utf-8") as handle:
            for number, text in enumerate(handle, 1):
                if text.strip() and not text.lstrip().startswith("//"):
                    decisions.append(parse_line(text, path=str(path), line=number))
    return decisions


def append_decision(path: Path | str, record: Mapping[str, object]) -> None:
    """Append one decision durably: one write of one line, flushed and fsynced."""
    import os

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n"
    parse_line(line, path=str(path), line=0)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line.encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)


def relation_key(subject: str, predicate: str, obj: str) -> str:
    return f"{subject}|{predicate}|{obj}"


def _entity_ref(value: object) -> str:
    """Accept `type:name` keys, normalising the name part."""
    text = str(value)
    type_, _, name = text.partition(":")
    return f"{type_.lower()}:{normalize_name(name)}"


def apply(entities: Sequence[Entity], relations: Sequence[Relation], decisions: Iterable[Decision],
          *, documents: Mapping[str, object] | None = None) -> tuple[list[Entity], list[Relation], Report]:
    """Replay decisions over extracted entities and relations in the documented order."""
    report = Report()
    ents: dict[str, Entity] = {e.key: e for e in entities}
    redirect: dict[str, str] = {}
    rels: dict[tuple[str, str, str], Relation] = {r.triple: r for r in relations}
    hand_relations: set[tuple[str, str, str]] = set()
    rejected: set[str] = set()
    ordered = sorted(decisions, key=lambda d: (ORDER.index(d.op), d.path, d.line))

    def resolve_key(key: str) -> str:
        seen = set()
        while key in redirect and key not in seen:
            seen.add(key)
            key = redirect[key]
        return key

    for d in ordered:
        if d.op == "add-entity":
            key = entity_key(str(d.get("type")), str(d.get("label")))
            if key in ents:
                report.conflicts.append((d, f"entity {key} already exists"))
                continue
            aliases = tuple(str(a) for a in d.get("aliases", []) or [])
            ents[key] = Entity(key=key, type=str(d.get("type")), label=str(d.get("label")),
                               label_en=str(d.get("label_en", "")), aliases=aliases, qid=str(d.get("qid", "")),
                               date=str(d.get("date", "")), method="hand")
            report.applied.append(d)
            continue
        if d.op == "add-relation":
            s, o = resolve_key(_entity_ref(d.get("subject"))), resolve_key(_entity_ref(d.get("object")))
            p = str(d.get("predicate"))
            if s not in ents or o not in ents:
                report.stale.append((d, f"unknown entity {s if s not in ents else o}"))
                continue
            if not admits(p, ents[s].type, ents[o].type):
                report.conflicts.append((d, f"{p} does not admit {ents[s].type} → {ents[o].type}"))
                continue
            if p in SYMMETRIC and o < s:
                s, o = o, s
            ev = Evidence(str(d.get("doc", "")), int(d.get("sentence", -1)), "hand", 1.0)
            old = rels.get((s, p, o))
            rels[(s, p, o)] = Relation(s, p, o, ((old.evidence if old else ()) + (ev,)))
            hand_relations.add((s, p, o))
            report.applied.append(d)
            continue
        target = str(d.get("target"))
        if "|" in target:
            if not _relation_decision(d, target, rels, resolve_key, report):
                report.stale.append((d, f"no relation {target}"))
            continue
        key = resolve_key(_entity_ref(target))
        if key not in ents:
            report.stale.append((d, f"no entity {key}"))
            continue
        entity = ents[key]
        if d.op == "retype":
            new_key = entity_key(str(d.get("type")), entity.label)
            if new_key != key and new_key in ents:
                report.conflicts.append((d, f"retype would collide with {new_key}"))
                continue
            del ents[key]
            ents[new_key] = replace(entity, key=new_key, type=str(d.get("type")))
            redirect[key] = new_key
        elif d.op == "merge":
            into = resolve_key(_entity_ref(d.get("into")))
            if into not in ents:
                report.stale.append((d, f"merge target {into} does not exist"))
                continue
            if into == key:
                report.conflicts.append((d, "merge cycle: an entity merged into itself"))
                continue
            if into in rejected:
                report.conflicts.append((d, f"merge into rejected entity {into}"))
                continue
            other = ents[into]
            ents[into] = replace(other, aliases=tuple(sorted(set(other.aliases) | set(entity.aliases) | {entity.label})),
                                 mentions=tuple(sorted(other.mentions + entity.mentions,
                                                       key=lambda m: (m.doc, m.sentence, m.start))),
                                 merges=other.merges + ((entity.key, f"hand merge: {d.why}"),))
            del ents[key]
            redirect[key] = into
        elif d.op == "rename":
            aliases = set(entity.aliases) | {entity.label}
            aliases.discard(str(d.get("label")))
            ents[key] = replace(entity, label=str(d.get("label")), aliases=tuple(sorted(aliases)),
                                label_en=str(d.get("label_en", entity.label_en)))
        elif d.op == "set-en":
            ents[key] = replace(entity, label_en=str(d.get("label_en")))
        elif d.op == "set-qid":
            ents[key] = replace(entity, qid=str(d.get("qid")))
        elif d.op == "set-date":
            ents[key] = replace(entity, date=str(d.get("date")))
        elif d.op == "reject":
            del ents[key]
            rejected.add(key)
        report.applied.append(d)
    # relations follow redirects and disappear with their entities
    final: dict[tuple[str, str, str], Relation] = {}
    for (s, p, o), r in rels.items():
        s2, o2 = resolve_key(s), resolve_key(o)
        if s2 not in ents or o2 not in ents or s2 == o2 or not admits(p, ents[s2].type, ents[o2].type):
            continue
        if p in SYMMETRIC and o2 < s2:
            s2, o2 = o2, s2
        prev = final.get((s2, p, o2))
        evidence = (prev.evidence if prev else ()) + r.evidence
        final[(s2, p, o2)] = Relation(s2, p, o2, tuple(sorted(set(evidence), key=lambda e: (e.doc, e.sentence, e.method))))
    return sorted(ents.values(), key=lambda e: e.key), [final[k] for k in sorted(final)], report


def _relation_decision(d: Decision, target: str, rels, resolve_key, report: Report) -> bool:
    s, p, o = target.split("|", 2)
    s, o = resolve_key(_entity_ref(s)), resolve_key(_entity_ref(o))
    if p in SYMMETRIC and o < s:
        s, o = o, s
    if (s, p, o) not in rels:
        return False
    if d.op == "reject":
        del rels[(s, p, o)]
    report.applied.append(d)
    return True
