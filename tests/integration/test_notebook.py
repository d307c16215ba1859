"""notebooks/quickstart.ipynb runs top to bottom in a real Jupyter kernel."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

pytestmark = pytest.mark.slow
NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "quickstart.ipynb"


def test_quickstart_notebook_executes(tmp_path, monkeypatch):
    monkeypatch.setenv("QUICKSTART_DIR", str(tmp_path))
    nb = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": tmp_path}}
    ).execute()
    outputs = {i: c.get("outputs", []) for i, c in enumerate(nb.cells) if c.cell_type == "code"}
    assert all(not any(o.get("output_type") == "error" for o in outs) for outs in outputs.values())
    assert (tmp_path / "runs" / "camera" / "model" / "MLmodel").is_file()
    assert (tmp_path / "report.html").stat().st_size > 10_000
    images = [o for outs in outputs.values() for o in outs if "image/png" in o.get("data", {})]
    assert images, "the maps cell draws a figure"
