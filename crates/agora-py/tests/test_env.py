"""agora.env: the PettingZoo and Gymnasium API checkers, determinism
across seeds, rewards equal to the change of the objective, bad actions
and finished episodes raise."""

import warnings

import pytest

import agora

np = pytest.importorskip("numpy", reason="agora.env needs numpy (pip install 'agora[env]')")
pytest.importorskip("gymnasium", reason="agora.env needs gymnasium (pip install 'agora[env]')")

import agora.env  # noqa: E402

SCENARIO = {
    "simulation": {"steps": 30, "seed": 3},
    "assets": [
        {
            "name": "TOKEN",
            "pricing": {"kind": "bonding_curve", "curve": "linear", "m": 0.001, "b": 1.0},
        }
    ],
    "agents": [
        {
            "group": "noise",
            "count": 50,
            "balance": 1000.0,
            "policy": {"kind": "random", "asset": "TOKEN", "p_buy": 0.4, "p_sell": 0.4,
                       "buy_fraction": 0.1, "sell_fraction": 0.1},
        },
        {
            "group": "learners",
            "count": 3,
            "balance": 1000.0,
            "policy": {"kind": "random", "asset": "TOKEN", "p_buy": 0.0, "p_sell": 0.0,
                       "buy_fraction": 0.1, "sell_fraction": 0.1},
            "objective": {"kind": "log_wealth"},
        },
    ],
}


def pettingzoo_test():
    return pytest.importorskip("pettingzoo.test", reason="parallel_env needs pettingzoo")


def test_parallel_env_passes_pettingzoo_api_and_seed_tests_on_a_curve():
    pz = pettingzoo_test()
    pz.parallel_api_test(agora.env.parallel_env(SCENARIO, "learners"), num_cycles=100)
    pz.parallel_seed_test(lambda: agora.env.parallel_env(SCENARIO, "learners"))


def test_parallel_env_passes_pettingzoo_tests_on_an_order_book_with_quotes():
    pz = pettingzoo_test()
    book = agora.example("market-clearing")
    env = agora.env.parallel_env(book, "buyers", agents=4, steps=8)
    # balance, holdings, price, 5 returns, best bid, best ask
    assert env.observation_space("buyers_0").shape == (10,)
    pz.parallel_api_test(env, num_cycles=50)
    pz.parallel_seed_test(lambda: agora.env.parallel_env(book, "buyers", agents=4, steps=8))


def test_parallel_env_passes_pettingzoo_tests_on_an_amm():
    pz = pettingzoo_test()
    amm = agora.example("amm")
    env = agora.env.parallel_env(amm, "trend", agents=3, steps=8)
    obs, _ = env.reset(seed=0)
    _, rewards, _, _, infos = env.step({a: 1 for a in env.agents})  # everyone buys
    assert all(o[1] == 0 for o in obs.values())
    pz.parallel_api_test(agora.env.parallel_env(amm, "trend", agents=3, steps=8), num_cycles=50)
    pz.parallel_seed_test(lambda: agora.env.parallel_env(amm, "trend", agents=3, steps=8))


def test_parallel_env_continuous_actions_pass_the_api_test():
    pz = pettingzoo_test()
    env = agora.env.parallel_env(SCENARIO, "learners", action_type="continuous")
    pz.parallel_api_test(env, num_cycles=50)


def test_gym_env_passes_gymnasiums_checker():
    from gymnasium.utils.env_checker import check_env

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "no spec to test render modes" only
        check_env(agora.env.gym_env(SCENARIO, "learners"))
        check_env(agora.env.gym_env(SCENARIO, "learners_2", action_type="continuous"))
        check_env(agora.env.gym_env(agora.example("market-clearing"), "buyers", steps=6))


def rollout(env, seed, actions):
    obs, _ = env.reset(seed=seed)
    seen = [obs]
    rewards = []
    for a in actions:
        obs, r, _, truncated, _ = env.step(a)
        seen.append(obs)
        rewards.append(r)
        if truncated:
            break
    return np.array(seen), np.array(rewards)


