"""Train spaCy's `ner` on hand-corrected mentions, and the leave-one-document-out evaluation.

Training data are hand decisions: the gold annotations in `data/gold/` (every name and
alias of an annotated entity, projected onto the document's sentences) and the curated
mentions of the ledger. The model only adds spans the rules did not find: in
`techkg_entities` rule and lexicon spans win every overlap.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Sequence

import spacy
from spacy.language import Language
from spacy.training import Example

from kg.evaluate import Gold, evaluate, load_gold_dir
from kg.ingest import load_document
from kg.model import Document
from kg.nlp.lexicon import LexEntry, Lexicon, load_lexicon
from kg.nlp.patterns import Patterns, load_patterns
from kg.nlp.pipeline import LABELS, JiebaWords, _jieba_tokenizer
from kg.normalize import fold_text

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "data" / "corpus"
MODEL_DIR = ROOT / "data" / "models" / "ner"
RELATION_MODEL = ROOT / "data" / "models" / "relations.json"


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    type: str


def project_gold(document: Document, gold: Gold) -> list[list[Span]]:
    """Gold names found in each sentence, longest first, without overlaps."""
    names: list[tuple[str, str]] = []
    for entity in gold.entities:
        if entity.type == "Event":
            continue  # event names are descriptions, not surface forms
        for name in entity.names:
            if len(name) >= 2:
                names.append((name, entity.type))
    names.sort(key=lambda n: -len(n[0]))
    out = []
    for sentence in document.sentences:
        folded = fold_text(sentence.text)
        taken: list[Span] = []
        for name, type_ in names:
            start = folded.find(name)
            while start >= 0:
                end = start + len(name)
                if all(end <= s.start or start >= s.end for s in taken) and _bounded(folded, start, end):
                    taken.append(Span(start, end, type_))
                start = folded.find(name, start + 1)
        out.append(sorted(taken, key=lambda s: s.start))
    return out


def _bounded(text: str, start: int, end: int) -> bool:
    def latin(c: str) -> bool:
        return c.isascii() and c.isalnum()

    return not (latin(text[start]) and start > 0 and latin(text[start - 1])) and \
        not (latin(text[end - 1]) and end < len(text) and latin(text[end]))


def gold_lexicon(golds: Iterable[Gold], documents: dict[str, Document]) -> list[LexEntry]:
    """Hand-annotated names as gazetteer entries (used only for documents they were not made on)."""
    entries = []
    for gold in golds:
        for entity in gold.entities:
            if entity.type == "Event":
                continue
            names = sorted(entity.names - {entity.canonical.casefold()})
            entries.append(LexEntry(canonical=entity.canonical, type=entity.type, zh_aliases=tuple(names),
                                    source=f"gold:{gold.doc}"))
    return entries


def fold_lexicon(base: Lexicon, decisions: Sequence, others: Sequence[Document], *, patterns: Patterns) -> Lexicon:
    """The gazetteer as hand decisions about `others` leave it, for a document that is not among them.

    Decisions are replayed on the extraction of the other documents; those that apply there
    count: names added by hand (only if they occur in another document), renames, merges and
    splits; an entity reviewers rejected there is no longer proposed by the gazetteer.
    """
    from kg import curate
    from kg.model import entity_key
    from kg.normalize import normalize_name
    from kg.pipeline import extract_corpus

    if not decisions or not others:
        return base
    extraction = extract_corpus(others, lexicon=base, patterns=patterns)
    _, _, report = curate.apply(extraction.entities, extraction.relations, decisions, documents=others)
    applied = {id(d) for d in report.applied}
    texts = [normalize_name(d.text) for d in others]

    def occurs(d) -> bool:
        names = [str(d.get("label"))] + [str(a) for a in d.get("aliases", []) or []]
        return any(normalize_name(n) and normalize_name(n) in t for n in names for t in texts)

    kept = [d for d in curate.live_decisions(decisions) if id(d) in applied and d.op != "reject"
            and (d.op != "add-entity" or occurs(d))]
    rejected = {str(d.get("target")) for d in report.applied
                if d.op == "reject" and curate.target_kind(str(d.get("target"))) == "entity"}
    lexicon = curate.curated_lexicon(base, kept)
    return Lexicon(entries=tuple(e for e in lexicon.entries if entity_key(e.type, e.canonical) not in rejected),
                   broader=lexicon.broader)


def train_ner(documents: Sequence[Document], spans: Sequence[Sequence[Sequence[Span]]], *, lexicon: Lexicon,
              epochs: int = 12, seed: int = 0, progress: Callable[[int, float], None] | None = None) -> Language:
    """A blank zh pipeline (jieba with the lexicon) whose only component is a trained `ner`."""
    spacy.util.fix_random_seed(seed)
    nlp = spacy.blank("zh", config={"nlp": {"tokenizer": {"segmenter": "jieba"}}})
    nlp.tokenizer = JiebaWords(nlp.vocab, _jieba_tokenizer(lexicon))  # the tokens kg build sees
    ner = nlp.add_pipe("ner")
    for label in LABELS.values():
        ner.add_label(label)
    examples = []
    for document, doc_spans in zip(documents, spans):
        for sentence, sentence_spans in zip(document.sentences, doc_spans):
            doc = nlp.make_doc(sentence.text)
            ents = []
            for s in sentence_spans:
                span = doc.char_span(s.start, s.end, label=LABELS[s.type], alignment_mode="contract")
                if span is not None and len(span) and all(span.start >= e.end or span.end <= e.start for e in ents):
                    ents.append(span)
            ents.sort(key=lambda e: e.start)
            reference = doc.copy()
            reference.ents = ents
            examples.append(Example(nlp.make_doc(sentence.text), reference))
    optimizer = nlp.initialize(lambda: examples)
    rng = random.Random(seed)
    for epoch in range(epochs):
        rng.shuffle(examples)
        losses: dict[str, float] = {}
        for batch in spacy.util.minibatch(examples, size=32):
            nlp.update(batch, sgd=optimizer, drop=0.2, losses=losses)
        if progress:
            progress(epoch + 1, losses.get("ner", 0.0))
    return nlp


def leave_one_out(*, gold_dir: Path | None = None, corpus: Path = CORPUS, epochs: int = 12,
                  use_ner: bool = True, use_relations: bool = True, threshold: float = 0.35,
                  curation_dir: Path | None = None, progress: Callable[[str], None] | None = None) -> dict:
    """For each gold document: lexicon and model from the others only, score on it.

    The relation model also learns from the reviewed documents that have no gold (their
    ledger decisions), never from a relation added on the held-out document; the held-out
    document is extracted with the general lexicon plus the other gold documents' names."""
    from kg import curate
    from kg.pipeline import extract_corpus
    from kg.build import build_dataset

    golds = load_gold_dir(gold_dir)
    documents = {g.doc: load_document(corpus / g.doc) for g in golds}
    base = load_lexicon()
    patterns = load_patterns()
    ledger = curate.load_ledger(curation_dir)
    gold_docs = {g.doc for g in golds}
    reviewed = [load_document(p) for p in sorted(corpus.glob("*.txt")) if p.name not in gold_docs] if ledger else []
    folds = {}
    for held in golds:
        others = [g for g in golds if g.doc != held.doc]
        other_docs = [documents[g.doc] for g in others] + list(reviewed)
        lexicon = fold_lexicon(base, ledger, other_docs, patterns=patterns).extended(gold_lexicon(others, documents))
        ner = None
        if use_ner:
            train_docs = [documents[g.doc] for g in others]
            ner = train_ner(train_docs, [project_gold(documents[g.doc], g) for g in others],
                            lexicon=lexicon, epochs=epochs)
        relation_model = None
        if use_relations:
            decisions = [d for d in ledger if not (d.op == "add-relation" and d.get("doc") == held.doc)]
            relation_model = train_relations([documents[g.doc] for g in others], others, lexicon=lexicon,
                                             patterns=patterns, threshold=threshold, reviewed=reviewed,
                                             decisions=decisions)
        extraction = extract_corpus([documents[held.doc]], lexicon=lexicon, patterns=patterns, ner=ner,
                                    relation_model=relation_model)
        graph = build_dataset([documents[held.doc]], extraction.entities, extraction.relations, ontology=None)
        ev = evaluate(graph, [held])
        folds[held.doc] = ev.as_dict()
        if progress:
            progress(f"{held.doc}: entity F1 {ev.entities.f1:.3f}, relation F1 {ev.relations.f1:.3f}")
    def micro(kind: str) -> dict:
        tp = sum(f[kind]["tp"] for f in folds.values())
        fp = sum(f[kind]["fp"] for f in folds.values())
        fn = sum(f[kind]["fn"] for f in folds.values())
        p = tp / (tp + fp) if tp + fp else 0.0
        r = tp / (tp + fn) if tp + fn else 0.0
        return {"precision": round(p, 4), "recall": round(r, 4), "f1": round(2 * p * r / (p + r) if p + r else 0.0, 4)}
    return {"folds": folds, "entities": micro("entities"), "relations": micro("relations")}


