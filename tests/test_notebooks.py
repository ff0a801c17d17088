"""Every notebook in ``notebooks/`` runs top to bottom (nbclient) and is stored without outputs.

Notebooks write into a per-test temporary folder (their ``output_dir`` parameter is set by a cell
injected after the ``parameters`` cell, as papermill does). A failing cell fails the test with the
cell's traceback.
"""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

NOTEBOOK_DIR = Path(__file__).resolve().parent.parent / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
#: Per-cell timeout (s); each notebook is meant to run in well under a minute.
CELL_TIMEOUT_S = 240
#: The five notebooks the issue asks for.
EXPECTED = {"01_structures_and_patterns", "02_identify_a_scan", "03_ir_bands", "04_batch_series",
            "05_purity_to_cell"}


def test_all_notebooks_present():
    assert EXPECTED <= {p.stem for p in NOTEBOOKS}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_stored_clean_and_parameterised(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(not c.get("outputs") and c.get("execution_count") is None for c in code), \
        "outputs must be stripped"
    tagged = [c for c in code if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, "exactly one cell tagged 'parameters' (papermill)"
    assert "http://" not in path.read_text() and "https://" not in path.read_text()


def _inject_parameters(nb, params: dict[str, object]) -> None:
    """Add a cell after the 'parameters' cell overriding its values (papermill's convention)."""
    idx = next(i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", []))
    src = "\n".join(f"{k} = {v!r}" for k, v in params.items())
    cell = nbformat.v4.new_code_cell(src)
    cell.metadata["tags"] = ["injected-parameters"]
    nb.cells.insert(idx + 1, cell)


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs(path, tmp_path):
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    params_cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    params: dict[str, object] = {}
    if "output_dir" in params_cell.source:
        params["output_dir"] = str(tmp_path)
    if path.stem == "05_purity_to_cell":
        # The XRD fits of notebook 05's default path are the same analyse_scan calls notebooks 02
        # and 04 run; to stay in the test-time budget it gets a results file of the electrode
        # scans whose purities are the examples' stored truth (the stand-in batch of test_report).
        from test_report import _make_results

        params["results_file"] = str(_make_results(tmp_path, "electrodes.h5"))
    if params:
        _inject_parameters(nb, params)
    client = NotebookClient(nb, timeout=CELL_TIMEOUT_S, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}})
    client.execute()  # raises CellExecutionError (with the traceback) if a cell fails
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    assert not errors
    images = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if "image/png" in o.get("data", {})]
    assert images, "every notebook shows at least one figure"
