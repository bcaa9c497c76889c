//! The built-in example scenarios, compiled into the library.

use super::Scenario;
use crate::error::{Error, Result};

/// A built-in scenario.
#[derive(Debug, Clone, Copy)]
pub struct Example {
    /// The name `agora run --example NAME` takes.
    pub name: &'static str,
    /// One line on what it shows.
    pub description: &'static str,
    /// The scenario file's text.
    pub toml: &'static str,
}

const EXAMPLES: &[Example] = &[
    Example {
        name: "token-economy",
        description: "five kinds of traders on a linear curve with a fee, an airdrop and a ramped slope",
        toml: include_str!("../../scenarios/token-economy.toml"),
    },
    Example {
        name: "reference",
        description: "the reference model: 10,000 noise traders on P = 0.001 S + 1 (peers in other frameworks)",
        toml: include_str!("../../scenarios/reference.toml"),
    },
    Example {
        name: "curve-linear",
        description: "noise and fundamental traders on a linear curve",
        toml: include_str!("../../scenarios/curve-linear.toml"),
    },
    Example {
        name: "curve-exponential",
        description: "noise and fundamental traders on an exponential curve",
        toml: include_str!("../../scenarios/curve-exponential.toml"),
    },
    Example {
        name: "curve-sigmoid",
        description: "noise and fundamental traders on a sigmoid curve",
        toml: include_str!("../../scenarios/curve-sigmoid.toml"),
    },
    Example {
        name: "curve-power",
        description: "noise and fundamental traders on a power curve",
        toml: include_str!("../../scenarios/curve-power.toml"),
    },
    Example {
        name: "curve-bancor",
        description: "noise and fundamental traders on a Bancor curve (reserve ratio 0.5)",
        toml: include_str!("../../scenarios/curve-bancor.toml"),
    },
    Example {
        name: "curve-optimization",
        description: "momentum and noise traders on a linear curve whose m and b `agora optimize` tunes to minimise volatility",
        toml: include_str!("../../scenarios/curve-optimization.toml"),
    },
    Example {
        name: "whale-dump",
        description: "whales dump half their tokens at step 50; dip buyers absorb it (stability metrics)",
        toml: include_str!("../../scenarios/whale-dump.toml"),
    },
    Example {
        name: "market-clearing",
        description: "ZI-C traders on a continuous double auction (Gode and Sunder 1993); allocative efficiency",
        toml: include_str!("../../scenarios/market-clearing.toml"),
    },
    Example {
        name: "call-auction",
        description: "ZI-C and noise traders in a call auction clearing each step at the volume-maximising price",
        toml: include_str!("../../scenarios/call-auction.toml"),
    },
    Example {
        name: "equilibrium",
        description: "Walrasian clearing of linear exogenous demand and supply (P* = 30) with fundamental traders",
        toml: include_str!("../../scenarios/equilibrium.toml"),
    },
    Example {
        name: "price-adjustment",
        description: "tatonnement: a posted price moved by 0.2 (D - O) converges to P* = 30",
        toml: include_str!("../../scenarios/price-adjustment.toml"),
    },
    Example {
        name: "algorithmic-collusion",
        description: "two Q-learning firms price in a logit market (Calvano et al. 2020): they collude and punish a deviation",
        toml: include_str!("../../scenarios/algorithmic-collusion.toml"),
    },
    Example {
        name: "resource-economy",
        description: "AI agents share compute priced by excess demand, with producers and an outage",
        toml: include_str!("../../scenarios/resource-economy.toml"),
    },
    Example {
        name: "resource-proportional",
        description: "scarce compute at a fixed price, shares proportional to requests",
        toml: include_str!("../../scenarios/resource-proportional.toml"),
    },
    Example {
        name: "resource-priority",
        description: "scarce compute at a fixed price, highest willingness to pay first",
        toml: include_str!("../../scenarios/resource-priority.toml"),
    },
    Example {
        name: "resource-max-min",
        description: "scarce compute at a fixed price, max-min fair (water-filling)",
        toml: include_str!("../../scenarios/resource-max-min.toml"),
    },
    Example {
        name: "resource-fcfs",
        description: "scarce compute at a fixed price, first come first served in a seeded order",
        toml: include_str!("../../scenarios/resource-fcfs.toml"),
    },
    Example {
        name: "resource-auction",
        description: "compute sold each step in a uniform-price auction",
        toml: include_str!("../../scenarios/resource-auction.toml"),
    },
    Example {
        name: "learning-traders",
        description: "Q-learning and bandit traders join noise and momentum traders on a curve; their mean reward per step is their learning curve",
        toml: include_str!("../../scenarios/learning-traders.toml"),
    },
    Example {
        name: "hawk-dove",
        description: "a population game: hawks and doves imitate the more successful; the hawk share approaches 7/12 from either side",
        toml: include_str!("../../scenarios/hawk-dove.toml"),
    },
    Example {
        name: "strategy-arms-race",
        description: "momentum and mean-reversion traders on a bonding curve evolve their threshold and buy fraction (copy the best, mutate)",
        toml: include_str!("../../scenarios/strategy-arms-race.toml"),
    },
    Example {
        name: "affiliate-adoption",
        description: "an issuer pays affiliates k = 0.5 per token their referrals buy, from an escrowed budget (a learning and a capped, vesting contract)",
        toml: include_str!("../../scenarios/affiliate-adoption.toml"),
    },
    Example {
        name: "affiliate-sybil",
        description: "honest and sybil affiliates: fakes buy, collect k = 0.5 per token and sell back; sweep reward.clawback to see where gaming stops paying",
        toml: include_str!("../../scenarios/affiliate-sybil.toml"),
    },
    Example {
        name: "affiliate-tasks",
        description: "a compute provider pays affiliates per completed task (tiered) from an escrowed budget; their efforts are learnt",
        toml: include_str!("../../scenarios/affiliate-tasks.toml"),
    },
    Example {
        name: "amm",
        description: "noise, momentum and valuation traders swap with a constant-product AMM pool (0.3% fee kept in the pool, 5% slippage tolerance)",
        toml: include_str!("../../scenarios/amm.toml"),
    },
    Example {
        name: "sandwich",
        description: "a sandwich attacker front-runs and back-runs retail swaps on an AMM with a public mempool (extracted value, victims' loss)",
        toml: include_str!("../../scenarios/sandwich.toml"),
    },
    Example {
        name: "incentives",
        description: "the token economy with a holding reward, staking rewarded by a halving emission, an early-sell penalty and half the fees burned",
        toml: include_str!("../../scenarios/incentives.toml"),
    },
    Example {
        name: "circuit-breaker",
        description: "the whale dump of whale-dump under a circuit breaker (a 15% move within 3 steps halts trading for 5): drawdown and recovery side by side",
        toml: include_str!("../../scenarios/circuit-breaker.toml"),
    },
    Example {
        name: "pi-controller",
        description: "a PI controller prices compute to hold utilisation at 80% through a demand shock (250 more consumers for 100 steps)",
        toml: include_str!("../../scenarios/pi-controller.toml"),
    },
    Example {
        name: "wash-trading",
        description: "a ring of accounts wash-trades an order book to farm a volume reward; a wash-trading monitor flags it",
        toml: include_str!("../../scenarios/wash-trading.toml"),
    },
    Example {
        name: "pump-and-dump",
        description: "insiders pump a bonding-curve token, momentum traders follow, the insiders dump; a pump-and-dump monitor flags them",
        toml: include_str!("../../scenarios/pump-and-dump.toml"),
    },
    Example {
        name: "spoofing",
        description: "a spoofer places large orders on an order book and cancels them before they fill; a spoofing monitor flags it",
        toml: include_str!("../../scenarios/spoofing.toml"),
    },
    Example {
        name: "intelligence-ladder",
        description: "one economy (a curve token, a mempool AMM, compute) at four levels of agent intelligence: rule-based, + learners, + strategic agents (evolving strategies) and attackers, + governance and monitors; sweep simulation.intelligence = 0,1,2,3",
        toml: include_str!("../../scenarios/intelligence-ladder.toml"),
    },
    Example {
        name: "cartel",
        description: "collusion: posted-price sellers pricing as one monopolist, producers withholding compute, a group hoarding GPUs it does not need",
        toml: include_str!("../../scenarios/cartel.toml"),
    },
    Example {
        name: "liquidity-mining",
        description: "liquidity providers deposit into a constant-product AMM pool for its fees and a liquidity-mining reward per pool share, and withdraw at step 150",
        toml: include_str!("../../scenarios/liquidity-mining.toml"),
    },
];

/// Returns every built-in example.
pub fn examples() -> &'static [Example] {
    EXAMPLES
}

/// Returns the built-in example `name`, parsed and validated.
pub fn example(name: &str) -> Result<Scenario> {
    let ex = EXAMPLES.iter().find(|e| e.name == name).ok_or_else(|| {
        let names: Vec<_> = EXAMPLES.iter().map(|e| e.name).collect();
        Error::usage(format!(
            "unknown example {name:?}; expected one of: {}",
            names.join(", ")
        ))
    })?;
    Scenario::from_toml_str(ex.toml, &format!("<example {name}>"))
}
