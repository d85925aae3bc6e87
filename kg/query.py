"""Run SPARQL (inline, from a file, or a saved question in `queries/`) and render the answer.

A query runs against a store (see `kg.store`): the built graph in memory, an Oxigraph
directory or a remote SPARQL 1.1 endpoint. Every store answers with the same `Result`
of rdflib terms, so rendering and tests do not care where the graph lives.

Example:
    >>> from kg.store import open_store
    >>> text, source = load_query(name="products-of-organization")
    >>> result = run(open_store("memory"), text, source=source, timeout=10)
    >>> print(render(result, "csv"))          # doctest: +SKIP
"""
from __future__ import annotations

import csv
import ctypes
import io
import json
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Callable, Sequence, TypeVar
from xml.sax.saxutils import escape, quoteattr

from rdflib import BNode, Dataset, Graph, Literal, URIRef

from kg.errors import QueryError

QUERIES_DIR = Path(__file__).resolve().parents[1] / "queries"
T = TypeVar("T")


class QueryTimeout(QueryError):
    """The query ran longer than its time limit and was abandoned."""


class QueryRefused(QueryError):
    """The query is well-formed but not allowed here (an update, or SERVICE on a read-only endpoint)."""


@dataclass(frozen=True)
class Result:
    """What a query gives: rows of rdflib terms (None when unbound), a graph, or a boolean.

    ASK keeps the historical shape `(("ask",), ((answer,),))` and also sets `boolean`.
    `truncated` says that more rows (or triples) existed than the `max_rows` asked for.
    """

    variables: tuple[str, ...]
    rows: tuple[tuple[object, ...], ...]
    graph: Graph | None = None  # for CONSTRUCT and DESCRIBE
    boolean: bool | None = None  # for ASK
    truncated: bool = False

    @property
    def kind(self) -> str:
        """"graph", "boolean" or "bindings"."""
        if self.graph is not None:
            return "graph"
        if self.boolean is not None:
            return "boolean"
        return "bindings"


def ask_result(answer: bool) -> Result:
    return Result(("ask",), ((bool(answer),),), boolean=bool(answer))


def saved_queries() -> dict[str, Path]:
    return {p.stem: p for p in sorted(QUERIES_DIR.glob("*.rq"))}


def describe_saved(path: Path) -> str:
    """The one-line question a saved query starts with (its first `#` comment)."""
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            return line.lstrip("#").strip()
    return ""


def load_query(text: str | None = None, *, file: str | Path | None = None, name: str | None = None) -> tuple[str, str]:
    """The query text and where it came from (for error messages)."""
    if name:
        queries = saved_queries()
        if name not in queries:
            raise QueryError(f"no saved query {name!r} (known: {', '.join(queries) or 'none'})")
        return queries[name].read_text(encoding="utf-8"), str(queries[name])
    if file:
        path = Path(file)
        if not path.exists():
            raise QueryError("no such query file", path=path)
        return path.read_text(encoding="utf-8"), str(path)
    if text and text.endswith(".rq") and Path(text).exists():
        return Path(text).read_text(encoding="utf-8"), text
    if not text:
        raise QueryError("no query given (inline text, -f FILE.rq or --name SAVED)")
    return text, "<query>"


# --- errors with a position -------------------------------------------------------------

def _position(text: str, exc: Exception) -> tuple[int | None, int | None]:
    loc = getattr(exc, "loc", None)
    if loc is None:
        return None, None
    line = text.count("\n", 0, loc) + 1
    column = loc - (text.rfind("\n", 0, loc) + 1) + 1
    return line, column


def syntax_error(text: str, message: str, *, line: int | None, column: int | None,
                 source: str = "<query>") -> QueryError:
    """A QueryError that quotes the offending line and points at the column with a caret."""
    caret = ""
    lines = text.splitlines()
    if line is not None and column is not None and 1 <= line <= len(lines):
        bad = lines[line - 1]
        column = max(1, min(column, len(bad) + 1))
        caret = f"\n  {bad}\n  {' ' * (column - 1)}^"
    return QueryError(f"SPARQL syntax error: {message}{caret}", path=source, line=line, column=column)


