"""Policies written in Python: run by the engine with the group's fields
as constructor arguments; a policy equal to overridden actions gives the
same run; reproducible from the agent's stream at any thread count;
exceptions, bad actions and bad fields raise."""

import pytest

import agora

pa = pytest.importorskip("pyarrow")
pytest.importorskip("numpy", reason="agora.Simulation's state is NumPy arrays")


def scenario(kind_table):
    return {
        "simulation": {"steps": 15, "seed": 4},
        "assets": [{"name": "TOKEN", "pricing": {"kind": "bonding_curve", "curve": "linear",
                                                 "m": 0.001, "b": 1.0}}],
        "agents": [
            {"group": "noise", "count": 40, "balance": 1000.0,
             "policy": {"kind": "random", "asset": "TOKEN", "p_buy": 0.4, "p_sell": 0.4,
                        "buy_fraction": 0.1, "sell_fraction": 0.1}},
            {"group": "mine", "count": 5, "balance": 1000.0, "policy": kind_table},
        ],
    }


@pytest.fixture
def registered():
    kinds = []

    def register(kind, cls):
        agora.register_policy(kind, cls)
        kinds.append(kind)
        return cls

    yield register
    for kind in kinds:
        agora.unregister_policy(kind)


class Steady:
    """Buys `spend` units' worth of `asset` every step."""

    def __init__(self, asset, spend=2.0):
        self.asset, self.spend = asset, int(spend * agora.SCALE)

    def decide(self, obs, me):
        return ("buy", self.asset, self.spend)


def test_a_python_policy_gives_the_run_its_actions_would_as_overrides(registered):
    registered("steady", Steady)
    table = pa.table(
        agora.run(scenario({"kind": "steady", "asset": "TOKEN", "spend": 3.0})).assets)
    hold = {"kind": "random", "asset": "TOKEN", "p_buy": 0.0, "p_sell": 0.0,
            "buy_fraction": 0.1, "sell_fraction": 0.1}
    sim = agora.Simulation(scenario(hold))
    first, end = sim.groups[1][1], sim.groups[1][2]
    prices, supplies = [sim.state()["prices"][0]], [sim.state()["supplies"][0]]
    while not sim.done:
        ids = list(range(first, end))
        sim.act(ids, [("buy", "TOKEN", 3 * agora.SCALE)] * len(ids))
        sim.step()
        prices.append(sim.state()["prices"][0])
        supplies.append(sim.state()["supplies"][0])
    assert table.column("price").to_pylist() == prices
    assert table.column("supply").to_pylist() == supplies


