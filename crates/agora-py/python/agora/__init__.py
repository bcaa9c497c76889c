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

import json
import os
from typing import Any, Dict, List, Mapping, Optional, Tuple, Union

from . import _agora
from ._agora import ScenarioError, Table

__all__ = [
    "run",
    "validate",
    "example",
    "examples",
    "Result",
    "Table",
    "ScenarioError",
    "__version__",
]

__version__: str = _agora.__version__

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
) -> Result:
    """Runs a scenario, as ``agora run`` does, and returns its :class:`Result`.

    ``seed``, ``steps`` and ``runs`` override the scenario's; ``threads``
    sets the worker threads (results do not depend on it). The engine runs
    without the GIL; Ctrl-C stops it with ``KeyboardInterrupt``.
    """
    text, origin = _source(scenario)
    inner = _agora.run(
        text,
        origin,
        seed=_count("seed", seed),
        steps=_count("steps", steps),
        runs=_count("runs", runs),
        threads=_count("threads", threads),
    )
    return Result(inner)


def validate(scenario: Scenario) -> List[str]:
    """Checks a scenario without running it; raises :class:`ScenarioError`
    (with the command line's message) when it cannot run. Returns its
    warnings."""
    text, origin = _source(scenario)
    return list(_agora.validate(text, origin))
