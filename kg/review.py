"""Reviewing extraction: a workspace (one extraction, replayed against the ledger on demand),
the queue of what no decision covers yet, checked recording of decisions, and the
interactive loop behind `kg review`.

Nothing here prints: the loop talks to a `Terminal` (show markup, read a key, prompt for
a line) that the CLI supplies, so tests drive it with click's CliRunner or a fake.

Example:
    >>> ws = Workspace(["data/corpus"])
    >>> review = Review(ws, ledger=ledger_file(None, "ann"), who="ann", why="kg review")
    >>> review.queue()[0].key
    'organization:作为当今世界科技'
"""
from __future__ import annotations

import math
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Protocol, Sequence

from rich.markup import escape

from kg import curate
from kg.curate import Decision, apply, entity_ref, key_type, load_ledger, mention_key, target_kind
from kg.curate_ops import decided_mentions
from kg.errors import CurationError
from kg.model import ENTITY_TYPES, PREDICATES, SYMMETRIC, Document, Entity, Relation, admits
from kg.normalize import normalize_name

Progress = Callable[[str, int, int], None]


def _quiet(stage: str, done: int, total: int) -> None:
    return None


_EXTRACTIONS: dict = {}  # the last few extractions of this process, by everything they depend on


def _extract(documents: Sequence[Document], decisions: Sequence[Decision], *, lexicon_dir=None,
             patterns_dir=None, progress: Progress = _quiet):
    """Extraction with the curated gazetteer; the same inputs in one process reuse the result."""
    from kg.nlp.lexicon import load_lexicon
    from kg.nlp.patterns import DEFAULT_DIR as PATTERNS_DIR, load_patterns
    from kg.pipeline import extract_corpus, load_relation_model

    lexicon = load_lexicon(lexicon_dir)
    if decisions:
        lexicon = curate.curated_lexicon(lexicon, decisions)
    rules = tuple((p.name, p.read_bytes()) for p in sorted(Path(patterns_dir or PATTERNS_DIR).glob("*.yml")))
    relation_model = load_relation_model()
    model = relation_model.to_json().encode() if relation_model is not None else b""
    key = (tuple((d.name, d.text) for d in documents), lexicon, rules, model)
    if key not in _EXTRACTIONS:
        if len(_EXTRACTIONS) >= 4:
            _EXTRACTIONS.pop(next(iter(_EXTRACTIONS)))
        _EXTRACTIONS[key] = extract_corpus(documents, lexicon=lexicon, patterns=load_patterns(patterns_dir),
                                           relation_model=relation_model, progress=progress)
    return _EXTRACTIONS[key]


def curated_mentions(documents: Sequence[Document], decisions: Sequence[Decision], *, lexicon_dir=None,
                     patterns_dir=None) -> list[tuple[str, int, int, int, str]]:
    """Training data from hand decisions: (doc, sentence index, start, end, type), offsets in the
    sentence text, for every mention of an entity a decision vouches for (accepted, added,
    renamed, retyped, split off, dated, …) and every mention accepted on its own; rejected
    mentions and entities are gone. Extraction runs with the curated gazetteer, so hand-added
    names are found wherever they occur.

    Example:
        >>> curated_mentions(documents, load_ledger())[:1]
        [('001_6c33e5305bbf4742.txt', 7, 10, 13, 'Organization')]
    """
    decisions = list(decisions)
    extraction = _extract(documents, decisions, lexicon_dir=lexicon_dir, patterns_dir=patterns_dir)
    entities, _, report = apply(extraction.entities, extraction.relations, decisions, documents=documents)
    return decided_mentions(entities, report, documents)


