"""A timeline of what happened when: one self-contained HTML page, openable offline.

- :func:`timeline_data` reads dated items from the graph (docs/data-model.md):
  every ``tk:Event`` with a ``tk:date``, and (``launches=True``) every ``tk:develops``
  relation whose evidence sentence states a date, each with its participants,
  technologies and evidence sentences.
- :func:`render_timeline` turns that data into a page grouped by month, filterable by
  technology, organisation and kind.
- :func:`write_timeline` does both and writes atomically.

Like the explorer, the page loads nothing: its script and style are inline, the data
travels as escaped JSON (:func:`kg.export.html.script_json`) and the page builds its
DOM with ``textContent`` only, so text from documents is shown, never run.
"""

from __future__ import annotations

import html
import re
from collections import defaultdict
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

from rdflib import ConjunctiveGraph, Graph, URIRef

from kg.dates import find_dates
from kg.export.atomic import atomic_write
from kg.export.html import explorer_data, script_json
from kg.namespace import TK

KINDS = ("event", "launch")
_MARK = re.compile(r"@@(TITLE|CSS|JS|DATA)@@")


def timeline_data(graph: Graph, *, launches: bool = True) -> dict:
    """Dated items of ``graph`` (a Dataset or a Graph), oldest first.

    Each item has ``id``, ``kind`` (``event`` or ``launch``), ``date`` (ISO:
    ``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD``), ``period`` (``YYYY-MM``, or ``YYYY`` when
    the month is unknown), ``label``, ``entity`` (the event or the launched thing),
    ``participants``, ``organizations`` and ``technologies`` (``{"id", "label",
    "type"}``) and ``evidence`` (``{"text", "document", "title"}``). Events' participants
    are their ``tk:participant`` objects and their technologies their ``tk:inField``
    objects; a launch's participant is the developer, its technologies the launched
    thing (when a technology) and what it is ``tk:inField``. A launch is dated by the
    date in its evidence sentence nearest before the launched thing's name.

    The result also lists ``periods``, and the ``technologies`` and ``organizations``
    that the filters offer (sorted by label).
    """
    data = explorer_data(graph)
    entities = {n["id"]: n for n in data["nodes"]}
    titles = {d["fileName"]: d["title"] for d in data["documents"]}
    reader = _Reader(graph)
    sentences = reader.mention_sentences()

    def ref(iri: str) -> dict:
        e = entities[iri]
        return {"id": iri, "label": e["label"], "type": e["type"]}

    def evidence(records: list[dict]) -> list[dict]:
        seen, out = set(), []
        for r in records:
            if r["text"] and (r["text"], r["document"]) not in seen:
                seen.add((r["text"], r["document"]))
                out.append({"text": r["text"], "document": r["document"], "title": titles.get(r["document"])})
        return out

    out_edges, in_field = defaultdict(list), defaultdict(list)
    for e in data["edges"]:
        out_edges[e["from"]].append(e)
        if e["predicate"] == "inField":
            in_field[e["from"]].append(e["to"])

    items = []
    for iri, date in sorted(reader.dates().items()):
        if entities.get(iri, {}).get("type") != "Event":
            continue
        edges = out_edges[iri]
        participants = sorted({e["to"] for e in edges if e["predicate"] == "participant"})
        techs = sorted({e["to"] for e in edges if e["predicate"] == "inField"})
        records = [r for e in edges for r in e["evidence"]] + sentences.get(iri, [])
        # sentences that state the event's date first: they are why it is on the timeline
        records.sort(key=lambda r: (not any(d.iso.startswith(date) for d in find_dates(r["text"])[0]),
                                    r["document"], r.get("index", 0), r["text"]))  # fmt: skip
        items.append(_item(iri, "event", date, entities[iri]["label"], iri,
                           [ref(p) for p in participants], [ref(t) for t in techs], evidence(records)))  # fmt: skip

    if launches:
        for e in data["edges"]:
            if e["predicate"] != "develops":
                continue
            target = entities[e["to"]]
            records = evidence(e["evidence"])
            dates = [_launch_date(r["text"], target["label"]) for r in records]
            if not any(dates):
                continue
            # the first dated sentence dates the launch and is shown first
            first = next(i for i, d in enumerate(dates) if d)
            records.insert(0, records.pop(first))
            techs = set(in_field[e["to"]]) | ({e["to"]} if target["type"] == "Technology" else set())
            label = f"{entities[e['from']]['label']} → {target['label']}"
            items.append(_item(f"{e['from']} develops {e['to']}", "launch", dates[first], label, e["to"],
                               [ref(e["from"])], [ref(t) for t in sorted(techs)], records))  # fmt: skip

    items.sort(key=lambda i: (i["date"], KINDS.index(i["kind"]), i["label"], i["id"]))
    for n, item in enumerate(items):
        item["n"] = n

    def offered(field: str) -> list[dict]:
        found = {x["id"]: x for i in items for x in i[field]}
        return sorted(found.values(), key=lambda x: (x["label"], x["id"]))

    return {
        "items": items,
        "periods": sorted({i["period"] for i in items}),
        "technologies": offered("technologies"),
        "organizations": offered("organizations"),
        "kinds": [k for k in KINDS if any(i["kind"] == k for i in items)],
    }


