"""Mentions to entities: decide each name's type, merge aliases, aggregate relations.

Merges happen only for a stated reason (same lexicon entry, a parenthesised alias, 简称,
a suffix such as 公司, a short and full person name in one document) and each merge is
recorded on the entity so that a reviewer can see and undo it. Different names that
merely look alike (Gemini, Gemini 1.5 Pro) are never merged.
"""
from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Iterable, Sequence

from kg.dates import DateContext, find_dates, year_of
from kg.model import Document, Entity, Evidence, Mention, Relation, SYMMETRIC, admits, entity_key
from kg.nlp.lexicon import Lexicon
from kg.nlp.pipeline import ExtractedRelation, SentenceExtraction, to_mentions
from kg.normalize import normalize_name

_ORG_SUFFIX = re.compile(r"\s*(?:股份有限公司|有限责任公司|有限公司|公司|集团公司|Inc\.?|Corp\.?|Corporation|Ltd\.?|LLC)$", re.I)


# Entities seen only through guesses below this (an unexplained acronym in brackets) are
# dropped unless an alias ties them to a surer name.
MIN_CONFIDENCE = 0.5


# Rules whose single sighting is too weak: a technology phrase becomes an entity only when
# the text returns to it (topics recur; noun phrases glued to verbs rarely do).
NEEDS_REPETITION = frozenset({"rule:tech-head", "rule:tech-narrowed"})


def _kept(e: Entity) -> bool:
    if e.merges:
        return True
    if max((m.confidence for m in e.mentions), default=1.0) < MIN_CONFIDENCE:
        return False
    if e.mentions and all(m.method in NEEDS_REPETITION for m in e.mentions) and len(e.mentions) < 2:
        return False
    return True


