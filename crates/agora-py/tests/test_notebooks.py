"""The notebooks in examples/notebooks run end to end (nbclient, a local
Python kernel); skipped, saying why, without nbclient, ipykernel or
matplotlib."""

import os

import pytest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
NOTEBOOKS = os.path.join(ROOT, "examples", "notebooks")


@pytest.mark.parametrize("name", ["quickstart.ipynb", "rl.ipynb"])
def test_the_notebook_runs_end_to_end(name, monkeypatch):
    nbformat = pytest.importorskip("nbformat", reason="running notebooks needs nbformat")
    nbclient = pytest.importorskip("nbclient", reason="running notebooks needs nbclient")
    pytest.importorskip("ipykernel", reason="running notebooks needs ipykernel")
    pytest.importorskip("matplotlib", reason="the notebooks plot with matplotlib")
    pytest.importorskip("pyarrow", reason="the quickstart reads Arrow tables with pyarrow")
    if name == "rl.ipynb":
        pytest.importorskip("pettingzoo", reason="rl.ipynb uses agora.env.parallel_env")
        pytest.importorskip("gymnasium", reason="rl.ipynb uses agora.env.gym_env")
    # The kernel draws inline (its own backend): a plot is a PNG output.
    monkeypatch.delenv("MPLBACKEND", raising=False)
    nb = nbformat.read(os.path.join(NOTEBOOKS, name), as_version=4)
    nbclient.NotebookClient(nb, timeout=600, kernel_name="python3").execute()
    errors = [
        o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"
    ]
    assert not errors
    assert any(
        "image/png" in o.get("data", {})
        for c in nb.cells if c.cell_type == "code" for o in c.outputs
    ), "a plot was drawn"
