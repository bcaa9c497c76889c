"""Agora: fast, exact, reproducible agent-based simulation of economies of
autonomous (AI) agents, with the engine in Rust.

>>> import agora
>>> result = agora.run(agora.example("token-economy"), steps=50)
>>> import pyarrow as pa
>>> assets = pa.table(result.assets)          # no copy: Arrow C stream
>>> result.summary["assets"]["TOKEN"]["final_price"]   # doctest: +SKIP

A scenario is a path to a TOML file, TOML text, a dict (as the TOML file
would hold it), or an example's text from :func:`example`. Errors in a
scenario raise :class:`ScenarioError` with the command line's message (the
file or origin, the field, and what was expected).
"""

from __future__ import annotations

import csv as _csv
import io
import json
import math
import os
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

from . import _agora
from ._agora import ScenarioError, Table

__all__ = [
    "run",
    "Simulation",
    "SCALE",
    "sweep",
    "SweepResult",
    "optimize",
    "OptimizeResult",
    "register_policy",
    "unregister_policy",
    "validate",
    "example",
    "examples",
    "Result",
    "Table",
    "ScenarioError",
    "__version__",
]

__version__: str = _agora.__version__

from ._sim import SCALE, Simulation  # noqa: E402

Scenario = Union[str, "os.PathLike[str]", Mapping[str, Any], "_Example"]


class _Example(str):
    """An example's TOML text that remembers its name (for messages)."""

    name: str

    def __new__(cls, text: str, name: str) -> "_Example":
        self = super().__new__(cls, text)
        self.name = name
        return self


def example(name: str) -> str:
    """The built-in example ``name`` as scenario text (see :func:`examples`).

    Raises :class:`ScenarioError` for an unknown name, listing the known ones.
    """
    if not isinstance(name, str):
        raise TypeError(f"example name must be a str, not {type(name).__name__}")
    return _Example(_agora.example_toml(name), name)


def examples() -> List[Tuple[str, str]]:
    """The built-in examples, as ``(name, description)`` pairs."""
    return list(_agora.examples())


def _source(scenario: Scenario) -> Tuple[str, str]:
    """The scenario's TOML text and its origin (how errors name it)."""
    if isinstance(scenario, _Example):
        return str(scenario), f"<example {scenario.name}>"
    if isinstance(scenario, Mapping):
        try:
            text = json.dumps(scenario, allow_nan=False)
        except (TypeError, ValueError) as e:
            raise ScenarioError(f"the scenario dict: {e}") from None
        return _agora.json_to_toml(text), "<dict>"
    if isinstance(scenario, os.PathLike):
        path = os.fspath(scenario)
        return _read(path), path
    if isinstance(scenario, str):
        # A path (a single line naming an existing file, or ending in .toml)
        # or TOML text.
        if "\n" not in scenario and (scenario.endswith(".toml") or os.path.isfile(scenario)):
            return _read(scenario), scenario
        return scenario, "<string>"
    raise TypeError(
        "scenario must be a path, TOML text, a dict or agora.example(NAME), "
        f"not {type(scenario).__name__}"
    )


def _read(path: str) -> str:
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except FileNotFoundError:
        raise ScenarioError(f"{path}: no such scenario file") from None
    except UnicodeDecodeError as e:
        raise ScenarioError(f"{path}: not UTF-8 text ({e})") from None
    except OSError as e:
        raise ScenarioError(f"{path}: cannot be read ({e.strerror})") from None


_POLICIES: Dict[str, Tuple[Any, List[str], bool]] = {}


