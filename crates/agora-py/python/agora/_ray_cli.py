"""The Python half of ``agora sweep --backend ray``: the command line
writes the sweep's effective scenario and grid to a JSON file and runs
``python -m agora._ray_cli SPEC OUTDIR``; this runs the sweep on Ray and
writes ``sweep.csv`` and ``shard.json`` into OUTDIR. A failure the user
can act on (no Ray, an unreachable cluster, a bad grid) is written as one
line to ``OUTDIR/error.txt`` with exit status 2, for the command line to
report."""

from __future__ import annotations

import json
import os
import sys


def main(argv) -> int:
    if len(argv) != 3:
        print("usage: python -m agora._ray_cli SPEC.json OUTDIR", file=sys.stderr)
        return 2
    spec_path, out = argv[1], argv[2]

    def fail(message: str) -> int:
        with open(os.path.join(out, "error.txt"), "w", encoding="utf-8") as f:
            f.write(message.replace("\n", " ").strip() + "\n")
        return 2

    try:
        from . import _ray
        from ._agora import ScenarioError

        with open(spec_path, encoding="utf-8") as f:
            spec = json.load(f)
        csv, info = _ray.sweep(
            spec["text"],
            spec["origin"],
            spec["sets"],
            zip=spec["zip"],
            seed=None,
            steps=None,
            runs=None,
            threads=spec.get("threads"),
            address=spec.get("address"),
            tasks=spec.get("tasks"),
            progress=not spec.get("quiet", False) and sys.stderr.isatty(),
        )
    except (ImportError, ConnectionError, ValueError) as e:
        return fail(str(e))
    except ScenarioError as e:  # noqa: F821 (imported above)
        return fail(str(e))
    with open(os.path.join(out, "sweep.csv"), "wb") as f:
        f.write(csv)
    with open(os.path.join(out, "shard.json"), "wb") as f:
        f.write(info)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
