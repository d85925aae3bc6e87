"""The `kg` command: a thin click layer over the library. The only place that prints or exits."""
from __future__ import annotations

import sys
from pathlib import Path

import click

from kg import __version__
from kg.errors import KGError

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CORPUS = ROOT / "data" / "corpus"
DEFAULT_OUT = Path("build")
DEFAULT_GRAPH = DEFAULT_OUT / "kg.trig"


def fail(exc: KGError) -> None:
    click.echo(f"Error: {exc}", err=True)
    sys.exit(1)


class Command(click.Command):
    """Turns every KGError into one `Error: …` line and exit code 1."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except KGError as exc:
            fail(exc)


class Group(click.Group):
    command_class = Command


def _progress(enabled: bool):
    last = {}

    def report(stage: str, done: int, total: int) -> None:
        if not enabled:
            return
        if last.get(stage) == (done, total):
            return
        last[stage] = (done, total)
        click.echo(f"\r  {stage:<8} {done}/{total}", nl=done >= total, err=True)

    return report


@click.group(cls=Group)
@click.version_option(__version__, prog_name="kg")
def main() -> None:
    """techkg: technology-trend documents into a knowledge graph you can trust, query and explore.

    \b
    Example:
      kg build                      # the bundled corpus → build/kg.ttl, kg.jsonld, kg.trig, kg.html
      kg query --name relations     # a saved question over build/kg.trig
    """


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("-o", "--out", "out_dir", type=click.Path(path_type=Path), default=DEFAULT_OUT, show_default=True,
              help="Directory for kg.ttl, kg.jsonld, kg.trig, kg.nt and kg.html.")
@click.option("--no-curation", is_flag=True, help="Ignore every hand decision (measure extraction alone).")
@click.option("--curation", "curation_dir", type=click.Path(path_type=Path), default=None,
              help="Directory of the curation ledger (default: data/curation).")
@click.option("--strict", is_flag=True, help="Fail on the first bad file instead of skipping it.")
@click.option("--no-html", is_flag=True, help="Skip the HTML explorer.")
@click.option("-q", "--quiet", is_flag=True, help="No progress output.")
def build(paths, out_dir, no_curation, curation_dir, strict, no_html, quiet) -> None:
    """Build the graph from documents (default: the bundled corpus) and write every export.

    \b
    Example:
      kg build data/corpus -o build
      kg build my-reports/ --no-curation --strict
    """
    from kg.pipeline import build as run_build, write_outputs

    progress = _progress(not quiet)
    result = run_build(paths or [DEFAULT_CORPUS], curation_dir=curation_dir, use_curation=not no_curation,
                       strict=strict, progress=progress)
    for line in result.skipped:
        click.echo(f"Error: {line} (skipped)", err=True)
    outputs = write_outputs(result, out_dir, html=not no_html, progress=progress)
    summary = result.summary()
    for warning in result.warnings[:20]:
        click.echo(f"warning: {warning}", err=True)
    click.echo(f"Built {summary['documents']} documents, {summary['sentences']} sentences, "
               f"{summary['triples']} triples in {summary['seconds']} s")
    click.echo("  entities:  " + ", ".join(f"{k} {v}" for k, v in summary["entities"].items())
               + f" (total {sum(summary['entities'].values())})")
    click.echo("  relations: " + ", ".join(f"{k} {v}" for k, v in summary["relations"].items())
               + f" (total {sum(summary['relations'].values())})")
    click.echo(f"  curation:  {'off' if no_curation else str(summary['decisions']) + ' decisions applied'}"
               f", {summary['stale']} stale; warnings: {summary['warnings']}; skipped files: {summary['skipped']}")
    click.echo("  wrote:     " + ", ".join(str(p) for p in outputs))


@main.command()
@click.option("--format", "fmt", type=click.Choice(["turtle", "jsonld", "trig", "nt", "nquads"]), required=True)
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True)
@click.option("--graph", "graph_path", type=click.Path(path_type=Path), default=DEFAULT_GRAPH, show_default=True)
def export(fmt, output, graph_path) -> None:
    """Write the built graph in another RDF format.

    \b
    Example:
      kg export --format jsonld -o out/kg.jsonld
    """
    from kg.export import rdf
    from kg.query import load_graph

    ds = load_graph(graph_path)
    rdf.write(ds, fmt, output)
    click.echo(f"Wrote {output} ({fmt}, {len(ds)} triples)")


@main.command()
@click.argument("query", required=False)
@click.option("-f", "--file", "query_file", type=click.Path(path_type=Path), help="Read the query from a .rq file.")
@click.option("--name", help="Run a saved question from queries/ (see --list).")
@click.option("--list", "list_saved", is_flag=True, help="List the saved questions.")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "tsv", "json", "markdown", "turtle", "jsonld"]),
              default="table", show_default=True,
              help="SELECT/ASK: table, csv, tsv, json (SPARQL 1.1 results) or markdown; "
                   "CONSTRUCT/DESCRIBE: turtle (also for table) or jsonld (also for json).")
@click.option("--graph", "graph_path", type=click.Path(path_type=Path), default=DEFAULT_GRAPH, show_default=True,
              help="The graph file of the memory store.")
@click.option("--store", "store_spec", default="memory", show_default=True, envvar="KG_STORE",
              help="memory, oxigraph:PATH or sparql:QUERY_URL[,UPDATE_URL] (env KG_STORE).")
@click.option("--timeout", type=float, default=None, help="Give up after this many seconds.")
@click.option("--infer", type=click.Choice(["rdfs", "owlrl"]), default=None,
              help="Query a copy with the ontology's entailments added (subclasses, subproperties; owlrl "
                   "also symmetric tk:partnerOf and transitive tk:broader).")
@click.option("--user", envvar="KG_SPARQL_USER", help="User for a sparql: store (env KG_SPARQL_USER).")
@click.option("--password", envvar="KG_SPARQL_PASSWORD", help="Password for a sparql: store (env KG_SPARQL_PASSWORD).")
def query(query, query_file, name, list_saved, fmt, graph_path, store_spec, timeout, infer, user, password) -> None:
    """Ask the graph a SPARQL question.

    \b
    Example:
      kg query --name relations --format csv
      kg query 'SELECT ?s WHERE { ?s a <https://w3id.org/techkg/ontology#Organization> } LIMIT 5'
      kg query -f queries/entities.rq --store oxigraph:build/oxigraph --timeout 10
      kg query --name partners --infer owlrl
    """
    from kg import query as q
    from kg.store import open_store

    if list_saved:
        for saved, path in q.saved_queries().items():
            click.echo(f"{saved:<32} {q.describe_saved(path)}")
        return
    text, source = q.load_query(query, file=query_file, name=name)
    with open_store(store_spec, graph_path=graph_path, user=user, password=password,
                    timeout=timeout or 60.0) as store:
        target = store.with_inference(infer) if infer else store.open()
        result = q.run(target, text, source=source, timeout=timeout)
    if fmt == "table" and result.graph is None:
        from rich.console import Console
        from rich.table import Table

        table = Table(*result.variables)
        for row in result.rows:
            table.add_row(*[q._cell(v) for v in row])
        Console().print(table)
        click.echo(f"{len(result.rows)} rows")
    else:
        click.echo(q.render(result, fmt), nl=False)


@main.command()
@click.option("-o", "--output", type=click.Path(path_type=Path), default=DEFAULT_OUT / "kg.html", show_default=True)
@click.option("--graph", "graph_path", type=click.Path(path_type=Path), default=DEFAULT_GRAPH, show_default=True)
@click.option("--focus", help="Draw only the neighbourhood of this entity (label, alias or IRI).")
@click.option("--depth", type=int, default=1, show_default=True)
@click.option("--type", "types", multiple=True, help="Keep only these entity types (repeatable).")
@click.option("--doc", help="Keep only entities mentioned in this document.")
@click.option("--min-degree", type=int, default=0, show_default=True)
def viz(output, graph_path, focus, depth, types, doc, min_degree) -> None:
    """Write the interactive, self-contained HTML explorer.

    \b
    Example:
      kg viz -o build/ibm.html --focus IBM --depth 2
    """
    from kg.export.html import write_html
    from kg.query import load_graph

    path = write_html(load_graph(graph_path), output, focus=focus, depth=depth, types=set(types) or None,
                      doc=doc, min_degree=min_degree)
    click.echo(f"Wrote {path}")


@main.command()
@click.option("--graph", "graph_path", type=click.Path(path_type=Path), default=DEFAULT_GRAPH, show_default=True)
def validate(graph_path) -> None:
    """Check the built graph against the SHACL shapes in ontology/shapes.ttl (exit 1 on violation).

    \b
    Example:
      kg validate --graph build/kg.trig
    """
    from kg.query import load_graph
    from kg.validate import grouped, validate as run_validate

    conforms, violations = run_validate(load_graph(graph_path))
    if conforms:
        click.echo("The graph conforms to the shapes (0 violations).")
        return
    for shape, items in grouped(violations).items():
        click.echo(f"{shape}: {len(items)} violation(s)")
        for v in items[:10]:
            click.echo(f"  {v.label or v.focus} {v.path}: {v.message}")
    click.echo(f"{len(violations)} violations")
    sys.exit(1)


@main.command(name="eval")
@click.option("--graph", "graph_path", type=click.Path(path_type=Path), default=None,
              help="Score this built graph (default: build the bundled corpus now).")
@click.option("--no-curation", is_flag=True, help="Score raw extraction, ignoring hand decisions.")
@click.option("--gold", "gold_dir", type=click.Path(path_type=Path), default=None, help="Gold directory (data/gold).")
@click.option("--json", "as_json", is_flag=True, help="Print the scores as JSON.")
@click.option("--top", type=int, default=15, show_default=True, help="How many misses and false positives to list.")
@click.option("--leave-one-out", "loo", is_flag=True,
              help="For each gold document, build lexicon and model from the others only and score on it.")
@click.option("--ner/--no-ner", default=False, show_default=True,
              help="With --leave-one-out: also train spaCy's NER per fold (kg build does not use it by default).")
@click.option("--relations/--no-relations", default=True, show_default=True,
              help="With --leave-one-out: train the relation model per fold (as kg build uses one).")
@click.option("--epochs", type=int, default=8, show_default=True)
@click.option("--curation", "curation_dir", type=click.Path(path_type=Path), default=None,
              help="Directory of the ledger (default: data/curation); an empty one measures the gold alone.")
def evaluate_cmd(graph_path, no_curation, gold_dir, as_json, top, loo, ner, relations, epochs, curation_dir) -> None:
    """Precision, recall and F1 per type and predicate against the hand annotations.

    \b
    Example:
      kg eval --no-curation          # raw extraction on the annotated documents
      kg eval --graph build/kg.trig --json
    """
    import json

    from kg.evaluate import evaluate, format_table, load_gold_dir
    from kg.pipeline import build as run_build
    from kg.query import load_graph

    if loo:
        from kg.train import leave_one_out

        result = leave_one_out(gold_dir=gold_dir, use_ner=ner, use_relations=relations, epochs=epochs,
                               curation_dir=curation_dir,
                               progress=lambda line: click.echo(f"  {line}", err=True))
        if as_json:
            click.echo(json.dumps(result, ensure_ascii=False, indent=1, sort_keys=True))
        else:
            for kind in ("entities", "relations"):
                r = result[kind]
                click.echo(f"leave-one-out {kind:<10} P {r['precision']:.3f}  R {r['recall']:.3f}  F1 {r['f1']:.3f}")
        return
    golds = load_gold_dir(gold_dir)
    if graph_path:
        graph = load_graph(graph_path)
    else:
        # the whole corpus, as `kg build` makes it: hand decisions and names from one document
        # shape entities in the others, so scoring a build of the gold documents alone would differ
        graph = run_build([DEFAULT_CORPUS], use_curation=not no_curation, curation_dir=curation_dir).dataset
    ev = evaluate(graph, golds)
    if as_json:
        click.echo(json.dumps(ev.as_dict(), ensure_ascii=False, indent=1, sort_keys=True))
    else:
        click.echo(format_table(ev, top=top))


class _AnalyzeGroup(Group):
    """`kg analyze` runs on its own and also has subcommands; errors in either are one line."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except KGError as exc:
            fail(exc)


