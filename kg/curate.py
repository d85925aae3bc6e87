"""Hand decisions: a JSON-lines ledger in `data/curation/`, validated, then replayed.

One decision per line (one JSON object, keys sorted, UTF-8 as written), appended and never
rewritten, so the ledger diffs and merges like code. Every decision records `op`, `who`,
`when`, `why` and a stable `id`; its target is named by a stable key:

- an entity: `type:normalised name` (`organization:ibm`);
- one mention: `doc#start-end`, character offsets in the original file (`001_x.txt#130-133`);
- a relation: `subject|predicate|object` (`organization:ibm|develops|product:heron`).

Keys survive re-extraction; a decision whose target is gone is reported as stale, never
dropped silently. The operations and their fields are in `SCHEMA`; docs/curation.md
shows each one with an example.

Replay order (`ORDER`): first `undo` cancels the decisions it names, then
add-entity, retype, split, rename, merge, set-en, set-qid, set-date, reject, add-relation,
accept, note. Within one kind: file name, then line. Entities are created and reshaped
before they are labelled, labelled before they are merged (a renamed entity's new label
becomes an alias of the entity it is merged into), and judged last, so a rename recorded
after a merge in the file still happens first. Keys follow retypes and merges (redirects),
so decisions about relations keep working. Conflicts (a merge into a rejected entity, a
merge cycle, two renames or retypes of one entity, a retype or rename onto an existing
key) are reported with file and line and change nothing.

Example:
    >>> decisions = load_ledger("data/curation")
    >>> entities, relations, report = apply(entities, relations, decisions, documents=documents)
    >>> [(d.where, why) for d, why in report.stale]
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import tempfile
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Mapping, Sequence

from kg.errors import CurationError
from kg.model import ENTITY_TYPES, PREDICATES, Entity, Relation
from kg.normalize import normalize_name

if TYPE_CHECKING:
    from kg.model import Document
    from kg.nlp.lexicon import Lexicon

DEFAULT_DIR = Path(__file__).resolve().parents[1] / "data" / "curation"
ORDER = ("add-entity", "retype", "split", "rename", "merge", "set-en", "set-qid", "set-date", "reject",
         "add-relation", "accept", "note")
OPS = ("undo", *ORDER)

# Field kinds, checked by `_check_field`.
ENTITY, TARGET, TEXT, TYPE, PREDICATE, DATE, QID, ALIASES, INDEX, ID, WHEN, OPTIONAL_TEXT = (
    "entity key", "target key", "text", "type", "predicate", "date", "QID", "list of names", "sentence index",
    "id", "ISO timestamp", "optional text")
COMMON: Mapping[str, tuple[str, bool]] = {
    "op": (TEXT, True), "id": (ID, False), "who": (TEXT, True), "when": (WHEN, True), "why": (OPTIONAL_TEXT, False),
}
SCHEMA: Mapping[str, Mapping[str, tuple[str, bool]]] = {
    "undo": {"target": (ID, True)},
    "add-entity": {"type": (TYPE, True), "label": (TEXT, True), "aliases": (ALIASES, False),
                   "label_en": (TEXT, False), "qid": (QID, False), "date": (DATE, False)},
    "retype": {"target": (ENTITY, True), "type": (TYPE, True)},
    "split": {"target": (ENTITY, True), "alias": (TEXT, True), "type": (TYPE, False), "label": (TEXT, False)},
    "rename": {"target": (ENTITY, True), "label": (TEXT, True), "label_en": (TEXT, False)},
    "merge": {"target": (ENTITY, True), "into": (ENTITY, True)},
    "set-en": {"target": (ENTITY, True), "label_en": (TEXT, True)},
    "set-qid": {"target": (ENTITY, True), "qid": (QID, True)},
    "set-date": {"target": (ENTITY, True), "date": (DATE, True)},
    "reject": {"target": (TARGET, True), "entity": (ENTITY, False)},
    "add-relation": {"subject": (ENTITY, True), "predicate": (PREDICATE, True), "object": (ENTITY, True),
                     "doc": (TEXT, False), "evidence": (TEXT, False), "sentence": (INDEX, False)},
    "accept": {"target": (TARGET, True), "entity": (ENTITY, False)},
    "note": {"target": (TARGET, True), "text": (TEXT, True)},
}
REQUIRED: Mapping[str, tuple[str, ...]] = {op: tuple(k for k, (_, req) in spec.items() if req)
                                           for op, spec in SCHEMA.items()}

_TYPES = {t.lower(): t for t in ENTITY_TYPES}
_MENTION = re.compile(r"^(?P<doc>[^#|]+)#(?P<start>\d+)-(?P<end>\d+)$")
_DATE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")
_QID = re.compile(r"^Q[1-9]\d*$")
_ID = re.compile(r"^[\w.:-]+$")


@dataclass(frozen=True)
class Decision:
    """One line of the ledger: the operation, its fields, who, when, why, and where it is."""

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
    def id(self) -> str:
        """The decision's stable id; lines written before ids existed are named `file:line`."""
        return str(self.fields.get("id") or f"{Path(self.path).name}:{self.line}")

    @property
    def target(self) -> str:
        return str(self.fields.get("target", ""))

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}"

    def record(self) -> dict:
        """The JSON object as written in the ledger."""
        out = dict(self.fields)
        out.update(op=self.op, who=self.who, when=self.when)
        if self.why:
            out["why"] = self.why
        return out

    def describe(self) -> str:
        """A one-line human summary: `rename organization:ibm → IBM`."""
        f = self.fields
        if self.op == "add-entity":
            return f"add-entity {f.get('type')} {f.get('label')}"
        if self.op == "add-relation":
            return f"add-relation {f.get('subject')} {f.get('predicate')} {f.get('object')}"
        extra = {"retype": "type", "rename": "label", "merge": "into", "set-en": "label_en", "set-qid": "qid",
                 "set-date": "date", "split": "alias", "note": "text"}.get(self.op)
        return f"{self.op} {self.target}" + (f" → {f.get(extra)}" if extra else "")


