"""Where the graph lives: in memory (rdflib), on disk (Oxigraph), or behind a SPARQL 1.1 endpoint.

A store is named by a spec string, the same on the command line (`--store`) and here:

    memory                          the built graph (build/kg.trig) loaded into rdflib
    memory:PATH                     another graph file (.trig, .ttl, .nt, .nq, .jsonld)
    oxigraph:PATH                   a persistent pyoxigraph store in the directory PATH
    sparql:QUERY_URL[,UPDATE_URL]   any SPARQL 1.1 server (UPDATE_URL defaults to QUERY_URL)

Every store answers queries over the union of its named graphs and returns a
`kg.query.Result` of rdflib terms. `push` loads a built graph named graph by named graph,
replacing each graph (or merging into it) and then checks what the store holds.

Example:
    >>> store = open_store("oxigraph:build/oxigraph")          # doctest: +SKIP
    >>> store.push(Path("build/kg.trig"), mode="replace")       # doctest: +SKIP
    >>> store.query("ASK { ?s ?p ?o }").boolean                 # doctest: +SKIP
    True
"""
from __future__ import annotations

import json
import threading
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

import rdflib.plugins.sparql
from rdflib import BNode, Dataset, Graph, Literal, URIRef
from rdflib.namespace import XSD

from kg.errors import KGError, QueryError
from kg.query import (Result, ask_result, check_syntax, load_graph, prepare, query_form, rdflib_syntax_error,
                      syntax_error)

# A FROM clause must name a graph of the store, never make rdflib fetch a URL while answering.
rdflib.plugins.sparql.SPARQL_LOAD_GRAPHS = False

DEFAULT_GRAPH_FILE = Path("build") / "kg.trig"
MODES = ("replace", "merge")
_RDF_FORMATS = {".trig": "trig", ".ttl": "turtle", ".nt": "nt", ".nq": "nquads", ".jsonld": "json-ld"}


class StoreError(KGError):
    """A store cannot be opened, read or written."""


@dataclass(frozen=True)
class PushReport:
    """What `push` did: triples sent and then found per named graph."""

    store: str
    mode: str
    graphs: dict[str, int]  # graph IRI -> triples the store holds after the push
    sent: int
    seconds: float
    method: str = ""

    @property
    def triples(self) -> int:
        return sum(self.graphs.values())


class Store(ABC):
    """A place that answers SPARQL over the union of its named graphs."""

    spec: str

    @abstractmethod
    def query(self, text: str, *, source: str = "<query>", max_rows: int | None = None) -> Result:
        """Run a query; `max_rows` keeps that many rows (or triples) and sets `truncated`."""

    def open(self) -> "Store":
        """Load or connect now (so that a query's time limit does not pay for it); returns self."""
        return self

    def push(self, source: Path | Dataset, *, mode: str = "replace") -> PushReport:
        raise StoreError(f"the {self.spec} store is not persistent: push to oxigraph:PATH or sparql:URL")

    @abstractmethod
    def dataset(self) -> Dataset:
        """A copy of the whole graph in rdflib (for inference and exports)."""

    def with_inference(self, regime: str) -> "Store":
        """A store over a copy of this one with the entailments of `regime` added (see kg.infer)."""
        from kg.infer import closure

        return MemoryStore(closure(self.dataset(), regime), spec=f"{self.spec}+{regime}")

    def close(self) -> None:
        return None

    def __enter__(self) -> "Store":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _truncate(rows: Iterable, max_rows: int | None) -> tuple[list, bool]:
    kept = []
    for row in rows:
        if max_rows is not None and len(kept) >= max_rows:
            return kept, True
        kept.append(row)
    return kept, False


def _truncate_graph(triples: Iterable, max_rows: int | None) -> tuple[Graph, bool]:
    graph = Graph()
    kept, truncated = _truncate(triples, max_rows)
    for t in kept:
        graph.add(t)
    return graph, truncated


def _check_mode(mode: str) -> None:
    if mode not in MODES:
        raise StoreError(f"unknown push mode {mode!r} (use replace or merge)")