GRAPH_FORMATS = ("graphml", "gexf", "csv", "nodelink")  # kg.export.graphml.WRITERS, without importing networkx


def _echo_json(value) -> None:
    import json

    click.echo(json.dumps(value, ensure_ascii=False, sort_keys=True, indent=1))


def _named(entities: list[dict], score: bool = False) -> str:
    return ", ".join(e["label"] + (f" ({e['score']:g})" if score else "") for e in entities)


@main.group(cls=_AnalyzeGroup, invoke_without_command=True)
@click.option("--graph", "graph_path", type=click.Path(path_type=Path), default=DEFAULT_GRAPH, show_default=True)
@click.option("--top", "n", type=int, default=10, show_default=True, help="How many entities, communities, pairs.")
@click.option("--seed", type=int, default=42, show_default=True, help="Seed for community detection.")
@click.option("--json", "as_json", is_flag=True, help="Print everything as JSON.")
@click.option("--png", "png_dir", type=click.Path(path_type=Path), help="Also write bar charts (PNG) into this directory.")
@click.pass_context
def analyze(ctx, graph_path, n, seed, as_json, png_dir) -> None:
    """The graph as a network: statistics, central entities, communities, co-occurring technologies.

    \b
    Example:
      kg analyze --top 5
      kg analyze --json > analysis.json
      kg analyze --png build/charts
      kg analyze path IBM 量子计算
    """
    ctx.obj = {"graph_path": graph_path, "as_json": as_json}
    if ctx.invoked_subcommand:
        return
    from rich.console import Console
    from rich.table import Table

    from kg import analyze as an
    from kg.query import load_graph

    report = an.report(an.to_networkx(load_graph(graph_path)), n=n, seed=seed)
    charts = an.write_charts(report, png_dir) if png_dir else []
    if as_json:
        _echo_json(report)
    else:
        console = Console()
        stats = report["statistics"]
        table = Table("statistic", "value", title="Graph")
        for key, value in stats.items():
            shown = ", ".join(f"{k} {v}" for k, v in value.items()) if isinstance(value, dict) else value
            table.add_row(key.replace("_", " "), str(shown))
        console.print(table)
        table = Table("#", *an.MEASURES, title=f"Top {n} entities")
        for i in range(max((len(v) for v in report["top"].values()), default=0)):
            cells = []
            for m in an.MEASURES:
                items = report["top"][m]
                cells.append(f"{items[i]['label']} · {items[i]['type']} · {items[i]['score']:g}" if i < len(items) else "")
            table.add_row(str(i + 1), *cells)
        console.print(table)
        table = Table("type", *an.MEASURES, title="Top 5 per type")
        for kind in sorted({k for v in report["top_by_type"].values() for k in v}, key=an.ENTITY_TYPES.index):
            table.add_row(kind, *[_named(report["top_by_type"][m].get(kind, [])) for m in an.MEASURES])
        console.print(table)
        table = Table("#", "size", "hub", "technologies", "organizations", "types",
                      title=f"Communities (Louvain, seed {seed}, largest {n})")
        for c in report["communities"]:
            table.add_row(str(c["id"]), str(c["size"]), c["hub"]["label"], _named(c["technologies"]),
                          _named(c["organizations"]), ", ".join(f"{k} {v}" for k, v in c["types"].items()))
        console.print(table)
        table = Table("technology", "technology", "documents", "jaccard", title="Technologies mentioned together")
        for p in report["cooccurrence"]:
            table.add_row(p["a"]["label"], p["b"]["label"], str(p["count"]), f"{p['jaccard']:.2f}")
        console.print(table)
    for path in charts:
        click.echo(f"Wrote {path}", err=as_json)