def test_the_same_seed_gives_the_same_episode_and_another_seed_another():
    env = agora.env.gym_env(SCENARIO, "learners")
    actions = [k % 3 for k in range(30)]
    a_obs, a_rew = rollout(env, 5, actions)
    b_obs, b_rew = rollout(agora.env.gym_env(SCENARIO, "learners"), 5, actions)
    c_obs, _ = rollout(env, 6, actions)
    assert np.array_equal(a_obs, b_obs) and np.array_equal(a_rew, b_rew)
    assert not np.array_equal(a_obs, c_obs)
    # reset() without a seed is the next run: a new episode, itself reproducible.
    env.reset(seed=5)
    next1, _ = env.reset()
    env2 = agora.env.gym_env(SCENARIO, "learners")
    env2.reset(seed=5)
    next2, _ = env2.reset()
    assert np.array_equal(next1, next2)


def test_the_reward_is_the_change_of_the_groups_objective():
    env = agora.env.gym_env(SCENARIO, "learners_1")
    env.reset(seed=2)
    sim = env.simulation
    before = np.log(sim.state()["wealth"][51])
    _, reward, _, _, info = env.step(1)
    after = np.log(info["wealth"])
    assert reward == pytest.approx(after - before, rel=1e-9, abs=1e-12)


def test_a_discrete_buy_spends_the_fraction_of_the_balance():
    env = agora.env.gym_env(SCENARIO, "learners", fraction=0.25)
    obs, _ = env.reset(seed=1)
    assert obs[0] == 1000.0 and obs[1] == 0.0
    obs, _, _, _, _ = env.step(1)
    assert obs[0] == pytest.approx(750.0, abs=1e-6)
    assert obs[1] > 0
    held = obs[1]
    obs, _, _, _, _ = env.step(2)
    assert obs[1] == pytest.approx(0.75 * held, rel=1e-6)


def test_bad_actions_and_finished_episodes_raise():
    env = agora.env.gym_env(SCENARIO, "learners", steps=2)
    with pytest.raises(RuntimeError, match="reset"):
        env.step(0)
    env.reset(seed=0)
    for bad in (3, -1, 1.5, "buy", True):
        with pytest.raises(ValueError, match="outside the action space"):
            env.step(bad)
    env.step(0)
    _, _, _, truncated, _ = env.step(0)
    assert truncated
    with pytest.raises(RuntimeError, match="episode is over"):
        env.step(0)
    cont = agora.env.gym_env(SCENARIO, "learners", action_type="continuous")
    cont.reset(seed=0)
    for bad in (np.array([2.0], np.float32), np.array([np.nan], np.float32), [0.1, 0.2]):
        with pytest.raises(ValueError, match="outside the action space"):
            cont.step(bad)
    with pytest.raises(ValueError, match="no agent 'nobody'"):
        agora.env.gym_env(SCENARIO, "nobody")
    with pytest.raises(ValueError, match="no group is named"):
        agora.env.parallel_env(SCENARIO, "nobody")
    with pytest.raises(ValueError, match="agents must be an int from 1 to 3"):
        agora.env.parallel_env(SCENARIO, "learners", agents=4)
    with pytest.raises(ValueError, match="no asset the environment can trade"):
        agora.env.gym_env(agora.example("resource-economy"), 0)


def test_parallel_env_refuses_unknown_or_finished_agents_and_stepping_after_the_end():
    pettingzoo_test()
    env = agora.env.parallel_env(SCENARIO, "learners", steps=1)
    env.reset(seed=0)
    with pytest.raises(KeyError, match="no agent 'x'"):
        env.step({"x": 0})
    with pytest.raises(ValueError, match="outside the action space"):
        env.step({"learners_0": 7})
    _, _, _, truncated, _ = env.step({a: 0 for a in env.agents})
    assert all(truncated.values()) and env.agents == []
    with pytest.raises(RuntimeError, match="episode is over"):
        env.step({})


def test_the_training_example_learns_and_prints_greedy_against_random(tmp_path):
    import os
    import subprocess
    import sys

    example = os.path.join(os.path.dirname(__file__), "..", "examples", "train_q.py")
    out = subprocess.run(
        [sys.executable, example, "--episodes", "6", "--eval", "2", "--out", str(tmp_path / "c.csv")],
        check=True, capture_output=True, text=True,
    ).stdout
    assert "trained 6 episodes, 300 steps" in out
    assert "greedy" in out and "random" in out
    rows = (tmp_path / "c.csv").read_text().splitlines()
    assert rows[0] == "episode,return" and len(rows) == 7
