"""Run SPARQL (inline, from a file, or a saved question in `queries/`) and return rows."""
from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

from rdflib import BNode, Dataset, Graph, Literal, URIRef

from kg.errors import QueryError

QUERIES_DIR = Path(__file__).resolve().parents[1] / "queries"


@dataclass(frozen=True)
class Result:
    variables: tuple[str, ...]
    rows: tuple[tuple[object, ...], ...]
    graph: Graph | None = None  # for CONSTRUCT and DESCRIBE


def saved_queries() -> dict[str, Path]:
    return {p.stem: p for p in sorted(QUERIES_DIR.glob("*.rq"))}


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


def _position(text: str, exc: Exception) -> tuple[int | None, int | None]:
    loc = getattr(exc, "loc", None)
    if loc is None:
        return None, None
    line = text.count("\n", 0, loc) + 1
    column = loc - (text.rfind("\n", 0, loc) + 1) + 1
    return line, column


def run(graph: Graph | Dataset, text: str, *, source: str = "<query>") -> Result:
    from pyparsing import ParseException

    try:
        result = graph.query(text)
    except ParseException as exc:
        line, column = _position(text, exc)
        caret = ""
        if line is not None:
            bad = text.splitlines()[line - 1] if text.splitlines() else ""
            caret = f"\n  {bad}\n  {' ' * (column - 1)}^"
        raise QueryError(f"SPARQL syntax error: {exc.msg}{caret}", path=source, line=line, column=column) from None
    except Exception as exc:  # rdflib raises many types for evaluation problems
        raise QueryError(f"query failed: {exc}", path=source) from None
    if result.type in ("CONSTRUCT", "DESCRIBE"):
        return Result((), (), result.graph)
    if result.type == "ASK":
        return Result(("ask",), ((bool(result.askAnswer),),))
    variables = tuple(str(v) for v in result.vars)
    return Result(variables, tuple(tuple(row) for row in result))


def _cell(value: object) -> str:
    if value is None:
        return ""
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
    return {"type": "literal", "value": str(value)}


def render(result: Result, fmt: str) -> str:
    """csv, tsv, json (SPARQL 1.1 results), markdown; graphs as turtle or json-ld."""
    if result.graph is not None:
        return result.graph.serialize(format="json-ld" if fmt == "json" else "turtle")
    if fmt in ("csv", "tsv"):
        buffer = io.StringIO()
        writer = csv.writer(buffer, delimiter="," if fmt == "csv" else "\t", lineterminator="\n")
        writer.writerow(result.variables)
        for row in result.rows:
            writer.writerow([_cell(v) for v in row])
        return buffer.getvalue()
    if fmt == "json":
        bindings = [{var: _json_term(v) for var, v in zip(result.variables, row) if v is not None}
                    for row in result.rows]
        return json.dumps({"head": {"vars": list(result.variables)}, "results": {"bindings": bindings}},
                          ensure_ascii=False, indent=1, sort_keys=True) + "\n"
    if fmt == "markdown":
        lines = ["| " + " | ".join(result.variables) + " |", "|" + "---|" * len(result.variables)]
        for row in result.rows:
            lines.append("| " + " | ".join(_cell(v).replace("|", "\\|") for v in row) + " |")
        return "\n".join(lines) + "\n"
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