def relation_examples(documents: Sequence[Document], golds: Sequence[Gold], *, lexicon: Lexicon,
                      patterns: Patterns) -> list:
    """Every candidate pair of mentions the rules find in a gold document, labelled with the gold
    predicate when the gold relates the two names with evidence in that sentence, `none` when
    the gold relates them nowhere. Pairs related elsewhere but not here are left out."""
    from kg.model import admits
    from kg.nlp.pipeline import Extractor
    from kg.nlp.relmodel import LEARNED, NONE, Example as RelExample, candidate_pairs, features
    from kg.normalize import normalize_name

    extractor = Extractor(lexicon, patterns)
    by_doc = {g.doc: g for g in golds}
    examples = []
    for document in documents:
        gold = by_doc.get(document.name)
        if gold is None:
            continue
        names = {}
        for g in gold.entities:
            for n in g.names:
                names.setdefault(n, g.canonical)
        related: dict[tuple[str, str], list[tuple[str, str]]] = {}
        for s, p, o, evidence in gold.relations:
            related.setdefault((s, o), []).append((p, normalize_name(evidence)))
        for ex in extractor.extract(document):
            text = document.sentences[ex.sentence].text
            folded = normalize_name(text)
            mentions = ex.mentions

            def canonical(m) -> str | None:
                return names.get(normalize_name(text[m.start:m.end])) or names.get(normalize_name(m.canonical or ""))

            for pair in candidate_pairs(mentions):
                a, b = mentions[pair.subject], mentions[pair.object]
                ga, gb = canonical(a), canonical(b)
                label = NONE
                if ga and gb and ga != gb:
                    found = related.get((ga, gb), []) + [("?", e) for _, e in related.get((gb, ga), [])]
                    here = [p for p, e in found if e and (e[:8] in folded or folded in e)]
                    if found and not here:
                        continue  # related, but read from another sentence: no label for this one
                    good = [p for p in here if p in LEARNED and admits(p, a.type, b.type)]
                    if good:
                        label = good[0]
                    elif here:
                        continue  # the reverse direction or a predicate the model does not learn
                examples.append(RelExample(tuple(features(text, ex.tokens, mentions, pair)), label))
    return examples


