"""SPARQL benchmarks: loading and the saved questions, rdflib in memory against Oxigraph.

Prints, for the corpus graph and for a generated graph of about 1,000,000 triples in the
shape of docs/data-model.md:
  * load: rdflib parsing the TriG (memory store), `OxigraphStore.push` of the same file, and
    bare pyoxigraph parsing it (the push should stay within 2x of the bare parse);
  * every saved question on both stores, with the ratio memory/Oxigraph;
  * p50/p95 latency of the saved questions through `kg serve` (HTTP, both stores, corpus);
  * the cost of inference (rdfs, owlrl) on both graphs.

    .venv/bin/python bench/sparql.py                    # corpus + 1M triples (a few minutes)
    .venv/bin/python bench/sparql.py --triples 0        # corpus only
"""
from __future__ import annotations

import argparse
import gc
import random
import resource
import statistics
import tempfile
import threading
import time
from pathlib import Path

import httpx
import pyoxigraph

from kg.errors import KGError
from kg.infer import entailments
from kg.query import load_graph, load_query, run, saved_queries
from kg.serve import Limits, make_server
from kg.store import MemoryStore, OxigraphStore

ROOT = Path(__file__).resolve().parents[1]
TK = "https://w3id.org/techkg/ontology#"
R = "https://w3id.org/techkg/resource/"
DOC = "https://w3id.org/techkg/doc/"
GRAPH = "https://w3id.org/techkg/graph/"
TYPES = ["Organization", "Person", "Technology", "Product", "Event", "Place", "Policy"]
PREDICATES = {"Organization": [("develops", "Product"), ("inField", "Technology"), ("partnerOf", "Organization"),
                               ("locatedIn", "Place")],
              "Person": [("affiliatedWith", "Organization")],
              "Product": [("inField", "Technology"), ("basedOn", "Product")],
              "Technology": [("broader", "Technology")],
              "Policy": [("regulates", "Technology")],
              "Event": [("participant", "Organization")],
              "Place": []}
