"""agora.sweep against the command line's `agora sweep`, byte for byte;
shards that merge to the whole; the Ray backend (where Ray is installed)
giving the local bytes, from Python and from `agora sweep --backend ray`;
and bad input that raises, never crashes."""

import os
import subprocess
import sys
import time

import pytest

import agora
from agora import _agora

from test_agora import agora_cli

GRID = {"assets.TOKEN.pricing.m": [0.001, 0.002, 0.004]}
SETS = ["--set", "assets.TOKEN.pricing.m=0.001,0.002,0.004"]


def cli_sweep(out, *args, env=None):
    subprocess.run(
        [agora_cli(), "sweep", "--example", "curve-linear", "--steps", "15", "--runs", "2",
         *SETS, "--quiet", "--out", str(out), *args],
        check=True,
        env=env,
    )
    return (out / "sweep.csv").read_bytes(), (out / "shard.json").read_bytes()


@pytest.fixture(scope="module")
def cli_bytes(tmp_path_factory):
    return cli_sweep(tmp_path_factory.mktemp("cli"))


def test_sweep_writes_the_command_lines_sweep_csv_and_shard_json_byte_for_byte(cli_bytes, tmp_path):
    result = agora.sweep(agora.example("curve-linear"), GRID, steps=15, runs=2)
    assert result.csv == cli_bytes[0]
    paths = result.write(tmp_path)
    assert [os.path.basename(p) for p in paths] == ["sweep.csv", "shard.json"]
    assert (tmp_path / "sweep.csv").read_bytes() == cli_bytes[0]
    assert (tmp_path / "shard.json").read_bytes() == cli_bytes[1]
    assert len(result) == 3
    assert [r["assets.TOKEN.pricing.m"] for r in result.rows] == [0.001, 0.002, 0.004]
    # A steeper curve ends at a higher price with the same traders.
    prices = [r["assets.TOKEN.final_price"] for r in result.rows]
    assert prices == sorted(prices) and prices[0] < prices[-1]


def test_a_grid_of_set_strings_is_the_same_sweep(cli_bytes):
    result = agora.sweep(
        agora.example("curve-linear"), ["assets.TOKEN.pricing.m=0.001,0.002,0.004"], steps=15, runs=2
    )
    assert result.csv == cli_bytes[0]


def test_shards_merge_to_the_whole_sweep(cli_bytes, tmp_path):
    dirs = []
    for i in (2, 1):  # any order
        part = agora.sweep(agora.example("curve-linear"), GRID, steps=15, runs=2, shard=(i, 2))
        assert part.shard["shard"] == i and part.shard["shards"] == 2
        dirs.append(str(tmp_path / str(i)))
        part.write(dirs[-1])
    csv, info = _agora.merge_sweeps(dirs)
    assert bytes(csv) == cli_bytes[0]
    assert bytes(info) == cli_bytes[1]


def test_string_and_table_values_and_zip():
    ex = agora.example("curve-linear")
    zipped = agora.sweep(
        ex,
        {"assets.TOKEN.pricing.m": [0.001, 0.002], "simulation.seed": [1, 2]},
        zip=True,
        steps=5,
    )
    assert [(r["assets.TOKEN.pricing.m"], r["simulation.seed"]) for r in zipped.rows] == [
        (0.001, 1.0),
        (0.002, 2.0),
    ]
    product = agora.sweep(
        ex, {"assets.TOKEN.pricing.m": [0.001, 0.002], "simulation.seed": [1, 2]}, steps=5
    )
    assert len(product) == 4


def test_bad_grids_and_arguments_raise_with_the_reason():
    ex = agora.example("curve-linear")
    with pytest.raises(agora.ScenarioError, match="assets.NOPE"):
        agora.sweep(ex, {"assets.NOPE.pricing.m": [1.0]}, steps=5)
    with pytest.raises(TypeError, match="list of values"):
        agora.sweep(ex, {"assets.TOKEN.pricing.m": 0.001})
    with pytest.raises(TypeError, match="grid must be"):
        agora.sweep(ex, 3)
    with pytest.raises(ValueError, match="not a finite number"):
        agora.sweep(ex, {"assets.TOKEN.pricing.m": [float("nan")]})
    with pytest.raises(agora.ScenarioError, match="1 <= i <= n"):
        agora.sweep(ex, GRID, steps=5, shard=(3, 2))
    with pytest.raises(ValueError, match="backend must be"):
        agora.sweep(ex, GRID, backend="spark")
    with pytest.raises(ValueError, match="cuts the grid"):
        agora.sweep(ex, GRID, backend="ray", shard=(1, 2))
    with pytest.raises(ValueError, match="for backend='ray'"):
        agora.sweep(ex, GRID, address="127.0.0.1:6379")
    with pytest.raises(agora.ScenarioError, match="equal length"):
        agora.sweep(ex, {"assets.TOKEN.pricing.m": [0.001], "simulation.seed": [1, 2]}, zip=True)


ray = pytest.importorskip("ray")


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR", log_to_driver=False)
    yield
    ray.shutdown()


def test_ray_sweep_gives_the_local_bytes(local_ray, cli_bytes):
    result = agora.sweep(agora.example("curve-linear"), GRID, steps=15, runs=2, backend="ray", tasks=2)
    assert result.csv == cli_bytes[0]
    assert result.shard == agora.sweep(agora.example("curve-linear"), GRID, steps=15, runs=2).shard


def test_ray_sweep_of_points_with_other_metrics_gives_the_local_bytes(local_ray):
    # A bonding curve's point and an AMM's have different metrics, so their
    # one-point shards (Ray's tasks) have different columns; the merge puts
    # each row in the whole sweep's columns (it refused: "headers differ").
    grid = [
        'assets.TOKEN.pricing=[{ kind = "bonding_curve", curve = "linear", m = 0.001, b = 1.0 }, '
        '{ kind = "amm", curve = "constant_product", reserve_money = 1000000.0, '
        'reserve_token = 100000.0, fee = 0.003 }]'
    ]
    local = agora.sweep(agora.example("curve-linear"), grid, steps=5, runs=2)
    on_ray = agora.sweep(agora.example("curve-linear"), grid, steps=5, runs=2, backend="ray", tasks=2)
    assert on_ray.csv == local.csv
    # the curve's row leaves the AMM's own metrics (its pool) empty
    assert local.rows[0]["assets.TOKEN.pool_money"] is None
    assert local.rows[1]["assets.TOKEN.pool_money"] > 0


def test_the_command_lines_ray_backend_gives_the_local_bytes(cli_bytes, tmp_path):
    env = dict(os.environ, AGORA_PYTHON=sys.executable)
    assert cli_sweep(tmp_path / "ray", "--backend", "ray", env=env) == cli_bytes


def test_a_cluster_that_cannot_be_reached_is_named_within_seconds(tmp_path):
    started = time.monotonic()
    with pytest.raises(ConnectionError, match="127.0.0.1:1"):
        agora.sweep(agora.example("curve-linear"), GRID, steps=5, backend="ray", address="127.0.0.1:1")
    assert time.monotonic() - started < 30
    env = dict(os.environ, AGORA_PYTHON=sys.executable)
    out = subprocess.run(
        [agora_cli(), "sweep", "--example", "curve-linear", *SETS, "--out", str(tmp_path / "x"),
         "--backend", "ray", "--address", "127.0.0.1:1"],
        capture_output=True, text=True, env=env,
    )
    assert out.returncode == 2
    assert "127.0.0.1:1" in out.stderr and "cannot be reached" in out.stderr
    assert not (tmp_path / "x" / "sweep.csv").exists()
