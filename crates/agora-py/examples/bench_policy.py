"""How much slower a policy written in Python runs than the built-in Rust
one: the same noise traders (buy with 5% of the balance with probability
0.3, sell 10% of the holdings with probability 0.3) on a linear bonding
curve, as the built-in ``random`` policy and as a Python class, measured in
one run.

    python crates/agora-py/examples/bench_policy.py [--agents 1000] [--steps 200]
"""

import argparse
import time

import agora


@agora.register_policy("py_random")
class PyRandom:
    """The built-in ``random`` policy, in Python (drawing from the agent's stream)."""

    def __init__(self, asset, p_buy, p_sell, buy_fraction, sell_fraction):
        self.asset, self.p_buy, self.p_sell = asset, p_buy, p_sell
        self.buy_fraction, self.sell_fraction = buy_fraction, sell_fraction

    def decide(self, obs, me):
        u = me["random"]
        if u < self.p_buy:
            return ("buy", self.asset, int(me["balance"] * self.buy_fraction))
        if u < self.p_buy + self.p_sell:
            return ("sell", self.asset, int(me["holdings"][0] * self.sell_fraction))
        return "hold"


def scenario(kind, agents, steps):
    return {
        "simulation": {"steps": steps, "seed": 1},
        "assets": [{"name": "TOKEN", "pricing": {"kind": "bonding_curve", "curve": "linear",
                                                 "m": 0.001, "b": 1.0}}],
        "agents": [{"group": "noise", "count": agents, "balance": 1000.0,
                    "policy": {"kind": kind, "asset": "TOKEN", "p_buy": 0.3, "p_sell": 0.3,
                               "buy_fraction": 0.05, "sell_fraction": 0.1}}],
    }


def timed(kind, args):
    start = time.perf_counter()
    result = agora.run(scenario(kind, args.agents, args.steps), threads=args.threads)
    return time.perf_counter() - start, result.summary["assets"]["TOKEN"]["final_price"]


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--agents", type=int, default=1000)
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--threads", type=int, default=None)
    args = p.parse_args()
    rust, rust_price = timed("random", args)
    python, python_price = timed("py_random", args)
    decisions = args.agents * args.steps
    print(f"{args.agents} noise traders x {args.steps} steps")
    print(f"  built-in Rust policy: {rust:8.3f} s ({decisions / rust:12,.0f} decisions/s), "
          f"final price {rust_price:.3f}")
    print(f"  Python policy:        {python:8.3f} s ({decisions / python:12,.0f} decisions/s), "
          f"final price {python_price:.3f}")
    print(f"  Python is {python / rust:.1f}x slower")


if __name__ == "__main__":
    main()
