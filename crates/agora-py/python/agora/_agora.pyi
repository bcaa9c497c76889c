"""Type stubs of the Rust extension behind `agora` (use the package's API)."""

from typing import List, Optional, Tuple

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
) -> RunResult: ...
def validate(
    text: str,
    origin: str,
    seed: Optional[int] = None,
    steps: Optional[int] = None,
    runs: Optional[int] = None,
) -> List[str]: ...
def examples() -> List[Tuple[str, str]]: ...
def example_toml(name: str) -> str: ...
def json_to_toml(json: str) -> str: ...