def register_policy(kind: str, cls: Any = None) -> Any:
    """Registers a policy written in Python under ``kind``, for scenarios'
    ``policy = { kind = "KIND", ... }`` (in :func:`run`, :func:`validate`
    and :class:`Simulation`). Usable as a decorator::

        @agora.register_policy("dip_buyer")
        class DipBuyer:
            def __init__(self, asset, drop=0.02, fraction=0.1):
                ...
            def decide(self, obs, me):
                return ("buy", self.asset, me["balance"] // 10)   # or "hold", ...

    The group's ``policy`` table gives the constructor's arguments (the
    names ``__init__`` takes; any other field is rejected as unknown, with
    the command line's message). One object serves the whole group:
    ``decide(obs, me)`` is called for every agent every step, with
    ``obs = {"step", "assets": [{"name", "price", "supply", "best_bid",
    "best_ask", "last_trade", "history"}]}`` (``history``: the last 20
    recorded prices) and ``me = {"id", "member", "balance", "holdings",
    "random"}`` (base units; ``random`` a uniform draw in [0, 1) from the
    agent's own seeded stream: a policy drawing only from it is
    reproducible). It returns an action as :meth:`Simulation.act` takes
    them. Calls may come in any order (and from several threads, one at a
    time): keep ``decide`` free of shared state. An exception in ``decide``
    stops the run and is raised. Slower than the built-in Rust policies:
    see the README for the measured factor.

    A class that also has ``learn(reward, obs)`` is a learner: every agent
    of the group gets its own object (made at the start of each run), whose
    ``decide`` it calls and which is told, after each step of the learning
    phase, its reward (the change of its objective, as the built-in
    learners are) and the next step's ``obs``; in an evaluation phase
    (``[simulation] evaluation_steps``) ``learn`` is not called.
    """
    if not isinstance(kind, str) or not kind:
        raise TypeError("kind must be a non-empty str")
    if kind in _agora.builtin_policies():
        raise ValueError(f"policy kind {kind!r} is built in: register the class under another name")

    def register(cls: Any) -> Any:
        import inspect

        if not callable(getattr(cls, "decide", None)):
            raise TypeError(f"a policy class needs a decide(obs, me) method: {cls!r} has none")
        params = [
            p.name
            for p in list(inspect.signature(cls).parameters.values())
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
        ]
        if "kind" in params:
            raise TypeError("a policy's constructor cannot take 'kind' (the policy table's kind)")
        _POLICIES[kind] = (cls, params, callable(getattr(cls, "learn", None)))
        return cls

    return register if cls is None else register(cls)


def unregister_policy(kind: str) -> None:
    """Forgets the Python policy ``kind`` (``KeyError`` if none)."""
    del _POLICIES[kind]


def _policies() -> Optional[List[Tuple[str, Any, List[str], bool]]]:
    return [(k, c, p, learns) for k, (c, p, learns) in _POLICIES.items()] or None


def _count(name: str, value: Optional[int]) -> Optional[int]:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")
    if value < 0:
        raise ValueError(f"{name} must be non-negative, found {value}")
    return value


class Result:
    """The outcome of :func:`run`.

    ``assets`` and ``agents`` are the rows of ``assets.csv`` and
    ``agents.csv`` as Arrow tables (objects with ``__arrow_c_stream__``:
    ``pyarrow.table(r.assets)``, ``polars.from_arrow(r.assets)``,
    ``pyarrow.table(r.assets).to_pandas()``); ``summary`` is
    ``summary.json`` as a dict; ``write(dir)`` writes the command line's
    files.
    """

    def __init__(self, inner: "_agora.RunResult") -> None:
        self._inner = inner
        self._summary: Optional[Dict[str, Any]] = None

    @property
    def assets(self) -> Table:
        """``assets.csv`` as an Arrow table (one row per run, step and asset)."""
        return self._inner.assets

    @property
    def agents(self) -> Table:
        """``agents.csv`` as an Arrow table (one row per run, step and group)."""
        return self._inner.agents

    @property
    def summary(self) -> Dict[str, Any]:
        """``summary.json`` as a dict."""
        if self._summary is None:
            self._summary = json.loads(self._inner.summary_json)
        return self._summary

    def write(self, dir: Union[str, "os.PathLike[str]"]) -> List[str]:
        """Writes ``assets.csv``, ``agents.csv``, ``summary.json`` and
        ``scenario.toml`` into ``dir`` (created if missing); returns the paths."""
        return self._inner.write(os.fspath(dir))

    def __repr__(self) -> str:
        return f"agora.Result(assets={len(self.assets)} rows, agents={len(self.agents)} rows)"


def run(
    scenario: Scenario,
    *,
    seed: Optional[int] = None,
    steps: Optional[int] = None,
    runs: Optional[int] = None,
    threads: Optional[int] = None,
    progress: Any = False,
) -> Result:
    """Runs a scenario, as ``agora run`` does, and returns its :class:`Result`.

    ``seed``, ``steps`` and ``runs`` override the scenario's; ``threads``
    sets the worker threads (results do not depend on it). The engine runs
    without the GIL; Ctrl-C stops it with ``KeyboardInterrupt``.
    ``progress=True`` shows a progress bar over every run's steps (tqdm's,
    a notebook widget in Jupyter, when tqdm is installed; else a line on
    stderr); a callable ``progress(done, total)`` is called instead, every
    50 ms and once at the end.
    """
    from . import _progress

    text, origin = _source(scenario)
    seed, steps, runs = _count("seed", seed), _count("steps", steps), _count("runs", runs)
    threads = _count("threads", threads)
    update, close = _progress.bar(progress)
    try:
        inner = _agora.run(
            text, origin, seed=seed, steps=steps, runs=runs, threads=threads, progress=update,
            policies=_policies(),
        )
    finally:
        close()
    return Result(inner)