@dataclass
class Report:
    """What replaying the ledger did; every live decision lands in exactly one of
    applied, stale or conflicts, and every cancelled one in undone."""

    applied: list[Decision] = field(default_factory=list)
    stale: list[tuple[Decision, str]] = field(default_factory=list)
    conflicts: list[tuple[Decision, str]] = field(default_factory=list)
    undone: list[Decision] = field(default_factory=list)
    decided_entities: set[str] = field(default_factory=set)
    decided_relations: set[tuple[str, str, str]] = field(default_factory=set)
    decided_mentions: set[str] = field(default_factory=set)

    def outcome(self, decision: Decision) -> tuple[str, str]:
        """("applied" | "stale" | "conflict" | "undone" | "unknown", reason)."""
        for d in self.applied:
            if d is decision:
                return "applied", ""
        for name, items in (("stale", self.stale), ("conflict", self.conflicts)):
            for d, why in items:
                if d is decision:
                    return name, why
        if any(d is decision for d in self.undone):
            return "undone", ""
        return "unknown", ""


# --- keys -------------------------------------------------------------------------------

def relation_key(subject: str, predicate: str, obj: str) -> str:
    return f"{subject}|{predicate}|{obj}"


def mention_key(doc: str, start: int, end: int) -> str:
    """`doc#start-end` with offsets in the original file."""
    return f"{doc}#{start}-{end}"


def parse_mention_key(text: str) -> tuple[str, int, int] | None:
    match = _MENTION.match(text)
    if not match:
        return None
    return match["doc"], int(match["start"]), int(match["end"])


def entity_ref(value: object) -> str:
    """An entity key with its type lower-cased and its name normalised: `Organization:IBM` → `organization:ibm`."""
    type_, _, name = str(value).partition(":")
    return f"{type_.strip().lower()}:{normalize_name(name)}"