class Coin:
    """Buys or sells on its agent's own draw."""

    def __init__(self, asset):
        self.asset = asset

    def decide(self, obs, me):
        assert obs["assets"][0]["name"] == "TOKEN" and len(obs["assets"][0]["history"]) <= 20
        if me["random"] < 0.5:
            return ("buy", self.asset, me["balance"] // 10)
        return ("sell", 0, me["holdings"][0] // 2)


def test_a_python_policy_drawing_from_its_stream_is_reproducible_at_any_thread_count(registered):
    registered("coin", Coin)
    sc = scenario({"kind": "coin", "asset": "TOKEN"})
    one = pa.table(agora.run(sc, threads=1).assets)
    four = pa.table(agora.run(sc, threads=4).assets)
    other = pa.table(agora.run(sc, seed=5).assets)
    assert one.equals(four)
    assert not one.equals(other)
    # In a Simulation too.
    sim = agora.Simulation(sc)
    sim.step(15)
    assert sim.state()["prices"][0] == one.column("price").to_pylist()[-1]


class Broken:
    def __init__(self, asset):
        pass

    def decide(self, obs, me):
        if obs["step"] == 3:
            raise ZeroDivisionError("broken at step 3")
        return "hold"


class Wrong:
    def __init__(self):
        pass

    def decide(self, obs, me):
        return ("buy", "NOPE", 1)


def test_exceptions_bad_actions_and_bad_fields_raise(registered):
    registered("broken", Broken)
    registered("wrong", Wrong)
    with pytest.raises(ZeroDivisionError, match="broken at step 3"):
        agora.run(scenario({"kind": "broken", "asset": "TOKEN"}))
    sim = agora.Simulation(scenario({"kind": "broken", "asset": "TOKEN"}))
    sim.step(2)
    with pytest.raises(ZeroDivisionError):
        sim.step()
    with pytest.raises(ValueError, match='policy "wrong": agent 40\'s action: no asset is named "NOPE"'):
        agora.run(scenario({"kind": "wrong"}))
    with pytest.raises(agora.ScenarioError, match=r"agents\.mine\.policy\.colour: unknown field"):
        agora.validate(scenario({"kind": "wrong", "colour": "red"}))
    with pytest.raises(agora.ScenarioError, match="could not be made"):
        agora.validate(scenario({"kind": "broken"}))  # its asset argument is missing
    with pytest.raises(agora.ScenarioError, match="unknown"):
        agora.validate(scenario({"kind": "never_registered"}))
    with pytest.raises(TypeError, match="decide"):
        agora.register_policy("no_decide", object)
    with pytest.raises(ValueError, match="built in"):
        agora.register_policy("random", Wrong)


class PyRandom:
    """The built-in `random` policy written in Python, drawing from the agent's stream."""

    def __init__(self, asset, p_buy, p_sell, buy_fraction, sell_fraction):
        self.asset, self.p_buy, self.p_sell = asset, p_buy, p_sell
        self.buy_fraction, self.sell_fraction = buy_fraction, sell_fraction

    def decide(self, obs, me):
        u = me["random"]
        if u < self.p_buy:
            return ("buy", self.asset, int(me["balance"] * self.buy_fraction))
        if u < self.p_buy + self.p_sell:
            return ("sell", self.asset, int(me["holdings"][0] * self.sell_fraction))
        return "hold"


def test_the_random_policy_written_in_python_gives_the_built_in_ones_run(registered):
    registered("py_random", PyRandom)
    fields = {"asset": "TOKEN", "p_buy": 0.3, "p_sell": 0.3, "buy_fraction": 0.05,
              "sell_fraction": 0.1}
    built_in = agora.run(scenario({"kind": "random", **fields}), steps=30)
    python = agora.run(scenario({"kind": "py_random", **fields}), steps=30)
    for a, b in [(built_in.assets, python.assets), (built_in.agents, python.agents)]:
        a, b = pa.table(a), pa.table(b)
        for column in ("price", "supply", "balance", "holdings", "wealth"):
            if column in a.column_names:
                assert a.column(column).to_pylist() == b.column(column).to_pylist(), column


class Learner:
    """A two-armed bandit (hold or buy 2 units' worth), epsilon-greedy on
    its own draws, logging what it is told."""

    log = {}

    def __init__(self, asset, epsilon=0.2):
        self.asset, self.epsilon = asset, epsilon
        self.value, self.count, self.last, self.id = [0.0, 0.0], [0, 0], None, None

    def decide(self, obs, me):
        self.id = me["id"]
        if me["random"] < self.epsilon:
            arm = int(me["random"] * 2 / self.epsilon) % 2
        else:
            arm = int(self.value[1] > self.value[0])
        self.last = arm
        return ("buy", self.asset, 2 * agora.SCALE) if arm else "hold"

    def learn(self, reward, obs):
        self.count[self.last] += 1
        self.value[self.last] += (reward - self.value[self.last]) / self.count[self.last]
        Learner.log.setdefault(self.id, []).append((obs["step"], reward))


def test_a_python_learner_has_one_object_per_agent_and_is_told_the_change_of_its_wealth(
    registered,
):
    registered("py_bandit", Learner)
    Learner.log = {}
    sc = scenario({"kind": "py_bandit", "asset": "TOKEN"})
    result = agora.run(sc, threads=1)
    log = Learner.log
    assert sorted(log) == list(range(40, 45))  # one object per agent of the group
    for rows in log.values():
        assert [step for step, _ in rows] == list(range(2, 17))  # the next step's obs
    agents = pa.table(result.agents).to_pylist()
    wealth = [r["wealth"] for r in agents if r["group"] == "mine"]
    told = sum(r for rows in log.values() for _, r in rows)
    # Rewards telescope: their sum is the group's final wealth less its initial wealth.
    assert told == pytest.approx(wealth[-1] - wealth[0], rel=1e-9)
    # Its own state and its own draws only: the same run at any thread count.
    Learner.log = {}
    four = agora.run(sc, threads=4)
    assert pa.table(result.assets).equals(pa.table(four.assets))
    # In an evaluation phase it is not told anything.
    Learner.log = {}
    sc["simulation"]["evaluation_steps"] = 5
    agora.run(sc)
    assert all(len(rows) == 15 for rows in Learner.log.values())


HANG_CHECK = """
import agora

@agora.register_policy("lrn")
class L:
    def __init__(self, asset):
        self.asset = asset
    def decide(self, obs, me):
        return ("buy", self.asset, 10**8) if me["random"] < 0.2 else "hold"
    def learn(self, reward, obs):
        pass

@agora.register_policy("fails")
class F:
    def __init__(self, asset):
        pass
    def decide(self, obs, me):
        if obs["step"] == 2 and me["member"] % 7 == 3:
            raise KeyError("many fail at once")
        return "hold"

def sc(kind):
    return {"simulation": {"steps": 3, "seed": 1},
            "assets": [{"name": "TOKEN", "pricing": {"kind": "bonding_curve", "curve": "linear",
                                                     "m": 0.001, "b": 1.0}}],
            "agents": [{"group": "a", "count": 4000, "balance": 10.0,
                        "policy": {"kind": kind, "asset": "TOKEN"}}]}

sim = agora.Simulation(sc("lrn"))
sim.step(3)
sim.reset(seed=2)
agora.run(sc("lrn"), runs=2, threads=4)
try:
    agora.run(sc("fails"), threads=4)
except KeyError:
    print("raised")
print("done")
"""


def test_thousands_of_python_agents_on_several_threads_finish(tmp_path):
    # Python policies are called from the engine's threads, which take the
    # GIL in turn: a run, a Simulation's set-up, steps and reset, and many
    # agents failing at once must all finish (a deadlock would hang here;
    # the generous timeout only turns a hang into a failure).
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-c", HANG_CHECK], capture_output=True, text=True, timeout=600
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["raised", "done"]
