"""Reinforcement-learning environments over any Agora scenario.

- :func:`parallel_env` — a PettingZoo ``ParallelEnv`` in which the agents of
  one group act (every step, all at once) while every other agent follows
  its scenario policy;
- :func:`gym_env` — a Gymnasium ``Env`` for a single learning agent among
  the simulated others.

Both need ``pip install 'agora[env]'`` (numpy, gymnasium; pettingzoo for
:func:`parallel_env`). The engine runs in Rust; an environment step is one
engine step with the learning agents' actions set from Python
(:meth:`agora.Simulation.act`).

**Observation** (a ``Box`` of float32, the same layout for every agent)::

    [balance,                                  # own free money, units
     for each traded asset k:
        holdings_k,                            # own free tokens, units
        price_k,                               # the mark: last finite price
        r_k(t-window+1) … r_k(t),              # recent log returns of the price
        best_bid_k, best_ask_k]                # order books only (the mark if a side is empty)

**Actions**, ``action_type="discrete"`` (default): ``Discrete(1 + 2K)`` over
the ``K`` traded assets — ``0`` hold, ``1 + 2k`` buy asset ``k`` spending
``fraction`` (default 10%) of the free balance, ``2 + 2k`` sell ``fraction``
of the holdings of asset ``k``. ``action_type="continuous"`` (one traded
asset): ``Box(-1, 1, (1,))`` — ``a > 0`` spends ``a`` of the balance, ``a <
0`` sells ``-a`` of the holdings. Orders are market orders, executed at the
agent's place in the step's random order; what cannot be paid for is clipped
by the engine.

**Reward**: the change over the step of the agent's objective as its group's
``objective`` in the scenario says (wealth by default; log wealth, …): what
the engine's own learners are rewarded with.

**Episodes** last the scenario's ``steps`` (or ``steps=``); the last step
truncates every agent. ``reset(seed=s)`` starts run 0 of the scenario with
seed ``s``; ``reset()`` without a seed starts the next run (a new episode,
still determined by the first seed).
"""

from __future__ import annotations

import functools
import math
from typing import Any, Dict, List, Optional, Sequence, Tuple

try:
    import numpy as np
except ImportError:  # pragma: no cover - the env extra installs it
    raise ImportError("agora.env needs numpy and gymnasium: pip install 'agora[env]'") from None

from ._sim import SCALE, Simulation

__all__ = ["parallel_env", "gym_env", "AgoraParallelEnv", "AgoraGymEnv", "TRADABLE_KINDS"]

#: The pricing kinds an environment can trade on with market orders.
TRADABLE_KINDS = (
    "bonding_curve", "amm", "order_book", "call_auction", "equilibrium", "price_adjustment"
)


def _spaces():
    try:
        from gymnasium import spaces
    except ImportError:
        raise ImportError(
            "agora.env needs gymnasium (and pettingzoo for parallel_env): "
            "pip install 'agora[env]'"
        ) from None
    return spaces


