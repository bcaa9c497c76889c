"""Writes nashpy_reference.json: random bimatrix games and their equilibria
by nashpy's support enumeration and vertex enumeration, for the Rust test
`games::random_games_match_nashpy` (which needs no Python).

nashpy's support enumeration accepts a candidate only if the best payoff on
the support equals the best payoff overall in floating point (`==`), so it
drops many mixed equilibria of games with non-integer payoffs. Beside its
output (`support_enumeration`) the file therefore has
`support_enumeration_tolerant`: support enumeration in numpy with
tolerances (nashpy's indifference solver also rejects solutions with
probabilities of -1e-17 where 0 is meant): on every pair of equal-size
supports the indifference equations are solved with numpy.linalg.solve, and
the solution accepted when every probability on the support is above 1e-12
and no strategy beats the support by more than 1e-12. `vertex_enumeration`
is nashpy's as is.

    python3 -m venv target/pyenv && target/pyenv/bin/pip install nashpy
    target/pyenv/bin/python crates/agora/tests/data/nashpy_reference.py

Payoffs are integers over a scale of 2^20 in [-1, 1]: exact in binary, so
the games read back identically, and ties (degeneracy) practically never
occur; the Rust test checks each game is nondegenerate exactly.
"""

import itertools
import json
import warnings
import pathlib

import nashpy
import numpy as np

SCALE = 2**20
SIZES = [
    (2, 2), (2, 3), (3, 2), (3, 3), (2, 5), (4, 3), (4, 4), (3, 5), (5, 5),
    (5, 6), (6, 6), (6, 4), (7, 7), (7, 8), (8, 8), (8, 2),
]
PER_SIZE = 3
SEED = 20261217


def unique(equilibria):
    """nashpy's equilibria without repeats (as lists, rounded for the key)."""
    seen, out = set(), []
    for x, y in equilibria:
        key = tuple(np.round(np.concatenate([x, y]), 12))
        if key not in seen:
            seen.add(key)
            out.append([[float(v) for v in x], [float(v) for v in y]])
    return out


def indifferent_mix(payoffs, indifferent, mixed, tol):
    """The mix on `mixed` (columns of `payoffs`) that makes the rows
    `indifferent` pay the same, or None."""
    k = len(mixed)
    system = np.zeros((k + 1, k + 1))
    system[:k, :k] = payoffs[np.ix_(indifferent, mixed)]
    system[:k, k] = -1.0
    system[k, :k] = 1.0
    rhs = np.zeros(k + 1)
    rhs[k] = 1.0
    try:
        solution = np.linalg.solve(system, rhs)
    except np.linalg.LinAlgError:
        return None
    if (solution[:k] <= tol).any():
        return None
    mix = np.zeros(payoffs.shape[1])
    mix[list(mixed)] = solution[:k]
    return mix


def tolerant_support_enumeration(a, b, tol=1e-12):
    """Support enumeration in float64 with tolerances."""
    m, n = a.shape
    for k in range(1, min(m, n) + 1):
        for rows in itertools.combinations(range(m), k):
            for columns in itertools.combinations(range(n), k):
                y = indifferent_mix(a, rows, columns, tol)
                x = indifferent_mix(b.T, columns, rows, tol)
                if x is None or y is None:
                    continue
                row, column = a @ y, b.T @ x
                if row.max() <= row @ x + tol and column.max() <= column @ y + tol:
                    yield x, y


def main():
    warnings.simplefilter("ignore", RuntimeWarning)  # nashpy's even-count warning
    rng = np.random.default_rng(SEED)
    games = []
    for m, n in SIZES:
        for _ in range(PER_SIZE):
            a = rng.integers(-SCALE, SCALE + 1, size=(m, n))
            b = rng.integers(-SCALE, SCALE + 1, size=(m, n))
            game = nashpy.Game(a / SCALE, b / SCALE)
            games.append({
                "a": (a / SCALE).tolist(),
                "b": (b / SCALE).tolist(),
                "support_enumeration": unique(game.support_enumeration()),
                "support_enumeration_tolerant": unique(
                    tolerant_support_enumeration(a / SCALE, b / SCALE)
                ),
                "vertex_enumeration": unique(game.vertex_enumeration()),
            })
    out = pathlib.Path(__file__).with_name("nashpy_reference.json")
    header = {
        "generator": "crates/agora/tests/data/nashpy_reference.py",
        "nashpy": nashpy.__version__,
        "seed": SEED,
        "scale": SCALE,
    }
    out.write_text(json.dumps({**header, "games": games}, indent=1) + "\n")
    print(f"wrote {out}: {len(games)} games")


if __name__ == "__main__":
    main()
