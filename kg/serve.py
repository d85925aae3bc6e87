"""A read-only SPARQL 1.1 Protocol endpoint over a store, with a query page that works offline.

    GET  /sparql?query=…                          results, negotiated by Accept or ?format=
    POST /sparql  (form: query=…)                 the same, for long queries
    POST /sparql  (Content-Type: application/sparql-query)
    GET  /                                        the query page (no script, no CDN)

SELECT and ASK answer as SPARQL JSON (default), XML, CSV or TSV; CONSTRUCT and DESCRIBE as
Turtle (default), JSON-LD, N-Triples or RDF/XML. Every update form (INSERT, DELETE, LOAD,
CLEAR, …), `update=` and SERVICE are refused with 403; a query longer than the size limit
with 413; a query running past the time limit with 503. Results longer than `max_rows` are
cut there, and the response says so in the header `X-SPARQL-MaxRows` (as Virtuoso does).

Example:
    >>> from kg.store import open_store
    >>> server = make_server(open_store("oxigraph:build/oxigraph"), port=0)   # doctest: +SKIP
    >>> threading.Thread(target=server.serve_forever, daemon=True).start()   # doctest: +SKIP
"""
from __future__ import annotations

import html
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable
from urllib.parse import parse_qs, urlencode, urlsplit

from kg.errors import KGError, QueryError
from kg.query import (QueryRefused, QueryTimeout, Result, _cell, call_with_timeout, check_read_only, describe_saved,
                      render, saved_queries)
from kg.store import Store

RESULT_TYPES = {  # media type -> kg.query.render format, in order of preference
    "application/sparql-results+json": "json",
    "application/sparql-results+xml": "xml",
    "text/csv": "csv",
    "text/tab-separated-values": "sparql-tsv",
    "application/json": "json",
    "application/xml": "xml",
}
GRAPH_TYPES = {
    "text/turtle": "turtle",
    "application/ld+json": "jsonld",
    "application/n-triples": "nt",
    "application/rdf+xml": "rdfxml",
    "application/x-turtle": "turtle",
    "text/plain": "nt",
}
# ?format= (also ?output= and ?results=, which SPARQLWrapper sends): short names and media types
_FORMAT_NAMES = {
    "bindings": {"json": "application/sparql-results+json", "xml": "application/sparql-results+xml",
                 "csv": "text/csv", "tsv": "text/tab-separated-values"},
    "graph": {"json": "application/ld+json", "json-ld": "application/ld+json", "jsonld": "application/ld+json",
              "turtle": "text/turtle", "ttl": "text/turtle", "n3": "text/turtle", "nt": "application/n-triples",
              "ntriples": "application/n-triples", "xml": "application/rdf+xml", "rdf": "application/rdf+xml",
              "rdf+xml": "application/rdf+xml"},
}
LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1", "[::1]"}


@dataclass(frozen=True)
class Limits:
    """What one request may cost."""

    timeout: float = 10.0  # seconds per query
    max_rows: int = 10_000  # rows (or triples) per answer; more are cut
    max_query_bytes: int = 64 * 1024  # a longer query (or request body) is refused with 413
    max_concurrent: int = 4  # queries running at once; more wait up to `queue_seconds`
    queue_seconds: float = 5.0


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes
    content_type: str = "text/plain; charset=utf-8"
    headers: tuple[tuple[str, str], ...] = ()


def _plain(status: int, message: str, *headers: tuple[str, str]) -> Reply:
    return Reply(status, (message.rstrip() + "\n").encode("utf-8"), headers=headers)


def _accepted(accept: str) -> list[tuple[str, float, int]]:
    """(media range, q, position) from an Accept header, best first."""
    ranges = []
    for i, part in enumerate(accept.split(",")):
        fields = [f.strip() for f in part.split(";")]
        media = fields[0].lower()
        if not media:
            continue
        q = 1.0
        for f in fields[1:]:
            if f.lower().startswith("q="):
                try:
                    q = float(f[2:])
                except ValueError:
                    q = 0.0
        ranges.append((media, q, i))
    return sorted(ranges, key=lambda r: (-r[1], r[2]))


