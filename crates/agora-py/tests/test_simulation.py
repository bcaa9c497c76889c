"""agora.Simulation: stepping equals agora.run cell for cell, overrides
act for one step, reset replays, bad input raises."""

import math

import pytest

import agora

np = pytest.importorskip("numpy")
pa = pytest.importorskip("pyarrow")


@pytest.mark.parametrize(
    "name,steps",
    [("token-economy", 25), ("market-clearing", 20), ("curve-linear", 15), ("amm", 15)],
)
def test_stepping_equals_run_cell_for_cell(name, steps):
    table = pa.table(agora.run(agora.example(name), seed=11, steps=steps).assets)
    agents = pa.table(agora.run(agora.example(name), seed=11, steps=steps).agents)
    sim = agora.Simulation(agora.example(name), seed=11, steps=steps)
    m = len(sim.asset_names)
    prices, supplies = table.column("price").to_pylist(), table.column("supply").to_pylist()
    wealth = agents.column("wealth").to_pylist()
    groups = len(sim.groups)
    t = 0
    while True:
        state = sim.state()
        assert state["step"] == sim.step_index == t
        for j in range(m):
            row = t * m + j
            assert state["supplies"][j] == supplies[row], (t, j)
            if prices[row] is None:
                assert math.isnan(state["prices"][j])
            else:
                assert state["prices"][j] == prices[row], (t, j)
        for g, (_, first, end) in enumerate(sim.groups):
            # agents.csv's wealth is the group's total, at the same marks.
            total = float(state["wealth"][first:end].sum())
            assert total == pytest.approx(wealth[t * groups + g], rel=1e-12, abs=1e-6)
        if sim.done:
            break
        sim.step()
        t += 1
    assert t == steps
    assert len(table) == (steps + 1) * m


def test_state_arrays_have_the_documented_shapes_and_types():
    sim = agora.Simulation(agora.example("curve-linear"), steps=5)
    s = sim.state()
    n, m = sim.num_agents, len(sim.asset_names)
    assert s["balances"].dtype == np.uint64 and s["balances"].shape == (n,)
    assert s["holdings"].dtype == np.uint64 and s["holdings"].shape == (n, m)
    for key in ("prices", "marks", "supplies", "best_bids", "best_asks"):
        assert s[key].dtype == np.float64 and s[key].shape == (m,)
    assert s["wealth"].shape == (n,)
    # On a curve, wealth is balance + holdings at the price, exactly as the engine counts it.
    total = s["balances"] / agora.SCALE + (s["holdings"] / agora.SCALE) @ s["marks"]
    np.testing.assert_allclose(s["wealth"], total, rtol=1e-12)


def test_an_override_replaces_the_policy_for_one_step_and_trades_on_the_curve():
    sim = agora.Simulation(agora.example("curve-linear"), seed=3, steps=10)
    before = sim.state()
    agent = 0
    spend = 7 * agora.SCALE
    sim.act([agent], [("buy", "TOKEN", spend)])
    sim.step()
    after = sim.state()
    spent = int(before["balances"][agent]) - int(after["balances"][agent])
    # All of it, but for the base units a whole base unit of tokens would cost more than.
    assert spend - 1000 <= spent <= spend
    assert after["holdings"][agent, 0] > 0
    # Holding for a step leaves the agent's account as it is.
    sim.act([agent], ["hold"])
    kept = sim.state()
    sim.step()
    assert sim.state()["balances"][agent] == kept["balances"][agent]
    assert sim.state()["holdings"][agent, 0] == kept["holdings"][agent, 0]


def test_reset_replays_the_same_run_and_a_new_seed_changes_it():
    sim = agora.Simulation(agora.example("token-economy"), seed=5, steps=12)
    sim.step(12)
    first = sim.state()["prices"].copy()
    sim.reset()
    assert sim.step_index == 0 and not sim.done
    sim.step(12)
    assert np.array_equal(sim.state()["prices"], first)
    sim.reset(seed=6)
    sim.step(12)
    assert not np.array_equal(sim.state()["prices"], first)
    sim.reset(seed=5)
    sim.step(12)
    assert np.array_equal(sim.state()["prices"], first)


def test_bad_input_raises_with_a_clear_message():
    sim = agora.Simulation(agora.example("curve-linear"), steps=2)
    with pytest.raises(IndexError, match="agent 100000 does not exist"):
        sim.act([100000], ["hold"])
    with pytest.raises(ValueError, match="spend must be a non-negative int"):
        sim.act([0], [("buy", 0, -5)])
    with pytest.raises(ValueError, match="unknown action kind 'fly'|unknown action kind \"fly\""):
        sim.act([0], [("fly", 0)])
    with pytest.raises(ValueError, match="no asset is named"):
        sim.act([0], [("sell", "NOPE", 1)])
    with pytest.raises(ValueError, match="asset 3 does not exist"):
        sim.act([0], [("sell", 3, 1)])
    with pytest.raises(TypeError, match="an action is one of"):
        sim.act([0], [1.5])
    with pytest.raises(ValueError, match="2 agents but 1 actions"):
        sim.act([0, 1], ["hold"])
    with pytest.raises(ValueError, match="no group is named"):
        sim.objectives("nobody")
    with pytest.raises(agora.ScenarioError):
        agora.Simulation("[simulation]\nsteps = -1\n")
    with pytest.raises(TypeError):
        agora.Simulation(42)
    sim.step(2)
    assert sim.done
    with pytest.raises(RuntimeError, match="finished .*reset"):
        sim.step()


def test_progress_reports_every_runs_steps_and_ends_at_the_total():
    seen = []
    plain = agora.run(agora.example("curve-linear"), steps=40, runs=3)
    shown = agora.run(
        agora.example("curve-linear"), steps=40, runs=3, progress=lambda d, t: seen.append((d, t))
    )
    assert seen and seen[-1] == (120, 120)
    assert all(t == 120 for _, t in seen)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)
    # The bar changes nothing in the result.
    assert pa.table(plain.assets).equals(pa.table(shown.assets))
    with pytest.raises(TypeError, match="progress must be"):
        agora.run(agora.example("curve-linear"), steps=2, progress="yes")


def test_an_error_in_the_progress_callback_stops_the_run_and_is_raised():
    def broken(done, total):
        raise ZeroDivisionError("bar broke")

    with pytest.raises(ZeroDivisionError, match="bar broke"):
        agora.run(agora.example("curve-linear"), steps=5, progress=broken)


def test_ctrl_c_stops_a_long_step_with_keyboard_interrupt():
    import subprocess
    import sys

    # The child interrupts itself after a moment: a SIGINT, as Ctrl-C sends.
    code = (
        "import agora, os, signal, threading\n"
        "sim = agora.Simulation(agora.example('reference'), steps=100000)\n"
        "threading.Timer(0.5, lambda: os.kill(os.getpid(), signal.SIGINT)).start()\n"
        "try:\n"
        "    sim.step(100000)\n"
        "    print('finished')\n"
        "except KeyboardInterrupt:\n"
        "    print('interrupted', 0 < sim.step_index < 100000)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.strip() == "interrupted True", out.stderr
