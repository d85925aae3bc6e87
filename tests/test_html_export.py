"""The HTML explorer: data read from the graph, the page's safety, and the page in Chromium.

Browser tests need Debian's chromium at /usr/bin/chromium. Without it they skip on a
developer machine and fail under CI, so a CI image that lost the package is noticed.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from rdflib import Dataset, Graph

from kg.errors import KGError
from kg.export.html import (
    ENTITY_TYPES,
    PREDICATES,
    explorer_data,
    render_explorer,
    script_json,
    write_html,
)

FIXTURES = Path(__file__).parent / "fixtures"
HTML_SAMPLE = FIXTURES / "html_sample.trig"
SAMPLE = FIXTURES / "sample.trig"
ALL_SAMPLES = [pytest.param(HTML_SAMPLE, id="html_sample"), pytest.param(SAMPLE, id="sample")]
ARTIFACTS = Path(__file__).parent.parent / "test-artifacts"
PAYLOAD = "<img src=x onerror=alert(1)>"
TK = "https://w3id.org/techkg/ontology#"
NVIDIA = "https://w3id.org/techkg/resource/organization/英伟达"


def load(path: Path) -> Dataset:
    ds = Dataset(default_union=True)
    ds.parse(path, format="trig")
    return ds


def sparql_counts(ds: Dataset) -> tuple[int, int]:
    """Entities and entity-to-entity contract relations, counted independently of the exporter."""
    types = " ".join(f"tk:{t}" for t in ENTITY_TYPES)
    preds = " ".join(f"tk:{p}" for p in PREDICATES)
    prefix = f"PREFIX tk: <{TK}>\n"
    entities = ds.query(
        prefix + f"SELECT (COUNT(DISTINCT ?e) AS ?n) WHERE {{ VALUES ?t {{ {types} }} ?e a ?t }}"
    )
    relations = ds.query(
        prefix
        + f"""SELECT (COUNT(*) AS ?n) WHERE {{
              SELECT DISTINCT ?s ?p ?o WHERE {{
                VALUES ?p {{ {preds} }} VALUES ?ts {{ {types} }} VALUES ?to {{ {types} }}
                ?s ?p ?o . ?s a ?ts . ?o a ?to }} }}"""
    )
    return int(next(iter(entities))[0]), int(next(iter(relations))[0])


@pytest.fixture(scope="module")
def html_sample() -> Dataset:
    return load(HTML_SAMPLE)


# ---------------------------------------------------------------- data


def test_data_has_labels_aliases_and_evidence(html_sample):
    data = explorer_data(html_sample)
    nodes = {n["id"]: n for n in data["nodes"]}
    nvidia = nodes[NVIDIA]
    assert nvidia["label"] == "英伟达"
    assert nvidia["type"] == "Organization"
    assert nvidia["aliases"] == ["NVIDIA", "辉达"]
    assert nvidia["wikidata"] == "Q182477"
    assert nvidia["documents"] == ["001_a.txt", "002_b.txt"]
    assert nodes["https://w3id.org/techkg/resource/person/黄仁勋"]["en"] == "Jensen Huang"
    develops = [e for e in data["edges"] if e["from"] == NVIDIA and e["predicate"] == "develops"]
    assert [ev["text"] for ev in develops[0]["evidence"]] == ["英伟达发布了新一代GPU，用于人工智能训练。"]
    assert develops[0]["documents"] == ["001_a.txt"]
    broader = [e for e in data["edges"] if e["predicate"] == "broader"]
    assert broader and broader[0]["evidence"] == []  # hand-curated, no sentence
    assert [d["fileName"] for d in data["documents"]] == ["001_a.txt", "002_b.txt"]
    assert [t["name"] for t in data["types"]] == list(ENTITY_TYPES)
    assert sum(t["count"] for t in data["types"]) == len(data["nodes"])


@pytest.mark.parametrize("path", ALL_SAMPLES)
def test_data_counts_match_sparql(path):
    ds = load(path)
    data = explorer_data(ds)
    assert (len(data["nodes"]), len(data["edges"])) == sparql_counts(ds)
    degree = {n["id"]: n["degree"] for n in data["nodes"]}
    assert sum(degree.values()) == 2 * len(data["edges"])


def test_data_is_deterministic(html_sample):
    first, second = explorer_data(html_sample), explorer_data(load(HTML_SAMPLE))
    assert first == second
    assert [n["id"] for n in first["nodes"]] == sorted(n["id"] for n in first["nodes"])
    assert render_explorer(first) == render_explorer(second)


def test_plain_graph_is_accepted(html_sample):
    plain = Graph()
    for triple in html_sample.triples((None, None, None)):
        plain.add(triple)
    assert explorer_data(plain) == explorer_data(html_sample)


def test_dataset_without_default_union_reads_named_graphs():
    ds = Dataset()
    ds.parse(HTML_SAMPLE, format="trig")
    assert len(explorer_data(ds)["nodes"]) == 10


def test_filters(html_sample):
    tech = explorer_data(html_sample, types={"technology"})
    assert {n["type"] for n in tech["nodes"]} == {"Technology"}
    assert all(e["predicate"] == "broader" for e in tech["edges"])

    doc = explorer_data(html_sample, doc="001_a.txt")
    assert all("001_a.txt" in e["documents"] for e in doc["edges"])
    assert {n["label"] for n in doc["nodes"]} == {"英伟达", "GPU", "黄仁勋", PAYLOAD}

    ego = explorer_data(html_sample, focus="nvidia", depth=1)
    assert NVIDIA in {n["id"] for n in ego["nodes"]}
    assert all(NVIDIA in (e["from"], e["to"]) for e in ego["edges"])
    assert len(explorer_data(html_sample, focus="NVIDIA", depth=2)["nodes"]) > len(ego["nodes"])

    hubs = explorer_data(html_sample, min_degree=3)
    assert {n["label"] for n in hubs["nodes"]} == {"英伟达", "人工智能"}


@pytest.mark.parametrize(
    "kw, words",
    [
        ({"types": {"Gadget"}}, "unknown entity type Gadget"),
        ({"doc": "missing.txt"}, "unknown document"),
        ({"focus": "no such thing"}, "no entity is named"),
        ({"focus": "华为", "types": {"Technology"}}, "removed by the type or document filter"),
    ],
)
def test_filter_errors_say_what_is_wrong(html_sample, kw, words):
    with pytest.raises(KGError, match=words):
        explorer_data(html_sample, **kw)


# ---------------------------------------------------------------- page text


def test_script_json_escapes_and_round_trips():
    value = {"s": "</script><!-- & \u2028\u2029 '\"", "中": ["<b>"]}
    text = script_json(value)
    assert not re.search("[<>&\u2028\u2029]", text)
    assert json.loads(text) == value


def test_page_is_self_contained_and_escaped(html_sample):
    page = render_explorer(explorer_data(html_sample), title="<b>t</b>")
    assert "<title>&lt;b&gt;t&lt;/b&gt;</title>" in page
    assert PAYLOAD not in page and "<script>alert(2)" not in page
    tags = re.findall(r"<(?:script|link|img|iframe)\b[^>]*>", page, flags=re.I)
    assert not [t for t in tags if re.search(r"\b(?:src|href)\s*=", t, flags=re.I)]
    assert "cdn" not in "".join(tags).lower()
    assert page.count("</script>") == 3  # data, vis-network, explorer


def test_write_html_is_atomic(tmp_path, html_sample):
    target = write_html(html_sample, tmp_path / "out" / "graph.html", title="x", types={"Person"})
    assert target.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert [p.name for p in target.parent.iterdir()] == ["graph.html"]


def test_empty_graph_renders():
    data = explorer_data(Dataset())
    assert data["nodes"] == [] and data["edges"] == []
    assert "<!DOCTYPE html>" in render_explorer(data)


# ---------------------------------------------------------------- in the browser


@pytest.fixture(scope="module", params=ALL_SAMPLES)
def built(request, tmp_path_factory):
    path = request.param
    ds = load(path)
    out = write_html(ds, tmp_path_factory.mktemp("html") / f"{path.stem}.html", title=path.stem)
    return {"path": out, "name": path.stem, "counts": sparql_counts(ds), "data": explorer_data(ds)}


class Page:
    """An opened explorer page plus everything it did: console errors, requests, dialogs."""

    def __init__(self, browser, built):
        self.built = built
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.dialogs: list[str] = []
        self.context = browser.new_context(viewport={"width": 1400, "height": 850})
        page = self.page = self.context.new_page()
        page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.on("request", lambda r: self.requests.append(r.url))
        page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        self.url = built["path"].as_uri()
        page.goto(self.url)
        page.wait_for_function("window.techkg && window.techkg.ready", timeout=15000)

    def js(self, expression, arg=None):
        return self.page.evaluate(expression, arg)

    def drawn(self) -> list[str]:
        """Ids of the nodes vis-network draws (in its body and not hidden)."""
        return self.js(
            """() => { const body = window.techkg.network.body;
                       return body.nodeIndices.filter(id => !body.nodes[id].options.hidden); }"""
        )

    def drawn_edges(self) -> list[str]:
        return self.js(
            """() => { const body = window.techkg.network.body;
                       return body.edgeIndices.filter(id => { const e = body.edges[id];
                         return !e.options.hidden && !e.from.options.hidden && !e.to.options.hidden; }); }"""
        )

    def shot(self, name):
        ARTIFACTS.mkdir(exist_ok=True)
        self.page.screenshot(path=str(ARTIFACTS / f"html-{self.built['name']}-{name}.png"))


@pytest.fixture
def page(browser, built):
    opened = Page(browser, built)
    yield opened
    opened.context.close()
    assert opened.dialogs == [], "a dialog fired: some text was run as code"


def node_id(built, label):
    return next(n["id"] for n in built["data"]["nodes"] if n["label"] == label)


def test_page_loads_offline_and_draws_every_entity(page):
    page.shot("loaded")
    assert page.errors == []
    assert [u for u in page.requests if not u.startswith("data:")] == [page.url]
    entities, relations = page.built["counts"]
    assert len(page.drawn()) == entities
    assert len(page.drawn_edges()) == relations
    assert page.page.get_by_test_id("status").inner_text().startswith(f"{entities} of {entities}")
    assert page.page.get_by_test_id("legend").inner_text().count("\n") >= len(ENTITY_TYPES)


def test_search_by_english_alias_selects_node(page):
    box = page.page.get_by_test_id("search")
    box.fill("NVIDIA")
    assert page.page.get_by_test_id("search-result").first.inner_text().startswith("英伟达")
    box.press("Enter")
    assert page.js("() => window.techkg.network.getSelectedNodes()") == [NVIDIA]
    assert page.page.get_by_test_id("panel-title").inner_text() == "英伟达"
    box.fill("nvidia")  # case does not matter
    page.page.get_by_test_id("search-result").first.click()
    assert page.js("() => window.techkg.network.getSelectedNodes()") == [NVIDIA]
    page.shot("search")
    assert page.errors == []


def test_unchecking_a_type_hides_its_nodes(page):
    orgs = {n["id"] for n in page.built["data"]["nodes"] if n["type"] == "Organization"}
    before = page.drawn()
    page.page.get_by_test_id("type-filter-Organization").uncheck()
    after = page.drawn()
    assert orgs and not orgs & set(after)
    assert len(after) == len(before) - len(orgs)
    page.shot("no-organizations")
    page.page.get_by_test_id("type-filter-Organization").check()
    assert len(page.drawn()) == len(before)


def test_document_filter_keeps_that_documents_entities(page):
    data = page.built["data"]
    name = data["documents"][0]["fileName"]
    page.page.get_by_test_id("doc-filter").select_option(name)
    expected = {n["id"] for n in data["nodes"] if name in n["documents"]}
    expected |= {x for e in data["edges"] if name in e["documents"] for x in (e["from"], e["to"])}
    assert set(page.drawn()) == expected
    shown_edges = page.drawn_edges()
    assert sorted(shown_edges) == sorted(page.js("() => window.techkg.visibleEdgeIds()"))
    assert all(name in next(e for e in data["edges"] if e["id"] == i)["documents"] for i in shown_edges)


def test_clicking_a_node_shows_its_evidence(page):
    edge = next(e for e in page.built["data"]["edges"] if e["from"] == NVIDIA and e["evidence"])
    x, y = page.js(
        """(id) => { const net = window.techkg.network;
                     const p = net.canvasToDOM(net.getPositions([id])[id]);
                     const r = document.getElementById('network').getBoundingClientRect();
                     return [r.left + p.x, r.top + p.y]; }""",
        NVIDIA,
    )
    page.page.mouse.click(x, y)
    panel = page.page.get_by_test_id("panel")
    assert panel.is_visible()
    assert page.page.get_by_test_id("panel-title").inner_text() == "英伟达"
    texts = panel.get_by_test_id("evidence-text").all_inner_texts()
    assert edge["evidence"][0]["text"] in texts
    assert edge["evidence"][0]["document"] in panel.inner_text()
    page.shot("panel")


def test_untrusted_text_is_shown_literally_and_never_runs(page):
    data = page.built["data"]
    target = node_id(page.built, PAYLOAD)
    box = page.page.get_by_test_id("search")
    box.fill("onerror")
    box.press("Enter")
    assert page.js("() => window.techkg.network.getSelectedNodes()") == [target]
    assert page.page.get_by_test_id("panel-title").inner_text() == PAYLOAD
    # a sentence carrying the payload, wherever the fixture put it
    edge = next(e for e in data["edges"] if any(PAYLOAD in ev["text"] for ev in e["evidence"]))
    page.js("(id) => window.techkg.select(id)", edge["from"])
    sentences = page.page.get_by_test_id("evidence-text").all_inner_texts()
    assert any(PAYLOAD in s for s in sentences)
    # the vis tooltip is plain text too
    page.page.wait_for_timeout(500)  # let the focus animation settle
    x, y = page.js(
        """(id) => { const net = window.techkg.network;
                     const p = net.canvasToDOM(net.getPositions([id])[id]);
                     const r = document.getElementById('network').getBoundingClientRect();
                     return [r.left + p.x, r.top + p.y]; }""",
        target,
    )
    page.page.mouse.move(x - 3, y - 3)
    page.page.mouse.move(x, y, steps=3)
    tooltip = page.page.locator(".vis-tooltip")
    tooltip.wait_for(state="visible")
    assert tooltip.inner_text().startswith(PAYLOAD)
    aliases = next(n["aliases"] for n in data["nodes"] if n["id"] == target)
    for alias in aliases[:5]:
        assert alias in tooltip.inner_text()
    page.shot("xss")
    assert page.js("() => document.querySelectorAll('img').length") == 0
    assert page.js("() => document.querySelectorAll('a[href^=\"javascript\"]').length") == 0
    assert page.js("() => document.scripts.length") == 3
    assert page.dialogs == [] and page.errors == []


def test_show_neighbours_hides_the_rest(page):
    data = page.built["data"]
    page.js("(id) => window.techkg.select(id)", NVIDIA)
    page.page.get_by_test_id("show-neighbours").click()
    near = {NVIDIA} | {
        x for e in data["edges"] if NVIDIA in (e["from"], e["to"]) for x in (e["from"], e["to"])
    }
    assert set(page.drawn()) == near
    page.shot("neighbours")
    page.page.get_by_test_id("show-neighbours").click()
    assert len(page.drawn()) == len(data["nodes"])
    page.page.get_by_test_id("reset").click()
    assert page.page.get_by_test_id("panel").is_hidden()

