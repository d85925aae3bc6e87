"""`kg serve`: the SPARQL 1.1 Protocol over a store, read-only, with limits and a safe page.

A real server on a free loopback port over the small sample graph; clients are SPARQLWrapper,
httpx and raw sockets (for what well-behaved clients never send).
"""
from __future__ import annotations

import json
import socket
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from rdflib import Graph

from kg.serve import Endpoint, Limits, make_server, negotiate
from kg.store import MemoryStore, OxigraphStore

pytestmark = [
    pytest.mark.filterwarnings("ignore:Dataset.default_context is deprecated:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:ConjunctiveGraph is deprecated:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:Dataset.contexts is deprecated:DeprecationWarning"),
]
SAMPLE = Path(__file__).resolve().parent / "fixtures" / "sample.trig"
ORGS = ("PREFIX tk: <https://w3id.org/techkg/ontology#> "
        "SELECT DISTINCT ?org WHERE { ?org a tk:Organization } ORDER BY ?org")
SLOW = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"
# generous time limit: a loaded CI machine must not turn ordinary queries into 503s
LIMITS = Limits(timeout=5.0, max_rows=20, max_query_bytes=4096, max_concurrent=4)


def _sample_store() -> MemoryStore:
    from kg.build import new_dataset

    ds = new_dataset()
    ds.parse(SAMPLE, format="trig")
    return MemoryStore(ds)


@pytest.fixture(scope="module")
def server():
    srv = make_server(_sample_store(), port=0, limits=LIMITS)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


@pytest.fixture(scope="module")
def url(server) -> str:
    return server.url


@pytest.fixture(scope="module")
def base(server) -> str:
    return server.url.rsplit("/", 1)[0]


# --- the protocol through SPARQLWrapper ------------------------------------------------------

@pytest.mark.parametrize("method", ["GET", "POST"])
def test_sparqlwrapper_select_json(url, method):
    from SPARQLWrapper import JSON, POST, GET, SPARQLWrapper

    client = SPARQLWrapper(url)
    client.setMethod(POST if method == "POST" else GET)
    client.setQuery(ORGS)
    client.setReturnFormat(JSON)
    data = client.query().convert()
    orgs = [b["org"]["value"] for b in data["results"]["bindings"]]
    assert "https://w3id.org/techkg/resource/organization/ibm" in orgs
    assert data["head"]["vars"] == ["org"]


def test_sparqlwrapper_select_xml_csv_and_ask(url):
    from SPARQLWrapper import CSV, JSON, XML, SPARQLWrapper

    client = SPARQLWrapper(url)
    client.setQuery(ORGS)
    client.setReturnFormat(XML)
    document = client.query().convert()  # an xml.dom document
    uris = [n.firstChild.data for n in document.getElementsByTagName("uri")]
    assert "https://w3id.org/techkg/resource/organization/ibm" in uris
    client.setReturnFormat(CSV)
    text = client.query().convert().decode("utf-8")
    assert text.splitlines()[0] == "org" and "organization/ibm" in text
    client.setQuery("ASK { ?s <https://w3id.org/techkg/ontology#partnerOf> ?o }")
    client.setReturnFormat(JSON)
    assert client.query().convert()["boolean"] is True


def test_sparqlwrapper_construct_turtle_and_jsonld(url):
    from SPARQLWrapper import JSONLD, TURTLE, SPARQLWrapper

    client = SPARQLWrapper(url)
    client.setQuery("CONSTRUCT { ?s a ?t } WHERE { ?s a ?t . FILTER (?t = <https://w3id.org/techkg/ontology#Policy>) }")
    client.setReturnFormat(TURTLE)
    turtle = client.query().convert()
    graph = Graph().parse(data=turtle, format="turtle")
    assert len(graph) >= 1
    client.setReturnFormat(JSONLD)
    as_jsonld = client.query().convert()  # SPARQLWrapper parses JSON-LD into an rdflib graph
    assert len(as_jsonld) == len(graph)