class _Core:
    """What both environments share: the simulation, the controlled agents,
    observations, actions and rewards."""

    def __init__(
        self,
        scenario: Any,
        ids: Sequence[int],
        *,
        seed: Optional[int],
        steps: Optional[int],
        assets: Optional[Sequence[Any]],
        window: int,
        fraction: float,
        action_type: str,
    ) -> None:
        self.sim = Simulation(scenario, seed=seed, steps=steps)
        sim = self.sim
        if isinstance(window, bool) or not isinstance(window, int) or window < 1:
            raise ValueError(f"window must be an int of at least 1, found {window!r}")
        if not (isinstance(fraction, (int, float)) and 0 < fraction <= 1):
            raise ValueError(f"fraction must be in (0, 1], found {fraction!r}")
        if action_type not in ("discrete", "continuous"):
            raise ValueError(
                f"action_type must be 'discrete' or 'continuous', not {action_type!r}"
            )
        self.window, self.fraction, self.action_type = window, float(fraction), action_type
        if assets is None:
            traded = [j for j, kind in enumerate(sim.asset_kinds) if kind in TRADABLE_KINDS]
            if not traded:
                raise ValueError(
                    "the scenario has no asset the environment can trade on (kinds "
                    f"{', '.join(TRADABLE_KINDS)}); its assets are "
                    + ", ".join(f"{n} ({k})" for n, k in zip(sim.asset_names, sim.asset_kinds))
                )
        else:
            if isinstance(assets, (str, int)):
                assets = [assets]
            traded = [sim._asset_index(a) for a in assets]
            for j in traded:
                if sim.asset_kinds[j] not in TRADABLE_KINDS:
                    raise ValueError(
                        f"asset {sim.asset_names[j]} is priced by {sim.asset_kinds[j]}: the "
                        f"environment trades on {', '.join(TRADABLE_KINDS)}"
                    )
            if len(set(traded)) != len(traded) or not traded:
                raise ValueError("assets must name at least one asset, each once")
        if action_type == "continuous" and len(traded) != 1:
            raise ValueError(
                "action_type='continuous' trades one asset: pass assets=[NAME] "
                f"(the scenario's tradable assets are {', '.join(sim.asset_names[j] for j in traded)})"
            )
        self.traded = traded
        self.books = [sim.asset_kinds[j] == "order_book" for j in traded]
        self.ids = list(ids)
        # Each controlled agent's group (for its objective) and place in it.
        self.group_of: Dict[int, Tuple[int, int]] = {}
        for a in self.ids:
            for g, (_, first, end) in enumerate(sim.groups):
                if first <= a < end:
                    self.group_of[a] = (g, a - first)
        self.obs_size = 1 + sum(2 + window + (2 if book else 0) for book in self.books)
        spaces = _spaces()
        # Amounts and prices are non-negative, returns signed; all finite
        # (an observation is clipped to float32's range).
        big = float(np.finfo(np.float32).max)
        low = [0.0]
        for book in self.books:
            low += [0.0, 0.0] + [-big] * window + ([0.0, 0.0] if book else [])
        self.low = np.asarray(low, dtype=np.float32)
        self.observation_space = spaces.Box(
            self.low, np.full(self.obs_size, big, np.float32), dtype=np.float32
        )
        if action_type == "discrete":
            self.action_space = spaces.Discrete(1 + 2 * len(traded))
        else:
            self.action_space = spaces.Box(-1.0, 1.0, (1,), np.float32)
        self.last_objective: Dict[int, float] = {}
        self.run = 0

    def reset(self, seed: Optional[int]) -> None:
        if seed is not None:
            self.run = 0
            self.sim.reset(seed=seed, run=0)
        else:
            self.run += 1
            self.sim.reset(run=self.run)
        self.last_objective = self.objectives()

    def objectives(self) -> Dict[int, float]:
        out: Dict[int, float] = {}
        cache: Dict[int, np.ndarray] = {}
        for a, (g, k) in self.group_of.items():
            if g not in cache:
                cache[g] = self.sim.objectives(g)
            out[a] = float(cache[g][k])
        return out

    def observe(self) -> Tuple[Dict[str, Any], Dict[int, np.ndarray]]:
        """The state the actions are read against (the markets and the
        controlled agents' accounts) and each controlled agent's observation."""
        sim = self.sim
        state = sim._market()
        first, end = self.ids[0], self.ids[-1] + 1
        balances, holdings, wealth = sim._accounts(first, end)
        state.update(first=first, balances=balances, holdings=holdings, wealth=wealth)
        rows = np.empty((end - first, self.obs_size), dtype=np.float64)
        rows[:, 0] = balances / SCALE
        col = 1
        for j, book in zip(self.traded, self.books):
            mark = float(state["marks"][j])
            rows[:, col] = holdings[:, j] / SCALE
            rows[:, col + 1] = mark
            hist = np.frombuffer(sim._inner.history(j, self.window + 1), dtype=np.float64)
            returns = np.zeros(self.window)
            if len(hist) > 1:
                with np.errstate(divide="ignore", invalid="ignore"):
                    r = np.diff(np.log(hist))
                r[~np.isfinite(r)] = 0.0
                returns[self.window - len(r):] = r
            rows[:, col + 2:col + 2 + self.window] = returns
            col += 2 + self.window
            if book:
                bid, ask = float(state["best_bids"][j]), float(state["best_asks"][j])
                rows[:, col] = mark if math.isnan(bid) else bid
                rows[:, col + 1] = mark if math.isnan(ask) else ask
                col += 2
        np.clip(rows, self.low, np.finfo(np.float32).max, out=rows)
        rows = rows.astype(np.float32)
        return state, {a: rows[a - first] for a in self.ids}

    def action(self, a: int, action: Any, name: str, state: Dict[str, Any]) -> Any:
        """The engine action of agent ``a`` for the environment's ``action``."""
        if self.action_type == "discrete":
            if isinstance(action, np.ndarray) and action.shape == ():
                action = action.item()
            if (
                isinstance(action, (bool, np.bool_))
                or not isinstance(action, (int, np.integer))
                or not 0 <= action < self.action_space.n
            ):
                raise ValueError(
                    f"{name}: action {action!r} is outside the action space "
                    f"{self.action_space} (0 hold, 1+2k buy asset k, 2+2k sell asset k)"
                )
            action = int(action)
            if action == 0:
                return "hold"
            k, sell = divmod(action - 1, 2)
            j = self.traded[k]
            k = a - state["first"]
            if sell:
                return ("sell", j, int(int(state["holdings"][k, j]) * self.fraction))
            return ("buy", j, int(int(state["balances"][k]) * self.fraction))
        x = np.asarray(action, dtype=np.float32)
        if x.shape != (1,) or not np.all(np.isfinite(x)) or not self.action_space.contains(x):
            raise ValueError(
                f"{name}: action {action!r} is outside the action space {self.action_space}"
            )
        u = float(x[0])
        j = self.traded[0]
        k = a - state["first"]
        if u > 0:
            return ("buy", j, int(int(state["balances"][k]) * u))
        if u < 0:
            return ("sell", j, int(int(state["holdings"][k, j]) * -u))
        return "hold"

    def step(self, chosen: Dict[int, Any], names: Dict[int, str], state: Dict[str, Any]):
        if self.sim.done:
            raise RuntimeError(
                "the environment's episode is over (step "
                f"{self.sim.step_index} of {self.sim.steps}): call reset() first"
            )
        ids = list(chosen)
        actions = [self.action(a, chosen[a], names[a], state) for a in ids]
        self.sim.act(ids, actions)
        self.sim.step()
        now = self.objectives()
        rewards = {a: now[a] - self.last_objective[a] for a in now}
        self.last_objective = now
        return rewards


