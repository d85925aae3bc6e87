"""Throughput of the full extraction against bare jieba segmentation on the same text.

Prints characters per second for both, in the same run, and the ratio (target ≥ 0.3): from
the best run of each, and the median of runs taken back to back.
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
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    documents = [load_document(p) for p in discover(args.paths)]
    chars = sum(len(s.text) for d in documents for s in d.sentences)
    jieba.setLogLevel(60)
    jieba.initialize()
    extractor = Extractor(load_lexicon(), load_patterns(), relation_model=load_relation_model())  # as kg build runs it
    extractor.extract(documents[0])  # warm caches (jieba dictionaries, tagger)

    def timed(fn) -> float:
        t = time.perf_counter()
        fn()
        return time.perf_counter() - t

    # bare and full alternate, so that both see the same machine load; on a shared VM the
    # paired ratios are steadier than two best-ofs taken at different moments
    pairs = []
    for _ in range(args.repeat):
        b = timed(lambda: [list(jieba.cut(s.text)) for d in documents for s in d.sentences])
        f = timed(lambda: [extractor.extract(d) for d in documents])
        pairs.append((b, f))
    bare = min(b for b, _ in pairs)
    full = min(f for _, f in pairs)
    ratios = sorted(b / f for b, f in pairs)
    print(f"text: {len(documents)} documents, {chars:,} characters (best of {args.repeat})")
    print(f"bare jieba:       {chars / bare:>12,.0f} chars/s  ({bare:.2f} s)")
    print(f"full extraction:  {chars / full:>12,.0f} chars/s  ({full:.2f} s)")
    print(f"ratio full/bare:  {bare / full:>12.2f}  (best of each; target >= 0.30)")
    print(f"paired ratios:    {ratios[len(ratios) // 2]:>12.2f}  median (range {ratios[0]:.2f}–{ratios[-1]:.2f})")


if __name__ == "__main__":
    main()