@dataclass(frozen=True)
class Extraction:
    """Everything extraction proposes for a corpus, before hand decisions."""

    documents: tuple[Document, ...]
    entities: tuple[Entity, ...]
    relations: tuple[Relation, ...]


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[str, str] = {}
        self.why: dict[str, tuple[str, str]] = {}

    def find(self, x: str) -> str:
        self.parent.setdefault(x, x)
        while self.parent[x] != x:
            self.parent[x] = self.parent[self.parent[x]]
            x = self.parent[x]
        return x

    def union(self, a: str, b: str, why: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            keep, drop = sorted((ra, rb))
            self.parent[drop] = keep
            self.why[drop] = (keep, why)


def base_name(mention: Mention) -> tuple[str, str]:
    """The name a mention stands for, and why it differs from its surface (if it does)."""
    if mention.canonical:
        return mention.canonical, ("lexicon alias" if normalize_name(mention.canonical) != normalize_name(mention.text) else "")
    text = mention.text.strip()
    if mention.type == "Organization":
        stripped = _ORG_SUFFIX.sub("", text)
        if stripped != text and len(stripped) >= 2:
            return stripped, "organisation suffix"
    return text, ""


def resolve(documents: Sequence[Document], extractions: Sequence[Sequence[SentenceExtraction]],
            lexicon: Lexicon, *, field_heads: dict[str, str] | None = None) -> Extraction:
    mentions: list[Mention] = []
    for document, ex in zip(documents, extractions):
        mentions.extend(to_mentions(document, ex))
    names: dict[tuple[str, int, int, int], str] = {}
    uf = _UnionFind()
    type_votes: dict[str, Counter] = defaultdict(Counter)
    surfaces: dict[str, Counter] = defaultdict(Counter)
    lexical: dict[str, str] = {}
    for m in mentions:
        name, why = base_name(m)
        norm = normalize_name(name)
        names[(m.doc, m.sentence, m.start, m.end)] = norm
        uf.find(norm)
        weight = m.confidence + (1.0 if m.method == "lexicon" else 0.0)
        type_votes[norm][m.type] += weight
        surfaces[norm][name] += 1
        if normalize_name(m.text) != norm:
            surfaces[norm][m.text.strip()] += 0  # keep as alias, never as label
            uf.why.setdefault(f"alias:{normalize_name(m.text)}", (norm, why))
        if m.canonical:
            lexical[norm] = m.canonical
    # explicit alias pairs from the text
    for document, ex in zip(documents, extractions):
        for sx in ex:
            for a, b, why in sx.aliases:
                na, nb = names.get((document.name, *a)), names.get((document.name, *b))
                if na and nb:
                    uf.union(na, nb, why)
        # short and full person names in one document
        persons = {names[(document.name, sx.sentence, c.start, c.end)]
                   for sx in ex for c in sx.mentions if c.type == "Person"
                   and (document.name, sx.sentence, c.start, c.end) in names}
        full = [p for p in persons if "·" in p]
        for p in persons:
            if "·" in p:
                continue
            matches = [f for f in full if f.split("·")[-1] == p or f.replace("·", "") == p]
            if len(matches) == 1:
                uf.union(p, matches[0], "short and full person name in one document")
    clusters: dict[str, list[str]] = defaultdict(list)
    for norm in type_votes:
        clusters[uf.find(norm)].append(norm)
    cluster_type: dict[str, str] = {}
    cluster_key: dict[str, str] = {}
    entities: list[Entity] = []
    by_cluster_mentions: dict[str, list[Mention]] = defaultdict(list)
    for m in mentions:
        by_cluster_mentions[uf.find(names[(m.doc, m.sentence, m.start, m.end)])].append(m)
    lex_by_name = {normalize_name(e.canonical): e for e in lexicon.entries}
    for root, members in clusters.items():
        votes = Counter()
        for n in members:
            votes.update(type_votes[n])
        type_ = max(sorted(votes), key=lambda t: votes[t])
        label = _label(members, surfaces, lexical, type_)
        key = entity_key(type_, label)
        cluster_type[root] = type_
        cluster_key[root] = key
        entry = lex_by_name.get(normalize_name(label))
        alias_set = set()
        for n in members:
            alias_set.update(s for s in surfaces[n])
        for m in by_cluster_mentions[root]:
            alias_set.add(m.text.strip())
        if entry is not None:
            alias_set.update(a for a in entry.surfaces if any(normalize_name(a) == normalize_name(m.text)
                                                             for m in by_cluster_mentions[root]))
        aliases = tuple(sorted(a for a in alias_set if normalize_name(a) != normalize_name(label)))
        label_en = entry.label_en if entry is not None and entry.type == type_ else ""
        if not label_en:
            latin = [a for a in (label, *aliases) if a.isascii() and any(c.isalpha() for c in a)]
            label_en = latin[0] if latin else ""
        merged = {(n, uf.why[n][1]) for n in members if n in uf.why}
        # surfaces read as another name (IBM 公司 → IBM, Google → 谷歌) are merges too
        merged |= {(normalize_name(m.text), why) for m in by_cluster_mentions[root]
                   for _, why in [uf.why.get(f"alias:{normalize_name(m.text)}", (None, ""))] if why}
        merges = tuple(sorted(merged))
        entities.append(Entity(key=key, type=type_, label=label, label_en=label_en, aliases=aliases,
                               qid=entry.qid if entry is not None and entry.type == type_ else "",
                               mentions=tuple(sorted(by_cluster_mentions[root], key=_mention_order)),
                               merges=merges))
    entities = [e for e in _merge_same_key(entities) if _kept(e)]
    entities = _date_events(entities, documents)
    relations = _relations(documents, extractions, names, uf, cluster_type, cluster_key)
    relations = _field_heads(relations, entities, field_heads or {})
    relations = _named_places(relations, entities)
    relations = _named_makers(relations, entities)
    kept = {e.key for e in entities}
    relations = tuple(r for r in relations if r.subject in kept and r.object in kept)  # no edge to a dropped guess
    return Extraction(tuple(documents), tuple(sorted(entities, key=lambda e: e.key)), relations)


def _label(members: Sequence[str], surfaces, lexical, type_: str) -> str:
    for n in sorted(members):
        if n in lexical:
            return lexical[n]
    counts = Counter()
    for n in members:
        for surface, c in surfaces[n].items():
            counts[surface] += c
    if type_ == "Person":
        dotted = [s for s in counts if "·" in s and counts[s] > 0]
        if dotted:
            return max(sorted(dotted), key=lambda s: (counts[s], len(s)))
    return max(sorted(counts), key=lambda s: (counts[s], any(c > "\u2e80" for c in s), len(s)))


def _mention_order(m: Mention) -> tuple:
    return (m.doc, m.sentence, m.start, m.end)


def _merge_same_key(entities: Iterable[Entity]) -> list[Entity]:
    by_key: dict[str, Entity] = {}
    for e in entities:
        if e.key not in by_key:
            by_key[e.key] = e
            continue
        a = by_key[e.key]
        by_key[e.key] = Entity(key=a.key, type=a.type, label=a.label, label_en=a.label_en or e.label_en,
                               aliases=tuple(sorted(set(a.aliases) | set(e.aliases))), qid=a.qid or e.qid,
                               mentions=tuple(sorted(a.mentions + e.mentions, key=_mention_order)),
                               merges=tuple(sorted(set(a.merges) | set(e.merges))))
    return list(by_key.values())


def _date_events(entities: list[Entity], documents: Sequence[Document]) -> list[Entity]:
    """Give each event the date nearest before its first mention, resolved in context."""
    contexts: dict[tuple[str, int], list] = {}
    for document in documents:
        ctx = DateContext(year=year_of(document.meta.get("date")))
        for sentence in document.sentences:
            dates, ctx = find_dates(sentence.text, ctx)
            contexts[(document.name, sentence.index)] = dates
    out = []
    for e in entities:
        if e.type != "Event" or e.date:
            out.append(e)
            continue
        date = ""
        for m in e.mentions:
            dates = contexts.get((m.doc, m.sentence), [])
            own = [d for d in dates if d.start == m.start and d.end <= m.end]
            if own:  # a launch event's mention is its date: 2024年2月 → 2024-02
                date = own[0].iso
                break
            in_name = re.match(r"\s*((?:19|20)\d{2})\s*年", m.text)
            if in_name:
                date = in_name.group(1)
                break
            before = [d for d in dates if d.start <= m.start] or dates
            if before:
                date = before[-1].iso
                break
        out.append(Entity(**{**e.__dict__, "date": date}))
    return out


def _relations(documents, extractions, names, uf, cluster_type, cluster_key) -> tuple[Relation, ...]:
    evidence: dict[tuple[str, str, str], set[Evidence]] = defaultdict(set)
    for document, ex in zip(documents, extractions):
        for sx in ex:
            for r in sx.relations:
                s = names.get((document.name, *r.subject))
                o = names.get((document.name, *r.object))
                if s is None or o is None:
                    continue
                rs, ro = uf.find(s), uf.find(o)
                if rs == ro or not admits(r.predicate, cluster_type[rs], cluster_type[ro]):
                    continue
                sk, ok = cluster_key[rs], cluster_key[ro]
                if r.predicate in SYMMETRIC and ok < sk:
                    sk, ok = ok, sk
                evidence[(sk, r.predicate, ok)].add(Evidence(document.name, r.sentence, r.method, r.confidence))
    return tuple(Relation(s, p, o, tuple(sorted(ev, key=lambda e: (e.doc, e.sentence, e.method))))
                 for (s, p, o), ev in sorted(evidence.items()))


def _with_evidence(relations: tuple[Relation, ...],
                   extra: dict[tuple[str, str, str], set[Evidence]]) -> tuple[Relation, ...]:
    """The relations with more evidence (new triples included), sorted as resolution sorts them."""
    if not extra:
        return relations
    merged = {r.triple: set(r.evidence) for r in relations}
    for triple, ev in extra.items():
        merged.setdefault(triple, set()).update(ev)
    return tuple(Relation(s, p, o, tuple(sorted(ev, key=lambda e: (e.doc, e.sentence, e.method))))
                 for (s, p, o), ev in sorted(merged.items()))


def _named_places(relations: tuple[Relation, ...], entities: Sequence[Entity]) -> tuple[Relation, ...]:
    """An organisation named after a place is located there: 美国证券交易委员会 → 美国,
    北京大学 → 北京. The place must be an entity mentioned in the same document; the
    evidence is the organisation's first mention there."""
    places = {normalize_name(e.label): e for e in entities if e.type == "Place"}
    for e in entities:
        if e.type == "Place":
            for a in e.aliases:
                places.setdefault(normalize_name(a), e)
    place_docs = {e.key: {m.doc for m in e.mentions} for e in entities if e.type == "Place"}
    extra: dict[tuple[str, str, str], set[Evidence]] = {}
    for e in entities:
        if e.type != "Organization":
            continue
        name = normalize_name(e.label)
        for size in range(min(len(name) - 2, 6), 1, -1):
            place = places.get(name[:size])
            if place is None:
                continue
            evidence = _first_mentions(e, place_docs[place.key], "rule:named-place", 0.8)
            if evidence:
                extra.setdefault((e.key, "locatedIn", place.key), set()).update(evidence)
            break
    return _with_evidence(relations, extra)


def _named_makers(relations: tuple[Relation, ...], entities: Sequence[Entity]) -> tuple[Relation, ...]:
    """A product named after its maker is developed by it: NVIDIA DGX Quantum → NVIDIA,
    美团无人机 → 美团, 谷歌眼镜 → 谷歌 (a maker's name leads its product's name far more often
    than not). The maker must be an organisation mentioned in the same document, and a Latin
    name must end at a word boundary (TI does not make TIDAL); the longest maker wins."""
    makers: dict[str, Entity] = {}
    for e in entities:
        if e.type == "Organization":
            for name in (e.label, *e.aliases):
                key = normalize_name(name)
                if len(key) >= 2:
                    makers.setdefault(key, e)
    if not makers:
        return relations
    org_docs = {e.key: {m.doc for m in e.mentions} for e in entities if e.type == "Organization"}
    longest = max(map(len, makers))
    extra: dict[tuple[str, str, str], set[Evidence]] = {}
    for e in entities:
        if e.type != "Product":
            continue
        maker = None
        for name in (e.label, *e.aliases):
            key = normalize_name(name)
            for size in range(min(len(key) - 1, longest), 1, -1):
                found = makers.get(key[:size])
                # after the maker's name: a space or Chinese (NVIDIA DGX, 谷歌眼镜), not more of a
                # word (TI in TIDAL) nor a hyphen (Meta-Transformer is a name of its own)
                if found is None or key[size].isascii() and not key[size].isspace() or \
                        not key[size].isascii() and not key[size].isalpha():
                    continue
                if maker is None or size > maker[1]:
                    maker = (found, size)
                break
        if maker is None:
            continue
        evidence = _first_mentions(e, org_docs[maker[0].key], "rule:named-maker", 0.75)
        if evidence:
            extra.setdefault((maker[0].key, "develops", e.key), set()).update(evidence)
    return _with_evidence(relations, extra)


def _first_mentions(e: Entity, docs: set[str], method: str, confidence: float) -> set[Evidence]:
    """Evidence for a relation read off an entity's name: its first mention in each of `docs`
    (the other end must be mentioned in the same document)."""
    seen: dict[str, Evidence] = {}
    for m in e.mentions:
        if m.doc in docs and m.doc not in seen:
            seen[m.doc] = Evidence(m.doc, m.sentence, method, confidence)
    return set(seen.values())


def _field_heads(relations: tuple[Relation, ...], entities: Sequence[Entity],
                 heads: dict[str, str]) -> tuple[Relation, ...]:
    """A product in the field of a kind of thing (量子芯片) is also in that thing's field (量子计算).

    The mapping is data (`field_heads` in data/patterns/relations.yml); the field must be an
    entity of the corpus, so no entity is invented.
    """
    by_label = {normalize_name(e.label): e for e in entities if e.type == "Technology"}
    keys = {e.key: e for e in entities}
    extra: dict[tuple[str, str, str], set[Evidence]] = {}
    for r in relations:
        if r.predicate != "inField" or r.object not in keys:
            continue
        field_name = heads.get(keys[r.object].label)
        target = by_label.get(normalize_name(field_name)) if field_name else None
        if target is None or target.key == r.object:
            continue
        extra.setdefault((r.subject, "inField", target.key), set()).update(
            Evidence(e.doc, e.sentence, "rule:field-head", e.confidence) for e in r.evidence)
    return _with_evidence(relations, extra)