# --- content negotiation ------------------------------------------------------------------------

@pytest.mark.parametrize("accept, media", [
    ("application/sparql-results+xml", "application/sparql-results+xml"),
    ("text/csv", "text/csv"),
    ("text/tab-separated-values", "text/tab-separated-values"),
    ("text/csv;q=0.5, application/sparql-results+xml;q=0.9", "application/sparql-results+xml"),
    ("*/*", "application/sparql-results+json"),
    ("text/*", "text/csv"),
    (None, "application/sparql-results+json"),
])
def test_select_negotiates(url, accept, media):
    headers = {"Accept": accept} if accept else {}
    response = httpx.get(url, params={"query": ORGS}, headers=headers)
    assert response.status_code == 200
    assert response.headers["content-type"] == f"{media}; charset=utf-8"


def test_tsv_is_sparql_tsv(url):
    text = httpx.get(url, params={"query": ORGS}, headers={"Accept": "text/tab-separated-values"}).text
    assert text.splitlines()[0] == "?org" and "<https://w3id.org/techkg/resource/organization/ibm>" in text


@pytest.mark.parametrize("accept, media", [
    ("text/turtle", "text/turtle"), ("application/ld+json", "application/ld+json"),
    ("application/n-triples", "application/n-triples"), (None, "text/turtle"),
])
def test_construct_negotiates(url, accept, media):
    headers = {"Accept": accept} if accept else {}
    query = "CONSTRUCT { ?s a ?t } WHERE { ?s a ?t } LIMIT 3"
    response = httpx.post(url, data={"query": query}, headers=headers)
    assert response.status_code == 200 and response.headers["content-type"].startswith(media)
    fmt = {"text/turtle": "turtle", "application/ld+json": "json-ld", "application/n-triples": "nt"}[media]
    assert len(Graph().parse(data=response.text, format=fmt)) == 3


def test_unacceptable_format_is_406(url):
    response = httpx.get(url, params={"query": ORGS}, headers={"Accept": "image/png"})
    assert response.status_code == 406 and "application/sparql-results+json" in response.text


def test_format_parameter_overrides_accept(url):
    response = httpx.get(url, params={"query": ORGS, "format": "csv"}, headers={"Accept": "application/json"})
    assert response.headers["content-type"].startswith("text/csv")


def test_negotiate_unit():
    offered = {"a/x": "x", "b/y": "y"}
    assert negotiate("b/y;q=0.1, a/x;q=0.2", offered) == "a/x"
    assert negotiate("c/z", offered) is None and negotiate("a/x;q=0", offered) is None


def test_post_sparql_query_body(url):
    response = httpx.post(url, content=ORGS.encode("utf-8"), headers={"Content-Type": "application/sparql-query"})
    assert response.status_code == 200 and "organization/ibm" in response.text


# --- limits -------------------------------------------------------------------------------------

def test_result_size_limit_cuts_and_says_so(url):
    response = httpx.get(url, params={"query": "SELECT * WHERE { ?s ?p ?o }"})
    data = response.json()
    assert len(data["results"]["bindings"]) == LIMITS.max_rows
    assert response.headers["x-sparql-maxrows"] == str(LIMITS.max_rows)
    small = httpx.get(url, params={"query": "SELECT * WHERE { ?s ?p ?o } LIMIT 5"})
    assert "x-sparql-maxrows" not in small.headers


def test_slow_query_times_out_with_503(url):
    response = httpx.get(url, params={"query": SLOW}, timeout=30)
    assert response.status_code == 503 and "timed out after 5 s" in response.text
    assert response.headers["retry-after"]
    assert httpx.get(url, params={"query": "ASK {}"}).status_code == 200  # still serving


