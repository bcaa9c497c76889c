"""Step-wise simulation: :class:`Simulation`, a run stepped from Python."""

from __future__ import annotations

import errno
import os
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

from . import _agora

#: One base unit of money or tokens is ``1 / SCALE`` of a unit: the ledger
#: counts integers of base units.
SCALE = 1_000_000_000


def _np():
    try:
        import numpy
    except ImportError:  # pragma: no cover - numpy is a dependency of the env extra
        raise ImportError(
            "agora.Simulation.state() returns NumPy arrays: pip install numpy "
            "(or pip install 'agora[env]')"
        ) from None
    return numpy


class Simulation:
    """One run of a scenario, stepped from Python.

    >>> sim = agora.Simulation(agora.example("curve-linear"), seed=7)
    >>> sim.act([0], [("buy", "TOKEN", 5 * agora.SCALE)])   # doctest: +SKIP
    >>> sim.step()
    >>> sim.state()["prices"]                                   # doctest: +SKIP

    ``scenario`` is what :func:`agora.run` accepts (a path, TOML text, a
    dict or :func:`agora.example`); ``seed`` and ``steps`` override the
    scenario's; ``run`` picks the run of a Monte Carlo ensemble (run ``r``
    of ``agora.run(..., runs=R)``). Stepping it to the end gives exactly
    what :func:`agora.run` records for the same scenario and seed.

    Actions set with :meth:`act` replace the chosen agents' policies' for
    the next step only. An action is one of

    - ``"hold"``;
    - ``("buy", asset, spend)``: spend up to ``spend`` base units of money;
    - ``("sell", asset, amount)``: sell ``amount`` base units of tokens;
    - ``("limit", asset, "buy" | "sell", price, amount[, ttl])``: a limit
      order (order books and batch markets), ``price`` in base units of
      money per whole token;
    - ``("cancel", asset)``: cancel the agent's open orders;
    - ``("request", asset, quantity, max_price)``: a resource request;

    where ``asset`` is an index or a name and amounts are ints of base units
    (:data:`SCALE` per unit). An action the agent cannot pay for is clipped
    or rejected by the engine, and counted, as a policy's would be.
    """

    def __init__(
        self,
        scenario: Any,
        *,
        seed: Optional[int] = None,
        steps: Optional[int] = None,
        run: int = 0,
    ) -> None:
        from . import _count, _policies, _source

        text, origin = _source(scenario)
        self._seed = _count("seed", seed)
        self._run = _count("run", run) or 0
        self._inner = _agora.Simulation(
            text, origin, seed=self._seed, steps=_count("steps", steps), run=self._run,
            policies=_policies(),
        )
        self._describe()

    @classmethod
    def load_checkpoint(cls, path: Union[str, "os.PathLike[str]"]) -> "Simulation":
        """The run saved in the checkpoint file ``path`` (or in the folder
        ``path``'s ``checkpoint`` file) — by :meth:`save_checkpoint`, or by
        ``agora run --checkpoint-every`` — as
        it was after its last step: stepping it to the end gives what the
        run would have given uninterrupted, byte for byte. A scenario that
        names Python policies needs them registered (:func:`register_policy`)
        as for a new :class:`Simulation`. The checkpoint holds the engine's
        state and each Python learner's object (pickled); a plain policy's
        object is made afresh from the scenario's fields. :meth:`reset` goes
        back to step 0 of the saved scenario, seed and run.

        Raises ``FileNotFoundError`` for a missing file, and
        :class:`ScenarioError`, with the message ``agora resume`` gives, for
        one that is not a checkpoint, is cut short or corrupted, was written
        by another version of Agora, or names a policy not registered, and
        for a folder without a ``checkpoint`` file.
        """
        from . import _policies

        path = os.fspath(path)
        if not os.path.exists(path):
            raise FileNotFoundError(errno.ENOENT, "no such checkpoint file", path)
        return cls._wrap(_agora.Simulation.load_checkpoint(path, policies=_policies()))

    @classmethod
    def _wrap(cls, inner: Any) -> "Simulation":
        """A :class:`Simulation` around a loaded inner one."""
        sim = cls.__new__(cls)
        sim._inner = inner
        sim._seed = None
        sim._run = inner.run
        sim._describe()
        return sim

    def checkpoint_bytes(self) -> bytes:
        """The bytes :meth:`save_checkpoint` would write, in memory (a
        checkpoint to keep elsewhere, or to send); the same refusals."""
        return self._inner.checkpoint_bytes()

    def __reduce__(self) -> Tuple[Any, Tuple[bytes]]:
        """Pickles (and ``copy.deepcopy``) as the checkpoint's bytes: the
        copy continues exactly as this run would. Raises ``RuntimeError``
        as :meth:`save_checkpoint` does (actions waiting for the next step,
        a step that failed partway); unpickling a scenario that names
        Python policies needs them registered."""
        return (_from_checkpoint_bytes, (self.checkpoint_bytes(),))

    def save_checkpoint(self, path: Union[str, "os.PathLike[str]"]) -> None:
        """Writes the run's state after its last step to the checkpoint file
        ``path`` (``path/checkpoint`` when ``path`` is a folder), replacing it
        atomically (a file beside it is written,
        synced and renamed over it): the file ``agora run
        --checkpoint-every`` writes, which ``agora resume`` and
        :meth:`load_checkpoint` read. Raises ``RuntimeError`` while actions
        set by :meth:`act` wait for the next step (a checkpoint holds none),
        after a step that failed partway (until :meth:`reset`), when a Python
        learner's object cannot be pickled, or when the file cannot be
        written (the message names it; nothing is left half-written).
        """
        self._inner.save_checkpoint(os.fspath(path))

    def _describe(self) -> None:
        """Sets the attributes read from the inner simulation."""
        self.asset_names: List[str] = list(self._inner.asset_names)
        """The asset names, in scenario order (an asset's index is its place here)."""
        self.asset_kinds: List[str] = list(self._inner.asset_kinds)
        """Each asset's pricing kind (``"bonding_curve"``, ``"order_book"``, …)."""
        self.groups: List[Tuple[str, int, int]] = [tuple(g) for g in self._inner.groups]
        """The groups as ``(name, first, end)``: the group's agents are ids ``first..end-1``."""
        self.num_agents: int = self._inner.num_agents
        """The number of agents (ids ``0..num_agents-1``, group by group)."""
        self.steps: int = self._inner.steps
        """The scenario's number of steps."""

    @property
    def step_index(self) -> int:
        """The last step run (0 before the first)."""
        return self._inner.step_index

    @property
    def done(self) -> bool:
        """Whether the run is over; :meth:`step` then raises ``RuntimeError``."""
        return self._inner.done

    def step(self, steps: int = 1) -> None:
        """Runs ``steps`` steps (the first with the actions set by :meth:`act`),
        without the GIL. Raises ``RuntimeError`` once the run is over."""
        from . import _count

        self._inner.step(_count("steps", steps))

    def act(self, agent_ids: Sequence[int], actions: Sequence[Any]) -> None:
        """Sets ``agent_ids[k]``'s action for the next step to ``actions[k]``
        (see the class doc for the forms). Raises ``IndexError`` for an agent
        that does not exist, ``ValueError``/``TypeError`` for a malformed
        action; nothing is set then."""
        if isinstance(agent_ids, int):
            agent_ids, actions = [agent_ids], [actions]
        self._inner.act([int(a) if _is_np_int(a) else a for a in agent_ids], list(actions))

    def reset(self, seed: Optional[int] = None, *, run: Optional[int] = None) -> None:
        """Back to step 0 of run ``run`` (the same run when ``None``) with
        seed ``seed`` (the one given at construction, or the scenario's, when
        ``None``). The same seed and run give the same steps again."""
        from . import _count

        if seed is not None:
            self._seed = _count("seed", seed)
        if run is not None:
            self._run = _count("run", run)
        self._inner.reset(seed=self._seed, run=self._run)

    def state(self) -> Dict[str, Any]:
        """The state before the next step, as NumPy arrays (read-only views
        of the engine's bytes):

        - ``step``: the last step run;
        - ``prices``, ``supplies`` (units), ``marks`` (the price holdings are
          valued at: the last finite price), ``best_bids``, ``best_asks``
          (order books; NaN elsewhere): float64, one per asset;
        - ``balances``: uint64 base units per agent, free money (not what is
          locked in open orders); ``holdings``: uint64 base units, shape
          ``(agents, assets)``, free tokens;
        - ``wealth``: float64 units per agent, locked amounts included, at
          the marks.
        """
        np = _np()
        market = self._market()
        balances, holdings, wealth = self._accounts(0, self.num_agents)
        return {**market, "balances": balances, "holdings": holdings, "wealth": wealth}

    def _market(self) -> Dict[str, Any]:
        np = _np()
        raw = self._inner.market_raw()
        out: Dict[str, Any] = {"step": raw.pop("step")}
        for key, value in raw.items():
            out[key] = np.frombuffer(value, dtype=np.float64)
        return out

    def _accounts(self, first: int, end: int) -> Tuple[Any, Any, Any]:
        """Free balances, free holdings ``(end-first, assets)`` and wealth of agents ``first..end``."""
        np = _np()
        b, h, w = self._inner.accounts_raw(first, end)
        return (
            np.frombuffer(b, dtype=np.uint64),
            np.frombuffer(h, dtype=np.uint64).reshape(end - first, len(self.asset_names)),
            np.frombuffer(w, dtype=np.float64),
        )

    def objectives(self, group: Any) -> Any:
        """The objective of each agent of ``group`` (a name or an index) now,
        as its scenario ``objective`` counts it (wealth, log wealth, …); the
        engine's learners are rewarded with its change over a step."""
        raw = self._inner.objectives(self._group_index(group))
        return _np().frombuffer(raw, dtype="float64")

    def history(self, asset: Any, last: Optional[int] = None) -> Any:
        """The recorded prices of ``asset`` (an index or a name) from step 0,
        or the last ``last`` of them, as a float64 array."""
        return _np().frombuffer(self._inner.history(self._asset_index(asset), last), dtype="float64")

    def _group_index(self, group: Any) -> int:
        if isinstance(group, str):
            for g, (name, _, _) in enumerate(self.groups):
                if name == group:
                    return g
            names = ", ".join(name for name, _, _ in self.groups)
            raise ValueError(f"no group is named {group!r}; the groups are {names}")
        if isinstance(group, bool) or not isinstance(group, int):
            raise TypeError(f"a group is a name or an index, not {type(group).__name__}")
        if not 0 <= group < len(self.groups):
            raise IndexError(f"group {group} does not exist: there are {len(self.groups)}")
        return group

    def _asset_index(self, asset: Any) -> int:
        if isinstance(asset, str):
            if asset not in self.asset_names:
                raise ValueError(
                    f"no asset is named {asset!r}; the assets are {', '.join(self.asset_names)}"
                )
            return self.asset_names.index(asset)
        if isinstance(asset, bool) or not isinstance(asset, int):
            raise TypeError(f"an asset is a name or an index, not {type(asset).__name__}")
        if not 0 <= asset < len(self.asset_names):
            raise IndexError(
                f"asset {asset} does not exist: the assets are 0 to {len(self.asset_names) - 1}"
            )
        return asset

    def __repr__(self) -> str:
        return (
            f"agora.Simulation(step {self.step_index} of {self.steps}, "
            f"{self.num_agents} agents, assets {', '.join(self.asset_names)})"
        )


def _is_np_int(value: Any) -> bool:
    """A NumPy integer (converted to a Python int for the engine)."""
    return type(value).__module__ == "numpy" and hasattr(value, "__index__")


def _from_checkpoint_bytes(data: bytes) -> Simulation:
    """Unpickles a :class:`Simulation` (see ``Simulation.__reduce__``)."""
    from . import _policies

    return Simulation._wrap(
        _agora.Simulation.from_checkpoint_bytes(data, "a pickled Simulation", policies=_policies())
    )
