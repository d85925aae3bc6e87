"""Compose the stages: ingest → extract → resolve → curate → build → export. No stage logic here."""
from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Sequence

from rdflib import Dataset

from kg import curate as curation
from kg.build import build_dataset
from kg.errors import IngestError, KGError
from kg.ingest import discover, load_document
from kg.model import Document, Entity, Relation
from kg.nlp.lexicon import Lexicon, load_lexicon
from kg.nlp.patterns import Patterns, load_patterns
from kg.nlp.pipeline import Extractor
from kg.resolve import resolve

Progress = Callable[[str, int, int], None]


def _quiet(stage: str, done: int, total: int) -> None:
    return None


@dataclass
class BuildResult:
    dataset: Dataset
    documents: list[Document]
    entities: list[Entity]
    relations: list[Relation]
    warnings: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    report: curation.Report | None = None
    seconds: float = 0.0
    outputs: list[Path] = field(default_factory=list)

    def summary(self) -> dict:
        return {
            "documents": len(self.documents),
            "sentences": sum(len(d.sentences) for d in self.documents),
            "entities": dict(sorted(Counter(e.type for e in self.entities).items())),
            "relations": dict(sorted(Counter(r.predicate for r in self.relations).items())),
            "triples": len(self.dataset),
            "warnings": len(self.warnings),
            "skipped": len(self.skipped),
            "decisions": len(self.report.applied) if self.report else 0,
            "stale": len(self.report.stale) if self.report else 0,
            "seconds": round(self.seconds, 2),
        }


def load_documents(paths: Iterable[str | Path], *, strict: bool = False,
                   progress: Progress = _quiet) -> tuple[list[Document], list[str]]:
    """Read every document; bad files are reported and skipped unless `strict`."""
    files = discover(paths)
    documents, skipped = [], []
    for i, path in enumerate(files, 1):
        try:
            documents.append(load_document(path))
        except IngestError as exc:
            if strict:
                raise
            skipped.append(str(exc))
        progress("ingest", i, len(files))
    if not documents:
        raise IngestError("nothing could be built: " + "; ".join(skipped) if skipped else "no documents")
    return documents, skipped


def curated_lexicon(base: Lexicon, decisions: Sequence[curation.Decision]) -> Lexicon:
    """Hand-added entities, renames, merges and splits extend the gazetteer for the next extraction."""
    return curation.curated_lexicon(base, decisions)


RELATION_MODEL = Path(__file__).resolve().parents[1] / "data" / "models" / "relations.json"


def load_relation_model(path: Path | str | None | bool = None):
    """The trained relation model (`kg train`): None or True → the shipped one if present,
    False → none (rules only), a path → that file. Without an argument the environment
    variable TECHKG_RELATION_MODEL may name another file, or `none` for the rules alone."""
    import os

    from kg.nlp.relmodel import RelationModel

    if path is None and os.environ.get("TECHKG_RELATION_MODEL"):
        chosen = os.environ["TECHKG_RELATION_MODEL"]
        path = False if chosen.lower() in ("none", "off", "0") else chosen
    if path is False:
        return None
    chosen = RELATION_MODEL if path in (None, True) else Path(path)
    if path in (None, True) and not chosen.exists():
        return None
    return RelationModel.load(chosen)


def extract_corpus(documents: Sequence[Document], *, lexicon: Lexicon, patterns: Patterns,
                   ner=None, relation_model=None, progress: Progress = _quiet):
    extractor = Extractor(lexicon, patterns, ner=ner, relation_model=relation_model)
    results = []
    for i, document in enumerate(documents, 1):
        results.append(extractor.extract(document))
        progress("extract", i, len(documents))
    return resolve(documents, results, lexicon, field_heads=dict(patterns.relations.get("field_heads", {})))


def build(paths: Sequence[str | Path], *, curation_dir: Path | str | None = None, use_curation: bool = True,
          lexicon_dir: Path | str | None = None, patterns_dir: Path | str | None = None, strict: bool = False,
          relation_model: Path | str | None | bool = None, progress: Progress = _quiet) -> BuildResult:
    started = time.perf_counter()
    documents, skipped = load_documents(paths, strict=strict, progress=progress)
    decisions = curation.load_ledger(curation_dir) if use_curation else []
    lexicon = load_lexicon(lexicon_dir)
    if decisions:
        lexicon = curated_lexicon(lexicon, decisions)
    extraction = extract_corpus(documents, lexicon=lexicon, patterns=load_patterns(patterns_dir),
                                relation_model=load_relation_model(relation_model), progress=progress)
    entities, relations = list(extraction.entities), list(extraction.relations)
    report = None
    if use_curation:
        entities, relations, report = curation.apply(entities, relations, decisions, documents=documents)
    progress("build", 0, 1)
    dataset = build_dataset(documents, entities, relations)
    progress("build", 1, 1)
    warnings = [w for d in documents for w in d.warnings]
    if report:
        warnings += [f"{d.where}: stale decision ({why})" for d, why in report.stale]
        warnings += [f"{d.where}: conflict ({why})" for d, why in report.conflicts]
    return BuildResult(dataset=dataset, documents=documents, entities=entities, relations=relations,
                       warnings=warnings, skipped=skipped, report=report, seconds=time.perf_counter() - started)


def write_outputs(result: BuildResult, out_dir: Path | str, *, html: bool = True,
                  progress: Progress = _quiet) -> list[Path]:
    from kg.export import rdf
    from kg.export.atomic import atomic_outputs

    out = Path(out_dir)
    written = []
    formats = [("turtle", "kg.ttl"), ("jsonld", "kg.jsonld"), ("trig", "kg.trig"), ("nt", "kg.nt")]
    steps = len(formats) + (1 if html else 0)
    with atomic_outputs(out) as stage:  # all outputs are replaced together, or none is
        for i, (fmt, name) in enumerate(formats, 1):
            rdf.write(result.dataset, fmt, stage(name))
            written.append(out / name)
            progress("export", i, steps)
        if html:
            from kg.export.html import write_html

            write_html(result.dataset, stage("kg.html"))
            written.append(out / "kg.html")
            progress("export", steps, steps)
    result.outputs = written
    return written


__all__ = ["build", "write_outputs", "BuildResult", "load_documents", "extract_corpus", "KGError"]