def test_concurrent_clients_get_their_own_answers(url):
    queries = {
        "orgs": ORGS,
        "ask": "ASK { ?s ?p ?o }",
        "count": "SELECT (COUNT(DISTINCT ?s) AS ?n) WHERE { ?s a <https://w3id.org/techkg/ontology#Technology> }",
        "policy": "SELECT ?p WHERE { ?p a <https://w3id.org/techkg/ontology#Policy> }",
    }
    expected = {k: httpx.post(url, data={"query": q}).text for k, q in queries.items()}

    def ask(i: int) -> tuple[str, int, str]:
        key = list(queries)[i % len(queries)]
        with httpx.Client() as client:
            response = client.post(url, data={"query": queries[key]}, timeout=30)
        return key, response.status_code, response.text

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(ask, range(40)))
    assert all(status == 200 for _, status, _ in results)
    assert all(text == expected[key] for key, _, text in results)


# --- refusals ----------------------------------------------------------------------------------

@pytest.mark.parametrize("query, status, words", [
    ("INSERT DATA { <urn:a> <urn:b> <urn:c> }", 403, "read-only"),
    ("DELETE WHERE { ?s ?p ?o }", 403, "read-only"),
    ("LOAD <http://example.org/data.ttl>", 403, "read-only"),
    ("CLEAR ALL", 403, "read-only"),
    ("DROP GRAPH <urn:g>", 403, "read-only"),
    ("SELECT * WHERE { SERVICE <http://example.org/> { ?s ?p ?o } }", 403, "SERVICE"),
    ("SELECT * WHERE { ?s ?p ?o . { SERVICE SILENT <http://example.org/> { ?s ?p ?o } } }", 403, "SERVICE"),
    ("SELECT * WHERE { ?s ?p }", 400, "syntax error"),
    ("", 400, "no query"),
])
def test_hostile_and_bad_queries_are_refused(url, query, status, words):
    for response in (httpx.get(url, params={"query": query}), httpx.post(url, data={"query": query})):
        assert response.status_code == status, response.text
        assert words in response.text


def test_update_operation_is_refused(url):
    form = httpx.post(url, data={"update": "INSERT DATA { <urn:a> <urn:b> <urn:c> }"})
    body = httpx.post(url, content=b"INSERT DATA { <urn:a> <urn:b> <urn:c> }",
                      headers={"Content-Type": "application/sparql-update"})
    assert form.status_code == body.status_code == 403
    assert httpx.get(url, params={"query": "ASK { <urn:a> <urn:b> <urn:c> }"}).json()["boolean"] is False


def test_huge_query_is_refused_unread(url):
    huge = "SELECT * WHERE { ?s ?p ?o } #" + "x" * (LIMITS.max_query_bytes * 4)
    response = httpx.post(url, data={"query": huge})
    assert response.status_code == 413
    just_over = "SELECT * WHERE { ?s ?p ?o } #" + "x" * LIMITS.max_query_bytes
    assert httpx.post(url, content=just_over.encode(), headers={"Content-Type": "application/sparql-query"}
                      ).status_code == 413


def test_other_methods_types_and_paths(url, base):
    assert httpx.put(url, content=b"x").status_code == 405
    assert httpx.delete(url).status_code == 405
    assert httpx.post(url, content=b"<x/>", headers={"Content-Type": "application/xml"}).status_code == 415
    assert httpx.get(base + "/nothing").status_code == 404


def test_foreign_host_header_is_refused(server):
    host, port = server.server_address[:2]
    with socket.create_connection((host, port), timeout=5) as conn:
        conn.sendall(b"GET /sparql?query=ASK%7B%7D HTTP/1.1\r\nHost: evil.example:80\r\nConnection: close\r\n\r\n")
        reply = conn.recv(4096).decode("latin-1")
    assert reply.startswith("HTTP/1.1 421")


def test_body_without_length_is_refused(server):
    host, port = server.server_address[:2]
    with socket.create_connection((host, port), timeout=5) as conn:
        conn.sendall(b"POST /sparql HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n"
                     b"Content-Type: application/sparql-query\r\nConnection: close\r\n\r\n5\r\nASK{}\r\n0\r\n\r\n")
        reply = conn.recv(4096).decode("latin-1")
    assert reply.startswith("HTTP/1.1 411")


