"""SHACL validation of a built graph against `ontology/shapes.ttl`, grouped for people."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from rdflib import RDFS, Dataset, Graph, Namespace

from kg.export.rdf import union_graph

SHAPES_FILE = Path(__file__).resolve().parents[1] / "ontology" / "shapes.ttl"
SH = Namespace("http://www.w3.org/ns/shacl#")


@dataclass(frozen=True)
class Violation:
    shape: str
    focus: str
    label: str
    path: str
    message: str


def validate(ds: Dataset | Graph, *, shapes: Path = SHAPES_FILE) -> tuple[bool, list[Violation]]:
    import pyshacl

    data = union_graph(ds)
    shapes_graph = Graph().parse(shapes, format="turtle")
    conforms, report, _ = pyshacl.validate(data, shacl_graph=shapes_graph, inference="none",
                                          allow_warnings=True, advanced=True)
    violations = []
    for result in report.subjects(predicate=None, object=SH.ValidationResult):
        focus = report.value(result, SH.focusNode)
        label = data.value(focus, RDFS.label) if focus is not None else None
        violations.append(Violation(
            shape=str(report.value(result, SH.sourceShape)),
            focus=str(focus),
            label=str(label or ""),
            path=str(report.value(result, SH.resultPath) or ""),
            message=str(report.value(result, SH.resultMessage) or ""),
        ))
    violations.sort(key=lambda v: (v.shape, v.focus, v.path, v.message))
    return bool(conforms), violations


def grouped(violations: list[Violation]) -> dict[str, list[Violation]]:
    groups: dict[str, list[Violation]] = defaultdict(list)
    for v in violations:
        groups[v.shape].append(v)
    return dict(groups)