# --- memory (rdflib) --------------------------------------------------------------------

class MemoryStore(Store):
    """An rdflib Dataset in memory: the default, no setup, slowest on big graphs."""

    def __init__(self, graph: Graph | Dataset | None = None, *, path: Path | None = None, spec: str = "memory"):
        self._graph = graph
        self._path = path
        self.spec = spec
        self._lock = threading.Lock()

    @property
    def graph(self) -> Graph | Dataset:
        with self._lock:
            if self._graph is None:
                self._graph = load_graph(self._path or DEFAULT_GRAPH_FILE)
            return self._graph

    def open(self) -> "MemoryStore":
        self.graph
        return self

    def query(self, text: str, *, source: str = "<query>", max_rows: int | None = None) -> Result:
        from pyparsing import ParseException

        try:
            graph = self.graph
            result = graph.query(prepare(text, dict(graph.namespaces())))
            if result.type in ("CONSTRUCT", "DESCRIBE"):
                graph, truncated = _truncate_graph(result.graph, max_rows)
                return Result((), (), graph, truncated=truncated)
            if result.type == "ASK":
                return ask_result(result.askAnswer)
            variables = tuple(str(v) for v in result.vars)
            rows, truncated = _truncate((tuple(row) for row in result), max_rows)
        except ParseException as exc:
            raise rdflib_syntax_error(text, exc, source=source) from None
        except (QueryError, RecursionError, MemoryError):
            raise
        except Exception as exc:  # rdflib raises many types for evaluation problems
            raise QueryError(f"query failed: {exc}", path=source) from None
        return Result(variables, tuple(rows), truncated=truncated)

    def dataset(self) -> Dataset:
        graph = self.graph
        if isinstance(graph, Dataset):
            return graph
        from kg.build import new_dataset

        ds = new_dataset()
        for t in graph:
            ds.add(t)
        return ds


# --- Oxigraph ---------------------------------------------------------------------------

def _ox():
    import pyoxigraph

    return pyoxigraph


def from_oxigraph(term) -> object:
    """A pyoxigraph term as the equal rdflib term (None stays None)."""
    ox = _ox()
    if term is None:
        return None
    if isinstance(term, ox.NamedNode):
        return URIRef(term.value)
    if isinstance(term, ox.BlankNode):
        return BNode(term.value)
    if isinstance(term, ox.Literal):
        if term.language:
            return Literal(term.value, lang=term.language)
        datatype = term.datatype.value
        return Literal(term.value, datatype=None if datatype == str(XSD.string) else URIRef(datatype))
    return Literal(str(term))  # RDF-star triple terms have no rdflib equivalent


def _ox_graph_name(name: str):
    ox = _ox()
    return ox.NamedNode(name)