def _agent_ids(sim: Simulation, group: str, agents: Optional[int]) -> List[int]:
    for name, first, end in sim.groups:
        if name == group:
            count = end - first
            if agents is not None:
                if isinstance(agents, bool) or not isinstance(agents, int) or not 1 <= agents <= count:
                    raise ValueError(
                        f"agents must be an int from 1 to {count} (group {group}'s size), "
                        f"found {agents!r}"
                    )
                count = agents
            return list(range(first, first + count))
    names = ", ".join(name for name, _, _ in sim.groups)
    raise ValueError(f"no group is named {group!r}; the groups are {names}")


def _parallel_base():
    try:
        from pettingzoo import ParallelEnv
    except ImportError:
        raise ImportError("agora.env.parallel_env needs pettingzoo: pip install 'agora[env]'") from None
    return ParallelEnv


def _make_parallel_class():
    ParallelEnv = _parallel_base()

    class AgoraParallelEnv(ParallelEnv):
        """A PettingZoo ``ParallelEnv`` over an Agora scenario (see :func:`parallel_env`)."""

        metadata = {"name": "agora_parallel_v0", "render_modes": []}

        def __init__(self, scenario, group, *, agents=None, **options):
            probe = Simulation(scenario, seed=options.get("seed"), steps=options.get("steps"))
            ids = _agent_ids(probe, group, agents)
            self._core = _Core(scenario, ids, **options)
            self.group = group
            self.possible_agents = [f"{group}_{a - ids[0]}" for a in ids]
            self._id = dict(zip(self.possible_agents, ids))
            self._name = {a: n for n, a in self._id.items()}
            self.agents: List[str] = []
            self._state: Optional[Dict[str, Any]] = None
            self.render_mode = None

        @functools.lru_cache(maxsize=None)
        def observation_space(self, agent):
            self._check_agent(agent)
            return self._core.observation_space

        @functools.lru_cache(maxsize=None)
        def action_space(self, agent):
            self._check_agent(agent)
            # One object per agent: seeding one does not seed the others.
            return _copy_space(self._core.action_space)

        def _check_agent(self, agent):
            if agent not in self._id:
                raise KeyError(f"no agent {agent!r} in this environment (agents {self.possible_agents[0]}…)")

        def reset(self, seed=None, options=None):
            self._core.reset(seed)
            if seed is not None:
                for k, agent in enumerate(self.possible_agents):
                    self.action_space(agent).seed(seed + k)
            self.agents = list(self.possible_agents)
            self._state, obs = self._core.observe()
            return (
                {self._name[a]: o for a, o in obs.items()},
                {agent: {} for agent in self.agents},
            )

        def step(self, actions):
            if not self.agents or self._state is None:
                raise RuntimeError(
                    "the environment has no live agents: its episode is over (or reset() "
                    "was not called); call reset() first"
                )
            if not isinstance(actions, dict):
                raise TypeError(f"actions must be a dict {{agent: action}}, not {type(actions).__name__}")
            for agent in actions:
                if agent not in self._id:
                    raise KeyError(f"no agent {agent!r} among the live agents of this environment")
                if agent not in self.agents:
                    raise ValueError(f"agent {agent!r} is done: it cannot act")
            # An agent left out of the dict holds.
            chosen = {self._id[agent]: actions.get(agent, 0) for agent in self.agents}
            if self._core.action_type == "continuous":
                chosen = {
                    a: actions.get(self._name[a], np.zeros(1, np.float32)) for a in chosen
                }
            rewards = self._core.step(chosen, self._name, self._state)
            self._state, obs = self._core.observe()
            done = self._core.sim.done
            live = self.agents
            first = self._state["first"]
            out = (
                {agent: obs[self._id[agent]] for agent in live},
                {agent: rewards[self._id[agent]] for agent in live},
                {agent: False for agent in live},
                {agent: done for agent in live},
                {agent: {"wealth": float(self._state["wealth"][self._id[agent] - first])}
                 for agent in live},
            )
            if done:
                self.agents = []
            return out

        def state(self):
            """The global state: prices and every controlled agent's observation."""
            if self._state is None:
                raise RuntimeError("call reset() first")
            return np.concatenate(
                [self._state["marks"].astype(np.float32)] + list(self._core.observe()[1].values())
            )

        @property
        def simulation(self) -> Simulation:
            """The :class:`agora.Simulation` underneath."""
            return self._core.sim

        def close(self):
            pass

    return AgoraParallelEnv