class Workspace:
    """A corpus extracted once (with the gazetteer the ledger extends), replayed against the
    ledger whenever `refresh` is called. Resolves what users type to keys."""

    def __init__(self, paths: Iterable[str | Path], *, curation_dir: Path | str | None = None,
                 lexicon_dir: Path | str | None = None, patterns_dir: Path | str | None = None,
                 progress: Progress = _quiet) -> None:
        from kg.pipeline import load_documents

        self.curation_dir = Path(curation_dir) if curation_dir else curate.DEFAULT_DIR
        self.documents, self.skipped = load_documents(paths, progress=progress)
        self.docs = {d.name: d for d in self.documents}
        self.extraction = _extract(self.documents, load_ledger(self.curation_dir), lexicon_dir=lexicon_dir,
                                   patterns_dir=patterns_dir, progress=progress)
        self.refresh()

    def refresh(self) -> None:
        """Re-read the ledger (other sessions append too) and replay it."""
        self.decisions = load_ledger(self.curation_dir)
        self.entities, self.relations, self.report = apply(
            self.extraction.entities, self.extraction.relations, self.decisions, documents=self.docs)
        self.by_key = {e.key: e for e in self.entities}
        self.by_triple = {r.triple: r for r in self.relations}
        self.degree: Counter = Counter()
        for r in self.relations:
            self.degree[r.subject] += 1
            self.degree[r.object] += 1
        self.mention_owner = {}
        for e in self.entities:
            for m in e.mentions:
                self.mention_owner[self.mention_key(m)] = e.key

    def mention_key(self, m) -> str:
        start, end = self.docs[m.doc].sentences[m.sentence].original_span(m.start, m.end)
        return mention_key(m.doc, start, end)

    # -- what users type → keys ------------------------------------------------------------
    def entity(self, ref: str) -> Entity:
        """An entity by key (`organization:ibm`) or by a label or alias that names only one entity."""
        text = ref.strip()
        if target_kind(text) == "entity":
            key = entity_ref(text)
            if key in self.by_key:
                return self.by_key[key]
        norm = normalize_name(text)
        if not norm:
            raise CurationError("an empty entity name")
        labelled = [e for e in self.entities if normalize_name(e.label) == norm]
        named = labelled or [e for e in self.entities
                             if norm in {normalize_name(n) for n in (*e.aliases, e.label_en) if n}]
        if len(named) == 1:
            return named[0]
        if named:
            raise CurationError(f"{text!r} is ambiguous: {', '.join(e.key for e in named[:8])}",
                                hint="name the entity by its key")
        close = [e.key for e in self.suggest(text, limit=3)]
        raise CurationError(f"unknown entity {text!r}", hint=f"did you mean {', '.join(close)}?" if close else
                            "see `kg curate stats` or the built graph for keys")

    def relation(self, ref: str) -> Relation:
        """A relation by `subject|predicate|object` (each entity by key, label or alias)."""
        parts = [p.strip() for p in ref.split("|")]
        if len(parts) != 3 or parts[1] not in PREDICATES:
            raise CurationError(f"{ref!r} is not a relation (subject|predicate|object, predicate one of "
                                f"{', '.join(PREDICATES)})")
        s, p, o = self.entity(parts[0]).key, parts[1], self.entity(parts[2]).key
        if p in SYMMETRIC and o < s:
            s, o = o, s
        if (s, p, o) not in self.by_triple:
            raise CurationError(f"unknown relation {s}|{p}|{o}")
        return self.by_triple[(s, p, o)]

    def target(self, ref: str) -> str:
        """The key of an entity, a relation (`a|p|b`) or a mention (`doc#start-end`)."""
        text = ref.strip()
        if "|" in text:
            return "|".join(self.relation(text).triple)
        found = curate.parse_mention_key(text)
        if found and target_kind(text) != "entity":
            name = self.document(found[0]).name
            key = mention_key(name, found[1], found[2])
            if key not in self.mention_owner:
                raise CurationError(f"unknown mention {key}", hint="offsets are in the original file, as in the graph")
            return key
        return self.entity(text).key

    def document(self, ref: str) -> Document:
        """A document by file name or a prefix of one that names only one (`001`)."""
        if ref in self.docs:
            return self.docs[ref]
        found = [d for name, d in self.docs.items() if name.startswith(ref)]
        if len(found) == 1:
            return found[0]
        raise CurationError(f"{'ambiguous' if found else 'unknown'} document {ref!r}",
                            hint=f"documents: {', '.join(sorted(self.docs))}")

    def evidence(self, doc: Document, text: str) -> int:
        """The index of the one sentence of `doc` containing `text`."""
        found = [s.index for s in doc.sentences if text in s.text]
        if not found:
            raise CurationError(f"no sentence of {doc.name} contains {text!r}",
                                hint="quote the sentence, or part of it, exactly")
        if len(found) > 1:
            raise CurationError(f"{text!r} is in {len(found)} sentences of {doc.name} "
                                f"({', '.join(map(str, found[:5]))})", hint="quote more of the sentence")
        return found[0]

    def suggest(self, text: str, *, limit: int = 5, exclude: str = "", type_: str = "") -> list[Entity]:
        """Entities whose names look like `text`: containment, shared characters, same type first."""
        norm = normalize_name(text)
        if not norm:
            return []
        grams = _grams(norm)
        scored = []
        for e in self.entities:
            if e.key == exclude:
                continue
            best = 0.0
            for name in {normalize_name(n) for n in (e.label, *e.aliases)}:
                if not name:
                    continue
                if name == norm:
                    score = 3.0
                elif name in norm or norm in name:
                    score = 1.5 + min(len(name), len(norm)) / max(len(name), len(norm))
                else:
                    other = _grams(name)
                    score = len(grams & other) / len(grams | other) if grams and other else 0.0
                best = max(best, score)
            if best >= 0.25:
                scored.append((best + (0.2 if type_ and e.type == type_ else 0.0), e))
        scored.sort(key=lambda x: (-x[0], x[1].key))
        return [e for _, e in scored[:limit]]