@analyze.command(name="path")
@click.argument("source")
@click.argument("target")
@click.option("--graph", "graph_path", type=click.Path(path_type=Path), default=None,
              help="Graph file (default: the one given to `kg analyze`, else build/kg.trig).")
@click.option("--limit", type=int, default=5, show_default=True, help="At most this many shortest paths.")
@click.option("--json", "as_json", is_flag=True, help="Print the paths as JSON.")
@click.pass_context
def analyze_path(ctx, source, target, graph_path, limit, as_json) -> None:
    """Shortest paths between two entities (label, alias, key or IRI), with evidence for each hop.

    \b
    Example:
      kg analyze path IBM 量子计算
      kg analyze path "IBM" "Heron" --json
    """
    from kg import analyze as an
    from kg.query import load_graph

    parent = ctx.obj or {}
    graph_path = graph_path or parent.get("graph_path") or DEFAULT_GRAPH
    as_json = as_json or parent.get("as_json", False)
    paths = an.shortest_paths(an.to_networkx(load_graph(graph_path)), source, target, limit=limit)
    if as_json:
        _echo_json(paths)
        return
    if not paths:
        click.echo(f"No path between {source} and {target}: they are not connected by any relation.")
        return
    for i, hops in enumerate(paths, 1):
        names = [hops[0]["from"]["label"], *(h["to"]["label"] for h in hops)] if hops else [source]
        click.echo(f"Path {i} ({len(hops)} hop{'s' if len(hops) != 1 else ''}): " + " — ".join(names))
        for hop in hops:
            for rel in hop["relations"]:
                click.echo(f"  {rel['subject']} —{rel['predicate']}→ {rel['object']}")
                for ev in rel["evidence"]:
                    if ev["text"]:
                        click.echo(f"      “{ev['text']}” ({ev['document']})")
                    else:
                        click.echo(f"      ({ev['method'] or 'no evidence'})")