def key_type(key: str) -> str:
    """`organization:ibm` → `Organization`."""
    return _TYPES.get(key.partition(":")[0], "")


def key_name(key: str) -> str:
    return key.partition(":")[2]


def target_kind(text: str) -> str:
    """"entity", "relation", "mention" or "" for a target key."""
    if "|" in text:
        parts = text.split("|")
        if len(parts) == 3 and parts[1] in PREDICATES and all(_entity_problem(p) is None for p in (parts[0], parts[2])):
            return "relation"
        return ""
    if _entity_problem(text) is None:
        return "entity"
    found = parse_mention_key(text)
    if found and found[1] < found[2]:
        return "mention"
    return ""


def _entity_problem(text: str) -> str | None:
    type_, colon, name = text.partition(":")
    if not colon:
        return f"{text!r} is not an entity key (type:name, e.g. organization:ibm)"
    if type_.strip().lower() not in _TYPES:
        return f"{text!r}: unknown type {type_!r} (expected one of {', '.join(sorted(_TYPES))})"
    if not normalize_name(name):
        return f"{text!r}: empty name"
    return None


# --- parsing and validation ---------------------------------------------------------------

def display_path(path: Path | str) -> str:
    """The path relative to the working directory when it is below it (for messages)."""
    path = Path(path)
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _check_field(name: str, kind: str, value: object) -> str | None:
    """None when `value` is a valid `kind`, else what is wrong with it."""
    if kind == OPTIONAL_TEXT:
        return None if isinstance(value, str) else "must be a string"
    if kind == INDEX:
        return None if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else \
            "must be a sentence index (an integer ≥ 0)"
    if kind == ALIASES:
        if not isinstance(value, list) or not all(isinstance(a, str) and a.strip() for a in value):
            return "must be a list of non-empty names"
        return None
    if not isinstance(value, str) or not value.strip():
        return "is missing or empty" if value in (None, "") else "must be a non-empty string"
    if kind == TYPE and value not in ENTITY_TYPES:
        return f"unknown type {value!r} (expected one of {', '.join(ENTITY_TYPES)})"
    if kind == PREDICATE and value not in PREDICATES:
        return f"unknown predicate {value!r} (expected one of {', '.join(PREDICATES)})"
    if kind == ENTITY:
        return _entity_problem(value)
    if kind == TARGET and not target_kind(value):
        return (f"{value!r} is not a target key (an entity type:name, a mention doc#start-end "
                f"or a relation subject|predicate|object)")
    if kind == DATE:
        match = _DATE.match(value)
        ok = bool(match)
        if match and match[2]:
            ok = 1 <= int(match[2]) <= 12
            if ok and match[3]:
                try:
                    datetime(int(match[1]), int(match[2]), int(match[3]))
                except ValueError:
                    ok = False
        return None if ok else f"{value!r} is not a date (YYYY, YYYY-MM or YYYY-MM-DD)"
    if kind == QID and not _QID.match(value):
        return f"{value!r} is not a Wikidata QID (Q followed by digits)"
    if kind == ID and not _ID.match(value):
        return f"{value!r} is not an id (letters, digits, . _ : -)"
    if kind == WHEN:
        try:
            datetime.fromisoformat(value)
        except ValueError:
            return f"{value!r} is not an ISO timestamp (2025-01-31T09:30:00+01:00)"
    return None