def _grams(text: str) -> set[str]:
    return {text[i:i + 2] for i in range(len(text) - 1)} or {text}


# --- the queue --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Filters:
    doc: str = ""
    type: str = ""
    predicate: str = ""
    kind: str = ""  # "entity" or "relation": only those
    min_confidence: float = 0.0
    max_confidence: float = 1.0


@dataclass(frozen=True)
class Item:
    """Something to review: an entity or a relation no decision covers yet."""

    kind: str  # "entity" | "relation"
    key: str
    confidence: float
    degree: int
    docs: tuple[str, ...]

    @property
    def value(self) -> float:
        """Review the uncertain first, and among equally uncertain the well connected."""
        return (1.05 - self.confidence) ** 2 * math.log(2 + self.degree)


def entity_confidence(entity: Entity) -> float:
    return max((m.confidence for m in entity.mentions), default=1.0)


def pending(ws: Workspace, filters: Filters = Filters()) -> list[Item]:
    """Every entity and relation of the current extraction no decision covers, most valuable first."""
    items: list[Item] = []
    type_ = filters.type.lower()
    doc = filters.doc

    def doc_ok(docs: Iterable[str]) -> bool:
        return not doc or any(d == doc or d.startswith(doc) for d in docs)

    if not filters.predicate and filters.kind != "relation":
        for e in ws.entities:
            if e.key in ws.report.decided_entities or (type_ and e.type.lower() != type_):
                continue
            docs = tuple(sorted({m.doc for m in e.mentions}))
            item = Item("entity", e.key, entity_confidence(e), ws.degree[e.key] + len(e.mentions), docs)
            if doc_ok(docs) and filters.min_confidence <= item.confidence <= filters.max_confidence:
                items.append(item)
    for r in ws.relations if filters.kind != "entity" else ():
        if r.triple in ws.report.decided_relations or (filters.predicate and r.predicate != filters.predicate):
            continue
        if type_ and type_ not in (key_type(r.subject).lower(), key_type(r.object).lower()):
            continue
        docs = tuple(sorted({e.doc for e in r.evidence if e.doc}))
        item = Item("relation", "|".join(r.triple), r.confidence, ws.degree[r.subject] + ws.degree[r.object], docs)
        if doc_ok(docs) and filters.min_confidence <= item.confidence <= filters.max_confidence:
            items.append(item)
    items.sort(key=lambda i: (-round(i.value, 9), i.kind != "entity", i.key))
    return items