class OxigraphStore(Store):
    """A pyoxigraph (RocksDB) store in a directory: persistent and fast.

    Opened read-only for queries, so `kg serve` and `kg query` can share a directory; `push`
    opens it read-write (stop `kg serve` on that directory first).
    """

    def __init__(self, path: str | Path, *, read_only: bool = True, store=None):
        self.path = Path(path)
        self.spec = f"oxigraph:{self.path}"
        self._read_only = read_only
        self._store = store

    @classmethod
    def in_memory(cls, nquads: bytes = b"") -> "OxigraphStore":
        ox = _ox()
        store = ox.Store()
        if nquads:
            store.bulk_load(nquads, format=ox.RdfFormat.N_QUADS)
        instance = cls("<memory>", read_only=False, store=store)
        instance.spec = "oxigraph:<memory>"
        return instance

    def _open(self, *, writable: bool):
        ox = _ox()
        if self._store is not None and (self._read_only is False or not writable):
            return self._store
        try:
            if writable:
                self._store = ox.Store(str(self.path))
                self._read_only = False
            else:
                if not (self.path / "CURRENT").exists():
                    raise StoreError("no Oxigraph store here", path=self.path,
                                     hint=f"run `kg push --store oxigraph:{self.path}` first")
                self._store = ox.Store.read_only(str(self.path))
        except OSError as exc:
            hint = "is another process writing to it? stop `kg serve` or `kg push` first" if "lock" in str(exc).lower() \
                else None
            raise StoreError(f"cannot open the Oxigraph store: {exc}", path=self.path, hint=hint) from None
        return self._store

    @property
    def store(self):
        return self._open(writable=False)

    def open(self) -> "OxigraphStore":
        self.store
        return self

    def query(self, text: str, *, source: str = "<query>", max_rows: int | None = None) -> Result:
        import re

        ox = _ox()
        store = self.store
        try:
            answer = store.query(text, use_default_graph_as_union=True)
            if isinstance(answer, ox.QueryBoolean):
                return ask_result(bool(answer))
            if isinstance(answer, ox.QueryTriples):
                triples = ((from_oxigraph(t.subject), from_oxigraph(t.predicate), from_oxigraph(t.object))
                           for t in answer)
                graph, truncated = _truncate_graph(triples, max_rows)
                return Result((), (), graph, truncated=truncated)
            variables = tuple(v.value for v in answer.variables)
            rows, truncated = _truncate(
                (tuple(from_oxigraph(solution[v]) for v in variables) for solution in answer), max_rows)
        except SyntaxError as exc:
            message = str(exc)
            found = re.match(r"error at (\d+):(\d+): (.*)", message, re.S)
            if found:
                raise syntax_error(text, found.group(3), line=int(found.group(1)), column=int(found.group(2)),
                                   source=source) from None
            raise syntax_error(text, message, line=None, column=None, source=source) from None
        except OSError as exc:
            raise StoreError(f"Oxigraph could not answer: {exc}", path=source) from None
        except (RuntimeError, ValueError) as exc:
            raise QueryError(f"query failed: {exc}", path=source) from None
        return Result(variables, tuple(rows), truncated=truncated)

    def graphs(self) -> dict[str, int]:
        counts = {}
        for row in self.query("SELECT ?g (COUNT(*) AS ?n) WHERE { GRAPH ?g { ?s ?p ?o } } GROUP BY ?g").rows:
            counts[str(row[0])] = int(row[1])
        return counts

    def push(self, source: Path | Dataset, *, mode: str = "replace") -> PushReport:
        """Load a graph file (parsed by Oxigraph itself) or an rdflib Dataset, per named graph.

        One pass collects the graph names (replace clears exactly those graphs first), then
        Oxigraph's bulk loader reads the file: close to the cost of `Store.bulk_load` alone.
        """
        _check_mode(mode)
        ox = _ox()
        started = time.perf_counter()
        store = self._open(writable=True)
        if isinstance(source, (Dataset, Graph)):
            load = {"input": source.serialize(format="nquads").encode("utf-8"), "format": ox.RdfFormat.N_QUADS}
            label = "<dataset>"
        else:
            path = Path(source)
            if not path.exists():
                raise StoreError("no such graph file (run `kg build` first)", path=path)
            fmt = ox.RdfFormat.from_extension(path.suffix.lstrip(".")) if path.suffix else None
            if fmt is None:
                raise StoreError(f"unknown graph format {path.suffix}", path=path)
            load = {"path": str(path), "format": fmt}
            label = str(path)
        try:
            names: set = set()
            sent = 0
            for quad in ox.parse(**load):
                names.add(quad.graph_name)
                sent += 1
            if mode == "replace":
                for name in names:
                    store.clear_graph(name)
            store.bulk_load(**load)
            store.flush()
        except SyntaxError as exc:
            raise StoreError(f"cannot parse the graph: {exc}", path=label) from None
        pushed = {n.value for n in names if isinstance(n, ox.NamedNode)}
        counts = {name: n for name, n in self.graphs().items() if name in pushed}
        return PushReport(self.spec, mode, dict(sorted(counts.items())), sent,
                          time.perf_counter() - started, method="oxigraph")

    def dump_nquads(self) -> bytes:
        ox = _ox()
        return self.store.dump(format=ox.RdfFormat.N_QUADS)

    def dataset(self) -> Dataset:
        from kg.build import new_dataset

        ds = new_dataset()
        ds.parse(data=self.dump_nquads().decode("utf-8"), format="nquads")
        return ds

    def with_inference(self, regime: str) -> "Store":
        """Inference keeps the Oxigraph engine: a copy in memory with the entailments added."""
        from kg import namespace as ns
        from kg.infer import entailments

        ox = _ox()
        triples = {(from_oxigraph(q.subject), from_oxigraph(q.predicate), from_oxigraph(q.object))
                   for q in self.store.quads_for_pattern(None, None, None, None)}
        extra = entailments(triples, regime)
        copy = OxigraphStore.in_memory(self.dump_nquads())
        lines = "".join(f"{s.n3()} {p.n3()} {o.n3()} .\n" for s, p, o in extra)
        copy.store.bulk_load(lines.encode("utf-8"), format=ox.RdfFormat.N_TRIPLES,
                             to_graph=ox.NamedNode(str(ns.GRAPH["inferred"])))
        copy.spec = f"{self.spec}+{regime}"
        return copy

    def close(self) -> None:
        if self._store is not None and not self._read_only:
            self._store.flush()
        self._store = None