def rdflib_syntax_error(text: str, exc: Exception, *, source: str = "<query>") -> QueryError:
    """A QueryError for an rdflib ParseException: pyparsing reports where the failing group began."""
    line, column = _position(text, exc)
    return syntax_error(text, getattr(exc, "msg", str(exc)), line=line, column=column, source=source)


# rdflib parses SPARQL with pyparsing, whose packrat cache is shared and not thread-safe:
# concurrent parses in `kg serve` could return another query's parse. Parsing (not
# evaluation) happens under this lock.
PARSE_LOCK = threading.RLock()


@lru_cache(maxsize=256)
def _parse(text: str):
    """rdflib's parse tree of a query or an update (cached: servers see the same text often)."""
    from pyparsing import ParseException
    from rdflib.plugins.sparql.parser import parseQuery, parseUpdate

    with PARSE_LOCK:
        try:
            return "query", parseQuery(text)
        except ParseException as exc:
            try:
                return "update", parseUpdate(text)
            except ParseException:
                return "error", exc


def prepare(text: str, namespaces: dict):
    """An rdflib prepared query, parsed and translated under PARSE_LOCK."""
    from rdflib.plugins.sparql import prepareQuery

    with PARSE_LOCK:
        return prepareQuery(text, initNs=namespaces)


def check_syntax(text: str, *, source: str = "<query>") -> str:
    """The query's form ("query" or "update"); a syntax error raises with line, column and caret."""
    try:
        form, tree = _parse(text)
    except RecursionError:
        raise QueryError("query is nested too deeply", path=source) from None
    if form == "error":
        raise rdflib_syntax_error(text, tree, source=source)
    return form


def query_form(text: str) -> str | None:
    """SELECT, ASK, CONSTRUCT or DESCRIBE (None when rdflib cannot parse the text as a query)."""
    form, tree = _parse(text)
    if form != "query":
        return None
    return {"SelectQuery": "SELECT", "AskQuery": "ASK", "ConstructQuery": "CONSTRUCT",
            "DescribeQuery": "DESCRIBE"}.get(tree[1].name)


def _walk(node, seen=None):
    from pyparsing import ParseResults
    from rdflib.plugins.sparql.parserutils import CompValue

    if isinstance(node, CompValue):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, (list, tuple, ParseResults)):
        for value in node:
            yield from _walk(value)


def check_read_only(text: str, *, source: str = "<query>") -> None:
    """Raise QueryRefused unless `text` is a query without SERVICE (what a public endpoint allows)."""
    form = check_syntax(text, source=source)
    if form == "update":
        raise QueryRefused("SPARQL Update (INSERT, DELETE, LOAD, CLEAR, DROP, …) is refused: this endpoint is read-only",
                           path=source)
    for node in _walk(_parse(text)[1]):
        if node.name == "ServiceGraphPattern":
            raise QueryRefused("SERVICE (federated query) is refused: this endpoint answers from its own graph only",
                               path=source)


# --- running ----------------------------------------------------------------------------

class _Cancelled(BaseException):
    """Raised inside an abandoned query thread to stop it (BaseException: rdflib catches Exception)."""


def _interrupt(thread: threading.Thread) -> None:
    if thread.ident is not None:
        ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread.ident), ctypes.py_object(_Cancelled))