def _copy_space(space):
    import copy

    return copy.deepcopy(space)


def _make_gym_class():
    try:
        import gymnasium
    except ImportError:
        raise ImportError("agora.env.gym_env needs gymnasium: pip install 'agora[env]'") from None

    class AgoraGymEnv(gymnasium.Env):
        """A Gymnasium ``Env`` for one agent of an Agora scenario (see :func:`gym_env`)."""

        metadata = {"render_modes": []}

        def __init__(self, scenario, agent, **options):
            probe = Simulation(scenario, seed=options.get("seed"), steps=options.get("steps"))
            self.agent_id = _agent_id(probe, agent)
            self._core = _Core(scenario, [self.agent_id], **options)
            self.observation_space = self._core.observation_space
            self.action_space = self._core.action_space
            self._state = None
            self.render_mode = None

        def reset(self, *, seed=None, options=None):
            super().reset(seed=seed)
            self._core.reset(seed)
            self._state, obs = self._core.observe()
            return obs[self.agent_id], {}

        def step(self, action):
            if self._state is None:
                raise RuntimeError("call reset() before step()")
            a = self.agent_id
            rewards = self._core.step({a: action}, {a: f"agent {a}"}, self._state)
            self._state, obs = self._core.observe()
            done = self._core.sim.done
            info = {"wealth": float(self._state["wealth"][0])}
            return obs[a], float(rewards[a]), False, done, info

        @property
        def simulation(self) -> Simulation:
            """The :class:`agora.Simulation` underneath."""
            return self._core.sim

    return AgoraGymEnv


