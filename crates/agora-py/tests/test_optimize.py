"""agora.optimize against `agora optimize`: the same files byte for byte;
bad input raises before anything runs."""

import subprocess

import pytest

import agora
from test_agora import agora_cli

PARAM = "assets.TOKEN.pricing.m"
OBJECTIVE = "assets.TOKEN.log_return_volatility"


@pytest.mark.parametrize("method,budget", [("grid", 6), ("nelder-mead", 8)])
def test_optimize_writes_the_command_lines_files_byte_for_byte(tmp_path, method, budget):
    out = tmp_path / "cli"
    subprocess.run(
        [agora_cli(), "optimize", "--example", "curve-linear", "--steps", "20", "--runs", "2",
         "--param", f"{PARAM}=0.0005..0.004", "--objective", OBJECTIVE, "--budget", str(budget),
         "--method", method, "--quiet", "--out", str(out)],
        check=True,
    )
    seen = []
    result = agora.optimize(
        agora.example("curve-linear"), {PARAM: (0.0005, 0.004)}, OBJECTIVE, budget=budget,
        method=method, steps=20, runs=2, progress=lambda d, t: seen.append((d, t)),
    )
    written = result.write(tmp_path / "py")
    for path in written:
        name = path.rsplit("/", 1)[-1]
        assert (out / name).read_bytes() == open(path, "rb").read(), name
    assert seen[-1] == (len(result), budget)
    assert len(result) <= budget and result.rows[0]["evaluation"] == 0
    best = min(r["objective"] for r in result.rows)
    assert result.best_objective == best
    assert result.best[PARAM] == next(r[PARAM] for r in result.rows if r["objective"] == best)
    # The best scenario runs, and is the scenario at the best values.
    assert agora.validate(result.best_toml) is not None
    # The list-of-strings form is the same search.
    again = agora.optimize(
        agora.example("curve-linear"), [f"{PARAM}=0.0005..0.004"], OBJECTIVE, budget=budget,
        method=method, steps=20, runs=2,
    )
    assert again.csv == result.csv


def test_optimize_refuses_bad_input_before_running():
    sc = agora.example("curve-linear")
    with pytest.raises(agora.ScenarioError, match="unknown method"):
        agora.optimize(sc, {PARAM: (0.001, 0.002)}, OBJECTIVE, budget=4, method="magic")
    with pytest.raises(agora.ScenarioError):
        agora.optimize(sc, {"assets.NOPE.pricing.m": (0.001, 0.002)}, OBJECTIVE, budget=4)
    with pytest.raises(agora.ScenarioError):
        agora.optimize(sc, {PARAM: (0.001, 0.002)}, "assets.TOKEN.no_such_metric", budget=4)
    with pytest.raises(TypeError, match="pair"):
        agora.optimize(sc, {PARAM: 0.001}, OBJECTIVE, budget=4)
    with pytest.raises(ValueError, match="budget must be non-negative"):
        agora.optimize(sc, {PARAM: (0.001, 0.002)}, OBJECTIVE, budget=-1)