@main.command()
@click.option("-o", "--output", type=click.Path(path_type=Path), default=DEFAULT_OUT / "timeline.html",
              show_default=True)
@click.option("--graph", "graph_path", type=click.Path(path_type=Path), default=DEFAULT_GRAPH, show_default=True)
@click.option("--no-launches", is_flag=True, help="Only dated events, not product launches read from sentences.")
@click.option("--title", default="techkg timeline", show_default=True)
def timeline(output, graph_path, no_launches, title) -> None:
    """Write a self-contained HTML timeline of dated events and launches, by month.

    \b
    Example:
      kg timeline -o build/timeline.html
    """
    from kg.export.timeline import render_timeline, timeline_data
    from kg.export.atomic import atomic_write
    from kg.query import load_graph

    data = timeline_data(load_graph(graph_path), launches=not no_launches)
    atomic_write(output, render_timeline(data, title=title))
    kinds = [i["kind"] for i in data["items"]]
    click.echo(f"Wrote {output}: {len(kinds)} items ({kinds.count('event')} events, "
               f"{kinds.count('launch')} launches)")


@main.command(name="export-graph")
@click.option("--format", "fmt", type=click.Choice(GRAPH_FORMATS), required=True)
@click.option("-o", "--output", type=click.Path(path_type=Path), required=True,
              help="File to write (a directory for csv: nodes.csv and edges.csv).")
@click.option("--graph", "graph_path", type=click.Path(path_type=Path), default=DEFAULT_GRAPH, show_default=True)
def export_graph(fmt, output, graph_path) -> None:
    """Write the entity network for graph tools (Gephi, Cytoscape, networkx, d3).

    \b
    Example:
      kg export-graph --format graphml -o build/kg.graphml
      kg export-graph --format csv -o build/csv
    """
    from kg.analyze import to_networkx
    from kg.export.graphml import write_network
    from kg.query import load_graph

    G = to_networkx(load_graph(graph_path))
    written = write_network(G, fmt, output)
    click.echo(f"Wrote {', '.join(str(p) for p in written)} ({fmt}, {G.number_of_nodes()} nodes, "
               f"{G.number_of_edges()} edges)")


@main.command()
@click.option("-o", "--out", "out_dir", type=click.Path(path_type=Path), default=None,
              help="Where to save the trained NER (default: data/models/ner).")