def validate(scenario: Scenario) -> List[str]:
    """Checks a scenario without running it; raises :class:`ScenarioError`
    (with the command line's message) when it cannot run. Returns its
    warnings."""
    text, origin = _source(scenario)
    return list(_agora.validate(text, origin, policies=_policies()))


Grid = Union[Mapping[str, Sequence[Any]], Sequence[str]]


def _toml_literal(value: Any, where: str) -> str:
    """``value`` as a TOML value (a number, string, bool, list or inline table)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{where}: {value!r} is not a finite number")
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, Mapping):
        items = (
            f"{json.dumps(str(k))} = {_toml_literal(v, f'{where}.{k}')}" for k, v in value.items()
        )
        return "{ " + ", ".join(items) + " }"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_literal(v, where) for v in value) + "]"
    raise TypeError(f"{where}: cannot use a {type(value).__name__} as a parameter value")


def _sets(grid: Grid) -> List[str]:
    """The grid as the command line's ``--set PATH=...`` arguments."""
    if isinstance(grid, Mapping):
        sets = []
        for path, values in grid.items():
            if not isinstance(path, str):
                raise TypeError(f"grid keys are parameter paths (str), not {type(path).__name__}")
            if isinstance(values, (str, bytes)) or not isinstance(values, Sequence):
                raise TypeError(f"grid[{path!r}] must be a list of values")
            literals = [_toml_literal(v, f"grid[{path!r}]") for v in values]
            sets.append(f"{path}=[{', '.join(literals)}]")
        return sets
    if isinstance(grid, (str, bytes)) or not isinstance(grid, Sequence):
        raise TypeError(
            "grid must be a dict {path: [values]} or a list of 'PATH=V1,V2' strings, "
            f"not {type(grid).__name__}"
        )
    for s in grid:
        if not isinstance(s, str):
            raise TypeError(f"grid entries must be 'PATH=V1,V2' strings, not {type(s).__name__}")
    return list(grid)