# --- the query page -------------------------------------------------------------------------------

def test_page_works_offline_and_escapes(base):
    page = httpx.get(base + "/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "default-src 'none'" in page.headers["content-security-policy"]
    assert "<script" not in page.text and "http://" not in page.text.replace("http://www.w3.org", "")
    assert 'href="/?name=products-of-organization"' in page.text
    hostile = 'SELECT ("</textarea><script>alert(1)</script>" AS ?x) WHERE {}'
    shown = httpx.get(base + "/", params={"query": hostile}).text
    assert "<script>" not in shown and "&lt;/textarea&gt;&lt;script&gt;" in shown
    assert "<table>" in shown and "alert(1)" in shown


def test_page_shows_a_saved_question_and_errors(base):
    saved = httpx.get(base + "/", params={"name": "partners"}).text
    assert "tk:partnerOf" in saved and "Who works with whom?" in saved
    error = httpx.get(base + "/", params={"query": "SELECT * WHERE { ?s ?p }"}).text
    assert 'class="error"' in error and "syntax error" in error
    sample_row = httpx.get(base + "/", params={"query": '''SELECT ?x WHERE { BIND ("<img src=x onerror=alert(1)>" AS ?x) }'''}).text
    assert "<img" not in sample_row and "&lt;img src=x onerror=alert(1)&gt;" in sample_row


def test_download_links_are_escaped_urls(base):
    page = httpx.get(base + "/", params={"query": ORGS}).text
    assert f'href="/sparql?query={quote(ORGS, safe="").replace("%20", "+")[:20]}' in page.replace("&amp;", "&")


# --- other stores -----------------------------------------------------------------------------------

def test_oxigraph_store_serves_the_same_answers(url, tmp_path):
    writer = OxigraphStore(tmp_path / "store")
    writer.push(SAMPLE)
    writer.close()
    srv = make_server(OxigraphStore(tmp_path / "store"), port=0, limits=LIMITS)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    try:
        for query in (ORGS, "ASK { ?s ?p ?o }"):
            mine = httpx.get(srv.url, params={"query": query}).json()
            theirs = httpx.get(url, params={"query": query}).json()
            assert mine == theirs
    finally:
        srv.shutdown()
        srv.server_close()


def test_endpoint_without_sockets():
    endpoint = Endpoint(_sample_store(), LIMITS)
    reply = endpoint.answer(ORGS, accept="application/sparql-results+json")
    assert reply.status == 200 and json.loads(reply.body)["head"]["vars"] == ["org"]
    assert endpoint.answer("LOAD <http://example.org/>").status == 403


# --- the command ------------------------------------------------------------------------------------

def test_cli_serve_answers_until_stopped(tmp_path):
    import shutil
    import subprocess
    import sys
    import time

    kg = shutil.which("kg", path=str(Path(sys.executable).parent))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    process = subprocess.Popen([kg, "serve", "--graph", str(SAMPLE), "--port", str(port), "--timeout", "2"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline()
        assert f"http://127.0.0.1:{port}/" in line, line + process.stderr.read()
        deadline = time.monotonic() + 10
        response = None
        while time.monotonic() < deadline:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/sparql", params={"query": ORGS})
                break
            except httpx.TransportError:
                time.sleep(0.1)
        assert response is not None and response.status_code == 200
        assert "organization/ibm" in response.text
    finally:
        process.terminate()
        process.wait(timeout=10)
        process.stdout.close()
        process.stderr.close()


def test_cli_serve_refuses_a_missing_store(tmp_path):
    from click.testing import CliRunner

    from kg.cli import main

    result = CliRunner().invoke(main, ["serve", "--store", f"oxigraph:{tmp_path / 'none'}", "--port", "0"])
    assert result.exit_code == 1 and "no Oxigraph store here" in result.output