# --- any SPARQL 1.1 server ------------------------------------------------------------

_ACCEPT = ("application/sparql-results+json, text/turtle;q=0.9, application/n-triples;q=0.9, "
           "application/sparql-results+xml;q=0.5, application/rdf+xml;q=0.4, application/ld+json;q=0.4")
_ACCEPT_GRAPH = "text/turtle, application/n-triples;q=0.9, application/rdf+xml;q=0.5, application/ld+json;q=0.4"
_ACCEPT_BINDINGS = "application/sparql-results+json, application/sparql-results+xml;q=0.5"
_GRAPH_TYPES = {"text/turtle": "turtle", "application/x-turtle": "turtle", "application/n-triples": "nt",
                "text/plain": "nt", "application/rdf+xml": "xml", "application/ld+json": "json-ld",
                "text/rdf+n3": "n3"}


def _json_to_term(value: dict | None) -> object:
    if value is None:
        return None
    kind = value.get("type")
    if kind == "uri":
        return URIRef(value["value"])
    if kind == "bnode":
        return BNode(value["value"])
    lang = value.get("xml:lang")
    if lang:
        return Literal(value["value"], lang=lang)
    datatype = value.get("datatype")
    return Literal(value["value"], datatype=URIRef(datatype) if datatype and datatype != str(XSD.string) else None)


class _ChallengeAuth:
    """HTTP auth that answers the server's challenge: Digest (Virtuoso's -auth endpoints) or Basic."""

    def __new__(cls, user: str, password: str):
        import httpx

        class Auth(httpx.Auth):
            requires_response_body = True

            def auth_flow(self, request):
                response = yield request
                if response.status_code != 401:
                    return
                challenge = response.headers.get("www-authenticate", "").lower()
                inner = httpx.DigestAuth(user, password) if challenge.startswith("digest") \
                    else httpx.BasicAuth(user, password)
                yield from inner.auth_flow(request)

        return Auth()