def stats(ws: Workspace) -> dict:
    """Decided and pending entities (by type, by document) and relations (by predicate, by
    document); "pending" is what no decision covers. Plus the ledger's outcome counts."""
    def bucket() -> dict:
        return defaultdict(lambda: {"decided": 0, "pending": 0})

    by_type, by_pred, docs_e, docs_r = bucket(), bucket(), bucket(), bucket()
    for e in ws.entities:
        state = "decided" if e.key in ws.report.decided_entities else "pending"
        by_type[e.type][state] += 1
        for name in sorted({m.doc for m in e.mentions}):
            docs_e[name][state] += 1
    for r in ws.relations:
        state = "decided" if r.triple in ws.report.decided_relations else "pending"
        by_pred[r.predicate][state] += 1
        for name in sorted({x.doc for x in r.evidence if x.doc}):
            docs_r[name][state] += 1
    report = ws.report

    def total(b: dict) -> dict:
        return {"decided": sum(v["decided"] for v in b.values()), "pending": sum(v["pending"] for v in b.values())}

    return {
        "entities": {"total": total(by_type), "by_type": {k: by_type[k] for k in sorted(by_type)}},
        "relations": {"total": total(by_pred), "by_predicate": {k: by_pred[k] for k in sorted(by_pred)}},
        "documents": {name: {"entities": docs_e[name], "relations": docs_r[name]} for name in sorted(ws.docs)},
        "ledger": {"decisions": len(ws.decisions), "applied": len(report.applied), "stale": len(report.stale),
                   "conflicts": len(report.conflicts), "undone": len(report.undone)},
    }


# --- recording, checked against the workspace -------------------------------------------------

def checked(ws: Workspace | None, op: str, fields: dict) -> dict:
    """Fields with every reference resolved to a key against the current build; a CurationError
    when a target is unknown or ambiguous, a relation ill-typed or evidence not found.
    Without a workspace (`--no-check`), references must be keys already."""
    fields = {k: v for k, v in fields.items() if v not in (None, "", (), [])}
    if ws is None:
        return fields
    if "target" in fields and op != "undo":
        if op in ("accept", "reject", "note"):
            fields["target"] = ws.target(str(fields["target"]))
            if target_kind(fields["target"]) == "mention" and op != "note":
                fields["entity"] = ws.mention_owner[fields["target"]]
        else:
            fields["target"] = ws.entity(str(fields["target"])).key
    if op == "undo":
        ids = {d.id for d in ws.decisions}
        if fields.get("target") not in ids:
            raise CurationError(f"no decision with id {fields.get('target')!r}", hint="see `kg curate log`")
    if op == "merge":
        fields["into"] = ws.entity(str(fields["into"])).key
        if fields["into"] == fields["target"]:
            raise CurationError(f"cannot merge {fields['target']} into itself")
    if op == "split":
        entity = ws.by_key[fields["target"]]
        norm = normalize_name(str(fields["alias"]))
        surfaces = {normalize_name(a) for a in entity.aliases} | {normalize_name(m.text) for m in entity.mentions}
        if norm not in surfaces or norm == normalize_name(entity.label):
            raise CurationError(f"{fields['alias']!r} is not an alias of {entity.key}",
                                hint=f"aliases: {', '.join(entity.aliases) or 'none'}")
    if op == "set-date" and ws.by_key[fields["target"]].type != "Event":
        raise CurationError(f"{fields['target']} is not an Event; only events have dates")
    if op == "add-relation":
        s, o = ws.entity(str(fields["subject"])), ws.entity(str(fields["object"]))
        p = str(fields["predicate"])
        if p not in PREDICATES:
            raise CurationError(f"unknown predicate {p!r} (expected one of {', '.join(PREDICATES)})")
        if not admits(p, s.type, o.type):
            raise CurationError(f"{p} does not admit {s.type} → {o.type}")
        fields["subject"], fields["object"] = s.key, o.key
        if fields.get("evidence") and not fields.get("doc"):
            raise CurationError("--evidence needs --doc (the document the sentence is in)")
        if fields.get("doc"):
            document = ws.document(str(fields["doc"]))
            fields["doc"] = document.name
            if fields.get("evidence"):
                ws.evidence(document, str(fields["evidence"]))
    return fields


def record(ws: Workspace | None, ledger: Path | str, op: str, *, who: str, why: str, _refresh_after: bool = True,
           **fields) -> Decision:
    """Check one decision against the workspace and append it to `ledger`."""
    if op not in curate.SCHEMA:
        raise CurationError(f"unknown operation {op!r} (expected one of {', '.join(curate.OPS)})")
    if ws is not None:
        ws.refresh()  # what other sessions appended meanwhile counts too
    fields = checked(ws, op, dict(fields))
    record_ = curate.new_record(op, who=who, why=why, **fields)
    if ws is not None:
        _dry_run(ws, ledger, record_)
    decision = curate.append_decision(ledger, record_)
    if ws is not None and _refresh_after:
        ws.refresh()
    return decision


