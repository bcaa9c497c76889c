"""Tabular Q-learning, in NumPy, of one trader among Agora's simulated ones.

The learner is agent ``learner`` of a small token economy (noise, momentum
and valuation traders on a linear bonding curve with a 1% fee), seen
through ``agora.env.gym_env``: it observes its balance, its holdings, the
price and the last returns, and each step holds, buys with 10% of its
balance or sells 10% of its holdings. Its reward is the change of its
wealth. The state of the table is (the sign of the last return, whether the
price is above its 5-step mean, how much of its wealth is in tokens).

    python crates/agora-py/examples/train_q.py [--episodes 300] [--out curve.csv]

prints the learning curve (mean return per block of episodes), then the
greedy policy's mean return against a random policy's on the same held-out
seeds, and writes the curve as CSV (``--out``) and, if matplotlib is
installed, a PNG next to it.
"""

import argparse
import csv

import numpy as np

import agora
import agora.env

SCENARIO = """
[simulation]
steps = 50
seed = 1

[[assets]]
name = "TOKEN"
pricing = { kind = "bonding_curve", curve = "linear", m = 0.002, b = 1.0, fee = 0.01 }

[[agents]]
group = "noise"
count = 100
balance = 1000.0
policy = { kind = "random", asset = "TOKEN", p_buy = 0.3, p_sell = 0.3, buy_fraction = 0.05, sell_fraction = 0.1 }

[[agents]]
group = "trend"
count = 60
balance = 1000.0
policy = { kind = "momentum", asset = "TOKEN", lookback = 3, threshold = 0.01, p_trade = 0.5, buy_fraction = 0.1, sell_fraction = 0.2 }

[[agents]]
group = "fundamental"
count = 60
balance = 1000.0
policy = { kind = "valuation", asset = "TOKEN", valuation = { distribution = "uniform", low = 5.0, high = 25.0 }, beta = 0.3, activity = 0.5, buy_fraction = 0.1, sell_fraction = 0.1 }

[[agents]]
group = "learner"
count = 1
balance = 1000.0
policy = { kind = "random", asset = "TOKEN", p_buy = 0.0, p_sell = 0.0, buy_fraction = 0.1, sell_fraction = 0.1 }
"""

WINDOW = 5
STATES = 3 * 2 * 3


def state_of(obs):
    """(sign of the last return, price above its mean, share of wealth in tokens)."""
    balance, holdings, price = float(obs[0]), float(obs[1]), float(obs[2])
    returns = obs[3:3 + WINDOW]
    last = returns[-1]
    sign = 0 if last < -1e-9 else (2 if last > 1e-9 else 1)
    # The price WINDOW steps ago, from the log returns, against now.
    past = price * np.exp(-np.cumsum(returns[::-1]))
    above = int(price > np.mean(np.concatenate(([price], past[:-1]))))
    wealth = balance + holdings * price
    share = holdings * price / wealth if wealth > 0 else 0.0
    level = 0 if share < 0.05 else (1 if share < 0.4 else 2)
    return (sign * 2 + above) * 3 + level


def episode(env, seed, choose, learn=None):
    obs, _ = env.reset(seed=seed)
    s = state_of(obs)
    total = 0.0
    done = False
    while not done:
        a = choose(s)
        obs, r, terminated, truncated, _ = env.step(a)
        s2 = state_of(obs)
        done = terminated or truncated
        if learn is not None:
            learn(s, a, r, s2, done)
        s, total = s2, total + r
    return total


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--episodes", type=int, default=300)
    p.add_argument("--eval", type=int, default=20, help="held-out episodes for greedy vs random")
    p.add_argument("--out", default=None, help="CSV of the learning curve")
    args = p.parse_args()

    env = agora.env.gym_env(SCENARIO, "learner")
    rng = np.random.default_rng(0)
    q = np.zeros((STATES, env.action_space.n))
    alpha, gamma = 0.1, 0.95
    eps = 1.0

    def choose(s):
        if rng.random() < eps:
            return int(rng.integers(env.action_space.n))
        return int(np.argmax(q[s]))

    def learn(s, a, r, s2, done):
        target = r + (0.0 if done else gamma * np.max(q[s2]))
        q[s, a] += alpha * (target - q[s, a])

    returns = []
    steps = 0
    for k in range(args.episodes):
        eps = max(0.05, 1.0 - k / (0.6 * args.episodes))
        returns.append(episode(env, 1000 + k, choose, learn))
        steps += env.simulation.step_index
    block = max(1, args.episodes // 12)
    print(f"trained {args.episodes} episodes, {steps} steps; learning curve "
          f"(mean return, wealth units, per {block} episodes):")
    curve = []
    for b in range(0, args.episodes, block):
        mean = float(np.mean(returns[b:b + block]))
        curve.append((b, mean))
        print(f"  episodes {b:4d}-{min(b + block, args.episodes) - 1:4d}: {mean:9.2f}")

    seeds = [10_000 + k for k in range(args.eval)]
    greedy = [episode(env, s, lambda st: int(np.argmax(q[st]))) for s in seeds]
    random_ = [episode(env, s, lambda st: int(rng.integers(env.action_space.n))) for s in seeds]
    hold = [episode(env, s, lambda st: 0) for s in seeds]
    buy = [episode(env, s, lambda st: 1) for s in seeds]

    def show(xs):
        return f"{np.mean(xs):.2f} ± {np.std(xs) / np.sqrt(len(xs)):.2f}"

    print(f"held-out seeds ({args.eval} episodes, mean return ± s.e.): greedy {show(greedy)}, "
          f"random {show(random_)}, always hold {show(hold)}, always buy {show(buy)}")

    if args.out:
        with open(args.out, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["episode", "return"])
            w.writerows(enumerate(returns))
        try:
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot as plt

            fig, ax = plt.subplots(figsize=(6, 3.5))
            ax.plot(returns, alpha=0.3, label="episode")
            ax.plot([b + block / 2 for b, _ in curve], [m for _, m in curve], label="block mean")
            ax.axhline(np.mean(random_), color="grey", ls="--", label="random policy")
            ax.set_xlabel("episode")
            ax.set_ylabel("return (change of wealth)")
            ax.legend()
            fig.tight_layout()
            fig.savefig(args.out.rsplit(".", 1)[0] + ".png", dpi=100)
        except ImportError:
            pass


if __name__ == "__main__":
    main()
