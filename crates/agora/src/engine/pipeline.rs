//! The execute phase of a lazily decided step on two threads: the agents of
//! the next block of the execution order decide on a second thread while
//! the trades of the current block execute on this one.
//!
//! Deciding lazily (every market a bonding curve, see the module doc of
//! [`engine`](super)), an agent decides just before its turn on its own
//! account, which no earlier trade of the step has touched (a curve trade
//! moves only its trader's account and the asset's books). So its decision
//! is the same whenever it is made within the step, as long as it reads
//! the account as it was at the start of the step: each block's accounts
//! are copied before the block before it executes, and the block decides
//! on the copy, on another thread, keyed streams making each decision a
//! pure function of the agent, the step and that copy. The trades still
//! execute one by one in the seeded order, on this thread: the outputs are
//! byte-identical to deciding at each turn, at any number of threads.
//!
//! The copy doubles as the prefetch of the accounts that the one-thread
//! loop does block by block: when a block executes, this thread has just
//! read its accounts. Memory is two blocks of actions and one of accounts,
//! whatever the number of agents.

use super::{Deciding, Executor};
use crate::agents::Action;
use crate::ledger::{AgentId, Ledger};

/// Agents per block. Large enough that handing a block to the other thread
/// (microseconds) is small beside deciding it (about 15 ns an agent), small
/// enough that the accounts of a block stay in this core's cache until it
/// executes.
const BLOCK: usize = 4096;

/// The fewest agents for which the pipeline is used: below two blocks there
/// is nothing to overlap.
pub(super) const MIN_AGENTS: usize = 2 * BLOCK;

/// Executes the agents of `order`, each deciding lazily through `deciding`,
/// the decisions of each block made on another thread of rayon's pool while
/// the block before it executes.
pub(super) fn execute<const LOG: bool>(
    order: &[AgentId],
    deciding: &Deciding<'_>,
    exec: &mut Executor<'_, LOG>,
) {
    let mut blocks = order.chunks(BLOCK);
    let Some(mut block) = blocks.next() else {
        return;
    };
    let mut accounts = Vec::new();
    let mut current = Vec::with_capacity(BLOCK);
    let mut next = Vec::with_capacity(BLOCK);
    copy_accounts(exec.ledger, block, &mut accounts);
    decide_block(deciding, block, &accounts, &mut current);
    for upcoming in blocks {
        copy_accounts(exec.ledger, upcoming, &mut accounts);
        let (copied, deciding_into) = (&accounts, &mut next);
        rayon::in_place_scope(|s| {
            s.spawn(move |_| decide_block(deciding, upcoming, copied, deciding_into));
            run_block(exec, block, &current);
        });
        std::mem::swap(&mut current, &mut next);
        block = upcoming;
    }
    run_block(exec, block, &current);
}

/// Copies the accounts (`[balance, holdings…]`) of the agents of `block`,
/// in its order, into `out`.
fn copy_accounts(ledger: &Ledger, block: &[AgentId], out: &mut Vec<u64>) {
    out.clear();
    let Some(&first) = block.first() else {
        return;
    };
    let first = first as usize;
    // An account of a known size is copied in a few moves; of another, by
    // a call to memcpy per agent (a fifth of the time at one asset).
    match ledger.account_cells(first..first + 1).len() {
        2 => copy_fixed::<2>(ledger, block, out),
        3 => copy_fixed::<3>(ledger, block, out),
        4 => copy_fixed::<4>(ledger, block, out),
        _ => {
            for &agent in block {
                let a = agent as usize;
                out.extend_from_slice(ledger.account_cells(a..a + 1));
            }
        }
    }
}

/// [`copy_accounts`] for accounts of `N` cells.
fn copy_fixed<const N: usize>(ledger: &Ledger, block: &[AgentId], out: &mut Vec<u64>) {
    out.reserve(block.len() * N);
    for &agent in block {
        let a = agent as usize;
        if let Ok(cells) = <&[u64; N]>::try_from(ledger.account_cells(a..a + 1)) {
            out.extend_from_slice(cells);
        }
    }
}

/// The decisions of the agents of `block` on their `accounts` (as
/// [`copy_accounts`] laid them out), in its order, into `out`.
fn decide_block(
    deciding: &Deciding<'_>,
    block: &[AgentId],
    accounts: &[u64],
    out: &mut Vec<Action>,
) {
    out.clear();
    if block.is_empty() {
        return;
    }
    let stride = accounts.len() / block.len();
    for (&agent, account) in block.iter().zip(accounts.chunks_exact(stride)) {
        let g = deciding.groups.partition_point(|g| g.end <= agent);
        out.push(deciding.decide_on(g, agent, account[0], &account[1..]));
    }
}

/// Executes the actions of the agents of `block`, in its order.
fn run_block<const LOG: bool>(exec: &mut Executor<'_, LOG>, block: &[AgentId], actions: &[Action]) {
    for (&agent, &action) in block.iter().zip(actions) {
        exec.execute(agent, action);
    }
}
