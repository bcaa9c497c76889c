"""The progress bar of long runs (``agora.run(..., progress=True)``)."""

from __future__ import annotations

import sys
import time
from typing import Any, Callable, Optional, Tuple


class _StderrBar:
    """A one-line bar on stderr, for when tqdm is not installed."""

    def __init__(self, unit: str, width: int = 30) -> None:
        self.unit = unit
        self.width = width
        self.start = time.monotonic()
        self.shown = ""

    def update(self, done: int, total: int) -> None:
        frac = done / total if total else 1.0
        filled = int(frac * self.width)
        rate = done / max(time.monotonic() - self.start, 1e-9)
        line = (
            f"\ragora [{'#' * filled}{'.' * (self.width - filled)}] "
            f"{done}/{total} {self.unit}s ({100 * frac:.0f}%, {rate:,.1f} {self.unit}s/s)"
        )
        if line != self.shown:
            sys.stderr.write(line)
            sys.stderr.flush()
            self.shown = line

    def close(self) -> None:
        if self.shown:
            sys.stderr.write("\n")
            sys.stderr.flush()


class _TqdmBar:
    """tqdm's bar (``tqdm.auto``: a widget in Jupyter, text in a terminal)."""

    def __init__(self, tqdm: Any, unit: str) -> None:
        self.bar = tqdm(total=None, unit=unit, desc="agora")

    def update(self, done: int, total: int) -> None:
        if self.bar.total != total:
            self.bar.total = total
        self.bar.update(done - self.bar.n)

    def close(self) -> None:
        self.bar.close()


def bar(progress: Any, unit: str = "step") -> Tuple[Optional[Callable[[int, int], None]], Callable[[], None]]:
    """The callback ``(done, total)`` the engine calls every 50 ms for
    ``progress`` (``False``/``None``: none; ``True``: tqdm if installed, else
    a bar on stderr; a callable: itself), and what closes the bar."""
    if progress is None or progress is False:
        return None, lambda: None
    if callable(progress):
        return progress, lambda: None
    if progress is not True:
        raise TypeError(
            f"progress must be True, False or a callable (done, total), not {type(progress).__name__}"
        )
    try:
        from tqdm.auto import tqdm
    except ImportError:
        shown: Any = _StderrBar(unit)
    else:
        shown = _TqdmBar(tqdm, unit)
    return shown.update, shown.close