def parse_line(text: str, *, path: str, line: int) -> Decision:
    """One ledger line → a Decision; a CurationError names the file, line and bad field."""
    try:
        record = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CurationError(f"invalid JSON: {exc.msg}", path=path, line=line, column=exc.colno) from None
    if not isinstance(record, dict):
        raise CurationError("a decision must be a JSON object", path=path, line=line)
    op = record.get("op")
    if op not in SCHEMA:
        raise CurationError(f"field 'op': unknown operation {op!r} (expected one of {', '.join(OPS)})",
                            path=path, line=line)
    spec = {**COMMON, **SCHEMA[op]}
    for name, value in record.items():
        if name not in spec:
            raise CurationError(f"field {name!r}: unknown for {op} (expected {', '.join(sorted(spec))})",
                                path=path, line=line)
    for name, (kind, required) in spec.items():
        if name not in record:
            if required:
                raise CurationError(f"field {name!r} is missing for {op}", path=path, line=line)
            continue
        problem = _check_field(name, kind, record[name])
        if problem:
            raise CurationError(f"field {name!r} {problem}" if problem.startswith(("is ", "must "))
                                else f"field {name!r}: {problem}", path=path, line=line)
    fields = {k: v for k, v in record.items() if k not in ("op", "who", "when", "why")}
    return Decision(op=op, fields=fields, who=record["who"], when=record["when"], why=str(record.get("why", "")),
                    path=path, line=line)


def _ledger_files(directory: Path | str | None) -> list[Path]:
    directory = Path(directory) if directory else DEFAULT_DIR
    return sorted(directory.glob("*.jsonl")) if directory.is_dir() else []


def check_ledger(directory: Path | str | None = None) -> tuple[list[Decision], list[CurationError]]:
    """Every valid decision and every finding (bad lines, duplicate ids), without stopping at the first."""
    decisions: list[Decision] = []
    errors: list[CurationError] = []
    for path in _ledger_files(directory):
        shown = display_path(path)
        with path.open(encoding="utf-8") as handle:
            for number, text in enumerate(handle, 1):
                if not text.strip() or text.lstrip().startswith("//"):
                    continue
                try:
                    decisions.append(parse_line(text, path=shown, line=number))
                except CurationError as exc:
                    errors.append(exc)
    seen: dict[str, Decision] = {}
    for d in decisions:
        if d.id in seen:
            errors.append(CurationError(f"field 'id': duplicate id {d.id!r} (first at {seen[d.id].where})",
                                        path=d.path, line=d.line))
        seen.setdefault(d.id, d)
    errors.sort(key=lambda e: (e.path or "", e.line or 0))
    return decisions, errors


def load_ledger(directory: Path | str | None = None) -> list[Decision]:
    """Every decision in `*.jsonl` files of the directory, in file then line order; the first
    malformed line raises CurationError (`data/curation/FILE:LINE: field 'x' …`)."""
    decisions, errors = check_ledger(directory)
    if errors:
        raise errors[0]
    return decisions


# --- writing --------------------------------------------------------------------------------

def default_who() -> str:
    """`git config user.name`, else $USER, else "unknown"."""
    try:
        done = subprocess.run(["git", "config", "user.name"], capture_output=True, text=True, timeout=5,
                              cwd=DEFAULT_DIR.parent.parent)
        if done.returncode == 0 and done.stdout.strip():
            return done.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        pass
    return os.environ.get("USER") or os.environ.get("USERNAME") or "unknown"


def ledger_file(directory: Path | str | None, who: str) -> Path:
    """Where `who`'s decisions go by default: one file per reviewer, so pull requests rarely collide."""
    slug = re.sub(r"[^\w-]+", "-", normalize_name(who)).strip("-_") or "decisions"
    return (Path(directory) if directory else DEFAULT_DIR) / f"{slug}.jsonl"


def new_record(op: str, *, who: str, why: str = "", when: str | None = None, id: str | None = None,
               **fields: object) -> dict:
    """A complete, not yet validated decision record with a fresh id and the current time."""
    record = {k: v for k, v in fields.items() if v not in (None, "", [], ())}
    record.update(op=op, who=who, when=when or datetime.now().astimezone().isoformat(timespec="seconds"),
                  id=id or uuid.uuid4().hex[:12])
    if why:
        record["why"] = why
    return record


def _lock_path(path: Path) -> Path:
    digest = hashlib.sha1(str(path.resolve()).encode("utf-8")).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / f"techkg-ledger-{digest}.lock"