def call_with_timeout(fn: Callable[[], T], timeout: float | None, *, source: str = "<query>") -> T:
    """fn() in a worker thread; after `timeout` seconds give up with QueryTimeout.

    The abandoned worker is interrupted at its next Python instruction (rdflib and the
    row loop of every store are Python); a long step inside Oxigraph's engine finishes in
    the background, its result discarded.
    """
    if not timeout or timeout <= 0:
        return fn()
    box: dict[str, object] = {}

    def work() -> None:
        try:
            box["value"] = fn()
        except _Cancelled:
            pass
        except BaseException as exc:  # handed to the caller's thread
            box["error"] = exc

    worker = threading.Thread(target=work, name="kg-query", daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        _interrupt(worker)
        raise QueryTimeout(f"query timed out after {timeout:g} s", path=source,
                           hint="add LIMIT, bind a variable with VALUES, or raise --timeout")
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    return box["value"]  # type: ignore[return-value]


def run(target, text: str, *, source: str = "<query>", timeout: float | None = None,
        max_rows: int | None = None) -> Result:
    """Answer `text` from a store (or an rdflib Graph/Dataset, wrapped as a memory store)."""
    from kg.store import MemoryStore, Store

    store = target if isinstance(target, Store) else MemoryStore(target)
    return call_with_timeout(lambda: store.query(text, source=source, max_rows=max_rows), timeout, source=source)


# --- rendering --------------------------------------------------------------------------

def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _json_term(value: object) -> dict | None:
    if value is None:
        return None
    if isinstance(value, URIRef):
        return {"type": "uri", "value": str(value)}
    if isinstance(value, BNode):
        return {"type": "bnode", "value": str(value)}
    if isinstance(value, Literal):
        term = {"type": "literal", "value": str(value)}
        if value.language:
            term["xml:lang"] = value.language
        elif value.datatype:
            term["datatype"] = str(value.datatype)
        return term
    return {"type": "literal", "value": _cell(value)}


def _nt_term(value: object) -> str:
    """A term in N-Triples syntax (SPARQL TSV results)."""
    if value is None:
        return ""
    if isinstance(value, (URIRef, BNode, Literal)):
        return value.n3()
    return Literal(_cell(value)).n3()


_XML_BAD = dict.fromkeys([c for c in range(32) if c not in (9, 10, 13)] + [0xFFFE, 0xFFFF], "\ufffd")


def _xml_text(value: str) -> str:
    return escape(value.translate(_XML_BAD))


def _xml_term(value: object) -> str:
    if isinstance(value, URIRef):
        return f"<uri>{_xml_text(str(value))}</uri>"
    if isinstance(value, BNode):
        return f"<bnode>{_xml_text(str(value))}</bnode>"
    if isinstance(value, Literal):
        if value.language:
            return f"<literal xml:lang={quoteattr(value.language)}>{_xml_text(str(value))}</literal>"
        if value.datatype:
            return f"<literal datatype={quoteattr(str(value.datatype))}>{_xml_text(str(value))}</literal>"
        return f"<literal>{_xml_text(str(value))}</literal>"
    return f"<literal>{_xml_text(_cell(value))}</literal>"


def _results_xml(result: Result) -> str:
    out = ['<?xml version="1.0" encoding="utf-8"?>',
           '<sparql xmlns="http://www.w3.org/2005/sparql-results#">', "<head>"]
    if result.boolean is not None:
        out += ["</head>", f"<boolean>{'true' if result.boolean else 'false'}</boolean>", "</sparql>"]
        return "\n".join(out) + "\n"
    out += [f"<variable name={quoteattr(v)}/>" for v in result.variables]
    out += ["</head>", "<results>"]
    for row in result.rows:
        out.append("<result>")
        for var, value in zip(result.variables, row):
            if value is not None:
                out.append(f"<binding name={quoteattr(var)}>{_xml_term(value)}</binding>")
        out.append("</result>")
    out += ["</results>", "</sparql>"]
    return "\n".join(out) + "\n"


def _results_json(result: Result) -> str:
    if result.boolean is not None:
        data: dict = {"head": {}, "boolean": result.boolean}
    else:
        bindings = [{var: _json_term(v) for var, v in zip(result.variables, row) if v is not None}
                    for row in result.rows]
        data = {"head": {"vars": list(result.variables)}, "results": {"bindings": bindings}}
    return json.dumps(data, ensure_ascii=False, indent=1, sort_keys=True) + "\n"


def _delimited(result: Result, delimiter: str) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\n")
    writer.writerow(result.variables)
    for row in result.rows:
        writer.writerow([_cell(v) for v in row])
    return buffer.getvalue()


def _sparql_tsv(result: Result) -> str:
    lines = ["\t".join("?" + v for v in result.variables)]
    lines += ["\t".join(_nt_term(v) for v in row) for row in result.rows]
    return "\n".join(lines) + "\n"


def _markdown(result: Result) -> str:
    lines = ["| " + " | ".join(result.variables) + " |", "|" + "---|" * len(result.variables)]
    for row in result.rows:
        lines.append("| " + " | ".join(_cell(v).replace("|", "\\|").replace("\n", " ") for v in row) + " |")
    return "\n".join(lines) + "\n"


def _graph_out(graph: Graph, fmt: str) -> str:
    from kg.build import PREFIXES
    from kg.export import rdf

    for prefix, uri in PREFIXES.items():
        graph.bind(prefix, uri, override=False)
    if fmt == "turtle":
        return rdf.to_turtle(graph)
    if fmt == "jsonld":
        return rdf.to_jsonld(graph)
    if fmt == "nt":
        return rdf.to_ntriples(graph)
    if fmt == "rdfxml":
        return graph.serialize(format="xml")
    raise QueryError(f"a CONSTRUCT or DESCRIBE answer is a graph: use --format turtle or jsonld, not {fmt}")


BINDINGS_FORMATS: dict[str, Callable[[Result], str]] = {
    "csv": lambda r: _delimited(r, ","),
    "tsv": lambda r: _delimited(r, "\t"),
    "sparql-tsv": _sparql_tsv,
    "json": _results_json,
    "xml": _results_xml,
    "markdown": _markdown,
}
GRAPH_FORMATS = ("turtle", "jsonld", "nt", "rdfxml")


def render(result: Result, fmt: str) -> str:
    """Bindings as csv, tsv, sparql-tsv, json (SPARQL 1.1 results), xml or markdown; graphs as
    turtle, jsonld, nt or rdfxml ("json" on a graph means JSON-LD, a results format on a graph
    Turtle, so that `--format json` and the default table always give something)."""
    if result.graph is not None:
        if fmt == "json":
            fmt = "jsonld"
        elif fmt in BINDINGS_FORMATS or fmt == "table":
            fmt = "turtle"
        return _graph_out(result.graph, fmt)
    if fmt in BINDINGS_FORMATS:
        return BINDINGS_FORMATS[fmt](result)
    if fmt in GRAPH_FORMATS:
        raise QueryError(f"a SELECT or ASK answer is a table: use --format table, csv, tsv, json or markdown, "
                         f"not {fmt}")
    raise QueryError(f"unknown output format {fmt!r}")


def rows_as_strings(result: Result) -> list[dict[str, str]]:
    return [{var: _cell(v) for var, v in zip(result.variables, row)} for row in result.rows]


def load_graph(path: str | Path) -> Dataset:
    """A built graph from disk (TriG keeps named graphs; other formats load into the default)."""
    from kg.build import new_dataset

    path = Path(path)
    if not path.exists():
        raise QueryError("no such graph file (run `kg build` first)", path=path)
    ds = new_dataset()
    fmt = {".trig": "trig", ".ttl": "turtle", ".nt": "nt", ".nq": "nquads", ".jsonld": "json-ld"}.get(path.suffix)
    if fmt is None:
        raise QueryError(f"unknown graph format {path.suffix}", path=path)
    try:
        ds.parse(path, format=fmt)
    except Exception as exc:
        raise QueryError(f"cannot parse graph: {exc}", path=path) from None
    return ds


def columns(result: Result) -> Sequence[str]:
    return result.variables