def curated_relation_examples(documents: Sequence[Document], decisions: Sequence, *, lexicon: Lexicon,
                              patterns: Patterns) -> list:
    """Labelled pairs from reviewed documents: a relation a reviewer accepted or added, read in
    this sentence, is a positive; two entities the reviewers vouched for with no relation
    between them anywhere is a negative (the review added what extraction missed). Pairs
    touching something undecided are left out."""
    from kg import curate
    from kg.model import admits
    from kg.nlp.pipeline import Extractor
    from kg.nlp.relmodel import LEARNED, NONE, Example as RelExample, candidate_pairs, features
    from kg.resolve import resolve

    if not documents or not decisions:
        return []
    lexicon = curate.curated_lexicon(lexicon, decisions)
    extractor = Extractor(lexicon, patterns)
    per_doc = [extractor.extract(d) for d in documents]
    extraction = resolve(documents, per_doc, lexicon, field_heads=dict(patterns.relations.get("field_heads", {})))
    entities, relations, report = curate.apply(extraction.entities, extraction.relations, decisions,
                                               documents=documents)
    owner = {(m.doc, m.sentence, m.start, m.end): e.key for e in entities for m in e.mentions}
    read_in: dict[tuple[str, str], dict[tuple[str, int], str]] = {}
    for r in relations:
        if r.triple not in report.decided_relations:
            continue
        for ev in r.evidence:
            read_in.setdefault((r.subject, r.object), {})[(ev.doc, ev.sentence)] = r.predicate
    related = {(r.subject, r.object) for r in relations} | {(r.object, r.subject) for r in relations}
    examples = []
    for document, sentences in zip(documents, per_doc):
        for ex in sentences:
            text = document.sentences[ex.sentence].text
            for pair in candidate_pairs(ex.mentions):
                a, b = ex.mentions[pair.subject], ex.mentions[pair.object]
                ka = owner.get((document.name, ex.sentence, a.start, a.end))
                kb = owner.get((document.name, ex.sentence, b.start, b.end))
                if not ka or not kb or ka == kb:
                    continue
                predicate = read_in.get((ka, kb), {}).get((document.name, ex.sentence))
                if predicate in LEARNED and admits(predicate, a.type, b.type):
                    label = predicate
                elif (ka, kb) in related or predicate:
                    continue  # related elsewhere, the other way, or by a predicate the model leaves to rules
                elif ka in report.decided_entities and kb in report.decided_entities:
                    label = NONE
                else:
                    continue
                examples.append(RelExample(tuple(features(text, ex.tokens, ex.mentions, pair)), label))
    return examples