DEFAULTS = {("Organization", 0): "organization/ibm", ("Technology", 0): "technology/量子芯片",
            ("Technology", 1): "technology/人工智能", ("Product", 0): "product/heron"}


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def lit(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def generate(path: Path, triples: int, *, seed: int = 7) -> int:
    """A TriG file of about `triples` triples shaped like the built graph; returns the count."""
    rng = random.Random(seed)
    docs = 50
    # per document: sentences (6 triples), mentions (9), assertions (9 with the fact);
    # entities are described (6-7 triples) in the first document that mentions them
    entities = max(triples // 50, 70)
    names = {t: [] for t in TYPES}
    for i in range(entities):
        t = TYPES[i % len(TYPES)]
        n = len(names[t])
        names[t].append(R + DEFAULTS.get((t, n), f"{t.lower()}/e{i}"))
    described: set[str] = set()
    count = 0
    per_doc = triples // docs
    with path.open("w", encoding="utf-8") as out:
        out.write(f"@prefix tk: <{TK}> .\n@prefix xsd: <http://www.w3.org/2001/XMLSchema#> .\n"
                  "@prefix rdf: <http://www.w3.org/1999/02/22-rdf-syntax-ns#> .\n"
                  "@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .\n")
        onto = (ROOT / "ontology" / "techkg.ttl").read_text(encoding="utf-8")
        body = "\n".join(line for line in onto.splitlines() if not line.startswith("@prefix"))
        prefixes = "\n".join(line for line in onto.splitlines() if line.startswith("@prefix"))
        out.write(prefixes + "\n" + f"<{GRAPH}ontology> {{\n{body}\n}}\n")
        for d in range(docs):
            name = f"gen_{d:03d}.txt"
            doc = f"<{DOC}{name}>"
            out.write(f"<{GRAPH}doc/{name}> {{\n{doc} a tk:Document ; tk:fileName {lit(name)} .\n")
            count += 3
            written = 0
            offset = 0
            while written < per_doc:
                start, end = offset, offset + 60
                offset = end + 1
                sentence = f"<{DOC}{name}/s/{start}-{end}>"
                out.write(f"{sentence} a tk:Sentence ; tk:inDocument {doc} ; tk:text {lit('句子 %d' % start)}@zh ; "
                          f"tk:start {start} ; tk:end {end} ; tk:index {start // 61} .\n")
                written += 6
                mentioned = []
                for k in range(rng.randint(2, 5)):
                    t = rng.choice(TYPES)
                    e = names[t][min(int(rng.paretovariate(1.2)) - 1, len(names[t]) - 1)]
                    mentioned.append((t, e))
                    m = f"<{DOC}{name}/m/{start + 10 * k}-{start + 10 * k + 3}>"
                    out.write(f"{m} a tk:Mention ; tk:mentionOf <{e}> ; tk:inSentence {sentence} ; "
                              f"tk:inDocument {doc} ; tk:surface {lit(e.rsplit('/', 1)[1])} ; tk:start {start} ; "
                              f"tk:end {start + 3} ; tk:method \"lexicon\" ; tk:confidence 0.95 .\n")
                    written += 9
                    if e not in described:
                        described.add(e)
                        label = e.rsplit("/", 1)[1]
                        out.write(f"<{e}> a tk:{t} ; rdfs:label {lit(label)}@zh ; tk:key {lit(t.lower() + ':' + label)} ; "
                                  f"tk:mentionCount 1")
                        written += 4
                        if rng.random() < 0.5:
                            out.write(f" ; rdfs:label {lit(label.upper())}@en")
                            written += 1
                        if t == "Event":
                            out.write(f' ; tk:date "20{rng.randint(10, 25)}-{rng.randint(1, 12):02d}"^^xsd:gYearMonth')
                            written += 1
                        out.write(" .\n")
                for t, e in mentioned:
                    if not PREDICATES[t] or rng.random() < 0.5:
                        continue
                    p, range_type = rng.choice(PREDICATES[t])
                    o = names[range_type][min(int(rng.paretovariate(1.5)) - 1, len(names[range_type]) - 1)]
                    if o == e:
                        continue
                    a = f"<https://w3id.org/techkg/assertion/g{d}_{start}_{rng.getrandbits(32):x}>"
                    out.write(f"<{e}> tk:{p} <{o}> .\n{a} a tk:Assertion , rdf:Statement ; rdf:subject <{e}> ; "
                              f"rdf:predicate tk:{p} ; rdf:object <{o}> ; tk:evidence {sentence} ; "
                              f"tk:inDocument {doc} ; tk:method \"rule:gen\" ; tk:confidence 0.{rng.randint(5, 9)} .\n")
                    written += 10
            out.write("}\n")
            count += written
    return count


def timed(fn):
    gc.collect()
    started = time.perf_counter()
    value = fn()
    return value, time.perf_counter() - started


def ratio(a: float | None, b: float | None) -> str:
    return f"{a / b:7.1f}x" if a and b else "      -"


def fmt(seconds: float | None) -> str:
    return "timeout" if seconds is None else f"{seconds:7.3f}"


def load_section(title: str, path: Path, workdir: Path) -> tuple[MemoryStore, OxigraphStore]:
    print(f"\n== {title}: {path.name} ({path.stat().st_size / 1e6:.1f} MB)")
    before = rss_mb()
    ds, t_mem = timed(lambda: load_graph(path))
    grown = rss_mb() - before
    n_quads, t_bare = timed(lambda: sum(1 for _ in pyoxigraph.parse(path=str(path), format=pyoxigraph.RdfFormat.TRIG)))
    bare_store = pyoxigraph.Store(str(workdir / "bare"))
    _, t_bulk = timed(lambda: bare_store.bulk_load(path=str(path), format=pyoxigraph.RdfFormat.TRIG))
    del bare_store
    store = OxigraphStore(workdir / "oxigraph")
    report, t_push = timed(lambda: store.push(path))
    store.close()
    print(f"  quads {n_quads:,} (as parsed, before rdflib drops repeats); process peak RSS grew by ~{grown:,.0f} MB "
          "while rdflib parsed")
    print(f"  {'rdflib parse (memory store)':36} {t_mem:8.2f} s")
    print(f"  {'kg push to Oxigraph (parse+insert)':36} {t_push:8.2f} s   {t_mem / t_push:5.1f}x faster than rdflib")
    print(f"  {'bare pyoxigraph.parse (no store)':36} {t_bare:8.2f} s")
    print(f"  {'bare pyoxigraph Store.bulk_load':36} {t_bulk:8.2f} s   push / bare bulk_load = {t_push / t_bulk:4.2f} "
          f"({'within' if t_push <= 2 * t_bulk else 'OVER'} 2x)")
    return MemoryStore(ds), OxigraphStore(workdir / "oxigraph").open()


def questions_section(memory: MemoryStore, oxigraph: OxigraphStore, timeout: float) -> None:
    print(f"  {'saved question':32} {'memory s':>8} {'oxigraph s':>10} {'ratio':>8} {'rows':>6}")
    total_m = total_o = 0.0
    for name in saved_queries():
        text, source = load_query(name=name)
        times, rows = [], None
        for store in (memory, oxigraph):
            try:
                result, seconds = timed(lambda: run(store, text, source=source, timeout=timeout))
                rows = len(result.rows)
            except KGError:
                seconds = None
            times.append(seconds)
        total_m += times[0] if times[0] is not None else timeout
        total_o += times[1] or 0
        print(f"  {name:32} {fmt(times[0]):>8} {fmt(times[1]):>10} {ratio(times[0], times[1]):>8} {rows!s:>6}")
    print(f"  {'all (timeouts count as ' + format(timeout, 'g') + ' s)':32} {total_m:8.2f} {total_o:10.3f} "
          f"{ratio(total_m, total_o):>8}")


def serve_section(stores: dict[str, object], repeat: int) -> None:
    print(f"\n== latency through kg serve (HTTP on 127.0.0.1, {repeat} runs per question, sequential)")
    names = list(saved_queries())
    for label, store in stores.items():
        server = make_server(store, port=0, limits=Limits(timeout=60, max_rows=100_000))
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        latencies: dict[str, list[float]] = {n: [] for n in names}
        failed: dict[str, int] = {}
        with httpx.Client(timeout=120) as client:
            for _ in range(repeat):
                for name in names:
                    text, _ = load_query(name=name)
                    started = time.perf_counter()
                    response = client.post(server.url, data={"query": text})
                    latencies[name].append(time.perf_counter() - started)
                    if response.status_code != 200:
                        failed[name] = failed.get(name, 0) + 1
        server.shutdown()
        server.server_close()
        every = sorted(x for v in latencies.values() for x in v)
        p = lambda xs, q: xs[min(len(xs) - 1, int(q * len(xs)))] * 1000  # noqa: E731
        print(f"  {label}: all questions p50 {p(every, 0.5):7.1f} ms   p95 {p(every, 0.95):8.1f} ms")
        slowest = sorted(names, key=lambda n: -statistics.median(latencies[n]))[:3]
        print("    slowest p50: " + ", ".join(f"{n} {statistics.median(latencies[n]) * 1000:.0f} ms" for n in slowest))
        if failed:
            print("    not 200 (timeouts at 60 s): " + ", ".join(f"{n} {k}x" for n, k in failed.items()))


def inference_section(memory: MemoryStore, oxigraph: OxigraphStore) -> None:
    for regime in ("rdfs", "owlrl"):
        added, t_rules = timed(lambda: entailments(memory.graph, regime))
        _, t_mem = timed(lambda: memory.with_inference(regime))
        _, t_ox = timed(lambda: oxigraph.with_inference(regime))
        print(f"  {regime:6} +{len(added):,} triples: rules {t_rules:6.2f} s; copy+rules memory {t_mem:6.2f} s, "
              f"oxigraph {t_ox:6.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--graph", type=Path, default=ROOT / "build" / "kg.trig", help="the corpus graph (TriG)")
    parser.add_argument("--triples", type=int, default=1_000_000, help="size of the generated graph (0: skip)")
    parser.add_argument("--repeat", type=int, default=20, help="runs per question through kg serve")
    parser.add_argument("--timeout", type=float, default=60, help="seconds per question")
    parser.add_argument("--owlrl-package", action="store_true", help="also time the owlrl package (~1-3 min)")
    parser.add_argument("--skip-corpus", action="store_true", help="only the generated graph")
    parser.add_argument("--skip-questions", action="store_true", help="no per-question table for the generated graph")
    args = parser.parse_args()
    if not args.skip_corpus and not args.graph.exists():
        raise SystemExit(f"{args.graph} is missing: run `kg build` first")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "corpus").mkdir()
        if args.skip_corpus:
            args.graph = None
        if args.graph:
            memory, oxigraph = load_section("corpus", args.graph, work / "corpus")
            questions_section(memory, oxigraph, args.timeout)
            serve_section({"memory": memory, "oxigraph": oxigraph}, args.repeat)
            print("\n== inference (on a copy)")
            inference_section(memory, oxigraph)
        if args.graph and args.owlrl_package:
            import owlrl

            from kg.export.rdf import union_graph

            for semantics in (owlrl.OWLRL_Semantics, owlrl.RDFS_Semantics):
                g = union_graph(memory.graph)
                _, seconds = timed(lambda: owlrl.DeductiveClosure(semantics, axiomatic_triples=False,
                                                                  datatype_axioms=False).expand(g))
                print(f"  owlrl package {semantics.__name__}: {seconds:.1f} s")
        if args.graph:
            oxigraph.close()
        if args.triples:
            big = work / "generated.trig"
            count, seconds = timed(lambda: generate(big, args.triples))
            print(f"\n(generated {count:,} triples in {seconds:.1f} s)")
            (work / "big").mkdir()
            memory, oxigraph = load_section(f"generated graph, {count:,} triples", big, work / "big")
            if not args.skip_questions:
                questions_section(memory, oxigraph, args.timeout)
            serve_section({"oxigraph": oxigraph}, max(3, args.repeat // 4))
            print("\n== inference on the generated graph")
            inference_section(memory, oxigraph)
            oxigraph.close()


if __name__ == "__main__":
    main()