class SparqlStore(Store):
    """A remote SPARQL 1.1 server (Virtuoso, Fuseki, GraphDB, Oxigraph server, `kg serve`, …).

    Queries POST to QUERY_URL. Push uses SPARQL 1.1 Update at UPDATE_URL (DROP SILENT GRAPH,
    then INSERT DATA in chunks), or the Graph Store Protocol when `gsp` is given (PUT to
    replace, POST to merge); either way it counts what the server then holds per graph.
    """

    def __init__(self, query_url: str, update_url: str | None = None, *, gsp: str | None = None,
                 user: str | None = None, password: str | None = None, timeout: float = 60.0,
                 chunk: int = 1000):
        self.query_url = query_url
        self.update_url = update_url or query_url
        self.gsp = gsp
        self.spec = f"sparql:{query_url}" + (f",{update_url}" if update_url else "")
        self.timeout = timeout
        self.chunk = chunk
        self._auth = _ChallengeAuth(user, password or "") if user else None
        self._client = None

    @property
    def client(self):
        import httpx

        if self._client is None:
            self._client = httpx.Client(timeout=self.timeout, auth=self._auth, follow_redirects=True,
                                        headers={"User-Agent": "techkg"})
        return self._client

    def _post(self, url: str, **kwargs):
        import httpx

        try:
            return self.client.post(url, **kwargs)
        except httpx.TimeoutException:
            raise QueryError(f"the SPARQL endpoint did not answer within {self.timeout:g} s", path=url) from None
        except httpx.HTTPError as exc:
            raise StoreError(f"cannot reach the SPARQL endpoint: {exc}", path=url) from None

    def query(self, text: str, *, source: str = "<query>", max_rows: int | None = None) -> Result:
        form = query_form(text)
        accept = _ACCEPT_GRAPH if form in ("CONSTRUCT", "DESCRIBE") else _ACCEPT_BINDINGS if form else _ACCEPT
        response = self._post(self.query_url, data={"query": text}, headers={"Accept": accept})
        if response.status_code >= 400:
            check_syntax(text, source=source)  # a local caret beats the server's prose when we can give one
            body = " ".join(response.text.split())[:500]
            raise QueryError(f"the endpoint refused the query (HTTP {response.status_code}): {body}", path=source)
        ctype = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if ctype in ("application/sparql-results+json", "application/json"):
            data = json.loads(response.content)
            if "boolean" in data:
                return ask_result(bool(data["boolean"]))
            variables = tuple(data.get("head", {}).get("vars", []))
            bindings = data.get("results", {}).get("bindings", [])
            if form == "ASK":  # Virtuoso answers ASK over POST as a one-cell table (__ASK_RETVAL)
                cell = next(iter(bindings[0].values()), {}) if bindings else {}
                return ask_result(str(cell.get("value", "0")).lower() in ("1", "true"))
            rows, truncated = _truncate(
                (tuple(_json_to_term(b.get(v)) for v in variables) for b in bindings), max_rows)
            return Result(variables, tuple(rows), truncated=truncated)
        if ctype == "application/sparql-results+xml":
            from rdflib.query import Result as RdflibResult

            parsed = RdflibResult.parse(data=response.content, format="xml")
            if parsed.type == "ASK":
                return ask_result(parsed.askAnswer)
            variables = tuple(str(v) for v in parsed.vars)
            rows, truncated = _truncate((tuple(row) for row in parsed), max_rows)
            return Result(variables, tuple(rows), truncated=truncated)
        if ctype in _GRAPH_TYPES:
            parsed_graph = Graph()
            parsed_graph.parse(data=response.content, format=_GRAPH_TYPES[ctype])
            graph, truncated = _truncate_graph(parsed_graph, max_rows)
            return Result((), (), graph, truncated=truncated)
        raise StoreError(f"the endpoint answered with an unexpected content type {ctype!r}", path=self.query_url)

    def _update(self, text: str) -> None:
        response = self._post(self.update_url, data={"update": text})
        if response.status_code >= 400:
            body = " ".join(response.text.split())[:500]
            raise StoreError(f"the endpoint refused the update (HTTP {response.status_code}): {body}",
                             path=self.update_url)

    def _count(self, graph: str) -> int:
        result = self.query(f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}")
        return int(result.rows[0][0]) if result.rows else 0

    def push(self, source: Path | Dataset, *, mode: str = "replace") -> PushReport:
        _check_mode(mode)
        started = time.perf_counter()
        ds = source if isinstance(source, Dataset) else load_graph(source)
        counts: dict[str, int] = {}
        short: list[str] = []
        sent = 0
        for graph in sorted(ds.graphs(), key=lambda g: str(g.identifier)):
            name = str(graph.identifier)
            if len(graph) == 0 or name.startswith("urn:x-rdflib:"):
                continue
            if self.gsp:
                self._gsp_put(name, graph, replace=mode == "replace")
            else:
                self._update_graph(name, graph, replace=mode == "replace")
            sent += len(graph)
            counts[name] = held = self._count(name)
            # replace: exactly what was sent; merge: at least that (the graph may have held more)
            if held < len(graph) or (mode == "replace" and held != len(graph)):
                short.append(f"{name}: sent {len(graph)}, holds {held}")
        if short:
            raise StoreError(f"the endpoint did not store every triple ({'; '.join(short)})", path=self.update_url,
                             hint="some servers drop literals they cannot type (Virtuoso's INSERT DATA and "
                                  "xsd:gYearMonth); push with --gsp URL to use the Graph Store Protocol")
        return PushReport(self.spec, mode, counts, sent, time.perf_counter() - started,
                          method="gsp" if self.gsp else "update")

    def _update_graph(self, name: str, graph: Graph, *, replace: bool) -> None:
        if replace:
            self._update(f"DROP SILENT GRAPH <{name}>")
        lines = sorted(graph.serialize(format="nt").splitlines())
        lines = [line for line in lines if line.strip()]
        # blank nodes are scoped to one request: a graph that has any goes in one piece
        size = len(lines) if any("_:" in line for line in lines) else self.chunk
        for i in range(0, len(lines), max(size, 1)):
            body = "\n".join(lines[i:i + size])
            self._update(f"INSERT DATA {{ GRAPH <{name}> {{\n{body}\n}} }}")

    def _gsp_put(self, name: str, graph: Graph, *, replace: bool) -> None:
        import httpx

        body = graph.serialize(format="nt").encode("utf-8")
        try:
            response = self.client.request("PUT" if replace else "POST", self.gsp, params={"graph": name},
                                           content=body, headers={"Content-Type": "text/turtle"})
        except httpx.HTTPError as exc:
            raise StoreError(f"cannot reach the graph store: {exc}", path=self.gsp) from None
        if response.status_code >= 400:
            text = " ".join(response.text.split())[:500]
            raise StoreError(f"the graph store refused graph {name} (HTTP {response.status_code}): {text}",
                             path=self.gsp)

    def dataset(self) -> Dataset:
        from kg.build import new_dataset

        result = self.query("CONSTRUCT { ?s ?p ?o } WHERE { ?s ?p ?o }")
        ds = new_dataset()
        for t in result.graph or ():
            ds.add(t)
        return ds

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None


