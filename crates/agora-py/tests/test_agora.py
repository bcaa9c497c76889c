"""The Python package against the command line: the same tables cell for
cell, the same errors, determinism, and bad input that raises, never
crashes."""

import csv
import json
import os
import subprocess
import sys

import pytest

import agora

pa = pytest.importorskip("pyarrow")

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))


def agora_cli():
    """The command line's binary: AGORA_BIN, else the workspace's build."""
    path = os.environ.get("AGORA_BIN") or os.path.join(ROOT, "target", "release", "agora")
    if not os.path.exists(path):
        path = os.path.join(ROOT, "target", "debug", "agora")
    if not os.path.exists(path):
        pytest.skip("the agora binary is not built (cargo build -p agora-cli)")
    return path


def read_csv(path):
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]



def same_number(text, value):
    if text == "":
        return value is None
    if isinstance(value, str):
        return text == value
    return float(text) == float(value)


@pytest.mark.parametrize(
    "name,steps,runs",
    [
        ("token-economy", 30, 1),
        ("market-clearing", 20, 1),
        ("resource-economy", 20, 1),
        ("curve-linear", 15, 3),
    ],
)
def test_tables_equal_the_command_lines_csv_cell_for_cell(tmp_path, name, steps, runs):
    out = tmp_path / "cli"
    subprocess.run(
        [agora_cli(), "run", "--example", name, "--steps", str(steps), "--runs", str(runs),
         "--quiet", "--out", str(out)],
        check=True,
    )
    result = agora.run(agora.example(name), steps=steps, runs=runs)
    for table, file in [(result.assets, "assets.csv"), (result.agents, "agents.csv")]:
        header, rows = read_csv(out / file)
        t = pa.table(table)
        assert t.column_names == header
        assert t.num_rows == len(rows) == len(table)
        columns = [t.column(c).to_pylist() for c in header]
        for i, row in enumerate(rows):
            for j, text in enumerate(row):
                assert same_number(text, columns[j][i]), (file, i, header[j], text, columns[j][i])
    cli_summary = json.loads((out / "summary.json").read_text())
    cli_summary.pop("performance", None)
    assert result.summary == cli_summary


def test_write_gives_the_command_lines_files(tmp_path):
    out = tmp_path / "cli"
    subprocess.run(
        [agora_cli(), "run", "--example", "token-economy", "--steps", "12", "--quiet",
         "--out", str(out)],
        check=True,
    )
    result = agora.run(agora.example("token-economy"), steps=12)
    written = result.write(tmp_path / "py")
    assert sorted(os.path.basename(p) for p in written) == sorted(
        ["assets.csv", "agents.csv", "summary.json", "scenario.toml"]
    )
    for name in ["assets.csv", "agents.csv", "scenario.toml"]:
        assert (tmp_path / "py" / name).read_bytes() == (out / name).read_bytes(), name


def test_a_path_text_and_dict_give_the_same_run(tmp_path):
    text = agora.example("curve-linear")
    path = tmp_path / "s.toml"
    path.write_text(text)
    by_text = agora.run(text, steps=10)
    by_path = agora.run(str(path), steps=10)
    by_pathlike = agora.run(path, steps=10)
    tomllib = pytest.importorskip("tomllib")
    by_dict = agora.run(tomllib.loads(text), steps=10)
    expected = pa.table(by_text.assets)
    for other in (by_path, by_pathlike, by_dict):
        assert pa.table(other.assets).equals(expected)


def test_same_seed_same_result_any_threads_and_another_seed_differs():
    a = agora.run(agora.example("token-economy"), steps=25, seed=7, threads=1)
    b = agora.run(agora.example("token-economy"), steps=25, seed=7, threads=4)
    c = agora.run(agora.example("token-economy"), steps=25, seed=8, threads=2)
    assert pa.table(a.assets).equals(pa.table(b.assets))
    assert pa.table(a.agents).equals(pa.table(b.agents))
    assert not pa.table(a.assets).equals(pa.table(c.assets))


def test_the_stream_can_be_read_more_than_once_and_by_polars():
    result = agora.run(agora.example("curve-linear"), steps=5)
    first = pa.table(result.assets)
    assert pa.table(result.assets).equals(first)
    assert "price" in result.assets.column_names
    pl = pytest.importorskip("polars")
    df = pl.from_arrow(pa.table(result.assets))
    assert df.height == first.num_rows


def test_bad_input_raises_the_command_lines_message(tmp_path):
    bad = agora.example("curve-linear").replace("count = ", "count = -", 1)
    path = tmp_path / "bad.toml"
    path.write_text(bad)
    cli = subprocess.run([agora_cli(), "validate", str(path)], capture_output=True, text=True)
    assert cli.returncode == 2
    message = cli.stderr.strip().removeprefix("error: ")
    with pytest.raises(agora.ScenarioError) as e:
        agora.validate(str(path))
    assert str(e.value) == message
    with pytest.raises(agora.ScenarioError):
        agora.run(str(path))
    with pytest.raises(agora.ScenarioError, match="no-such-example"):
        agora.example("no-such-example")
    with pytest.raises(agora.ScenarioError, match="no such scenario file"):
        agora.run("missing.toml")
    with pytest.raises(agora.ScenarioError):
        agora.run("this is = not [valid toml")
    with pytest.raises(TypeError):
        agora.run(42)
    with pytest.raises(ValueError):
        agora.run(agora.example("curve-linear"), steps=-1)
    with pytest.raises(ValueError):
        agora.run(agora.example("curve-linear"), threads=0)
    with pytest.raises(agora.ScenarioError):
        agora.run({"simulation": {"steps": float("nan")}})


def test_examples_are_listed_with_descriptions():
    names = dict(agora.examples())
    assert "token-economy" in names and names["token-economy"]
    assert agora.validate(agora.example("token-economy")) == []


def test_ctrl_c_stops_a_long_run_with_keyboard_interrupt():
    # The child interrupts itself after a moment: a SIGINT, as Ctrl-C sends.
    code = (
        "import agora, os, signal, threading\n"
        "threading.Timer(0.5, lambda: os.kill(os.getpid(), signal.SIGINT)).start()\n"
        "try:\n"
        "    agora.run(agora.example('reference'), steps=100000)\n"
        "    print('finished')\n"
        "except KeyboardInterrupt:\n"
        "    print('interrupted')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "interrupted", out.stderr
