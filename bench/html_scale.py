"""How the HTML explorer copes with big graphs: python bench/html_scale.py [N ...].

For each size (default 5,000 and 20,000 entities) it builds a random graph in the
shape of docs/data-model.md (1.5 relations per entity, each with an assertion and
an evidence sentence, hubs by preferential attachment), then times explorer_data,
render_explorer, and the page in headless Chromium: time to the first vis
"afterDrawing" and how long common interactions block the page.
Needs Debian's chromium at /usr/bin/chromium. Seeded, so runs are comparable.
"""

from __future__ import annotations

import random
import sys
import tempfile
import time
from pathlib import Path

from rdflib import RDF, RDFS, SKOS, Dataset, Literal

from kg.export.html import ENTITY_TYPES, PREDICATES, explorer_data, render_explorer
from kg.namespace import ASSERTION, DOC, GRAPH, RES, TK

TKR, TKD, TKA, TKG = RES, DOC, ASSERTION, GRAPH
CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
DOCS = 50


def random_graph(n: int, *, seed: int = 7) -> Dataset:
    """``n`` entities, ``1.5 n`` relations with provenance, spread over ``DOCS`` documents."""
    rng = random.Random(seed)
    ds = Dataset(default_union=True)
    graphs = [ds.graph(TKG[f"doc/{d:03d}.txt"]) for d in range(DOCS)]
    entities = []
    for i in range(n):
        kind = rng.choice(ENTITY_TYPES)
        iri = TKR[f"{kind.lower()}/e{i}"]
        g = graphs[i % DOCS]
        g.add((iri, RDF.type, TK[kind]))
        g.add((iri, RDFS.label, Literal(f"实体{i}", lang="zh")))
        g.add((iri, RDFS.label, Literal(f"Entity {i}", lang="en")))
        g.add((iri, SKOS.prefLabel, Literal(f"实体{i}", lang="zh")))
        g.add((iri, SKOS.altLabel, Literal(f"E{i}", lang="en")))
        mention = TKD[f"{i % DOCS:03d}.txt/m/{i}-{i + 3}"]
        g.add((mention, TK.mentionOf, iri))
        g.add((mention, TK.inDocument, TKD[f"{i % DOCS:03d}.txt"]))
        entities.append(iri)
    for d, g in enumerate(graphs):
        g.add((TKD[f"{d:03d}.txt"], RDF.type, TK.Document))
        g.add((TKD[f"{d:03d}.txt"], TK.fileName, Literal(f"{d:03d}.txt")))
    targets = [entities[0]]
    for k in range(int(1.5 * n)):
        s = entities[rng.randrange(n)]
        o = rng.choice(targets) if rng.random() < 0.6 else entities[rng.randrange(n)]
        if s == o:
            continue
        targets.append(o)
        p = TK[rng.choice(PREDICATES)]
        d = rng.randrange(DOCS)
        doc = TKD[f"{d:03d}.txt"]
        sentence = TKD[f"{d:03d}.txt/s/{k * 40}-{k * 40 + 40}"]
        assertion = TKA[f"a{k}"]
        g = graphs[d]
        g.add((s, p, o))
        g.add((sentence, RDF.type, TK.Sentence))
        g.add((sentence, TK.inDocument, doc))
        g.add((sentence, TK.text, Literal(f"句子{k}：{s.split('/')[-1]}与{o.split('/')[-1]}有关。", lang="zh")))
        for pred, obj in (
            (RDF.type, TK.Assertion), (RDF.subject, s), (RDF.predicate, p), (RDF.object, o),
            (TK.evidence, sentence), (TK.inDocument, doc), (TK.method, Literal("rule:bench")),
        ):  # fmt: skip
            g.add((assertion, pred, obj))
    return ds


INTERACTIONS = """async () => {
  const t = window.techkg, net = t.network;
  const drawn = () => new Promise(r => net.once("afterDrawing", r));
  // Each step runs synchronously up to vis's next "afterDrawing": that span is how long
  // the page is frozen. (Long-task entries would merge steps chained by the awaits.)
  const timed = async (fn) => { const p = drawn(); const s = performance.now(); fn(); await p;
                                return performance.now() - s; };
  const out = {};
  let s = performance.now(); for (let i = 0; i < 5; i++) net.redraw();
  out.redraw_ms = (performance.now() - s) / 5;
  // what a user's wheel zoom does: move, then the page labels the edges now in view
  out.zoom_in_ms = await timed(() => { net.moveTo({scale: 1.0}); t.refreshLabels(); });
  s = performance.now(); net.redraw(); out.redraw_zoomed_ms = performance.now() - s;
  out.zoom_out_ms = await timed(() => { net.fit({animation: false}); t.refreshLabels(); });
  const box = document.querySelector('[data-testid="type-filter-Organization"]');
  out.type_filter_off_ms = await timed(() => box.click());
  out.type_filter_on_ms = await timed(() => box.click());
  const sel = document.querySelector('[data-testid="doc-filter"]');
  out.doc_filter_ms = await timed(() => { sel.value = sel.options[1].value;
                                          sel.dispatchEvent(new Event("change")); });
  out.doc_filter_off_ms = await timed(() => { sel.value = ""; sel.dispatchEvent(new Event("change")); });
  s = performance.now(); const hits = t.find("entity 1234"); out.search_ms = performance.now() - s;
  out.select_ms = await timed(() => { t.select(hits[0].id); t.refreshLabels(); });
  await new Promise(r => setTimeout(r, 600));  // let deferred work (label refresh) settle
  s = performance.now(); net.redraw(); out.redraw_focused_ms = performance.now() - s;
  out.neighbours_ms = await timed(() => t.showNeighbours(true));
  out.all_again_ms = await timed(() => t.showNeighbours(false));
  return out;
}"""


def browse(path: Path) -> dict:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 850})
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        start = time.perf_counter()
        page.goto(path.as_uri(), timeout=300_000)
        page.wait_for_function("window.techkg && window.techkg.ready", timeout=300_000)
        wall = time.perf_counter() - start
        result = {
            "first_draw_ms": page.evaluate("window.techkg.firstDraw"),
            "goto_to_draw_s": wall,
            "heap_mb": page.evaluate("performance.memory ? performance.memory.usedJSHeapSize / 1e6 : null"),
        }
        result.update(page.evaluate(INTERACTIONS))
        result["errors"] = errors
        browser.close()
    return result


def main(sizes: list[int]) -> None:
    for n in sizes:
        t = time.perf_counter()
        ds = random_graph(n)
        t_build = time.perf_counter() - t
        t = time.perf_counter()
        data = explorer_data(ds)
        t_data = time.perf_counter() - t
        t = time.perf_counter()
        page = render_explorer(data, title=f"bench {n}")
        t_render = time.perf_counter() - t
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / f"bench-{n}.html"
            path.write_text(page, encoding="utf-8")
            web = browse(path)
        print(f"== {n} nodes, {len(data['edges'])} edges, {len(ds)} triples, page {len(page.encode()) / 1e6:.1f} MB")
        print(f"   python: random graph {t_build:.1f}s  explorer_data {t_data:.1f}s  render {t_render:.2f}s")
        print(f"   chromium: first afterDrawing {web.pop('first_draw_ms'):.0f} ms after navigation start"
              f" (goto→drawn {web.pop('goto_to_draw_s'):.1f}s), JS heap {web.pop('heap_mb') or 0:.0f} MB")
        errors = web.pop("errors")
        print("   interactions (ms): " + "  ".join(f"{k[:-3]}={v:.0f}" for k, v in web.items()))
        if errors:
            print(f"   page errors: {errors}")


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [5_000, 20_000])