# --- opening a store by spec ------------------------------------------------------------

STORE_KINDS = ("memory", "oxigraph", "sparql")


def open_store(spec: str | None = None, *, graph_path: str | Path | None = None, user: str | None = None,
               password: str | None = None, gsp: str | None = None, timeout: float = 60.0) -> Store:
    """The store a spec names (see the module docstring); `graph_path` is the memory store's file."""
    spec = (spec or "memory").strip()
    kind, _, rest = spec.partition(":")
    if kind == "memory":
        return MemoryStore(path=Path(rest or graph_path or DEFAULT_GRAPH_FILE), spec=spec)
    if kind == "oxigraph":
        if not rest:
            raise StoreError("oxigraph needs a directory: --store oxigraph:PATH")
        return OxigraphStore(rest)
    if kind == "sparql":
        urls = [u.strip() for u in rest.split(",") if u.strip()]
        if not urls or not all(u.startswith(("http://", "https://")) for u in urls) or len(urls) > 2:
            raise StoreError(f"bad SPARQL store {spec!r}: use sparql:QUERY_URL[,UPDATE_URL] with http(s) URLs")
        return SparqlStore(urls[0], urls[1] if len(urls) > 1 else None, gsp=gsp, user=user, password=password,
                           timeout=timeout)
    raise StoreError(f"unknown store {spec!r} (use memory, oxigraph:PATH or sparql:QUERY_URL[,UPDATE_URL])")