class SweepResult:
    """The outcome of :func:`sweep`: ``sweep.csv`` (one row per grid point:
    the varied parameters, then each metric's mean across the runs, then
    its spread) and ``shard.json``, byte for byte what ``agora sweep``
    writes."""

    def __init__(self, csv: bytes, shard_json: bytes) -> None:
        self.csv: bytes = csv
        """``sweep.csv``'s bytes (``polars.read_csv(r.csv)``,
        ``pyarrow.csv.read_csv(io.BytesIO(r.csv))``)."""
        self.shard: Dict[str, Any] = json.loads(shard_json)
        """``shard.json`` as a dict: the sweep's fingerprint, version and
        the part of the grid this result holds."""
        self._shard_json = shard_json
        reader = _csv.reader(io.StringIO(csv.decode("utf-8")))
        self.columns: List[str] = next(reader)
        """The column names, in order."""
        self._cells = list(reader)

    @property
    def rows(self) -> List[Dict[str, Any]]:
        """One dict per grid point: a number as a float, a string as it is,
        an empty cell (a metric no run of the point has) as ``None``."""

        def cell(text: str) -> Any:
            if text == "":
                return None
            try:
                return float(text)
            except ValueError:
                return text

        return [dict(zip(self.columns, map(cell, row))) for row in self._cells]

    def write(self, dir: Union[str, "os.PathLike[str]"]) -> List[str]:
        """Writes ``sweep.csv`` and ``shard.json`` into ``dir`` (created if
        missing), each under a temporary name then renamed into place;
        returns the paths."""
        dir = os.fspath(dir)
        os.makedirs(dir, exist_ok=True)
        paths = []
        for name, data in (("sweep.csv", self.csv), ("shard.json", self._shard_json)):
            path = os.path.join(dir, name)
            temp = os.path.join(dir, f".{name}.tmp-{os.getpid()}")
            with open(temp, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(temp, path)
            paths.append(path)
        return paths

    def __len__(self) -> int:
        return len(self._cells)

    def __repr__(self) -> str:
        return f"agora.SweepResult({len(self)} grid points, {len(self.columns)} columns)"


def sweep(
    scenario: Scenario,
    grid: Grid,
    *,
    zip: bool = False,
    seed: Optional[int] = None,
    steps: Optional[int] = None,
    runs: Optional[int] = None,
    threads: Optional[int] = None,
    shard: Optional[Tuple[int, int]] = None,
    backend: str = "local",
    address: Optional[str] = None,
    tasks: Optional[int] = None,
) -> SweepResult:
    """Sweeps a scenario over a grid of parameter values, as ``agora sweep``
    does: each point a Monte Carlo ensemble of ``runs`` runs, one row per
    point.

    ``grid`` is a dict ``{path: [values]}`` (the first path varies slowest;
    values are numbers, strings or dicts for inline tables) or a list of
    the command line's ``--set`` strings (``"assets.TOKEN.pricing.m=0.001,0.002"``);
    ``zip=True`` pairs the lists element by element. ``shard=(i, n)`` runs
    only the i-th of n parts (``--shard i/n``).

    ``backend="ray"`` runs the grid as Ray tasks (``pip install 'agora[ray]'``)
    on the cluster at ``address`` (``HOST:PORT``, ``ray://HOST:PORT`` or
    ``"auto"``), or on a local Ray started for the call when ``address`` is
    ``None`` (or in the Ray already initialised): ``tasks`` shards (default
    one per grid point), each on ``threads`` cores (default 1). The result is
    byte for byte the local one. An address that does not answer raises
    ``ConnectionError`` naming it, within seconds.
    """
    text, origin = _source(scenario)
    sets = _sets(grid)
    seed, steps, runs = _count("seed", seed), _count("steps", steps), _count("runs", runs)
    threads, tasks = _count("threads", threads), _count("tasks", tasks)
    if backend == "local":
        if address is not None or tasks is not None:
            raise ValueError("address and tasks are for backend='ray'")
        if shard is not None:
            if (
                not isinstance(shard, tuple)
                or len(shard) != 2
                or not all(isinstance(x, int) and not isinstance(x, bool) for x in shard)
            ):
                raise TypeError(f"shard must be a tuple (i, n) of ints, not {shard!r}")
        csv, info = _agora.sweep(
            text, origin, sets, zip=zip, shard=shard, seed=seed, steps=steps, runs=runs,
            threads=threads,
        )
        return SweepResult(bytes(csv), bytes(info))
    if backend == "ray":
        if shard is not None:
            raise ValueError("backend='ray' cuts the grid into shards itself: leave shard out")
        from . import _ray

        csv, info = _ray.sweep(
            text, origin, sets, zip=zip, seed=seed, steps=steps, runs=runs, threads=threads,
            address=address, tasks=tasks,
        )
        return SweepResult(csv, info)
    raise ValueError(f"backend must be 'local' or 'ray', not {backend!r}")


Ranges = Union[Mapping[str, Tuple[float, float]], Sequence[str]]


def _ranges(params: Ranges) -> List[str]:
    """The ranges as the command line's ``--param PATH=LO..HI`` arguments."""
    if isinstance(params, Mapping):
        out = []
        for path, bounds in params.items():
            if not isinstance(path, str):
                raise TypeError(f"params keys are parameter paths (str), not {type(path).__name__}")
            if (
                isinstance(bounds, (str, bytes))
                or not isinstance(bounds, Sequence)
                or len(bounds) != 2
            ):
                raise TypeError(f"params[{path!r}] must be a pair (lo, hi)")
            lo, hi = (_toml_literal(float(b), f"params[{path!r}]") for b in bounds)
            out.append(f"{path}={lo}..{hi}")
        return out
    if isinstance(params, (str, bytes)) or not isinstance(params, Sequence):
        raise TypeError(
            "params must be a dict {path: (lo, hi)} or a list of 'PATH=LO..HI' strings, "
            f"not {type(params).__name__}"
        )
    for s in params:
        if not isinstance(s, str):
            raise TypeError(f"params entries must be 'PATH=LO..HI' strings, not {type(s).__name__}")
    return list(params)


class OptimizeResult:
    """The outcome of :func:`optimize`: ``optimize.csv`` (every evaluation,
    the baseline first), ``optimize.json`` (why the search stopped, the
    baseline, the best and its values on a bound) and ``best.toml`` (the
    scenario with only the optimised values changed), byte for byte what
    ``agora optimize`` writes."""

    def __init__(self, csv: bytes, summary_json: bytes, best_toml: str) -> None:
        self.csv: bytes = csv
        """``optimize.csv``'s bytes."""
        self.summary: Dict[str, Any] = json.loads(summary_json)
        """``optimize.json`` as a dict."""
        self.best_toml: str = best_toml
        """``best.toml``: the scenario at the best values (pass it to :func:`run`)."""
        self._json = summary_json
        reader = _csv.reader(io.StringIO(csv.decode("utf-8")))
        self.columns: List[str] = next(reader)
        """The column names: ``evaluation``, each parameter's path, ``objective``."""
        self.rows: List[Dict[str, Optional[float]]] = [
            {c: (float(x) if x != "" else None) for c, x in zip(self.columns, row)}
            for row in reader
        ]
        """One dict per evaluation (a non-finite objective as ``None``)."""

    @property
    def best(self) -> Dict[str, float]:
        """The best values found, by parameter path."""
        return dict(self.summary["best"]["values"])

    @property
    def best_objective(self) -> Optional[float]:
        """The objective at the best values (its mean over the runs)."""
        return self.summary["best"]["objective"]

    def write(self, dir: Union[str, "os.PathLike[str]"]) -> List[str]:
        """Writes ``optimize.csv``, ``optimize.json`` and ``best.toml`` into
        ``dir`` (created if missing); returns the paths."""
        dir = os.fspath(dir)
        os.makedirs(dir, exist_ok=True)
        paths = []
        files = (
            ("optimize.csv", self.csv),
            ("optimize.json", self._json),
            ("best.toml", self.best_toml.encode("utf-8")),
        )
        for name, data in files:
            path = os.path.join(dir, name)
            temp = os.path.join(dir, f".{name}.tmp-{os.getpid()}")
            with open(temp, "wb") as f:
                f.write(data)
            os.replace(temp, path)
            paths.append(path)
        return paths

    def __len__(self) -> int:
        return len(self.rows)

    def __repr__(self) -> str:
        return (
            f"agora.OptimizeResult({len(self)} evaluations, best {self.best} "
            f"-> {self.best_objective})"
        )


def optimize(
    scenario: Scenario,
    params: Ranges,
    objective: str,
    *,
    budget: int,
    maximize: bool = False,
    method: str = "nelder-mead",
    seed: Optional[int] = None,
    steps: Optional[int] = None,
    runs: Optional[int] = None,
    threads: Optional[int] = None,
    progress: Any = False,
) -> OptimizeResult:
    """Searches parameter ranges for the values that minimise (``maximize=True``:
    maximise) the mean over the runs of a summary metric, as ``agora optimize``
    does, with at most ``budget`` evaluations (the baseline, the scenario's own
    values, first).

    ``params`` is a dict ``{path: (lo, hi)}`` or a list of the command line's
    ``--param`` strings (``"assets.TOKEN.pricing.m=0.0005..0.002"``);
    ``objective`` a summary metric path (``"assets.TOKEN.log_return_volatility"``);
    ``method`` ``"nelder-mead"``, ``"particle-swarm"`` or ``"grid"``.
    Errors (an unknown path or metric, an empty range, a budget too small)
    raise :class:`ScenarioError` before anything runs. ``progress`` as for
    :func:`run` (over evaluations). Ctrl-C raises ``KeyboardInterrupt`` once
    the evaluation under way ends.
    """
    from . import _progress

    text, origin = _source(scenario)
    ranges = _ranges(params)
    if not isinstance(objective, str):
        raise TypeError(f"objective must be a metric path (str), not {type(objective).__name__}")
    if not isinstance(method, str):
        raise TypeError(f"method must be a str, not {type(method).__name__}")
    budget = _count("budget", budget)
    seed, steps, runs = _count("seed", seed), _count("steps", steps), _count("runs", runs)
    threads = _count("threads", threads)
    update, close = _progress.bar(progress, unit="evaluation")
    try:
        csv, info, best = _agora.optimize(
            text, origin, ranges, objective, budget, maximize=bool(maximize), method=method,
            seed=seed, steps=steps, runs=runs, threads=threads, progress=update,
        )
    finally:
        close()
    return OptimizeResult(bytes(csv), bytes(info), best)