def _dry_run(ws: Workspace, ledger: Path | str, record_: dict) -> None:
    """Replay the ledger with the new decision last; refuse it if it would be stale or a conflict."""
    import json

    candidate = curate.parse_line(json.dumps(record_, ensure_ascii=False), path=curate.display_path(ledger),
                                  line=10**9)
    _, _, report = apply(ws.extraction.entities, ws.extraction.relations, [*ws.decisions, candidate],
                         documents=ws.docs)
    outcome, why = report.outcome(candidate)
    if outcome in ("stale", "conflict"):
        raise CurationError(f"{candidate.describe()} would be {'stale' if outcome == 'stale' else 'a conflict'}: {why}")
    before = {d.id for d, _ in (*ws.report.stale, *ws.report.conflicts)}
    for d, why in (*report.conflicts, *report.stale):
        if d.id not in before and d is not candidate and d.op != "note":
            why = why.replace(f"at {candidate.where}", "by this decision")
            raise CurationError(f"{candidate.describe()} would break {d.describe()} at {d.where}: {why}",
                                hint=f"undo that first: kg curate undo {d.id}")


# --- the interactive loop ----------------------------------------------------------------------

class Terminal(Protocol):
    def show(self, markup: str) -> None: ...

    def key(self) -> str: ...

    def prompt(self, text: str) -> str: ...


HELP = ("[bold]a[/] accept  [bold]r[/] reject  [bold]x[/] reject this mention only  [bold]t[/] retype  "
        "[bold]n[/] rename  [bold]m[/] merge into …  [bold]e[/] next evidence  [bold]s[/] skip  "
        "[bold]u[/] undo  [bold]q[/] quit")


@dataclass
class Review:
    """One `kg review` session: the queue, what was skipped, and where decisions go."""

    workspace: Workspace
    ledger: Path
    who: str
    why: str = "kg review"
    filters: Filters = Filters()
    skipped: set[str] = field(default_factory=set)
    made: list[Decision] = field(default_factory=list)
    front: str = ""

    def queue(self) -> list[Item]:
        items = [i for i in pending(self.workspace, self.filters) if i.key not in self.skipped]
        if self.front:
            first = [i for i in items if i.key == self.front]
            items = first + [i for i in items if i.key != self.front]
        return items

    def decide(self, op: str, **fields) -> Decision:
        decision = record(self.workspace, self.ledger, op, who=self.who, why=self.why, **fields)
        self.made.append(decision)
        self.front = ""
        return decision

    def undo(self) -> Decision | None:
        """Cancel the newest live decision `who` wrote in this ledger file (this session or an
        earlier one) with an appended `undo`; returns the cancelled decision."""
        ledger = Path(self.ledger).resolve()
        gone, _ = curate.cancelled(self.workspace.decisions)
        mine = [d for d in self.workspace.decisions if d.op != "undo" and d.id not in gone
                and d.who == self.who and Path(d.path).resolve() == ledger]
        if not mine:
            return None
        last = mine[-1]
        self.decide("undo", target=last.id)
        self.front = _item_key(last)
        return last


def _item_key(d: Decision) -> str:
    if d.op == "add-relation":
        return "|".join(entity_ref(d.get(k)) if k != "predicate" else str(d.get(k))
                        for k in ("subject", "predicate", "object"))
    if d.op == "add-entity":
        return entity_ref(f"{d.get('type')}:{d.get('label')}")
    if target_kind(d.target) == "mention":
        return str(d.get("entity", ""))
    return d.target


