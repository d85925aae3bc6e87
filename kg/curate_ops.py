"""What each hand decision does: the replay behind `kg.curate.apply`, and the gazetteer
entries hand decisions add for the next extraction.

The replay keeps entities by key and a redirect table (old key → new key) filled by
retypes and merges, so later decisions, relations and relation decisions follow an entity
wherever it went. A decision whose target is absent is stale; one that contradicts another
decision is a conflict naming the other's file and line. Both leave the graph unchanged.

A decision whose effect is already there counts as applied: after a merge, the curated
gazetteer makes the next extraction read the merged name as the entity it was merged into,
so the merged entity no longer appears on its own; after a retype or a split, likewise.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import replace
from typing import Iterable, Mapping, Sequence

from kg.curate import ORDER, Decision, Report, cancelled, entity_ref, key_name, key_type, live_decisions, \
    mention_key, target_kind
from kg.model import SYMMETRIC, Document, Entity, Evidence, Mention, Relation, admits, entity_key
from kg.normalize import normalize_name

Triple = tuple[str, str, str]
_DECIDING = ("add-entity", "retype", "split", "rename", "set-en", "set-qid", "set-date", "accept")


def _mention_order(m: Mention) -> tuple:
    return (m.doc, m.sentence, m.start, m.end)


def _evidence_order(e: Evidence) -> tuple:
    return (e.doc, e.sentence, e.method, e.confidence)


def _names(entity: Entity) -> set[str]:
    return {normalize_name(n) for n in (entity.label, *entity.aliases)} | {key_name(entity.key)}


def _aliases(names: Iterable[str], label: str) -> tuple[str, ...]:
    """Sorted, distinct aliases without the label (compared normalised)."""
    seen: dict[str, str] = {}
    for name in sorted(n for n in names if n and n.strip()):
        norm = normalize_name(name)
        if norm != normalize_name(label):
            seen.setdefault(name, name)
    return tuple(sorted(seen))


class _Replay:
    def __init__(self, entities: Sequence[Entity], relations: Sequence[Relation],
                 documents: Mapping[str, Document] | None, report: Report) -> None:
        self.ents: dict[str, Entity] = {e.key: e for e in entities}
        self.rels: dict[Triple, Relation] = {}
        for r in relations:
            self._add_relation(self.rels, r.triple, r.evidence)
        self.documents = documents
        self.report = report
        self.redirect: dict[str, str] = {}
        self.merged_by: dict[str, Decision] = {}   # source key → the merge that removed it
        self.retyped_by: dict[str, Decision] = {}  # old key → the retype
        self.renamed_by: dict[str, Decision] = {}  # key → the rename
        self.rejected_by: dict[str, Decision] = {}  # entity, relation or mention key → the reject
        self.hand: set[str] = {e.key for e in entities if e.method == "hand"}
        self.decided: set[str] = set()
        self.pending_rejects: dict[str, Decision] = {}  # entity keys named by reject decisions
        self.protected: set[str] = set()  # named by an accept: kept even with no mentions left
        self._mentions: dict[str, str] | None = None  # mention key → entity key
        self.emptied: set[str] = set()  # entities that lost their last mention to a reject

    # -- helpers --------------------------------------------------------------------------
    def resolve(self, key: str) -> str:
        seen = set()
        while key in self.redirect and key not in seen:
            seen.add(key)
            key = self.redirect[key]
        return key

    def merged_on_the_way(self, key: str) -> Decision | None:
        seen = set()
        while key in self.redirect and key not in seen:
            seen.add(key)
            if key in self.merged_by:
                return self.merged_by[key]
            key = self.redirect[key]
        return None

    def stale(self, d: Decision, why: str) -> None:
        self.report.stale.append((d, why))

    def conflict(self, d: Decision, why: str) -> None:
        self.report.conflicts.append((d, why))

    def applied(self, d: Decision) -> None:
        self.report.applied.append(d)

    def absent(self, d: Decision, key: str, what: str = "entity") -> None:
        """A target is missing: a conflict when a decision removed it, else stale."""
        if key in self.rejected_by:
            self.conflict(d, f"{key} was rejected at {self.rejected_by[key].where}")
        else:
            self.stale(d, f"no {what} {key}")

    @staticmethod
    def _add_relation(rels: dict[Triple, Relation], triple: Triple, evidence: Iterable[Evidence]) -> None:
        old = rels.get(triple)
        merged = set(old.evidence if old else ()) | set(evidence)
        rels[triple] = Relation(*triple, tuple(sorted(merged, key=_evidence_order)))

    def rekey(self) -> None:
        """Relations follow redirects; they disappear with their entities or when the types no longer fit."""
        out: dict[Triple, Relation] = {}
        for (s, p, o), r in self.rels.items():
            s2, o2 = self.resolve(s), self.resolve(o)
            if s2 not in self.ents or o2 not in self.ents or s2 == o2:
                continue
            if not admits(p, self.ents[s2].type, self.ents[o2].type):
                continue
            if p in SYMMETRIC and o2 < s2:
                s2, o2 = o2, s2
            self._add_relation(out, (s2, p, o2), r.evidence)
        self.rels = out

    def relation_target(self, text: str) -> Triple:
        s, p, o = text.split("|")
        s, o = self.resolve(entity_ref(s)), self.resolve(entity_ref(o))
        if p in SYMMETRIC and o < s:
            s, o = o, s
        return s, p, o

    def mentions(self) -> dict[str, str]:
        if self._mentions is None:
            self._mentions = {}
            if self.documents is not None:
                for e in self.ents.values():
                    for m in e.mentions:
                        key = self.key_of(m)
                        if key:
                            self._mentions[key] = e.key
        return self._mentions

    def key_of(self, m: Mention) -> str | None:
        document = self.documents.get(m.doc) if self.documents is not None else None
        if document is None or not 0 <= m.sentence < len(document.sentences):
            return None
        start, end = document.sentences[m.sentence].original_span(m.start, m.end)
        return mention_key(m.doc, start, end)

    def move_decided(self, old: str, new: str) -> None:
        if old in self.decided:
            self.decided.discard(old)
            self.decided.add(new)
        if old in self.hand:
            self.hand.discard(old)
            self.hand.add(new)

    # -- operations ------------------------------------------------------------------------
    def add_entity(self, d: Decision) -> None:
        type_, label = str(d.get("type")), str(d.get("label"))
        key = entity_key(type_, label)
        old = self.ents.get(key)
        aliases = [str(a) for a in d.get("aliases", []) or []]
        if old is None:
            moved = self.moved_already(key)
            if moved is not None:  # a later retype or merge took it elsewhere in an earlier replay
                if moved.key.partition(":")[2] == key_name(key):
                    self.ents[moved.key] = replace(
                        moved, aliases=_aliases([*moved.aliases, *aliases], moved.label),
                        label_en=str(d.get("label_en") or moved.label_en), qid=str(d.get("qid") or moved.qid),
                        date=str(d.get("date") or moved.date))
                self.applied(d)
                return
            self.ents[key] = Entity(key=key, type=type_, label=label, label_en=str(d.get("label_en", "")),
                                    aliases=_aliases(aliases, label), qid=str(d.get("qid", "")),
                                    date=str(d.get("date", "")), method="hand")
            self.hand.add(key)
        else:  # extraction found it too (the curated gazetteer knows it): the hand facts win
            self.ents[key] = replace(old, label=label, aliases=_aliases([*old.aliases, old.label, *aliases], label),
                                     label_en=str(d.get("label_en") or old.label_en),
                                     qid=str(d.get("qid") or old.qid), date=str(d.get("date") or old.date))
        self.decided.add(key)
        self.applied(d)

    def moved_already(self, key: str) -> Entity | None:
        """The entity a retype or merge of `key` (still to come in this replay) would produce,
        when it exists already: `key` was moved there by an earlier replay."""
        for op, dest in self.moves.get(key, ()):
            found = self.ents.get(dest)
            if found is not None and (op == "retype" or key_name(key) in _names(found)):
                return found
        return None

    def retype(self, d: Decision) -> None:
        raw = entity_ref(d.target)
        type_ = str(d.get("type"))
        key = self.resolve(raw)
        new_key = f"{type_.lower()}:{key_name(key)}"
        earlier = self.retyped_by.get(raw)
        if earlier is not None and str(earlier.get("type")) != type_:
            self.conflict(d, f"{raw} is already retyped to {earlier.get('type')} at {earlier.where}")
            return
        if key not in self.ents:
            done = self.resolve(f"{type_.lower()}:{key_name(raw)}")
            if done in self.ents:  # extraction gives it this type already
                if done != raw:
                    self.redirect.setdefault(raw, done)
                self.retyped_by.setdefault(raw, d)
                self.decided.add(done)
                self.applied(d)
            else:
                self.absent(d, raw)
            return
        entity = self.ents[key]
        if entity.type == type_:
            self.decided.add(key)
            self.retyped_by.setdefault(raw, d)
            self.applied(d)
            return
        if new_key in self.ents:
            self.conflict(d, f"retype would collide with the existing entity {new_key} (merge instead)")
            return
        del self.ents[key]
        self.ents[new_key] = replace(entity, key=new_key, type=type_)
        self.redirect[key] = new_key
        self.retyped_by[raw] = d
        self.move_decided(key, new_key)
        self.decided.add(new_key)
        self.applied(d)

    def split(self, d: Decision) -> None:
        raw = entity_ref(d.target)
        key = self.resolve(raw)
        alias = str(d.get("alias"))
        norm = normalize_name(alias)
        entity = self.ents.get(key)
        type_ = str(d.get("type") or (entity.type if entity else key_type(key)))
        label = str(d.get("label") or alias)
        new_key = entity_key(type_, label)
        if entity is None:
            if new_key in self.ents:
                self.decided.add(new_key)
                self.applied(d)
            else:
                self.absent(d, raw)
            return
        if new_key == key or normalize_name(entity.label) == norm:
            self.conflict(d, f"{alias!r} is the label of {key}; split another alias, or retype or rename it")
            return
        moved = tuple(m for m in entity.mentions if normalize_name(m.text) == norm)
        has_alias = any(normalize_name(a) == norm for a in entity.aliases)
        if not moved and not has_alias:
            if new_key in self.ents:  # done already (the curated gazetteer splits it at extraction)
                self.decided.add(new_key)
                self.applied(d)
            else:
                self.stale(d, f"{key} has no alias {alias!r}")
            return
        kept = tuple(m for m in entity.mentions if m not in moved)
        self.ents[key] = replace(entity, mentions=kept,
                                 aliases=tuple(a for a in entity.aliases if normalize_name(a) != norm),
                                 merges=tuple(x for x in entity.merges if normalize_name(x[0]) != norm))
        target = self.ents.get(new_key)
        if target is None:
            self.ents[new_key] = Entity(key=new_key, type=type_, label=label, aliases=_aliases([alias], label),
                                        mentions=tuple(sorted(moved, key=_mention_order)))
        else:
            self.ents[new_key] = replace(target, aliases=_aliases([*target.aliases, alias], target.label),
                                         mentions=tuple(sorted(set(target.mentions) | set(moved), key=_mention_order)))
        # relation evidence read where the split name stood now belongs to the new entity
        moved_at = {(m.doc, m.sentence) for m in moved} - {(m.doc, m.sentence) for m in kept}
        for triple, r in list(self.rels.items()):
            if key not in (triple[0], triple[2]):
                continue
            go = tuple(e for e in r.evidence if (e.doc, e.sentence) in moved_at)
            if not go:
                continue
            stay = tuple(e for e in r.evidence if e not in go)
            del self.rels[triple]
            if stay:
                self.rels[triple] = Relation(*triple, stay)
            s, p, o = (new_key if triple[0] == key else triple[0]), triple[1], (new_key if triple[2] == key else triple[2])
            if s != o:
                self._add_relation(self.rels, (s, p, o), go)
        if not kept and key not in self.hand:
            del self.ents[key]
        self.decided.add(new_key)
        self._mentions = None
        self.applied(d)

    def rename(self, d: Decision) -> None:
        raw = entity_ref(d.target)
        key = self.resolve(raw)
        label = str(d.get("label"))
        if key not in self.ents:
            self.absent(d, raw)
            return
        earlier = self.renamed_by.get(key)
        if earlier is not None and normalize_name(str(earlier.get("label"))) != normalize_name(label):
            self.conflict(d, f"{key} is already renamed to {earlier.get('label')!r} at {earlier.where}")
            return
        entity = self.ents[key]
        other = entity_key(entity.type, label)
        if other != key and other in self.ents:
            self.conflict(d, f"rename to {label!r} collides with the existing entity {other} (merge instead)")
            return
        self.ents[key] = replace(entity, label=label, aliases=_aliases([*entity.aliases, entity.label], label),
                                 label_en=str(d.get("label_en") or entity.label_en))
        self.renamed_by.setdefault(key, d)
        self.decided.add(key)
        self.applied(d)

    def merge(self, d: Decision) -> None:
        raw, raw_into = entity_ref(d.target), entity_ref(d.get("into"))
        if raw == raw_into:
            self.conflict(d, f"merge of {raw} into itself")
            return
        key, into = self.resolve(raw), self.resolve(raw_into)
        for reject_key, rejection in self.pending_rejects.items():
            if into in (reject_key, self.resolve(reject_key)):
                self.conflict(d, f"merge into {raw_into}, which is rejected at {rejection.where}")
                return
        if key == into:
            loop = self.merged_on_the_way(raw_into)
            if loop is not None:
                self.conflict(d, f"merge cycle: {raw_into} is merged into {raw} at {loop.where}")
            else:
                self.applied(d)  # merged already (the same merge twice)
            return
        if into not in self.ents:
            self.absent(d, raw_into, "merge target")
            return
        if key not in self.ents:
            if key_name(raw) in _names(self.ents[into]):
                self.redirect.setdefault(raw, into)  # extraction already reads it as `into`
                self.merged_by.setdefault(raw, d)
                self.applied(d)
            else:
                self.absent(d, raw)
            return
        a, b = self.ents[key], self.ents[into]
        merges = b.merges + tuple(x for x in ((a.key, f"hand merge: {d.why}"),) + a.merges if x not in b.merges)
        self.ents[into] = replace(
            b, aliases=_aliases([*b.aliases, *a.aliases, a.label], b.label),
            mentions=tuple(sorted(set(b.mentions) | set(a.mentions), key=_mention_order)),
            merges=merges, label_en=b.label_en or a.label_en, qid=b.qid or a.qid, date=b.date or a.date)
        del self.ents[key]
        self.redirect[key] = into
        self.merged_by[key] = d
        if key in self.hand:
            self.hand.add(into)
        self.decided.discard(key)
        self._mentions = None
        self.applied(d)

    def set_field(self, d: Decision) -> None:
        raw = entity_ref(d.target)
        key = self.resolve(raw)
        if key not in self.ents:
            self.absent(d, raw)
            return
        entity = self.ents[key]
        if d.op == "set-en":
            self.ents[key] = replace(entity, label_en=str(d.get("label_en")))
        elif d.op == "set-qid":
            self.ents[key] = replace(entity, qid=str(d.get("qid")))
        else:
            if entity.type != "Event":
                self.conflict(d, f"{key} is a {entity.type}; only events have dates")
                return
            self.ents[key] = replace(entity, date=str(d.get("date")))
        self.decided.add(key)
        self.applied(d)

    def reject(self, d: Decision) -> None:
        kind = target_kind(d.target)
        if kind == "relation":
            triple = self.relation_target(d.target)
            if triple not in self.rels:
                self.stale(d, f"no relation {'|'.join(triple)}")
                return
            del self.rels[triple]
            self.rejected_by["|".join(triple)] = d
            self.applied(d)
            return
        if kind == "mention":
            self.reject_mention(d)
            return
        raw = entity_ref(d.target)
        merged = self.merged_on_the_way(raw)
        if merged is not None:
            self.conflict(d, f"{raw} is merged into {self.resolve(raw)} at {merged.where}; reject that, or undo the merge")
            return
        key = self.resolve(raw)
        if key not in self.ents:
            self.absent(d, raw)
            return
        del self.ents[key]
        self.rejected_by[key] = d
        self.rejected_by.setdefault(raw, d)
        self.decided.discard(key)
        self._mentions = None
        self.applied(d)

    def reject_mention(self, d: Decision) -> None:
        if self.documents is None:
            self.stale(d, "mention keys need the documents")
            return
        owner = self.mentions().get(d.target)
        if owner is None or owner not in self.ents:
            self.absent(d, d.target, "mention")
            return
        entity = self.ents[owner]
        gone = [m for m in entity.mentions if self.key_of(m) == d.target]
        kept = tuple(m for m in entity.mentions if m not in gone)
        self.ents[owner] = replace(entity, mentions=kept)
        del self.mentions()[d.target]
        self.rejected_by[d.target] = d
        # a relation read at that place was read from a wrong name
        where = {(m.doc, m.sentence) for m in gone} - {(m.doc, m.sentence) for m in kept}
        for triple, r in list(self.rels.items()):
            if owner in (triple[0], triple[2]):
                stay = tuple(e for e in r.evidence if e.method == "hand" or (e.doc, e.sentence) not in where)
                if len(stay) != len(r.evidence):
                    del self.rels[triple]
                    if stay:
                        self.rels[triple] = Relation(*triple, stay)
        if not kept:
            self.emptied.add(owner)
        self.applied(d)

    def add_relation(self, d: Decision) -> None:
        raw_s, raw_o = entity_ref(d.get("subject")), entity_ref(d.get("object"))
        s, o, p = self.resolve(raw_s), self.resolve(raw_o), str(d.get("predicate"))
        for raw, key in ((raw_s, s), (raw_o, o)):
            if key not in self.ents:
                self.absent(d, raw)
                return
        if not admits(p, self.ents[s].type, self.ents[o].type):
            self.conflict(d, f"{p} does not admit {self.ents[s].type} → {self.ents[o].type}")
            return
        if s == o:
            self.conflict(d, f"a relation from {s} to itself")
            return
        doc, sentence = str(d.get("doc", "")), d.get("sentence", -1)
        if doc and self.documents is not None:
            document = self.documents.get(doc)
            if document is None:
                self.stale(d, f"document {doc} is not in this build")
                return
            text = str(d.get("evidence", ""))
            if text:
                found = [x.index for x in document.sentences if text in x.text]
                if not found:
                    self.stale(d, f"evidence {text!r} not found in {doc}")
                    return
                sentence = found[0]
        if p in SYMMETRIC and o < s:
            s, o = o, s
        self._add_relation(self.rels, (s, p, o), (Evidence(doc, int(sentence), "hand", 1.0),))
        self.report.decided_relations.add((s, p, o))
        self.applied(d)

    def accept(self, d: Decision) -> None:
        kind = target_kind(d.target)
        if kind == "relation":
            triple = self.relation_target(d.target)
            key = "|".join(triple)
            if triple not in self.rels:
                self.absent(d, key, "relation")
                return
            self.report.decided_relations.add(triple)
        elif kind == "mention":
            if self.documents is None:
                self.stale(d, "mention keys need the documents")
                return
            if d.target not in self.mentions():
                self.absent(d, d.target, "mention")
                return
            self.report.decided_mentions.add(d.target)
        else:
            raw = entity_ref(d.target)
            key = self.resolve(raw)
            if key not in self.ents:
                self.absent(d, raw)
                return
            self.decided.add(key)
        self.applied(d)

    def note(self, d: Decision) -> None:
        kind = target_kind(d.target)
        if kind == "relation":
            ok = self.relation_target(d.target) in self.rels
        elif kind == "mention":
            ok = self.documents is not None and d.target in self.mentions()
        else:
            ok = self.resolve(entity_ref(d.target)) in self.ents
        if ok:
            self.applied(d)
        else:
            self.stale(d, f"no target {d.target}")

    def named_by(self, decisions: Iterable[Decision]) -> set[str]:
        """Entity keys (resolved) that accepts and added relations name, also inside relation keys."""
        keys = set()
        for d in decisions:
            refs = [str(d.get("subject")), str(d.get("object"))] if d.op == "add-relation" else []
            kind = target_kind(d.target) if d.op != "add-relation" else ""
            if kind == "entity":
                refs.append(d.target)
            elif kind == "relation":
                parts = d.target.split("|")
                refs += [parts[0], parts[2]]
            keys.update(self.resolve(entity_ref(r)) for r in refs)
        return keys

    # -- the whole replay ------------------------------------------------------------------
    def run(self, decisions: Sequence[Decision]) -> tuple[list[Entity], list[Relation]]:
        by_op: dict[str, list[Decision]] = defaultdict(list)
        for d in decisions:
            by_op[d.op].append(d)
        self.moves: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for d in by_op["retype"]:
            raw = entity_ref(d.target)
            self.moves[raw].append(("retype", f"{str(d.get('type')).lower()}:{key_name(raw)}"))
        for d in by_op["merge"]:
            self.moves[entity_ref(d.target)].append(("merge", entity_ref(d.get("into"))))
        for d in by_op["reject"]:
            if target_kind(d.target) == "entity":
                self.pending_rejects.setdefault(entity_ref(d.target), d)
        handlers = {"add-entity": self.add_entity, "retype": self.retype, "split": self.split,
                    "rename": self.rename, "merge": self.merge, "set-en": self.set_field,
                    "set-qid": self.set_field, "set-date": self.set_field, "reject": self.reject,
                    "add-relation": self.add_relation, "accept": self.accept, "note": self.note}
        for op in ORDER:
            if op != "add-entity":
                self.rekey()  # relations follow the redirects made so far
            if op == "reject":
                self.protected = self.named_by(by_op["accept"] + by_op["add-relation"])
            for d in sorted(by_op[op], key=lambda x: (x.path, x.line)):
                handlers[op](d)
            if op == "reject":
                for key in self.emptied:
                    entity = self.ents.get(key)
                    if entity is not None and not entity.mentions and key not in self.hand \
                            and key not in self.decided and key not in self.protected:
                        del self.ents[key]
        self.rekey()
        self.report.decided_entities = {k for k in self.decided if k in self.ents}
        self.report.decided_relations &= set(self.rels)
        return sorted(self.ents.values(), key=lambda e: e.key), [self.rels[k] for k in sorted(self.rels)]


def replay(entities: Sequence[Entity], relations: Sequence[Relation], decisions: Sequence[Decision], *,
           documents: Iterable[Document] | Mapping[str, Document] | None = None,
           ) -> tuple[list[Entity], list[Relation], Report]:
    report = Report()
    gone, unknown = cancelled(decisions)
    report.undone = [d for d in decisions if d.op != "undo" and d.id in gone]
    report.stale.extend(unknown)
    undos = [d for d in decisions if d.op == "undo"]
    report.applied.extend(d for d in undos if d.id not in gone and all(u is not d for u, _ in unknown))
    report.undone.extend(d for d in undos if d.id in gone)
    if documents is not None and not isinstance(documents, Mapping):
        documents = {doc.name: doc for doc in documents}
    state = _Replay(entities, relations, documents, report)
    ents, rels = state.run(live_decisions(decisions))
    return ents, rels, report


# --- the gazetteer --------------------------------------------------------------------------

def lexicon_entries(entries: Sequence, decisions: Sequence[Decision]) -> tuple:
    """Gazetteer entries after hand decisions, so the next extraction finds what reviewers named.

    - add-entity: a new entry (label, type, aliases, English label, QID);
    - rename: the new label becomes a surface of the entity's entry (one is made for an entity
      a rule found; its canonical name is the key's name, so the key does not change);
    - merge A into B: A's entry, or A's name, becomes surfaces of B's entry (B needs an entry,
      or a name without upper/lower case, so that B's label does not change);
    - split: the alias leaves the entity's entry and gets an entry of its own.
    A surface another entry already owns is never taken over. Entries are never changed in
    place: changed ones are rebuilt.
    """
    from kg.nlp.lexicon import LexEntry

    live = live_decisions(decisions)
    out: list = list(entries)
    surfaces: dict[str, set[int]] = defaultdict(set)  # normalised surface → entry indexes
    canon: dict[tuple[str, str], int] = {}  # (type, normalised canonical) → entry index

    def index(i: int) -> None:
        e = out[i]
        canon.setdefault((e.type, normalize_name(e.canonical)), i)
        for s in e.surfaces:
            surfaces[normalize_name(s)].add(i)

    def unindex(i: int) -> None:
        e = out[i]
        if e is None:
            return
        if canon.get((e.type, normalize_name(e.canonical))) == i:
            del canon[(e.type, normalize_name(e.canonical))]
        for s in e.surfaces:
            surfaces[normalize_name(s)].discard(i)

    def put(i: int | None, entry) -> int:
        if i is None:
            out.append(entry)
            i = len(out) - 1
        else:
            unindex(i)
            out[i] = entry
        if entry is not None:
            index(i)
        return i

    for i in range(len(out)):
        index(i)
    retyped: dict[str, str] = {}
    for d in live:
        if d.op == "retype":
            raw = entity_ref(d.target)
            retyped[f"{str(d.get('type')).lower()}:{key_name(raw)}"] = raw

    def find(key: str) -> int | None:
        seen = set()
        while key not in seen:
            seen.add(key)
            i = canon.get((key_type(key), key_name(key)))
            if i is not None:
                return i
            if key not in retyped:
                return None
            key = retyped[key]
        return None

    def free(surface: str, mine: int | None = None) -> bool:
        return not (surfaces.get(normalize_name(surface), set()) - {mine})

    def add_surfaces(i: int, names: Iterable[str]) -> None:
        e = out[i]
        have = {normalize_name(x) for x in e.surfaces}
        new = []
        for name in names:
            norm = normalize_name(name)
            if norm and norm not in have and free(name, i):
                have.add(norm)
                new.append(name)
        if new:
            put(i, replace(e, zh_aliases=e.zh_aliases + tuple(new)))

    renamed: dict[str, str] = {}
    for op in ORDER:
        for d in (x for x in live if x.op == op):
            if op == "add-entity":
                aliases = tuple(a for a in (str(x) for x in d.get("aliases", []) or []) if free(a))
                put(None, LexEntry(canonical=str(d.get("label")), type=str(d.get("type")), zh_aliases=aliases,
                                   en_aliases=(str(d.get("label_en")),) if d.get("label_en") else (),
                                   qid=str(d.get("qid", "")), source=d.where))
            elif op == "split":
                key, alias = entity_ref(d.target), str(d.get("alias"))
                norm = normalize_name(alias)
                i = find(key)
                if i is not None and normalize_name(out[i].canonical) != norm:
                    e = out[i]
                    put(i, replace(e, zh_aliases=tuple(a for a in e.zh_aliases if normalize_name(a) != norm),
                                   en_aliases=tuple(a for a in e.en_aliases if normalize_name(a) != norm)))
                if free(alias):
                    label = str(d.get("label") or alias)
                    type_ = str(d.get("type") or (out[i].type if i is not None else key_type(key)))
                    put(None, LexEntry(canonical=label, type=type_, source=d.where,
                                       zh_aliases=(alias,) if norm != normalize_name(label) else ()))
            elif op == "rename":
                key, label = entity_ref(d.target), str(d.get("label"))
                i = find(key)
                if i is None and free(key_name(key)):
                    i = put(None, LexEntry(canonical=key_name(key), type=key_type(key), source=d.where))
                if i is not None:
                    add_surfaces(i, [label])
                    renamed[key] = label
            elif op == "merge":
                source_key, into = entity_ref(d.target), entity_ref(d.get("into"))
                j = find(into)
                if j is None and (key_name(into).upper() == key_name(into).lower() or into in renamed) \
                        and free(key_name(into)):
                    j = put(None, LexEntry(canonical=key_name(into), type=key_type(into), source=d.where))
                if j is None:
                    continue
                i = find(source_key)
                names = [key_name(source_key), renamed.get(source_key, "")]
                if i is not None and i != j:
                    names = [*out[i].surfaces, *names]
                    put(i, None)
                add_surfaces(j, names)
    return tuple(e for e in out if e is not None)


def decided_mentions(entities: Sequence[Entity], report: Report,
                     documents: Mapping[str, Document] | Iterable[Document]) -> list[tuple[str, int, int, int, str]]:
    """(doc, sentence index, start, end, type) of every mention a hand decision vouches for:
    the mentions of decided entities (accepted, added, renamed, retyped, …) and mentions
    accepted one by one. Rejected mentions are gone already. Sorted."""
    if not isinstance(documents, Mapping):
        documents = {d.name: d for d in documents}
    out = set()
    for e in entities:
        for m in e.mentions:
            take = e.key in report.decided_entities
            if not take and report.decided_mentions and m.doc in documents:
                sentence = documents[m.doc].sentences[m.sentence]
                take = mention_key(m.doc, *sentence.original_span(m.start, m.end)) in report.decided_mentions
            if take:
                out.add((m.doc, m.sentence, m.start, m.end, e.type))
    return sorted(out)


__all__ = ["replay", "lexicon_entries", "decided_mentions"]
