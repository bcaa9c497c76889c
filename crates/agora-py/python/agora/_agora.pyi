"""Type stubs of the Rust extension behind `agora` (use the package's API)."""

from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

__version__: str

class ScenarioError(Exception):
    """A scenario that cannot run; the message names the origin, the field and the expectation."""

class Table:
    """One table of a result, read through Arrow's C stream interface."""

    @property
    def num_rows(self) -> int: ...
    @property
    def column_names(self) -> List[str]: ...
    def __arrow_c_stream__(self, requested_schema: Optional[object] = None) -> object: ...
    def __len__(self) -> int: ...

class RunResult:
    @property
    def assets(self) -> Table: ...
    @property
    def agents(self) -> Table: ...
    @property
    def summary_json(self) -> str: ...
    def write(self, dir: str) -> List[str]: ...

def run(
    text: str,
    origin: str,
    seed: Optional[int] = None,
    steps: Optional[int] = None,
    runs: Optional[int] = None,
    threads: Optional[int] = None,
    progress: Optional[Callable[[int, int], Any]] = None,
    policies: Optional[List[Tuple[str, Any, List[str], bool]]] = None,
) -> RunResult: ...
def validate(
    text: str,
    origin: str,
    seed: Optional[int] = None,
    steps: Optional[int] = None,
    runs: Optional[int] = None,
    policies: Optional[List[Tuple[str, Any, List[str], bool]]] = None,
) -> List[str]: ...
def examples() -> List[Tuple[str, str]]: ...
def builtin_policies() -> List[str]: ...
def example_toml(name: str) -> str: ...
def json_to_toml(json: str) -> str: ...
def grid_points(sets: List[str], zip: bool = False) -> int: ...
def sweep(
    text: str,
    origin: str,
    sets: List[str],
    zip: bool = False,
    shard: Optional[Tuple[int, int]] = None,
    seed: Optional[int] = None,
    steps: Optional[int] = None,
    runs: Optional[int] = None,
    threads: Optional[int] = None,
) -> Tuple[bytes, bytes]: ...
def merge_sweeps(dirs: List[str]) -> Tuple[bytes, bytes]: ...
def optimize(
    text: str,
    origin: str,
    params: List[str],
    objective: str,
    budget: int,
    maximize: bool = False,
    method: str = "nelder-mead",
    seed: Optional[int] = None,
    steps: Optional[int] = None,
    runs: Optional[int] = None,
    threads: Optional[int] = None,
    progress: Optional[Callable[[int, int], Any]] = None,
) -> Tuple[bytes, bytes, str]: ...

class Simulation:
    """One run stepped from Python (wrapped by `agora.Simulation`)."""

    def __init__(
        self,
        text: str,
        origin: str,
        seed: Optional[int] = None,
        steps: Optional[int] = None,
        run: int = 0,
        policies: Optional[List[Tuple[str, Any, List[str], bool]]] = None,
    ) -> None: ...
    def reset(self, seed: Optional[int] = None, run: int = 0) -> None: ...
    def act(self, agents: Sequence[int], actions: Sequence[Any]) -> None: ...
    def step(self, steps: int = 1) -> None: ...
    @property
    def step_index(self) -> int: ...
    @property
    def done(self) -> bool: ...
    @property
    def num_agents(self) -> int: ...
    @property
    def asset_names(self) -> List[str]: ...
    @property
    def asset_kinds(self) -> List[str]: ...
    @property
    def groups(self) -> List[Tuple[str, int, int]]: ...
    @property
    def steps(self) -> int: ...
    def objectives(self, g: int) -> bytes: ...
    def market_raw(self) -> Dict[str, Any]: ...
    def accounts_raw(self, first: int = 0, end: Optional[int] = None) -> Tuple[bytes, bytes, bytes]: ...
    def history(self, j: int, last: Optional[int] = None) -> bytes: ...
