"""Frozen records that cross stages: documents, sentences, mentions, entities, relations.

They are plain values so that stages stay independent: ingest knows nothing of spaCy,
build knows nothing of rules, and every record can be compared and sorted.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

ENTITY_TYPES: tuple[str, ...] = (
    "Organization",
    "Person",
    "Technology",
    "Product",
    "Event",
    "Place",
    "Policy",
)

PREDICATES: tuple[str, ...] = (
    "develops",
    "inField",
    "basedOn",
    "subsidiaryOf",
    "partnerOf",
    "investsIn",
    "acquires",
    "affiliatedWith",
    "participant",
    "locatedIn",
    "regulates",
    "broader",
)

# Which (subject type, object type) pairs each predicate admits: the ontology's
# domains and ranges, used by rules to refuse ill-typed relations early.
SIGNATURES: Mapping[str, tuple[frozenset[str], frozenset[str]]] = {
    "develops": (frozenset({"Organization", "Person"}), frozenset({"Product", "Technology"})),
    "inField": (frozenset({"Organization", "Product", "Event", "Policy"}), frozenset({"Technology"})),
    "basedOn": (frozenset({"Product"}), frozenset({"Product", "Technology"})),
    "subsidiaryOf": (frozenset({"Organization"}), frozenset({"Organization"})),
    "partnerOf": (frozenset({"Organization", "Person"}), frozenset({"Organization", "Person"})),
    "investsIn": (frozenset({"Organization", "Person"}), frozenset({"Organization"})),
    "acquires": (frozenset({"Organization", "Person"}), frozenset({"Organization"})),
    "affiliatedWith": (frozenset({"Person"}), frozenset({"Organization"})),
    "participant": (frozenset({"Event"}), frozenset({"Organization", "Person", "Product"})),
    "locatedIn": (frozenset({"Organization", "Event"}), frozenset({"Place"})),
    "regulates": (frozenset({"Policy"}), frozenset({"Technology", "Organization"})),
    "broader": (frozenset({"Technology"}), frozenset({"Technology"})),
}

SYMMETRIC: frozenset[str] = frozenset({"partnerOf"})


def admits(predicate: str, subject_type: str, object_type: str) -> bool:
    """True when the ontology allows `predicate` between these two types."""
    domain, range_ = SIGNATURES[predicate]
    return subject_type in domain and object_type in range_


@dataclass(frozen=True)
class Sentence:
    """A sentence of a document; `offsets[i]` is the original-file index of `text[i]`."""

    doc: str
    index: int
    text: str
    start: int
    end: int
    offsets: tuple[int, ...] = field(repr=False, compare=False)
    section: str = ""

    def original_span(self, start: int, end: int) -> tuple[int, int]:
        """Map a [start, end) span of `text` to the original file."""
        return self.offsets[start], self.offsets[end - 1] + 1


@dataclass(frozen=True)
class Document:
    """A decoded source file with its cleaned sentences and front-matter metadata."""

    name: str
    path: str
    text: str
    encoding: str
    meta: Mapping[str, object]
    sentences: tuple[Sentence, ...]
    warnings: tuple[str, ...] = ()

    @property
    def language(self) -> str:
        cjk = sum(1 for c in self.text if "\u4e00" <= c <= "\u9fff")
        return "zh" if cjk * 5 >= max(1, len(self.text.strip())) * 0.5 or cjk > 50 else "en"


@dataclass(frozen=True)
class Mention:
    """One occurrence of an entity in a sentence, with how it was found."""

    doc: str
    sentence: int
    start: int  # offsets in the sentence text
    end: int
    text: str
    type: str
    method: str
    confidence: float
    canonical: str = ""  # the lexicon or rule's canonical name, if known

    @property
    def span(self) -> tuple[int, int]:
        return self.start, self.end


@dataclass(frozen=True)
class Entity:
    """A resolved thing: one stable key, labels, aliases and the mentions behind it."""

    key: str
    type: str
    label: str
    label_en: str = ""
    aliases: tuple[str, ...] = ()
    qid: str = ""
    date: str = ""
    mentions: tuple[Mention, ...] = ()
    merges: tuple[tuple[str, str], ...] = ()  # (alias, why it was merged)
    method: str = "extraction"


@dataclass(frozen=True)
class Evidence:
    """Where a relation was read: the document, the sentence, and what produced it."""

    doc: str
    sentence: int
    method: str
    confidence: float


@dataclass(frozen=True)
class Relation:
    """A typed, directed fact between two entity keys, with all its evidence."""

    subject: str
    predicate: str
    object: str
    evidence: tuple[Evidence, ...] = ()

    @property
    def confidence(self) -> float:
        return max((e.confidence for e in self.evidence), default=1.0)

    @property
    def triple(self) -> tuple[str, str, str]:
        return self.subject, self.predicate, self.object


def entity_key(type_: str, name: str) -> str:
    """The stable key of an entity: its type and normalised canonical name."""
    from kg.normalize import normalize_name

    return f"{type_.lower()}:{normalize_name(name)}"