def append_decision(path: Path | str, record: Mapping[str, object]) -> Decision:
    """Validate one decision fully, then append it durably: under a file lock (concurrent
    sessions), one write of one line, fsynced. Nothing already written is ever changed.
    Returns the decision with the line number it got."""
    from filelock import FileLock

    path = Path(path)
    line = json.dumps(dict(record), ensure_ascii=False, sort_keys=True) + "\n"
    shown = display_path(path)
    parse_line(line, path=shown, line=0)  # raises before anything is written
    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(_lock_path(path)), timeout=30):
        created = not path.exists()
        data = line.encode("utf-8")
        if not created and path.stat().st_size:
            with path.open("rb") as handle:
                handle.seek(-1, os.SEEK_END)
                if handle.read(1) != b"\n":
                    data = b"\n" + data  # a torn last line stays torn (and reported), ours stays whole
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        if created:
            _fsync_dir(path.parent)
        with path.open("rb") as handle:
            number = sum(1 for _ in handle)
    return parse_line(line, path=shown, line=number)


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def record(path: Path | str, op: str, *, who: str, why: str = "", **fields: object) -> Decision:
    """Make and append one decision: `record(file, "reject", who="ann", why="not a name", target=key)`."""
    return append_decision(path, new_record(op, who=who, why=why, **fields))


# --- undo ------------------------------------------------------------------------------------

def cancelled(decisions: Sequence[Decision]) -> tuple[set[str], list[tuple[Decision, str]]]:
    """Ids of the decisions an (itself not cancelled) `undo` cancels; and undos naming no decision.

    An undo of an undo restores the decision the first one cancelled.
    """
    by_id = {d.id: d for d in decisions}
    undos: dict[str, list[Decision]] = {}
    unknown = []
    for d in decisions:
        if d.op == "undo":
            if d.target not in by_id:
                unknown.append((d, f"no decision with id {d.target}"))
            else:
                undos.setdefault(d.target, []).append(d)
    memo: dict[str, bool] = {}

    def is_cancelled(decision_id: str, depth: int = 0) -> bool:
        if decision_id not in memo:
            memo[decision_id] = False  # an undo cycle cancels nothing
            memo[decision_id] = depth < 1000 and any(not is_cancelled(u.id, depth + 1)
                                                     for u in undos.get(decision_id, ()))
        return memo[decision_id]

    return {d.id for d in decisions if is_cancelled(d.id)}, unknown


def live_decisions(decisions: Iterable[Decision]) -> list[Decision]:
    """The decisions that are not undo records and not cancelled by one, in ledger order."""
    decisions = list(decisions)
    gone, _ = cancelled(decisions)
    return [d for d in decisions if d.op != "undo" and d.id not in gone]


# --- replay ------------------------------------------------------------------------------------

def apply(entities: Sequence[Entity], relations: Sequence[Relation], decisions: Iterable[Decision],
          *, documents: Iterable["Document"] | Mapping[str, "Document"] | None = None,
          ) -> tuple[list[Entity], list[Relation], Report]:
    """Replay decisions over extracted entities and relations in the documented order.

    `documents` (the corpus that was extracted) gives mentions their `doc#start-end` keys and
    lets `add-relation` find its evidence sentence; without it, mention decisions are stale.
    Deterministic, and idempotent: applying the same decisions to the result changes nothing.
    """
    from kg.curate_ops import replay

    return replay(entities, relations, list(decisions), documents=documents)


def curated_lexicon(base: "Lexicon", decisions: Sequence[Decision]) -> "Lexicon":
    """The gazetteer extended by hand decisions (see kg.curate_ops.lexicon_entries)."""
    from kg.curate_ops import lexicon_entries
    from kg.nlp.lexicon import Lexicon

    return Lexicon(entries=lexicon_entries(base.entries, decisions), broader=base.broader)
