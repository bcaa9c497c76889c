//! The execute phase of a lazily decided step on two threads: the agents of
//! the next block of the execution order decide on a second thread while
//! the trades of the current block execute on this one.
//!
//! Deciding lazily (every market a bonding curve or a resource, see the
//! module doc of [`engine`](super)), an agent decides just before its turn
//! on its own account, which no earlier trade of the step has touched (a
//! curve trade or a resource request moves only its trader's account and
//! the asset's books). So its decision
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

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError};

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
///
/// A block's decisions are made in pieces that either thread claims: when
/// this thread has executed its block before the other has decided the
/// next (the other was late to start, or the machine is busy), it decides
/// the pieces left itself, and waits at most for the piece in hand.
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
    Pieces::new(block, &accounts, &mut current).decide(deciding);
    for upcoming in blocks {
        copy_accounts(exec.ledger, upcoming, &mut accounts);
        let pieces = Pieces::new(upcoming, &accounts, &mut next);
        rayon::in_place_scope(|s| {
            s.spawn(|_| pieces.decide(deciding));
            run_block(exec, block, &current);
            pieces.decide(deciding);
        });
        drop(pieces);
        std::mem::swap(&mut current, &mut next);
        block = upcoming;
    }
    run_block(exec, block, &current);
}

/// Agents per piece of a block's decisions.
const PIECE: usize = 256;

/// A block's decisions to make, in pieces claimed one at a time by
/// whichever thread comes for one.
struct Pieces<'a> {
    block: &'a [AgentId],
    /// The block's accounts, as [`copy_accounts`] lays them out.
    accounts: &'a [u64],
    /// Cells per account.
    stride: usize,
    /// Each piece's actions; the lock is never contended (a piece is
    /// claimed once, through `claimed`): it lends the piece to one thread.
    actions: Vec<Mutex<&'a mut [Action]>>,
    /// Pieces claimed so far.
    claimed: AtomicUsize,
}

impl<'a> Pieces<'a> {
    /// The decisions to make of the agents of `block` on their
    /// `accounts`, into `out` (resized to the block).
    fn new(block: &'a [AgentId], accounts: &'a [u64], out: &'a mut Vec<Action>) -> Self {
        out.clear();
        out.resize(block.len(), Action::Hold);
        Pieces {
            block,
            accounts,
            stride: accounts.len() / block.len().max(1),
            actions: out.chunks_mut(PIECE).map(Mutex::new).collect(),
            claimed: AtomicUsize::new(0),
        }
    }

    /// Claims pieces and decides them until none is left.
    fn decide(&self, deciding: &Deciding<'_>) {
        loop {
            let i = self.claimed.fetch_add(1, Ordering::Relaxed);
            let Some(piece) = self.actions.get(i) else {
                return;
            };
            let mut out = piece.lock().unwrap_or_else(PoisonError::into_inner);
            let agents = &self.block[i * PIECE..][..out.len()];
            let accounts = &self.accounts[i * PIECE * self.stride..][..out.len() * self.stride];
            for ((slot, &agent), account) in out
                .iter_mut()
                .zip(agents)
                .zip(accounts.chunks_exact(self.stride))
            {
                let g = deciding.groups.partition_point(|g| g.end <= agent);
                *slot = deciding.decide_on(g, agent, account[0], &account[1..]);
            }
        }
    }
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

/// Executes the actions of the agents of `block`, in its order.
fn run_block<const LOG: bool>(exec: &mut Executor<'_, LOG>, block: &[AgentId], actions: &[Action]) {
    for (&agent, &action) in block.iter().zip(actions) {
        exec.execute(agent, action);
    }
}