def _highlight(text: str, spans: Sequence[tuple[int, int, str]], *, width: int = 160) -> str:
    """The sentence as markup with spans highlighted and everything else escaped; long
    sentences are cut around the spans."""
    spans = sorted(s for s in spans if 0 <= s[0] < s[1] <= len(text))
    lo, hi = 0, len(text)
    if spans and len(text) > width:
        first, last = spans[0][0], max(s[1] for s in spans)
        room = max(20, (width - (last - first)) // 2)
        lo, hi = max(0, first - room), min(len(text), last + room)
    out, pos = [], lo
    for start, end, style in spans:
        if start < pos or end > hi:
            continue
        out.append(escape(text[pos:start]))
        out.append(f"[{style}]{escape(text[start:end])}[/{style}]")
        pos = end
    out.append(escape(text[pos:hi]))
    return ("…" if lo else "") + "".join(out) + ("…" if hi < len(text) else "")


def _evidence_lines(ws: Workspace, item: Item, n: int) -> tuple[list[str], int]:
    """Markup for the n-th piece of evidence of an item, and how many there are."""
    if item.kind == "entity":
        entity = ws.by_key[item.key]
        mentions = sorted(entity.mentions, key=lambda m: (m.confidence, m.doc, m.sentence, m.start))
        if not mentions:
            return ["  [dim](no mention: added by hand)[/dim]"], 0
        m = mentions[n % len(mentions)]
        sentence = ws.docs[m.doc].sentences[m.sentence]
        return [f"  [cyan]{escape(m.doc)}[/cyan] · sentence {m.sentence} · {escape(ws.mention_key(m))} · "
                f"{escape(m.method)} {m.confidence:.2f}",
                "  " + _highlight(sentence.text, [(m.start, m.end, "reverse")])], len(mentions)
    relation = ws.by_triple[tuple(item.key.split("|"))]
    evidence = [e for e in relation.evidence]
    if not evidence:
        return ["  [dim](no evidence)[/dim]"], 0
    ev = evidence[n % len(evidence)]
    document = ws.docs.get(ev.doc)
    if document is None or not 0 <= ev.sentence < len(document.sentences):
        return [f"  [dim]({escape(ev.method)}{', ' + escape(ev.doc) if ev.doc else ''}; no sentence)[/dim]"], \
            len(evidence)
    sentence = document.sentences[ev.sentence]
    spans = []
    for key, style in ((relation.subject, "reverse"), (relation.object, "underline")):
        for m in ws.by_key[key].mentions:
            if m.doc == ev.doc and m.sentence == ev.sentence:
                spans.append((m.start, m.end, style))
    return [f"  [cyan]{escape(ev.doc)}[/cyan] · sentence {ev.sentence} · {escape(ev.method)} {ev.confidence:.2f}",
            "  " + _highlight(sentence.text, _no_overlap(spans))], len(evidence)


def _no_overlap(spans: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    out: list[tuple[int, int, str]] = []
    for s in sorted(spans):
        if not out or s[0] >= out[-1][1]:
            out.append(s)
    return out


def render(ws: Workspace, item: Item, *, evidence: int = 0, left: int = 1) -> str:
    """The review card of one item as rich markup (document text escaped)."""
    head = f"[dim]({left} to review)[/dim] "
    if item.kind == "entity":
        e = ws.by_key[item.key]
        lines = [head + f"[bold]{escape(e.label)}[/bold]  [magenta]{e.type}[/magenta]  [dim]{escape(e.key)}[/dim]",
                 f"  confidence {item.confidence:.2f} · {len(e.mentions)} mention(s) in {len(item.docs)} document(s)"
                 f" · {ws.degree[e.key]} relation(s)"]
        if e.aliases:
            lines.append("  aliases: " + escape(", ".join(e.aliases[:8])) + (" …" if len(e.aliases) > 8 else ""))
        if e.merges:
            lines.append("  merged by extraction: " + escape("; ".join(f"{a} ({why})" for a, why in e.merges[:4])))
    else:
        r = ws.by_triple[tuple(item.key.split("|"))]
        s, o = ws.by_key[r.subject], ws.by_key[r.object]
        lines = [head + f"[bold]{escape(s.label)}[/bold] —[magenta]{r.predicate}[/magenta]→ [bold]{escape(o.label)}[/bold]"
                 f"  [dim]{escape(item.key)}[/dim]",
                 f"  confidence {item.confidence:.2f} · {len(r.evidence)} piece(s) of evidence · "
                 f"{s.type} → {o.type}"]
    shown, count = _evidence_lines(ws, item, evidence)
    if count > 1:
        lines.append(f"  [dim]evidence {evidence % count + 1}/{count} (e: next)[/dim]")
    return "\n".join(lines + shown)


@dataclass
class Outcome:
    decisions: list[Decision]
    remaining: int
    quit: bool


def run(review: Review, term: Terminal) -> Outcome:
    """The queue, one item at a time, one key per decision, each saved as it is made.

    Ctrl-C (or the `\\x03` key, as a terminal in raw mode delivers it) raises KeyboardInterrupt;
    everything decided up to then is in the ledger already. End of input quits.
    """
    ws = review.workspace
    evidence, current = 0, ""
    term.show(HELP)
    while True:
        items = review.queue()
        if not items:
            term.show("[green]Nothing left to review[/green] with these filters.")
            return Outcome(review.made, 0, False)
        item = items[0]
        if item.key != current:
            evidence, current = 0, item.key
        term.show("")
        term.show(render(ws, item, evidence=evidence, left=len(items)))
        key = term.key()
        while key in (" ", "\n", "\r", "\t"):
            key = term.key()
        if key == "\x03":
            raise KeyboardInterrupt
        if key in ("q", "", "\x04", "\x1b"):
            return Outcome(review.made, len(items), True)
        try:
            message = _handle(review, term, item, key, evidence)
        except CurationError as exc:
            message = f"[red]{escape(str(exc))}[/red]"
        if message == "next evidence":
            evidence += 1
        elif message:
            term.show(message)


def _still_pending(review: Review, item: Item) -> bool:
    review.workspace.refresh()
    return any(i.key == item.key for i in pending(review.workspace, review.filters))


def _handle(review: Review, term: Terminal, item: Item, key: str, evidence: int) -> str:
    ws = review.workspace
    entity = ws.by_key.get(item.key) if item.kind == "entity" else None
    if key == "e":
        return "next evidence"
    if key == "s":
        review.skipped.add(item.key)
        return f"[dim]skipped {escape(item.key)}[/dim]"
    if key == "u":
        undone = review.undo()
        return f"[yellow]undone:[/yellow] {escape(undone.describe())}" if undone else "[dim]nothing to undo[/dim]"
    if key in ("?", "h"):
        return HELP
    if key not in "arxtnm" or len(key) != 1:
        return f"[dim]unknown key {escape(repr(key))}[/dim]\n{HELP}"
    if entity is None and key in "xtnm":
        return "[dim]relations can be accepted (a), rejected (r) or skipped (s)[/dim]"
    fields: dict
    if key == "a":
        op, fields = "accept", {"target": item.key}
    elif key == "r":
        op, fields = "reject", {"target": item.key}
    elif key == "x":
        mentions = sorted(entity.mentions, key=lambda m: (m.confidence, m.doc, m.sentence, m.start))
        if not mentions:
            return "[dim]no mention to reject[/dim]"
        op, fields = "reject", {"target": ws.mention_key(mentions[evidence % len(mentions)])}
    elif key == "t":
        term.show("  " + "  ".join(f"[bold]{i}[/bold] {t}" for i, t in enumerate(ENTITY_TYPES, 1))
                  + "  (other key: cancel)")
        choice = term.key()
        if not (choice.isdigit() and 1 <= int(choice) <= len(ENTITY_TYPES)):
            return "[dim]retype cancelled[/dim]"
        type_ = ENTITY_TYPES[int(choice) - 1]
        if type_ == entity.type:
            return f"[dim]already a {type_}[/dim]"
        op, fields = "retype", {"target": item.key, "type": type_}
    elif key == "n":
        label = term.prompt(f"New label for {entity.label} (empty: cancel)").strip()
        if not label:
            return "[dim]rename cancelled[/dim]"
        op, fields = "rename", {"target": item.key, "label": label}
    else:
        suggestions = ws.suggest(entity.label, exclude=entity.key, type_=entity.type)
        for i, s in enumerate(suggestions, 1):
            term.show(f"  [bold]{i}[/bold] {escape(s.label)}  [magenta]{s.type}[/magenta]  [dim]{escape(s.key)}[/dim]")
        answer = term.prompt("Merge into (number, key or label; empty: cancel)").strip()
        if not answer:
            return "[dim]merge cancelled[/dim]"
        into = suggestions[int(answer) - 1] if answer.isdigit() and 1 <= int(answer) <= len(suggestions) \
            else ws.entity(answer)
        op, fields = "merge", {"target": item.key, "into": into.key}
    if not _still_pending(review, item):
        return f"[yellow]{escape(item.key)} was decided meanwhile (another session)[/yellow]"
    decision = review.decide(op, **fields)
    return f"[green]✓[/green] {escape(decision.describe())}"


# --- listing and batches: review outside the interactive queue ---------------------------------

def describe(ws: Workspace, item: Item, *, evidence: int = 2) -> dict:
    """A pending item as plain data with up to `evidence` sentences, the mention (or the relation's
    ends) marked with 【】, so a reviewer can read a whole document's queue at once."""
    out: dict = {"kind": item.kind, "key": item.key, "confidence": round(item.confidence, 3),
                 "docs": list(item.docs)}
    sentences: list[dict] = []
    if item.kind == "entity":
        e = ws.by_key[item.key]
        out.update(label=e.label, type=e.type, aliases=list(e.aliases), mentions=len(e.mentions),
                   relations=ws.degree[e.key])
        seen = set()
        for m in sorted(e.mentions, key=lambda m: (m.doc, m.sentence, m.start)):
            if (m.doc, m.sentence) in seen:
                continue
            seen.add((m.doc, m.sentence))
            text = ws.docs[m.doc].sentences[m.sentence].text
            sentences.append({"doc": m.doc, "sentence": m.sentence, "mention": ws.mention_key(m),
                              "text": text[:m.start] + "【" + text[m.start:m.end] + "】" + text[m.end:]})
    else:
        r = ws.by_triple[tuple(item.key.split("|"))]
        out.update(subject=ws.by_key[r.subject].label, predicate=r.predicate, object=ws.by_key[r.object].label)
        for ev in r.evidence:
            document = ws.docs.get(ev.doc)
            if document is None or not 0 <= ev.sentence < len(document.sentences):
                continue
            text = document.sentences[ev.sentence].text
            spans = _no_overlap([(m.start, m.end, "") for key in (r.subject, r.object)
                                 for m in ws.by_key[key].mentions if m.doc == ev.doc and m.sentence == ev.sentence])
            for start, end, _ in reversed(spans):
                text = text[:start] + "【" + text[start:end] + "】" + text[end:]
            sentences.append({"doc": ev.doc, "sentence": ev.sentence, "method": ev.method, "text": text})
    out["evidence"] = sentences[:evidence] if evidence >= 0 else sentences
    out["evidence_total"] = len(sentences)
    return out


@dataclass
class BatchResult:
    recorded: list[Decision] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def apply_batch(ws: Workspace, lines: Iterable[str], *, source: str, ledger: Path | str, who: str,
                default_why: str = "") -> BatchResult:
    """Record decisions written one JSON object per line ({"op": …, "why": …, fields}), each checked
    exactly as `kg curate <op>` would. A bad line is reported as `source:LINE: …` and skipped;
    the good ones are appended one by one, so nothing recorded is lost when a later line fails."""
    import json

    result = BatchResult()
    for number, raw in enumerate(lines, 1):
        text = raw.strip()
        if not text or text.startswith("//"):
            continue
        try:
            data = json.loads(text)
            if not isinstance(data, dict):
                raise CurationError("expected a JSON object")
            data = dict(data)
            op = data.pop("op", None)
            if not isinstance(op, str):
                raise CurationError("missing field 'op'")
            why = data.pop("why", None) or default_why
            if not why:
                raise CurationError("missing field 'why' (every decision says why)")
            for name in ("id", "when", "who"):
                data.pop(name, None)
            # the next record re-reads the ledger before checking, so no refresh after each one
            result.recorded.append(record(ws, ledger, op, who=who, why=str(why), _refresh_after=False, **data))
        except json.JSONDecodeError as exc:
            result.errors.append(f"{source}:{number}: not JSON ({exc.msg} at column {exc.colno})")
        except (CurationError, TypeError) as exc:
            result.errors.append(f"{source}:{number}: {exc}")
    ws.refresh()
    return result