def negotiate(accept: str | None, offered: dict[str, str]) -> str | None:
    """The offered media type the client prefers; the first offered one for a missing Accept or */*."""
    if not accept:
        return next(iter(offered))
    for media, q, _ in _accepted(accept):
        if q <= 0:
            continue
        if media in offered:
            return media
        if media in ("*/*", "*"):
            return next(iter(offered))
        if media.endswith("/*"):
            for candidate in offered:
                if candidate.startswith(media[:-1]):
                    return candidate
    return None


def _choose(result: Result, accept: str | None, fmt: str | None) -> tuple[str, str] | None:
    kind = "graph" if result.graph is not None else "bindings"
    offered = GRAPH_TYPES if kind == "graph" else RESULT_TYPES
    if fmt:
        fmt = fmt.strip().lower()
        media = _FORMAT_NAMES[kind].get(fmt, fmt)
        return (media, offered[media]) if media in offered else None
    media = negotiate(accept, offered)
    return (media, offered[media]) if media else None


class Endpoint:
    """The protocol without the socket: a query (and Accept, ?format) in, a Reply out."""

    def __init__(self, store: Store, limits: Limits = Limits()):
        self.store = store
        self.limits = limits
        self._slots = threading.BoundedSemaphore(limits.max_concurrent)

    def execute(self, text: str) -> Result:
        """Check and run one query within the limits (raises QueryError subclasses)."""
        if len(text.encode("utf-8")) > self.limits.max_query_bytes:
            raise _TooLarge(f"query is longer than {self.limits.max_query_bytes} bytes")
        if not self._slots.acquire(timeout=self.limits.queue_seconds):
            raise _Busy("too many queries are running; try again shortly")
        try:
            def checked() -> Result:
                check_read_only(text)
                return self.store.query(text, max_rows=self.limits.max_rows)

            return call_with_timeout(checked, self.limits.timeout)
        finally:
            self._slots.release()

    def answer(self, text: str | None, *, accept: str | None = None, fmt: str | None = None) -> Reply:
        if not text or not text.strip():
            return _plain(400, "no query: send ?query=… (GET), a form field query=… or an application/sparql-query "
                               "body (POST); the query page is at /")
        try:
            result = self.execute(text)
        except KGError as exc:
            return _error_reply(exc)
        chosen = _choose(result, accept, fmt)
        if chosen is None:
            offered = GRAPH_TYPES if result.graph is not None else RESULT_TYPES
            return _plain(406, "cannot answer in the requested format; available: " + ", ".join(offered))
        media, name = chosen
        headers: list[tuple[str, str]] = [("Vary", "Accept")]
        if result.truncated:
            headers.append(("X-SPARQL-MaxRows", str(self.limits.max_rows)))
        body = render(result, name).encode("utf-8")
        return Reply(200, body, f"{media}; charset=utf-8", tuple(headers))


class _TooLarge(QueryError):
    pass


class _Busy(QueryError):
    pass


def _error_reply(exc: KGError) -> Reply:
    message = exc.message if isinstance(exc, QueryRefused) else str(exc)
    if isinstance(exc, _TooLarge):
        return _plain(413, str(exc))
    if isinstance(exc, QueryRefused):
        return _plain(403, message)
    if isinstance(exc, (QueryTimeout, _Busy)):
        return _plain(503, str(exc), ("Retry-After", "5"))
    if isinstance(exc, QueryError):
        return _plain(400, str(exc))
    return _plain(502, str(exc))


# --- the query page ---------------------------------------------------------------------

