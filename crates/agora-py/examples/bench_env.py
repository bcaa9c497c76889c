"""Throughput of ``agora.env.parallel_env`` against a pure-Python
environment of the same scenario, measured in one run.

The scenario: ``--noise`` noise traders (each step each buys with 5% of its
balance with probability 0.3, or sells 10% of its holdings with probability
0.3, in a random order) and ``--learners`` learning agents on a linear
bonding curve ``P = 0.001 S + 1``, ``--steps`` steps an episode. The
pure-Python environment implements the same model (the same policies,
curve, observation and reward; floats instead of the ledger's integers)
with the same ParallelEnv interface, in plain Python loops over the agents
as a Python agent-based model would be written. Both are stepped with
random actions; the figure is environment steps per second (one step = all
the agents' moves).

    python crates/agora-py/examples/bench_env.py [--noise 1000] [--learners 10] [--steps 200] [--episodes 3]
"""

import argparse
import math
import random
import time

import numpy as np

import agora
import agora.env


def scenario(noise, learners, steps):
    return {
        "simulation": {"steps": steps, "seed": 1},
        "assets": [{"name": "TOKEN", "pricing": {"kind": "bonding_curve", "curve": "linear",
                                                 "m": 0.001, "b": 1.0}}],
        "agents": [
            {"group": "noise", "count": noise, "balance": 1000.0,
             "policy": {"kind": "random", "asset": "TOKEN", "p_buy": 0.3, "p_sell": 0.3,
                        "buy_fraction": 0.05, "sell_fraction": 0.1}},
            {"group": "learners", "count": learners, "balance": 1000.0,
             "policy": {"kind": "random", "asset": "TOKEN", "p_buy": 0.0, "p_sell": 0.0,
                        "buy_fraction": 0.1, "sell_fraction": 0.1}},
        ],
    }


class PurePythonEnv:
    """The same model in pure Python, with parallel_env's interface (dicts
    of observations, rewards, truncations)."""

    M, B = 0.001, 1.0

    def __init__(self, noise, learners, steps, window=5, fraction=0.1):
        self.noise, self.learners, self.steps = noise, learners, steps
        self.window, self.fraction = window, fraction
        self.possible_agents = [f"learners_{k}" for k in range(learners)]

    def price(self):
        return self.M * self.supply + self.B

    def buy(self, a, spend):
        spend = min(spend, self.balance[a])
        if spend <= 0:
            return
        p = self.price()
        tokens = (-p + math.sqrt(p * p + 2 * self.M * spend)) / self.M
        self.balance[a] -= spend
        self.holdings[a] += tokens
        self.supply += tokens

    def sell(self, a, amount):
        amount = min(amount, self.holdings[a])
        if amount <= 0:
            return
        s = self.supply
        refund = self.M / 2 * (s * s - (s - amount) ** 2) + self.B * amount
        self.balance[a] += refund
        self.holdings[a] -= amount
        self.supply -= amount

    def wealth(self, a):
        return self.balance[a] + self.holdings[a] * self.price()

    def observe(self):
        hist = self.history[-(self.window + 1):]
        returns = [0.0] * self.window
        r = [math.log(hist[k + 1] / hist[k]) for k in range(len(hist) - 1)]
        returns[self.window - len(r):] = r
        p = self.price()
        n = self.noise
        return {
            name: np.array([self.balance[n + k], self.holdings[n + k], p, *returns], np.float32)
            for k, name in enumerate(self.possible_agents)
        }

    def reset(self, seed=None):
        self.rng = random.Random(seed)
        n = self.noise + self.learners
        self.balance = [1000.0] * n
        self.holdings = [0.0] * n
        self.supply = 0.0
        self.t = 0
        self.history = [self.price()]
        self.agents = list(self.possible_agents)
        self.last = [self.wealth(self.noise + k) for k in range(self.learners)]
        return self.observe(), {a: {} for a in self.agents}

    def step(self, actions):
        n = self.noise
        order = list(range(n + self.learners))
        self.rng.shuffle(order)
        for a in order:
            if a < n:
                u = self.rng.random()
                if u < 0.3:
                    self.buy(a, 0.05 * self.balance[a])
                elif u < 0.6:
                    self.sell(a, 0.1 * self.holdings[a])
            else:
                act = actions[self.possible_agents[a - n]]
                if act == 1:
                    self.buy(a, self.fraction * self.balance[a])
                elif act == 2:
                    self.sell(a, self.fraction * self.holdings[a])
        self.t += 1
        self.history.append(self.price())
        now = [self.wealth(n + k) for k in range(self.learners)]
        rewards = {name: now[k] - self.last[k] for k, name in enumerate(self.possible_agents)}
        self.last = now
        done = self.t >= self.steps
        live = self.agents
        out = (self.observe(), rewards, {a: False for a in live}, {a: done for a in live},
               {a: {} for a in live})
        if done:
            self.agents = []
        return out


def measure(env, episodes, rng):
    steps = 0
    start = time.perf_counter()
    for e in range(episodes):
        env.reset(seed=e)
        while env.agents:
            env.step({a: int(rng.integers(3)) for a in env.agents})
            steps += 1
    return steps / (time.perf_counter() - start)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--noise", type=int, default=1000)
    p.add_argument("--learners", type=int, default=10)
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--episodes", type=int, default=3)
    args = p.parse_args()
    rng = np.random.default_rng(0)
    agora_env = agora.env.parallel_env(
        scenario(args.noise, args.learners, args.steps), "learners")
    python_env = PurePythonEnv(args.noise, args.learners, args.steps)
    # The two models agree: the price after a step of holding learners is of
    # the same size (different random streams, so not the same number).
    fast = measure(agora_env, args.episodes, rng)
    slow = measure(python_env, args.episodes, rng)
    print(f"{args.noise} noise traders + {args.learners} learners, {args.steps} steps x "
          f"{args.episodes} episodes, random actions")
    print(f"  agora.env.parallel_env: {fast:10.1f} env steps/s")
    print(f"  pure-Python env:        {slow:10.1f} env steps/s")
    print(f"  ratio:                  {fast / slow:10.1f}x")
    print(f"  final price: agora {agora_env.simulation.state()['prices'][0]:.3f}, "
          f"pure Python {python_env.price():.3f}")


if __name__ == "__main__":
    main()
