"""Throughput of the full extraction against bare jieba segmentation on the same text.

Prints characters per second for both, in the same run, and the ratio (target ≥ 0.3).
Usage: python bench/extract.py [PATHS…] [--repeat N]
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

import jieba

from kg.ingest import discover, load_document
from kg.nlp.lexicon import load_lexicon
from kg.nlp.patterns import load_patterns
from kg.nlp.pipeline import Extractor
from kg.pipeline import load_relation_model

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("paths", nargs="*", default=[str(ROOT / "data" / "corpus")])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    documents = [load_document(p) for p in discover(args.paths)]
    chars = sum(len(s.text) for d in documents for s in d.sentences)
    jieba.setLogLevel(60)
    jieba.initialize()
    extractor = Extractor(load_lexicon(), load_patterns(), relation_model=load_relation_model())  # as kg build runs it
    extractor.extract(documents[0])  # warm caches (jieba dictionaries, tagger)

    def best(fn) -> float:
        times = []
        for _ in range(args.repeat):
            t = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t)
        return min(times)

    bare = best(lambda: [list(jieba.cut(s.text)) for d in documents for s in d.sentences])
    full = best(lambda: [extractor.extract(d) for d in documents])
    print(f"text: {len(documents)} documents, {chars:,} characters (best of {args.repeat})")
    print(f"bare jieba:       {chars / bare:>12,.0f} chars/s  ({bare:.2f} s)")
    print(f"full extraction:  {chars / full:>12,.0f} chars/s  ({full:.2f} s)")
    print(f"ratio full/bare:  {bare / full:>12.2f}  (target >= 0.30)")


if __name__ == "__main__":
    main()