def render_timeline(data: dict, *, title: str = "techkg timeline") -> str:
    """One self-contained HTML page showing ``data`` from :func:`timeline_data`."""
    parts = {
        "TITLE": html.escape(title),
        "CSS": _template("timeline.css"),
        "JS": _template("timeline.js"),
        "DATA": script_json(data),
    }
    # One pass, so text that happens to contain a marker is never substituted.
    return _MARK.sub(lambda m: parts[m.group(1)], _template("timeline.html"))


def write_timeline(graph: Graph, path: str | Path, *, title: str = "techkg timeline", launches: bool = True) -> Path:
    """Write the timeline page for ``graph`` to ``path`` atomically and return the path."""
    path = Path(path)
    atomic_write(path, render_timeline(timeline_data(graph, launches=launches), title=title))
    return path


def _item(id_: str, kind: str, date: str, label: str, entity: str, participants: list[dict],
          technologies: list[dict], evidence: list[dict]) -> dict:  # fmt: skip
    return {
        "id": id_,
        "kind": kind,
        "date": date,
        "period": date[:7],
        "label": label,
        "entity": entity,
        "participants": participants,
        "organizations": [p for p in participants if p["type"] == "Organization"],
        "technologies": technologies,
        "evidence": evidence,
    }


def _launch_date(text: str, name: str) -> str | None:
    """The date stated in ``text`` nearest before ``name`` (else the first one), or None.

    Only dates that carry their year count: a bare 12月 could be any year.

    >>> _launch_date("2001年：A发布X；2014年：IBM发布TrueNorth", "TrueNorth")
    '2014'
    >>> _launch_date("英伟达发布了B200", "B200") is None
    True
    """
    dates, _ = find_dates(text)
    if not dates:
        return None
    at = text.find(name)
    before = [d for d in dates if 0 <= at and d.start < at]
    return (before[-1] if before else dates[0]).iso


class _Reader:
    """Triple-pattern reads over every graph of a Dataset, or over a plain Graph."""

    def __init__(self, graph: Graph) -> None:
        self.graph = graph

    def pairs(self, predicate: URIRef) -> Iterator[tuple]:
        if isinstance(self.graph, ConjunctiveGraph):
            yield from {(s, o) for s, _, o, _ in self.graph.quads((None, predicate, None, None))}
        else:
            yield from set(self.graph.subject_objects(predicate))

    def dates(self) -> dict[str, str]:
        """The earliest ``tk:date`` of every subject that has one."""
        out: dict[str, str] = {}
        for s, o in self.pairs(TK.date):
            value = str(o)
            if re.fullmatch(r"\d{4}(-\d{2}(-\d{2})?)?", value) and (str(s) not in out or value < out[str(s)]):
                out[str(s)] = value
        return out

    def mention_sentences(self) -> dict[str, list[dict]]:
        """For each entity, the sentences that mention it: ``{"text", "document", "index"}``."""
        names = {s: str(o) for s, o in self.pairs(TK.fileName)}
        text = {s: str(o) for s, o in self.pairs(TK.text)}
        index = {s: int(o) for s, o in self.pairs(TK.index)}
        doc_of = {s: o for s, o in self.pairs(TK.inDocument)}
        sentence_of = defaultdict(set)
        for m, s in self.pairs(TK.inSentence):
            sentence_of[m].add(s)
        out: dict[str, list[dict]] = defaultdict(list)
        for mention, entity in self.pairs(TK.mentionOf):
            for s in sentence_of.get(mention, ()):
                if s in text:
                    out[str(entity)].append(
                        {"text": text[s], "document": names.get(doc_of.get(s), ""), "index": index.get(s, 0)}
                    )
        return out


def _template(name: str) -> str:
    return resources.files("kg.export").joinpath("templates", name).read_text(encoding="utf-8")
