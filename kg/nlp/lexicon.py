"""The gazetteer: canonical names, types, aliases and QIDs from plain TSV files.

Entries are loaded fresh and never mutated; hand decisions extend a lexicon by building
a new one (`Lexicon.extended`). Surface forms are keyed by `normalize_name`, so width,
case and traditional/simplified variants all find the same entry.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Mapping

from kg.errors import ConfigError
from kg.model import ENTITY_TYPES
from kg.normalize import normalize_name

DEFAULT_DIR = Path(__file__).resolve().parents[2] / "data" / "lexicon"
COLUMNS = ("canonical", "type", "zh_aliases", "en_aliases", "qid", "note")


@dataclass(frozen=True)
class LexEntry:
    canonical: str
    type: str
    zh_aliases: tuple[str, ...] = ()
    en_aliases: tuple[str, ...] = ()
    qid: str = ""
    note: str = ""
    source: str = ""

    @property
    def surfaces(self) -> tuple[str, ...]:
        return (self.canonical, *self.zh_aliases, *self.en_aliases)

    @property
    def label_en(self) -> str:
        if self.en_aliases:
            return self.en_aliases[0]
        if self.canonical.isascii():
            return self.canonical
        return ""


@dataclass(frozen=True)
class Lexicon:
    entries: tuple[LexEntry, ...] = ()
    broader: tuple[tuple[str, str], ...] = ()
    _index: Mapping[str, tuple[LexEntry, ...]] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        index: dict[str, list[LexEntry]] = {}
        for entry in self.entries:
            for surface in entry.surfaces:
                key = normalize_name(surface)
                if key and entry not in index.setdefault(key, []):
                    index[key].append(entry)
        object.__setattr__(self, "_index", {k: tuple(v) for k, v in index.items()})

    def lookup(self, surface: str) -> tuple[LexEntry, ...]:
        return self._index.get(normalize_name(surface), ())

    def surfaces(self) -> dict[str, tuple[LexEntry, ...]]:
        """Normalised surface form → entries (usually one)."""
        return dict(self._index)

    def entry_for(self, canonical: str, type_: str) -> LexEntry | None:
        for entry in self.lookup(canonical):
            if entry.type == type_:
                return entry
        return None

    def extended(self, entries: Iterable[LexEntry], broader: Iterable[tuple[str, str]] = ()) -> "Lexicon":
        """This lexicon plus `entries`. An added entry that shares a name with an entry of the same
        type is the same thing said again (苹果 with the aliases 苹果公司 and Apple, beside the
        entry Apple): its names become aliases of that entry, so the gazetteer does not split one
        company into two entities by the name the text happens to use."""
        merged = list(self.entries)
        for entry in entries:
            keys = {normalize_name(s) for s in entry.surfaces} - {""}
            same = [i for i, e in enumerate(merged) if e.type == entry.type
                    and keys & {normalize_name(s) for s in e.surfaces}]
            if len(same) != 1:  # a new name, or one that would join two entries (not this call to make)
                merged.append(entry)
                continue
            first = merged[same[0]]
            known = {normalize_name(s) for s in first.surfaces}
            more = tuple(dict.fromkeys(s for s in entry.surfaces if normalize_name(s) not in known))
            merged[same[0]] = LexEntry(first.canonical, first.type, zh_aliases=first.zh_aliases + more,
                                       en_aliases=first.en_aliases, qid=first.qid or entry.qid, note=first.note,
                                       source=first.source)
        return Lexicon(entries=tuple(merged), broader=self.broader + tuple(broader))

    def __len__(self) -> int:
        return len(self.entries)


def _split(cell: str) -> tuple[str, ...]:
    return tuple(a.strip() for a in (cell or "").split("|") if a.strip())


def _rows(path: Path) -> Iterable[tuple[int, dict[str, str]]]:
    with path.open(encoding="utf-8", newline="") as handle:
        lines = [(n, line) for n, line in enumerate(handle, 1) if line.strip() and not line.startswith("#")]
    if not lines:
        return
    header = lines[0][1].rstrip("\n").split("\t")
    for number, line in lines[1:]:
        cells = line.rstrip("\n").split("\t")
        if len(cells) > len(header):
            raise ConfigError(f"{len(cells)} columns, expected at most {len(header)}", path=path, line=number)
        yield number, dict(zip(header, cells + [""] * (len(header) - len(cells))))


def load_entries(path: Path) -> list[LexEntry]:
    entries = []
    for number, row in _rows(path):
        type_ = row.get("type", "").strip()
        if type_ not in ENTITY_TYPES:
            raise ConfigError(f"unknown type {type_!r} (expected one of {', '.join(ENTITY_TYPES)})",
                              path=path, line=number)
        canonical = row.get("canonical", "").strip()
        if not canonical:
            raise ConfigError("empty canonical name", path=path, line=number)
        entries.append(LexEntry(canonical=canonical, type=type_, zh_aliases=_split(row.get("zh_aliases", "")),
                                en_aliases=_split(row.get("en_aliases", "")), qid=row.get("qid", "").strip(),
                                note=row.get("note", "").strip(), source=f"{path.name}:{number}"))
    return entries


def load_broader(path: Path) -> list[tuple[str, str]]:
    return [(row["narrower"].strip(), row["broader"].strip()) for _, row in _rows(path)
            if row.get("narrower") and row.get("broader")]


def load_lexicon(directory: Path | str | None = None) -> Lexicon:
    """Every `*.tsv` gazetteer in the directory except `broader.tsv`, plus the taxonomy."""
    directory = Path(directory) if directory else DEFAULT_DIR
    entries: list[LexEntry] = []
    broader: list[tuple[str, str]] = []
    if directory.is_dir():
        for path in sorted(directory.glob("*.tsv")):
            if path.name == "broader.tsv":
                broader.extend(load_broader(path))
            else:
                entries.extend(load_entries(path))
    return Lexicon(entries=tuple(entries), broader=tuple(broader))