def _agent_id(sim: Simulation, agent: Any) -> int:
    """An agent given as an id, a group name (its first agent) or ``GROUP_K``."""
    if isinstance(agent, str):
        for name, first, end in sim.groups:
            if agent == name:
                return first
            prefix = name + "_"
            if agent.startswith(prefix) and agent[len(prefix):].isdigit():
                k = int(agent[len(prefix):])
                if first + k < end:
                    return first + k
        names = ", ".join(name for name, _, _ in sim.groups)
        raise ValueError(
            f"no agent {agent!r}: name a group ({names}), GROUP_K for its k-th agent, or an id"
        )
    if isinstance(agent, bool) or not isinstance(agent, (int, np.integer)):
        raise TypeError(f"agent must be an id, a group name or 'GROUP_K', not {type(agent).__name__}")
    if not 0 <= int(agent) < sim.num_agents:
        raise ValueError(f"agent {agent} does not exist: the agents are 0 to {sim.num_agents - 1}")
    return int(agent)


@functools.lru_cache(maxsize=None)
def _classes():
    return _make_parallel_class()


@functools.lru_cache(maxsize=None)
def _gym_class():
    return _make_gym_class()


def parallel_env(
    scenario: Any,
    group: str,
    *,
    agents: Optional[int] = None,
    seed: Optional[int] = None,
    steps: Optional[int] = None,
    assets: Optional[Sequence[Any]] = None,
    window: int = 5,
    fraction: float = 0.1,
    action_type: str = "discrete",
):
    """A PettingZoo ``ParallelEnv`` in which the agents of ``group`` act
    (the first ``agents`` of them when given; the rest of the group and every
    other group follow their scenario policies). Agents are named
    ``GROUP_K``. ``scenario`` is what :func:`agora.run` accepts; ``seed`` and
    ``steps`` override the scenario's; ``assets`` the traded assets (default:
    every asset priced by a mechanism in :data:`TRADABLE_KINDS`); ``window``
    the number of recent returns observed; ``fraction`` the share of the
    balance (holdings) a discrete buy (sell) trades; ``action_type``
    ``"discrete"`` or ``"continuous"``. See the module doc for the spaces
    and rewards."""
    cls = _classes()
    return cls(
        scenario, group, agents=agents, seed=seed, steps=steps, assets=assets, window=window,
        fraction=fraction, action_type=action_type,
    )


def gym_env(
    scenario: Any,
    agent: Any,
    *,
    seed: Optional[int] = None,
    steps: Optional[int] = None,
    assets: Optional[Sequence[Any]] = None,
    window: int = 5,
    fraction: float = 0.1,
    action_type: str = "discrete",
):
    """A Gymnasium ``Env`` for one learning ``agent`` (an id, a group name —
    its first agent — or ``GROUP_K``) among the simulated others, with the
    observation, actions and reward of :func:`parallel_env`."""
    cls = _gym_class()
    return cls(
        scenario, agent, seed=seed, steps=steps, assets=assets, window=window,
        fraction=fraction, action_type=action_type,
    )


def __getattr__(name: str):
    if name == "AgoraParallelEnv":
        return _classes()
    if name == "AgoraGymEnv":
        return _gym_class()
    raise AttributeError(name)
