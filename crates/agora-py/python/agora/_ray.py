"""Sweeps on a Ray cluster: each shard of the grid is a Ray task that runs
``agora.sweep(..., shard=(i, n))`` on a worker; the shards come back to the
driver and are merged there, exactly as ``agora merge`` merges the folders
of ``agora sweep --shard i/n``, so the result is byte for byte the sweep
one machine would have run.

Ray is an optional extra (``pip install 'agora[ray]'``): nothing else in
the package imports it. Workers need the same version of ``agora``
installed (the merge refuses shards of another version).
"""

from __future__ import annotations

import os
import socket
import sys
import tempfile
from typing import List, Optional, Tuple

from . import _agora

#: How long to try to reach a cluster's address before giving up, seconds.
CONNECT_TIMEOUT = 10.0


def _import_ray():
    try:
        import ray  # noqa: PLC0415 (an optional extra)
    except ImportError:
        raise ImportError(
            "backend='ray' needs Ray, an optional extra: pip install 'agora[ray]' (or pip install ray)"
        ) from None
    return ray


def check_reachable(address: Optional[str], timeout: float = CONNECT_TIMEOUT) -> None:
    """Raises ``ConnectionError`` naming ``address`` when nothing answers
    there within ``timeout`` seconds (``ray.init`` itself may wait far
    longer). ``None``, ``"auto"`` and ``"local"`` are left to Ray."""
    if address is None or address in ("auto", "local"):
        return
    rest = address.split("://", 1)[1] if "://" in address else address
    host, sep, port = rest.rstrip("/").rpartition(":")
    if not sep or not host or not port.isdigit():
        raise ValueError(
            f"address {address!r}: expected HOST:PORT (a cluster's GCS, e.g. 10.0.0.5:6379), "
            "ray://HOST:PORT (Ray Client), 'auto' or 'local'"
        )
    host = host.strip("[]")
    try:
        socket.create_connection((host, int(port)), timeout=timeout).close()
    except OSError as e:
        reason = e.strerror or str(e) or type(e).__name__
        raise ConnectionError(
            f"the Ray cluster at {address!r} cannot be reached ({reason} after at most {timeout:g} s)"
        ) from None


def _shard(text, origin, sets, zip, shard, seed, steps, runs, threads):
    """One Ray task: shard ``(i, n)`` of the sweep, as ``(sweep.csv, shard.json)`` bytes."""
    from agora import _agora as engine  # noqa: PLC0415 (on the worker)

    return engine.sweep(
        text, origin, sets, zip=zip, shard=shard, seed=seed, steps=steps, runs=runs, threads=threads
    )


def sweep(
    text: str,
    origin: str,
    sets: List[str],
    *,
    zip: bool,
    seed: Optional[int],
    steps: Optional[int],
    runs: Optional[int],
    threads: Optional[int],
    address: Optional[str],
    tasks: Optional[int],
    progress: bool = False,
) -> Tuple[bytes, bytes]:
    """Runs the sweep as Ray tasks (``tasks`` shards, default one per grid
    point, each on ``threads`` cores, default 1) and returns the merged
    ``(sweep.csv, shard.json)`` bytes."""
    ray = _import_ray()
    points = _agora.grid_points(sets, zip)
    # Errors in the scenario or the grid are found here, before a cluster
    # is started or reached.
    _agora.validate(text, origin, seed=seed, steps=steps, runs=runs)
    if points == 0:
        raise _agora.ScenarioError("the grid has no points")
    n = points if tasks is None else max(1, min(tasks, points))
    cores = 1 if threads is None else threads
    check_reachable(address)
    started = not ray.is_initialized()
    if started:
        try:
            ray.init(
                address=address,
                include_dashboard=False,
                logging_level="ERROR",
                log_to_driver=False,
            )
        except ConnectionError as e:
            where = "a local Ray" if address is None else f"the Ray cluster at {address!r}"
            raise ConnectionError(f"{where} cannot be reached: {e}") from None
    try:
        task = ray.remote(num_cpus=cores)(_shard)
        refs = [
            task.remote(text, origin, sets, zip, (i, n), seed, steps, runs, cores)
            for i in range(1, n + 1)
        ]
        order = {ref: i for i, ref in enumerate(refs)}
        parts: List[Optional[Tuple[bytes, bytes]]] = [None] * n
        pending = list(refs)
        while pending:
            done, pending = ray.wait(pending, num_returns=1)
            for ref in done:
                parts[order[ref]] = ray.get(ref)
            if progress:
                print(f"\rray: {n - len(pending)}/{n} shards done", end="", file=sys.stderr, flush=True)
        if progress:
            print(file=sys.stderr, flush=True)
    finally:
        if started:
            ray.shutdown()
    with tempfile.TemporaryDirectory(prefix="agora-ray-") as tmp:
        dirs = []
        for i, part in enumerate(parts, start=1):
            assert part is not None
            d = os.path.join(tmp, str(i))
            os.mkdir(d)
            with open(os.path.join(d, "sweep.csv"), "wb") as f:
                f.write(part[0])
            with open(os.path.join(d, "shard.json"), "wb") as f:
                f.write(part[1])
            dirs.append(d)
        csv, info = _agora.merge_sweeps(dirs)
    return bytes(csv), bytes(info)
