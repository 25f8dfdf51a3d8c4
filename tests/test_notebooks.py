"""The teaching and analysis notebooks (notebooks/*.ipynb) run top to bottom.

Each notebook is executed with nbclient in a fresh ``python3`` kernel (ipykernel of this
interpreter) on a small population (``MIGSIM_NB_AGENTS``); its last cell asserts on what it
shows, so a notebook that runs but shows something else fails. Notebooks are committed with
outputs cleared; executing here does not write them back.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
NAMES = sorted(p.name for p in NOTEBOOKS.glob("*.ipynb"))
CELL_TIMEOUT_S = 300
ENV = {"MIGSIM_NB_AGENTS": "20000", "MIGSIM_NB_REPLICATES": "3", "NUMBA_NUM_THREADS": "1",
       "MIGSIM_NB_EXPERIMENTS": "20", "MPLBACKEND": "Agg"}
REQUIRES = {"05_exploratory_analysis.ipynb": "ema_workbench"}  # optional extras a notebook needs


def test_notebooks_present_and_cleared():
    assert NAMES == ["01_quickstart.ipynb", "02_policy_analysis.ipynb",
                     "03_teaching_harris_todaro.ipynb", "04_networks_and_chain_migration.ipynb",
                     "05_exploratory_analysis.ipynb", "06_present_day.ipynb",
                     "07_docking.ipynb"]
    for name in NAMES:
        nb = nbformat.read(NOTEBOOKS / name, as_version=4)
        nbformat.validate(nb)
        for cell in nb.cells:
            if cell.cell_type == "code":
                assert not cell.outputs and cell.execution_count is None, (
                    f"{name}: commit notebooks with outputs cleared")
        assert "assert" in nb.cells[-1].source, f"{name}: the last cell should check results"


@pytest.mark.parametrize("name", NAMES)
def test_notebook_runs(name, monkeypatch, tmp_path):
    if name in REQUIRES:
        pytest.importorskip(REQUIRES[name])
    for k, v in ENV.items():
        monkeypatch.setenv(k, v)
    monkeypatch.setenv("TMPDIR", str(tmp_path))  # the kernel's temporary batch directories
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    client = nbclient.NotebookClient(nb, timeout=CELL_TIMEOUT_S, kernel_name="python3",
                                     resources={"metadata": {"path": str(NOTEBOOKS)}})
    t0 = time.perf_counter()
    client.execute()
    print(f"\n{name}: {time.perf_counter() - t0:.1f} s")
    last = nb.cells[-1]
    text = "".join(o.get("text", "") for o in last.outputs if o.get("output_type") == "stream")
    assert "ok" in text