@click.option("--epochs", type=int, default=12, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--ner/--no-ner", default=True, show_default=True, help="Train spaCy's NER.")
@click.option("--relations/--no-relations", default=True, show_default=True,
              help="Train the relation model (data/models/relations.json, used by kg build).")
def train(out_dir, epochs, seed, ner, relations) -> None:
    """Train on CPU from the hand annotations: spaCy's NER, and the relation model that
    `kg build` uses next to the rules.

    \b
    Example:
      kg train --no-ner            # only the relation model (seconds)
      kg train --epochs 12
    """
    from kg.evaluate import load_gold_dir
    from kg.ingest import load_document
    from kg.nlp.lexicon import load_lexicon
    from kg.train import CORPUS, MODEL_DIR, project_gold, save, train_ner, train_relation_model

    if relations:
        path, meta = train_relation_model()
        click.echo(f"Relation model: {meta['examples']} labelled pairs from {len(meta['documents'])} documents; "
                   f"saved to {path}")
    if not ner:
        return
    golds = load_gold_dir()
    documents = [load_document(CORPUS / g.doc) for g in golds]
    spans = [project_gold(d, g) for d, g in zip(documents, golds)]
    nlp = train_ner(documents, spans, lexicon=load_lexicon(), epochs=epochs, seed=seed,
                    progress=lambda e, loss: click.echo(f"  epoch {e}/{epochs} loss {loss:.1f}", err=True))
    path = save(nlp, out_dir or MODEL_DIR)
    click.echo(f"Trained on {sum(len(d.sentences) for d in documents)} sentences of {len(documents)} documents; "
               f"saved to {path}")


# --- hand decisions: kg curate …, kg review -------------------------------------------------

from kg.curate import OPS as OP_CHOICES  # noqa: E402  (light: no spaCy, no rdflib)
from kg.model import ENTITY_TYPES as ENTITY_TYPE_CHOICES, PREDICATES as PREDICATE_CHOICES  # noqa: E402


def _corpus_options(f):
    f = click.option("--corpus", "corpus", multiple=True, type=click.Path(path_type=Path),
                     help="Documents to check against (repeatable; default: data/corpus).")(f)
    f = click.option("--curation", "curation_dir", type=click.Path(path_type=Path), default=None,
                     help="Directory of the ledger (default: data/curation).")(f)
    f = click.option("-q", "--quiet", is_flag=True, help="No progress output.")(f)
    return f


def _decision_options(f):
    f = click.option("--why", required=True, help="Why (recorded with the decision).")(f)
    f = click.option("--who", default=None, help="Who decides (default: git config user.name, else $USER).")(f)
    f = click.option("--file", "ledger", type=click.Path(path_type=Path), default=None,
                     help="Ledger file to append to (default: data/curation/<who>.jsonl).")(f)
    f = click.option("--no-check", is_flag=True,
                     help="Record without building: targets must be keys (type:name, a|p|b, doc#start-end).")(f)
    return _corpus_options(f)


def _workspace(corpus, curation_dir, quiet):
    from kg.review import Workspace

    return Workspace(corpus or [DEFAULT_CORPUS], curation_dir=curation_dir, progress=_progress(not quiet))


def _record(op: str, opts: dict, **fields) -> None:
    from kg import curate
    from kg.review import record

    who = opts["who"] or curate.default_who()
    ledger = opts["ledger"] or curate.ledger_file(opts["curation_dir"], who)
    ws = None if opts["no_check"] else _workspace(opts["corpus"], opts["curation_dir"], opts["quiet"])
    decision = record(ws, ledger, op, who=who, why=opts["why"], **fields)
    click.echo(f"Recorded {decision.describe()} (id {decision.id}) in {decision.where}")


@main.group(cls=Group)
def curate() -> None:
    """Hand decisions, one scriptable command each, appended to the ledger in data/curation/.

    Entities are named by key (organization:ibm) or by a label or alias that names one
    entity; relations by SUBJECT|predicate|OBJECT; mentions by doc#start-end. See
    docs/curation.md.

    \b
    Example:
      kg curate reject organization:作为当今世界科技 --why "not a name"
      kg curate merge "IBM公司" IBM --why "same company"
      kg curate add-relation IBM develops Heron --doc 001 --evidence "IBM 公司宣布推出了第三代量子芯片 Heron" --why "read it"
      kg curate log --who ann
      kg curate stats
    """


@curate.command(name="accept")
@click.argument("target")
@_decision_options
def curate_accept(target, **opts) -> None:
    """Confirm an entity, a relation or a single mention as extracted.

    \b
    Example:
      kg curate accept IBM --why "checked"
      kg curate accept "IBM|develops|Heron" --why "stated in the source"
    """
    _record("accept", opts, target=target)


@curate.command(name="reject")
@click.argument("target")
@_decision_options
def curate_reject(target, **opts) -> None:
    """Remove an entity (with its relations), a relation, or one mention (doc#start-end).

    \b
    Example:
      kg curate reject organization:作为当今世界科技 --why "not a name"
      kg curate reject 001_6c33e5305bbf4742.txt#130-133 --why "not IBM here"
    """
    _record("reject", opts, target=target)


@curate.command(name="rename")
@click.argument("target")
@click.argument("label")
@click.option("--en", "label_en", default=None, help="Also set the English label.")
@_decision_options
def curate_rename(target, label, label_en, **opts) -> None:
    """Set an entity's canonical (zh) label; the old one becomes an alias. The key stays.

    \b
    Example:
      kg curate rename organization:ibm "IBM" --en "IBM" --why "canonical spelling"
    """
    _record("rename", opts, target=target, label=label, label_en=label_en)


@curate.command(name="retype")
@click.argument("target")
@click.argument("type_", metavar="TYPE", type=click.Choice(ENTITY_TYPE_CHOICES))
@_decision_options
def curate_retype(target, type_, **opts) -> None:
    """Give an entity another type (its key changes; relations follow).

    \b
    Example:
      kg curate retype technology:heron Product --why "a chip, not a technique"
    """
    _record("retype", opts, target=target, type=type_)


@curate.command(name="merge")
@click.argument("target")
@click.argument("into")
@_decision_options
def curate_merge(target, into, **opts) -> None:
    """Merge TARGET into INTO: its label and aliases become INTO's aliases, its mentions INTO's.

    \b
    Example:
      kg curate merge "国际商业机器公司" IBM --why "same company"
    """
    _record("merge", opts, target=target, into=into)


@curate.command(name="split")
@click.argument("target")
@click.argument("alias")
@click.option("--type", "type_", type=click.Choice(ENTITY_TYPE_CHOICES), default=None,
              help="Type of the new entity (default: TARGET's).")
@click.option("--label", default=None, help="Label of the new entity (default: ALIAS).")
@_decision_options
def curate_split(target, alias, type_, label, **opts) -> None:
    """Make an alias of an entity its own entity (its mentions move with it).

    \b
    Example:
      kg curate split person:埃隆·马斯克 马斯克 --why "another Musk in this document"
    """
    _record("split", opts, target=target, alias=alias, type=type_, label=label)


@curate.command(name="add-entity")
@click.option("--type", "type_", type=click.Choice(ENTITY_TYPE_CHOICES), required=True)
@click.option("--label", required=True, help="Canonical (zh) label.")
@click.option("--alias", "aliases", multiple=True, help="Another name (repeatable).")
@click.option("--en", "label_en", default=None, help="English label.")
@click.option("--qid", default=None, help="Wikidata QID (Q…).")
@click.option("--date", default=None, help="Date of an event (YYYY, YYYY-MM or YYYY-MM-DD).")
@_decision_options
def curate_add_entity(type_, label, aliases, label_en, qid, date, **opts) -> None:
    """Add an entity extraction missed; its names join the gazetteer for the next extraction.

    \b
    Example:
      kg curate add-entity --type Product --label Heron --alias "Heron 芯片" --why "IBM's chip"
    """
    _record("add-entity", opts, type=type_, label=label, aliases=list(aliases), label_en=label_en, qid=qid, date=date)


@curate.command(name="add-relation")
@click.argument("subject")
@click.argument("predicate", type=click.Choice(PREDICATE_CHOICES))
@click.argument("object_", metavar="OBJECT")
@click.option("--doc", default=None, help="Document the evidence is in (file name, or a unique prefix).")
@click.option("--evidence", default=None, help="The evidence sentence, or a part of it found in one sentence only.")
@_decision_options
def curate_add_relation(subject, predicate, object_, doc, evidence, **opts) -> None:
    """Add a relation, with the sentence it is read from.

    \b
    Example:
      kg curate add-relation IBM develops Heron --doc 001 --evidence "IBM 公司宣布推出了第三代量子芯片 Heron" --why "read it"
    """
    _record("add-relation", opts, subject=subject, predicate=predicate, object=object_, doc=doc, evidence=evidence)


@curate.command(name="set-date")
@click.argument("target")
@click.argument("date")
@_decision_options
def curate_set_date(target, date, **opts) -> None:
    """Set the date of an event (YYYY, YYYY-MM or YYYY-MM-DD).

    \b
    Example:
      kg curate set-date "event:2024 世界人工智能大会" 2024-07 --why "from the report"
    """
    _record("set-date", opts, target=target, date=date)


@curate.command(name="set-en")
@click.argument("target")
@click.argument("label_en", metavar="LABEL")
@_decision_options
def curate_set_en(target, label_en, **opts) -> None:
    """Set an entity's English label.

    \b
    Example:
      kg curate set-en 谷歌 Google --why "official name"
    """
    _record("set-en", opts, target=target, label_en=label_en)


@curate.command(name="set-qid")
@click.argument("target")
@click.argument("qid")
@_decision_options
def curate_set_qid(target, qid, **opts) -> None:
    """Link an entity to Wikidata.

    \b
    Example:
      kg curate set-qid IBM Q37156 --why "checked on wikidata.org"
    """
    _record("set-qid", opts, target=target, qid=qid)


@curate.command(name="note")
@click.argument("target")
@click.argument("text")
@_decision_options
def curate_note(target, text, **opts) -> None:
    """Attach a remark to an entity, relation or mention (decides nothing).

    \b
    Example:
      kg curate note IBM "check the 2024 report too" --why "todo"
    """
    _record("note", opts, target=target, text=text)


@curate.command(name="undo")
@click.argument("decision_id", metavar="ID")
@_decision_options
def curate_undo(decision_id, **opts) -> None:
    """Cancel an earlier decision by its id (appends an `undo`; nothing is deleted).

    \b
    Example:
      kg curate undo 3f2a9c1b7d4e --why "merged the wrong entity"
    """
    _record("undo", opts, target=decision_id)


@curate.command(name="log")
@click.option("--curation", "curation_dir", type=click.Path(path_type=Path), default=None)
@click.option("--op", "ops", multiple=True, type=click.Choice(OP_CHOICES), help="Only these operations (repeatable).")
@click.option("--who", default=None, help="Only this person's decisions.")
@click.option("--target", "contains", default=None, help="Only decisions mentioning this text (key, label, …).")
@click.option("-n", "--last", type=int, default=None, help="Only the newest N.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line, with file and line.")
def curate_log(curation_dir, ops, who, contains, last, as_json) -> None:
    """The history of decisions, newest last (no build needed).

    \b
    Example:
      kg curate log --who ann --op merge -n 20
    """
    import json

    from kg.curate import cancelled, load_ledger

    decisions = load_ledger(curation_dir)
    gone, _ = cancelled(decisions)
    chosen = [d for d in decisions if (not ops or d.op in ops) and (not who or d.who == who)
              and (not contains or contains in json.dumps(d.record(), ensure_ascii=False))]
    chosen.sort(key=lambda d: (d.when, d.path, d.line))
    if last is not None:
        chosen = chosen[-last:] if last > 0 else []
    for d in chosen:
        if as_json:
            click.echo(json.dumps({**d.record(), "file": d.path, "line": d.line, "undone": d.id in gone},
                                  ensure_ascii=False, sort_keys=True))
        else:
            click.echo(f"{d.when}  {d.who}  {d.describe()}" + (f"  — {d.why}" if d.why else "")
                       + f"  [{d.id}] {d.where}" + ("  (undone)" if d.id in gone else ""))
    if not as_json:
        click.echo(f"{len(chosen)} decision(s)", err=True)


@curate.command(name="stats")
@_corpus_options
@click.option("--json", "as_json", is_flag=True)
def curate_stats(corpus, curation_dir, quiet, as_json) -> None:
    """Decided and pending entities and relations, per type, predicate and document.

    "Pending" means no decision covers it yet (what `kg review` would show).

    \b
    Example:
      kg curate stats --json
    """
    from kg.review import stats

    data = stats(_workspace(corpus, curation_dir, quiet))
    if as_json:
        _echo_json(data)
        return
    from rich.console import Console
    from rich.table import Table

    console = Console()
    for title, rows in (("Entities by type", data["entities"]["by_type"]),
                        ("Relations by predicate", data["relations"]["by_predicate"])):
        table = Table("", "decided", "pending", title=title)
        for name, row in rows.items():
            table.add_row(name, str(row["decided"]), str(row["pending"]))
        console.print(table)
    table = Table("document", "entities decided", "entities pending", "relations decided", "relations pending",
                  title="By document")
    for name, row in data["documents"].items():
        table.add_row(name, *(str(row[k][s]) for k in ("entities", "relations") for s in ("decided", "pending")))
    console.print(table)
    e, r, ledger = data["entities"]["total"], data["relations"]["total"], data["ledger"]
    click.echo(f"entities: {e['decided']} decided, {e['pending']} pending; relations: {r['decided']} decided, "
               f"{r['pending']} pending; ledger: {ledger['decisions']} decisions ({ledger['applied']} applied, "
               f"{ledger['stale']} stale, {ledger['conflicts']} conflicts, {ledger['undone']} undone)")


@curate.command(name="pending")
@_corpus_options
@click.option("--doc", default="", help="Only items from this document (file name or prefix).")
@click.option("--type", "type_", type=click.Choice(ENTITY_TYPE_CHOICES, case_sensitive=False), default=None,
              help="Only entities of this type (and relations touching one).")
@click.option("--predicate", type=click.Choice(PREDICATE_CHOICES), default=None)
@click.option("--kind", type=click.Choice(["entity", "relation"]), default=None)
@click.option("--evidence", "evidence", type=int, default=2, show_default=True,
              help="Sentences shown per item (-1: all).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
def curate_pending(corpus, curation_dir, quiet, doc, type_, predicate, kind, evidence, as_json) -> None:
    """What no decision covers yet, most valuable first, with evidence sentences (mentions in 【】).

    The same queue as `kg review`, printed, for reviewing a document at once or in a script.

    \b
    Example:
      kg curate pending --doc 002 --kind entity --type product
      kg curate pending --json --evidence -1 > todo.jsonl
    """
    import json

    from kg.review import Filters, describe, pending

    ws = _workspace(corpus, curation_dir, quiet)
    items = pending(ws, Filters(doc=doc, type=type_ or "", predicate=predicate or "", kind=kind or ""))
    for item in items:
        data = describe(ws, item, evidence=evidence)
        if as_json:
            click.echo(json.dumps(data, ensure_ascii=False, sort_keys=True))
            continue
        if item.kind == "entity":
            head = f"{data['key']}\t{data['label']}\t{data['type']}\t{data['confidence']:.2f}"
        else:
            head = f"{data['key']}\t{data['subject']} —{data['predicate']}→ {data['object']}\t{data['confidence']:.2f}"
        click.echo(head)
        for ev in data["evidence"]:
            click.echo(f"    {ev['doc'][:3]}#{ev['sentence']}  {ev['text']}")
    click.echo(f"{len(items)} pending", err=True)


@curate.command(name="apply")
@click.argument("source", type=click.File("r", encoding="utf-8"))
@click.option("--who", default=None, help="Who decides (default: git config user.name, else $USER).")
@click.option("--file", "ledger", type=click.Path(path_type=Path), default=None,
              help="Ledger file to append to (default: data/curation/<who>.jsonl).")
@click.option("--why", default="", help="Recorded with lines that give no why of their own.")
@_corpus_options
def curate_apply(source, who, ledger, why, corpus, curation_dir, quiet) -> None:
    """Record a batch of decisions, one JSON object per line, each checked like `kg curate <op>`.

    Lines look like the ledger's without id, who and when:
    {"op": "accept", "target": "organization:ibm", "why": "named as Heron's maker"}.
    A bad line is reported with its line number and skipped; the rest are recorded.

    \b
    Example:
      kg curate apply decisions-002.jsonl --who ann
    """
    from kg import curate
    from kg.review import apply_batch

    who = who or curate.default_who()
    target = ledger or curate.ledger_file(curation_dir, who)
    ws = _workspace(corpus, curation_dir, quiet)
    result = apply_batch(ws, source, source=getattr(source, "name", "-"), ledger=target, who=who, default_why=why)
    for line in result.errors:
        click.echo(f"Error: {line}", err=True)
    click.echo(f"{len(result.recorded)} decision(s) recorded in {curate.display_path(target)}, "
               f"{len(result.errors)} refused", err=True)
    if result.errors:
        sys.exit(1)


@curate.command(name="stale")
@_corpus_options
@click.option("--strict", is_flag=True, help="Exit 1 when any decision is stale or in conflict.")
def curate_stale(corpus, curation_dir, quiet, strict) -> None:
    """Decisions whose target no longer appears, and decisions in conflict, with file and line.

    \b
    Example:
      kg curate stale --strict
    """
    ws = _workspace(corpus, curation_dir, quiet)
    for kind, items in (("stale", ws.report.stale), ("conflict", ws.report.conflicts)):
        for d, why in sorted(items, key=lambda x: (x[0].path, x[0].line)):
            click.echo(f"{d.where}: {kind}: {d.describe()} ({why})")
    count = len(ws.report.stale) + len(ws.report.conflicts)
    click.echo(f"{len(ws.report.stale)} stale, {len(ws.report.conflicts)} in conflict, "
               f"of {len(ws.decisions)} decisions", err=True)
    if strict and count:
        sys.exit(1)


@curate.command(name="check")
@click.option("--curation", "curation_dir", type=click.Path(path_type=Path), default=None)
def curate_check(curation_dir) -> None:
    """Validate every ledger line (all findings, not just the first); exit 1 if any is bad.

    \b
    Example:
      kg curate check
    """
    from kg.curate import check_ledger

    decisions, errors = check_ledger(curation_dir)
    for error in errors:
        click.echo(f"Error: {error}", err=True)
    click.echo(f"{len(decisions)} valid decision(s), {len(errors)} error(s)")
    if errors:
        sys.exit(1)


class _ClickTerminal:
    """`kg review`'s terminal: rich markup out, single keys in (piped input works too)."""

    def __init__(self) -> None:
        from rich.console import Console

        self.console = Console(highlight=False)

    def show(self, markup: str) -> None:
        self.console.print(markup)

    def key(self) -> str:
        if not sys.stdin.isatty():
            return sys.stdin.read(1)
        try:
            return click.getchar()
        except EOFError:  # Ctrl-D
            return ""

    def prompt(self, text: str) -> str:
        return click.prompt(text, default="", show_default=False)


@main.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option("--curation", "curation_dir", type=click.Path(path_type=Path), default=None,
              help="Directory of the ledger (default: data/curation).")
@click.option("--file", "ledger", type=click.Path(path_type=Path), default=None,
              help="Ledger file to append to (default: data/curation/<who>.jsonl).")
@click.option("--who", default=None, help="Who decides (default: git config user.name, else $USER).")
@click.option("--why", default="kg review", show_default=True, help="Recorded with every decision.")
@click.option("--doc", default="", help="Only items from this document (file name or prefix).")
@click.option("--type", "type_", type=click.Choice(ENTITY_TYPE_CHOICES, case_sensitive=False), default=None,
              help="Only entities of this type (and relations touching one).")
@click.option("--predicate", type=click.Choice(PREDICATE_CHOICES), default=None, help="Only relations with this predicate.")
@click.option("--kind", type=click.Choice(["entity", "relation"]), default=None, help="Only entities, or only relations.")
@click.option("--min-confidence", type=float, default=0.0, show_default=True)
@click.option("--max-confidence", type=float, default=1.0, show_default=True)
@click.option("-q", "--quiet", is_flag=True, help="No progress output while extracting.")
def review(paths, curation_dir, ledger, who, why, doc, type_, predicate, kind, min_confidence, max_confidence,
           quiet) -> None:
    """Review what no decision covers yet, one key per decision, most valuable first.

    a accept · r reject · x reject this mention only · t retype · n rename · m merge into … ·
    e next evidence · s skip · u undo · q quit. Every decision is appended to the ledger at
    once; quitting, Ctrl-C or a closed terminal loses nothing, and the next session resumes.

    \b
    Example:
      kg review --doc 001 --max-confidence 0.8
      kg review --kind entity --type Person --who ann
    """
    from kg import curate
    from kg.review import Filters, Review, Workspace, run

    who = who or curate.default_who()
    ledger = ledger or curate.ledger_file(curation_dir, who)
    ws = Workspace(paths or [DEFAULT_CORPUS], curation_dir=curation_dir, progress=_progress(not quiet))
    session = Review(ws, ledger=ledger, who=who, why=why,
                     filters=Filters(doc=doc, type=type_ or "", predicate=predicate or "", kind=kind or "",
                                     min_confidence=min_confidence, max_confidence=max_confidence))
    try:
        outcome = run(session, _ClickTerminal())
    except (KeyboardInterrupt, click.Abort):
        click.echo(f"\nInterrupted: {len(session.made)} decision(s) saved in {ledger}", err=True)
        sys.exit(130)
    click.echo(f"{len(outcome.decisions)} decision(s) saved in {ledger}; {outcome.remaining} left to review")



@main.command()
@click.option("--store", "store_spec", required=True, envvar="KG_STORE",
              help="oxigraph:PATH or sparql:QUERY_URL[,UPDATE_URL] (env KG_STORE).")
@click.option("--graph", "graph_path", type=click.Path(path_type=Path), default=DEFAULT_GRAPH, show_default=True,
              help="The built graph to load (TriG keeps one named graph per document).")
@click.option("--mode", type=click.Choice(["replace", "merge"]), default="replace", show_default=True,
              help="replace: each named graph becomes exactly the file's; merge: add to what is there.")
@click.option("--gsp", help="A Graph Store Protocol URL: push with PUT/POST instead of SPARQL Update.")
@click.option("--user", envvar="KG_SPARQL_USER", help="User for a sparql: store (env KG_SPARQL_USER).")
@click.option("--password", envvar="KG_SPARQL_PASSWORD", help="Password (env KG_SPARQL_PASSWORD).")
def push(store_spec, graph_path, mode, gsp, user, password) -> None:
    """Load the built graph into a persistent store, named graph by named graph, and check it.

    \b
    Example:
      kg push --store oxigraph:build/oxigraph
      kg push --store sparql:http://localhost:8890/sparql-auth --gsp http://localhost:8890/sparql-graph-crud-auth \\
              --user dba --password dba
    """
    from kg.store import open_store

    with open_store(store_spec, graph_path=graph_path, user=user, password=password, gsp=gsp) as store:
        report = store.push(graph_path, mode=mode)
    for name, count in report.graphs.items():
        click.echo(f"  {name}: {count} triples")
    click.echo(f"Pushed {report.sent} triples in {len(report.graphs)} graphs to {report.store} "
               f"({report.mode}, {report.method}) in {report.seconds:.1f} s")


@main.command()
@click.option("--store", "store_spec", default="memory", show_default=True, envvar="KG_STORE",
              help="memory, oxigraph:PATH or sparql:QUERY_URL (env KG_STORE).")
@click.option("--graph", "graph_path", type=click.Path(path_type=Path), default=DEFAULT_GRAPH, show_default=True,
              help="The graph file of the memory store.")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on (loopback by default).")
@click.option("--port", type=int, default=8000, show_default=True)
@click.option("--timeout", type=float, default=10.0, show_default=True, help="Seconds per query.")
@click.option("--max-rows", type=int, default=10_000, show_default=True, help="Rows (or triples) per answer.")
@click.option("--infer", type=click.Choice(["rdfs", "owlrl"]), default=None,
              help="Serve a copy with the ontology's entailments added.")
@click.option("-q", "--quiet", is_flag=True, help="Do not log requests.")
def serve(store_spec, graph_path, host, port, timeout, max_rows, infer, quiet) -> None:
    """Serve the graph read-only over the SPARQL 1.1 Protocol, with a query page at /.

    \b
    Example:
      kg serve                                   # http://127.0.0.1:8000/ and /sparql
      kg serve --store oxigraph:build/oxigraph --port 3030 --timeout 5
    """
    from kg.serve import Limits, make_server
    from kg.store import open_store

    store = open_store(store_spec, graph_path=graph_path)
    if infer:
        store = store.with_inference(infer)
    server = make_server(store, host=host, port=port, limits=Limits(timeout=timeout, max_rows=max_rows),
                         log=None if quiet else (lambda line: click.echo(line, err=True)))
    click.echo(f"Serving {store.spec} at http://{host}:{server.server_address[1]}/ (SPARQL endpoint /sparql); "
               "Ctrl-C stops")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        store.close()


if __name__ == "__main__":  # pragma: no cover
    main()
