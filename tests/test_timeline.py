"""The timeline: dated items read from the graph, the page's safety, and the page in Chromium.

The fixture is tests/fixtures/sample.trig plus, in memory, one more dated event whose
label and evidence sentence carry an HTML payload. Browser tests need Debian's chromium
at /usr/bin/chromium: without it they skip on a developer machine and fail under CI.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import rdflib
from click.testing import CliRunner
from rdflib import RDF, RDFS, SKOS, Literal, URIRef

from kg.cli import main
from kg.export.rdf import to_trig
from kg.namespace import TK
from kg.export.timeline import render_timeline, timeline_data, write_timeline
from kg.query import load_graph

SAMPLE = Path(__file__).parent / "fixtures" / "sample.trig"
ARTIFACTS = Path(__file__).parent.parent / "test-artifacts"
PAYLOAD = "<img src=x onerror=alert(1)>"
R = "https://w3id.org/techkg/resource/"
DOC = "https://w3id.org/techkg/doc/001_6c33e5305bbf4742.txt"
XSS_EVENT = URIRef(R + "event/xss-summit")
IBM = R + "organization/ibm"
AMAZON = R + "organization/亚马逊云科技"
GENAI = R + "technology/生成式ai"


def sample():
    """sample.trig plus a dated event named by the payload, with IBM taking part in 生成式AI."""
    ds = load_graph(SAMPLE)
    g = ds.graph(URIRef("https://w3id.org/techkg/graph/doc/001_6c33e5305bbf4742.txt"))
    sentence = URIRef(DOC + "/s/27200-27260")
    assertion = URIRef("https://w3id.org/techkg/assertion/xss0000000000001")
    for triple in [
        (XSS_EVENT, RDF.type, TK.Event),
        (XSS_EVENT, RDFS.label, Literal(PAYLOAD, lang="zh")),
        (XSS_EVENT, SKOS.prefLabel, Literal(PAYLOAD, lang="zh")),
        (XSS_EVENT, TK.date, Literal("2024-05", datatype=rdflib.XSD.gYearMonth)),
        (XSS_EVENT, TK.participant, URIRef(IBM)),
        (XSS_EVENT, TK.inField, URIRef(GENAI)),
        (sentence, RDF.type, TK.Sentence),
        (sentence, TK.inDocument, URIRef(DOC)),
        (sentence, TK.text, Literal(f"2024年5月，IBM 举办了 {PAYLOAD} 大会。", lang="zh")),
        (sentence, TK.index, Literal(382)),
        (assertion, RDF.type, TK.Assertion),
        (assertion, RDF.subject, XSS_EVENT),
        (assertion, RDF.predicate, TK.participant),
        (assertion, RDF.object, URIRef(IBM)),
        (assertion, TK.evidence, sentence),
        (assertion, TK.inDocument, URIRef(DOC)),
        (assertion, TK.method, Literal("rule:event-host")),
    ]:
        g.add(triple)
    return ds


def dated_events(ds) -> int:
    rows = ds.query(f"SELECT (COUNT(DISTINCT ?e) AS ?n) WHERE {{ ?e a <{TK.Event}> ; <{TK.date}> ?d }}")
    return int(next(iter(rows))[0])


@pytest.fixture(scope="module")
def ds():
    return sample()


@pytest.fixture(scope="module")
def data(ds):
    return timeline_data(ds)


# ---------------------------------------------------------------- data


def test_every_dated_event_is_an_item(ds, data):
    events = [i for i in data["items"] if i["kind"] == "event"]
    assert len(events) == dated_events(ds) == 2
    assert [i["date"] for i in data["items"]] == sorted(i["date"] for i in data["items"])
    invent = next(i for i in events if i["label"] == "re:Invent 2024")
    assert (invent["date"], invent["period"]) == ("2024-12", "2024-12")
    assert [p["label"] for p in invent["participants"]] == ["亚马逊云科技"]
    assert invent["evidence"][0]["text"].startswith("12月，亚马逊云科技")
    assert invent["evidence"][0]["title"] == "技术洞察2024科技绘卷浪潮突破未来"


def test_event_participants_technologies_and_evidence(data):
    xss = next(i for i in data["items"] if i["id"] == str(XSS_EVENT))
    assert xss["label"] == PAYLOAD and xss["period"] == "2024-05"
    assert [o["id"] for o in xss["organizations"]] == [IBM]
    assert [t["label"] for t in xss["technologies"]] == ["生成式AI"]
    assert PAYLOAD in xss["evidence"][0]["text"]
    assert xss["evidence"][0]["document"] == "001_6c33e5305bbf4742.txt"
    assert {t["id"] for t in data["technologies"]} == {GENAI}
    assert {o["id"] for o in data["organizations"]} == {IBM, AMAZON}


def test_dated_launches_come_from_develops_evidence(ds, data):
    launches = [i for i in data["items"] if i["kind"] == "launch"]
    # IBM → Heron is dated by its sentence; 英伟达 → B200 and the payload product are not
    assert [(i["label"], i["date"]) for i in launches] == [("IBM → Heron", "2023-12-04")]
    assert [i["kind"] for i in timeline_data(ds, launches=False)["items"]] == ["event", "event"]


def test_data_is_deterministic(data):
    assert timeline_data(sample()) == data
    assert render_timeline(data) == render_timeline(timeline_data(sample()))


def test_page_is_self_contained_and_escaped(data):
    page = render_timeline(data, title="<b>t</b>")
    assert "<title>&lt;b&gt;t&lt;/b&gt;</title>" in page
    assert PAYLOAD not in page
    tags = re.findall(r"<(?:script|link|img|iframe)\b[^>]*>", page, flags=re.I)
    assert not [t for t in tags if re.search(r"\b(?:src|href)\s*=", t, flags=re.I)]
    assert "http://" not in page.replace("http://www.w3.org", "") and "cdn" not in page.lower()
    assert page.count("</script>") == 2  # data, code


def test_cli_writes_the_timeline(tmp_path, ds):
    graph = tmp_path / "kg.trig"
    graph.write_text(to_trig(ds), encoding="utf-8")
    out = tmp_path / "site" / "timeline.html"
    result = CliRunner().invoke(main, ["timeline", "-o", str(out), "--graph", str(graph)])
    assert result.exit_code == 0, result.output
    assert "3 items (2 events, 1 launches)" in result.output
    assert out.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    missing = CliRunner().invoke(main, ["timeline", "-o", str(out), "--graph", str(tmp_path / "no.trig")])
    assert missing.exit_code == 1 and missing.output.startswith("Error: ")


# ---------------------------------------------------------------- in the browser


@pytest.fixture(scope="module")
def page_file(ds, tmp_path_factory):
    return write_timeline(ds, tmp_path_factory.mktemp("timeline") / "timeline.html", title="sample")


@pytest.fixture
def page(browser, page_file):
    errors, requests, dialogs = [], [], []
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    opened = context.new_page()
    opened.on("console", lambda m: m.type == "error" and errors.append(m.text))
    opened.on("pageerror", lambda e: errors.append(str(e)))
    opened.on("request", lambda r: requests.append(r.url))
    opened.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    opened.goto(page_file.as_uri())
    opened.wait_for_function("window.techkgTimeline && window.techkgTimeline.ready", timeout=15000)
    opened.log = {"errors": errors, "requests": requests, "dialogs": dialogs, "url": page_file.as_uri()}
    yield opened
    context.close()
    assert dialogs == [], "a dialog fired: some text was run as code"


def shot(page, name):
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"timeline-{name}.png"), full_page=True)


def test_page_loads_offline_with_every_item(page, ds, data):
    shot(page, "loaded")
    assert page.log["errors"] == []
    assert [u for u in page.log["requests"] if not u.startswith("data:")] == [page.log["url"]]
    items = page.get_by_test_id("item")
    assert items.count() == len(data["items"])
    assert page.locator("[data-testid=item][data-kind=event]").count() == dated_events(ds)
    assert page.get_by_test_id("period").count() == len(data["periods"])
    assert page.get_by_test_id("status").inner_text() == f"{len(data['items'])} of {len(data['items'])} items"


def test_filters_hide_items(page, data):
    visible = page.locator("[data-testid=item]:visible")
    page.get_by_test_id("tech-filter").select_option(GENAI)
    assert visible.count() == 1
    assert page.evaluate("() => window.techkgTimeline.visible()") == [str(XSS_EVENT)]
    page.get_by_test_id("tech-filter").select_option("")
    page.get_by_test_id("org-filter").select_option(IBM)
    assert sorted(page.evaluate("() => window.techkgTimeline.visible()")) == sorted(
        i["id"] for i in data["items"] if IBM in {o["id"] for o in i["organizations"]}
    )
    assert visible.count() == 2
    # a period with nothing left in it is hidden too
    assert page.locator("[data-testid=period][data-period='2024-12']").is_hidden()
    shot(page, "org-filter")
    page.get_by_test_id("kind-launch").uncheck()
    assert visible.count() == 1
    page.get_by_test_id("reset").click()
    assert visible.count() == len(data["items"])
    page.get_by_test_id("tech-filter").select_option(GENAI)
    page.get_by_test_id("org-filter").select_option(AMAZON)
    assert visible.count() == 0 and page.get_by_test_id("empty").is_visible()


def test_items_show_evidence_and_document(page, data):
    heron = page.locator("[data-testid=item]", has_text="IBM → Heron")
    assert heron.get_by_test_id("item-date").inner_text() == "2023-12-04"
    assert heron.get_by_test_id("evidence-text").inner_text().startswith("2023 年 12 月 4 日")
    assert heron.get_by_test_id("evidence-document").inner_text() == "2024 年十大 IT 技术趋势 (001_6c33e5305bbf4742.txt)"


def test_untrusted_text_is_shown_literally_and_never_runs(page):
    xss = page.locator("[data-testid=item][data-kind=event]", has_text="onerror")
    assert xss.get_by_test_id("item-label").inner_text() == PAYLOAD
    assert PAYLOAD in xss.get_by_test_id("evidence-text").first.inner_text()
    page.get_by_test_id("tech-filter").select_option(GENAI)  # its option is text too
    shot(page, "xss")
    assert page.evaluate("() => document.querySelectorAll('img').length") == 0
    assert page.evaluate("() => document.scripts.length") == 2
    assert page.log["dialogs"] == [] and page.log["errors"] == []