_CSS = """
body{font:15px/1.45 system-ui,sans-serif;margin:1.5rem auto;max-width:70rem;padding:0 1rem;color:#1d2430}
h1{font-size:1.3rem}textarea{width:100%;min-height:14rem;font:13px/1.4 ui-monospace,monospace;box-sizing:border-box}
table{border-collapse:collapse;margin-top:1rem;font-size:13px}td,th{border:1px solid #ccd;padding:.2rem .45rem;
text-align:left;vertical-align:top}th{background:#eef}pre{background:#f5f5f8;padding:.6rem;overflow:auto}
.error{color:#a00;white-space:pre-wrap}.note{color:#555}nav a{margin-right:.6rem;white-space:nowrap}
"""
_PAGE_HEADERS = (
    ("Content-Security-Policy",
     "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "no-referrer"),
)
DEFAULT_QUERY = """PREFIX tk: <https://w3id.org/techkg/ontology#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>

SELECT ?type (COUNT(?entity) AS ?entities) WHERE {
  ?entity a ?type .
  VALUES ?type { tk:Organization tk:Person tk:Technology tk:Product tk:Event tk:Place tk:Policy }
}
GROUP BY ?type
ORDER BY DESC(?entities)
"""


def _html_table(result: Result, limits: Limits) -> str:
    e = html.escape
    if result.boolean is not None:
        return f"<p>ASK: <b>{'true' if result.boolean else 'false'}</b></p>"
    if result.graph is not None:
        return f"<pre>{e(render(result, 'turtle'))}</pre>"
    head = "".join(f"<th>{e(v)}</th>" for v in result.variables)
    rows = "\n".join("<tr>" + "".join(f"<td>{e(_cell(v))}</td>" for v in row) + "</tr>" for row in result.rows)
    note = f"{len(result.rows)} rows" + (f" (cut at the limit of {limits.max_rows})" if result.truncated else "")
    return f'<p class="note">{e(note)}</p><table><tr>{head}</tr>\n{rows}</table>'


def page(endpoint: Endpoint, params: dict[str, str]) -> Reply:
    """The query page: a form, the saved questions, and (when a query was sent) its answer."""
    e = html.escape
    saved = saved_queries()
    text = params.get("query")
    output = ""
    if text is None and params.get("name") in saved:
        text = saved[params["name"]].read_text(encoding="utf-8")
    elif text is not None:
        try:
            output = _html_table(endpoint.execute(text), endpoint.limits)
        except KGError as exc:
            output = f'<p class="error">{e(str(exc))}</p>'
        links = "".join(f'<a href="/sparql?{e(urlencode({"query": text, "format": f}))}">{f}</a> '
                        for f in ("json", "csv", "tsv", "xml"))
        output = f'<p class="note">download: {links}</p>' + output
    nav = "".join(f'<a href="/?{e(urlencode({"name": name}))}" title="{e(describe_saved(path))}">{e(name)}</a> '
                  for name, path in saved.items())
    body = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>techkg SPARQL</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><style>{_CSS}</style></head>
<body><h1>techkg SPARQL endpoint</h1>
<p class="note">Read-only; queries run over the union of all named graphs; at most {endpoint.limits.max_rows} rows,
{endpoint.limits.timeout:g} s per query. The protocol endpoint is <code>/sparql</code>.</p>
<nav>Saved questions: {nav}</nav>
<form method="get" action="/"><p><textarea name="query" spellcheck="false">{e(text if text is not None else DEFAULT_QUERY)}</textarea></p>
<p><button type="submit">Run</button></p></form>
{output}
</body></html>
"""
    return Reply(200, body.encode("utf-8"), "text/html; charset=utf-8", _PAGE_HEADERS)


# --- HTTP ---------------------------------------------------------------------------------

class Handler(BaseHTTPRequestHandler):
    server: "SparqlServer"
    server_version = "techkg"
    sys_version = ""
    protocol_version = "HTTP/1.1"
    timeout = 30  # seconds a client may take to send its request

    def log_message(self, format: str, *args) -> None:  # noqa: A002 (the stdlib's name)
        if self.server.log is not None:
            self.server.log(f"{self.address_string()} {format % args}")

    def _send(self, reply: Reply, *, head_only: bool = False) -> None:
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Cache-Control", "no-store")
        for name, value in reply.headers:
            self.send_header(name, value)
        self.end_headers()
        if not head_only:
            self.wfile.write(reply.body)

    def _host_ok(self) -> bool:
        """On a loopback address, only loopback host names (a guard against DNS rebinding)."""
        if self.server.server_address[0] not in ("127.0.0.1", "::1"):
            return True
        host = (self.headers.get("Host") or "").strip().lower()
        name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
        return not host or name in LOOPBACK_NAMES

    def _params(self) -> tuple[str, dict[str, str]]:
        parts = urlsplit(self.path)
        return parts.path, {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}

    def _dispatch(self, path: str, params: dict[str, str], body_query: str | None = None) -> Reply:
        if not self._host_ok():
            return _plain(421, "this endpoint answers to localhost only")
        if "update" in params:
            return _plain(403, "SPARQL Update is refused: this endpoint is read-only")
        fmt = params.get("format") or params.get("output") or params.get("results")
        if path in ("/", "/index.html"):
            if body_query is not None:
                params = {**params, "query": body_query}
            return page(self.server.endpoint, params)
        if path == "/sparql":
            text = body_query if body_query is not None else params.get("query")
            return self.server.endpoint.answer(text, accept=self.headers.get("Accept"), fmt=fmt)
        return _plain(404, "not found: the endpoint is /sparql, the query page is /")

    def do_GET(self) -> None:  # noqa: N802 (the stdlib's name)
        if len(self.path) > self.server.endpoint.limits.max_query_bytes * 3:
            self._send(_plain(414, "request line too long"))
            return
        path, params = self._params()
        self._send(self._dispatch(path, params))

    def do_HEAD(self) -> None:  # noqa: N802
        path, params = self._params()
        self._send(self._dispatch(path, params), head_only=True)

    def do_POST(self) -> None:  # noqa: N802
        path, params = self._params()
        limit = self.server.endpoint.limits.max_query_bytes
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0 or self.headers.get("Transfer-Encoding"):
            self.close_connection = True
            self._send(_plain(411, "send the body with a Content-Length"))
            return
        # a form-encoded query may grow to three times its size; more than that is refused unread
        if length > limit * 3:
            self.close_connection = True
            self._send(_plain(413, f"request body is longer than {limit * 3} bytes"))
            return
        raw = self.rfile.read(length) if length else b""
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if ctype == "application/sparql-update":
            self._send(_plain(403, "SPARQL Update is refused: this endpoint is read-only"))
            return
        if ctype == "application/sparql-query":
            body_query = raw.decode("utf-8", errors="replace")
        elif ctype in ("application/x-www-form-urlencoded", ""):
            form = {k: v[0] for k, v in parse_qs(raw.decode("utf-8", errors="replace"),
                                                 keep_blank_values=True).items()}
            if "update" in form:
                self._send(_plain(403, "SPARQL Update is refused: this endpoint is read-only"))
                return
            params = {**params, **{k: v for k, v in form.items() if k != "query"}}
            body_query = form.get("query", params.get("query"))
        else:
            self._send(_plain(415, "send application/sparql-query or an application/x-www-form-urlencoded form"))
            return
        self._send(self._dispatch(path, params, body_query if body_query is not None else ""))

    def _refuse_method(self) -> None:
        self._send(_plain(405, "read-only endpoint: use GET or POST", ("Allow", "GET, HEAD, POST")))

    do_PUT = do_DELETE = do_PATCH = do_OPTIONS = _refuse_method  # noqa: N815


class SparqlServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], endpoint: Endpoint, *, log: Callable[[str], None] | None = None):
        super().__init__(address, Handler)
        self.endpoint = endpoint
        self.log = log

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}/sparql"


def make_server(store: Store, *, host: str = "127.0.0.1", port: int = 8000, limits: Limits = Limits(),
                log: Callable[[str], None] | None = None) -> SparqlServer:
    """A server bound to host:port (port 0 picks a free one); call `serve_forever()` to run it.

    The store is opened (its graph loaded) before the first request, outside any time limit.
    """
    store.open()
    try:
        return SparqlServer((host, port), Endpoint(store, limits), log=log)
    except OSError as exc:
        raise KGError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
