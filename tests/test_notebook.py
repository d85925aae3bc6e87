"""notebooks/explore.ipynb runs from the first cell to the last without an error.

The kernel is this interpreter (the project's venv): its spec is written to a temporary
JUPYTER_PATH, so a `python3` kernel installed elsewhere on the machine is never used.
"""

from __future__ import annotations

from pathlib import Path

import pytest

NOTEBOOK = Path(__file__).parents[1] / "notebooks" / "explore.ipynb"


@pytest.fixture
def kernel(tmp_path, monkeypatch):
    from ipykernel.kernelspec import write_kernel_spec

    write_kernel_spec(tmp_path / "jupyter" / "kernels" / "python3")
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    return "python3"


def test_notebook_runs_end_to_end(kernel, tmp_path, monkeypatch):
    import nbformat
    from nbclient import NotebookClient

    out = tmp_path / "out"
    monkeypatch.setenv("KG_OUT", str(out))
    nb = nbformat.read(NOTEBOOK, as_version=4)
    assert all(not cell.get("outputs") for cell in nb.cells if cell.cell_type == "code"), "commit it without outputs"
    client = NotebookClient(nb, kernel_name=kernel, timeout=180, resources={"metadata": {"path": str(NOTEBOOK.parent)}})
    client.execute()  # raises CellExecutionError, naming the cell, if any cell fails

    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert errors == []
    path_cell = next(c for c in nb.cells if "shortest_paths" in c.source)
    printed = "".join(o.get("text", "") for o in path_cell.outputs)
    assert "量子计算" in printed and "→" in printed  # a path from IBM to 量子计算, with its evidence
    assert sorted(p.name for p in (out / "charts").iterdir()) == [
        "communities.png", "top-betweenness.png", "top-degree.png", "top-pagerank.png",
    ]  # fmt: skip
    for name in ("explorer.html", "timeline.html", "kg.graphml", "kg.gexf", "kg.nodelink"):
        assert (out / name).stat().st_size > 0
    assert sorted(p.name for p in (out / "csv").iterdir()) == ["edges.csv", "nodes.csv"]