def train_relations(documents: Sequence[Document], golds: Sequence[Gold], *, lexicon: Lexicon,
                    patterns: Patterns, threshold: float = 0.35, reviewed: Sequence[Document] = (),
                    decisions: Sequence = ()):
    """The relation model from gold documents and, when given, from reviewed documents and the ledger."""
    from kg.nlp.relmodel import train

    examples = relation_examples(documents, golds, lexicon=lexicon, patterns=patterns)
    examples += curated_relation_examples(reviewed, decisions, lexicon=lexicon, patterns=patterns)
    return train(examples, threshold=threshold,
                 meta={"documents": sorted({g.doc for g in golds} | {d.name for d in reviewed}),
                       "examples": len(examples)})


def train_relation_model(*, gold_dir: Path | None = None, corpus: Path = CORPUS, path: Path = RELATION_MODEL,
                         curation_dir: Path | None = None, threshold: float = 0.35) -> tuple[Path, dict]:
    """The shipped relation model: learned from every gold document and from the reviewed
    documents without gold (their ledger decisions), saved as JSON."""
    from kg import curate
    from kg.export.atomic import atomic_write

    golds = load_gold_dir(gold_dir)
    documents = [load_document(corpus / g.doc) for g in golds]
    gold_docs = {g.doc for g in golds}
    decisions = curate.load_ledger(curation_dir)
    reviewed = [load_document(p) for p in sorted(corpus.glob("*.txt")) if p.name not in gold_docs] if decisions else []
    model = train_relations(documents, golds, lexicon=load_lexicon(), patterns=load_patterns(), threshold=threshold,
                            reviewed=reviewed, decisions=decisions)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, model.to_json() + "\n")
    return path, model.meta


def save(nlp: Language, path: Path = MODEL_DIR) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    nlp.get_pipe("ner").to_disk(path)
    return path
