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

use std::sync::atomic::{AtomicU8, AtomicUsize, Ordering};
use std::sync::{Mutex, PoisonError, RwLock};

use super::mechanisms::Market;
use super::{curve_trade, refusal, Deciding, Executor};
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

/// The sizes the pipeline works in: agents per block, and per piece of a
/// block's decisions (the unit either thread claims).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Sizes {
    pub(super) block: usize,
    pub(super) piece: usize,
}

impl Sizes {
    /// [`execute`]'s sizes in a run.
    pub(super) const DEFAULT: Sizes = Sizes {
        block: BLOCK,
        piece: PIECE,
    };
}

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
    sizes: Sizes,
) {
    let mut blocks = order.chunks(sizes.block);
    let Some(mut block) = blocks.next() else {
        return;
    };
    let mut accounts = Vec::new();
    let mut current = Vec::with_capacity(sizes.block);
    let mut next = Vec::with_capacity(sizes.block);
    copy_accounts(exec.ledger, block, &mut accounts);
    Pieces::new(block, &accounts, &mut current, sizes.piece).decide(deciding);
    for upcoming in blocks {
        copy_accounts(exec.ledger, upcoming, &mut accounts);
        let pieces = Pieces::new(upcoming, &accounts, &mut next, sizes.piece);
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
    /// Agents per piece.
    piece: usize,
    /// Each piece's actions; the lock is never contended (a piece is
    /// claimed once, through `claimed`): it lends the piece to one thread.
    actions: Vec<Mutex<&'a mut [Action]>>,
    /// Pieces claimed so far.
    claimed: AtomicUsize,
}

impl<'a> Pieces<'a> {
    /// The decisions to make of the agents of `block` on their
    /// `accounts`, into `out` (resized to the block), in pieces of
    /// `piece` agents.
    fn new(
        block: &'a [AgentId],
        accounts: &'a [u64],
        out: &'a mut Vec<Action>,
        piece: usize,
    ) -> Self {
        out.clear();
        out.resize(block.len(), Action::Hold);
        Pieces {
            block,
            accounts,
            stride: accounts.len() / block.len().max(1),
            piece,
            actions: out.chunks_mut(piece).map(Mutex::new).collect(),
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
            let agents = &self.block[i * self.piece..][..out.len()];
            let accounts =
                &self.accounts[i * self.piece * self.stride..][..out.len() * self.stride];
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
    let Some(&first) = block.first() else {
        out.clear();
        return;
    };
    let stride = ledger
        .account_cells(first as usize..first as usize + 1)
        .len();
    copy_in(ledger.account_cells(0..ledger.agents()), stride, block, out);
}

/// Copies the accounts of `stride` cells of the agents of `block` out of
/// `cells` (every account, in agent order), in the block's order, into
/// `out`.
fn copy_in(cells: &[u64], stride: usize, block: &[AgentId], out: &mut Vec<u64>) {
    out.clear();
    // An account of a known size is copied in a few moves; of another, by
    // a call to memcpy per agent (a fifth of the time at one asset).
    match stride {
        2 => copy_in_fixed::<2>(cells, block, out),
        3 => copy_in_fixed::<3>(cells, block, out),
        4 => copy_in_fixed::<4>(cells, block, out),
        _ => {
            out.reserve(block.len() * stride);
            for &agent in block {
                let a = agent as usize * stride;
                out.extend_from_slice(&cells[a..a + stride]);
            }
        }
    }
}

/// [`copy_in`] for accounts of `N` cells.
fn copy_in_fixed<const N: usize>(cells: &[u64], block: &[AgentId], out: &mut Vec<u64>) {
    out.reserve(block.len() * N);
    for &agent in block {
        let a = agent as usize * N;
        if let Ok(account) = <&[u64; N]>::try_from(&cells[a..a + N]) {
            out.extend_from_slice(account);
        }
    }
}

/// Writes the accounts of `stride` cells of the agents of `block`, laid out
/// as [`copy_in`] copied them, from `accounts` back into `cells`.
fn copy_out(cells: &mut [u64], stride: usize, block: &[AgentId], accounts: &[u64]) {
    match stride {
        2 => copy_out_fixed::<2>(cells, block, accounts),
        3 => copy_out_fixed::<3>(cells, block, accounts),
        4 => copy_out_fixed::<4>(cells, block, accounts),
        _ => {
            for (&agent, account) in block.iter().zip(accounts.chunks_exact(stride)) {
                let a = agent as usize * stride;
                cells[a..a + stride].copy_from_slice(account);
            }
        }
    }
}

/// [`copy_out`] for accounts of `N` cells.
fn copy_out_fixed<const N: usize>(cells: &mut [u64], block: &[AgentId], accounts: &[u64]) {
    for (&agent, account) in block.iter().zip(accounts.chunks_exact(N)) {
        let a = agent as usize * N;
        cells[a..a + N].copy_from_slice(account);
    }
}

/// Agents whose accounts [`run_block`] loads ahead of their trades.
const AHEAD: usize = 64;

/// Executes the actions of the agents of `block`, in its order. The
/// accounts of every [`AHEAD`] agents are read first, in independent loads
/// the CPU overlaps, as the one-thread execute phase does: the copy of the
/// block's accounts made for the decisions a block earlier no longer holds
/// their pages in the TLB (a block's agents are scattered over the whole
/// ledger), and the trades, a chain, would otherwise wait on each.
fn run_block<const LOG: bool>(exec: &mut Executor<'_, LOG>, block: &[AgentId], actions: &[Action]) {
    let mut touched: u64 = 0;
    for (agents, actions) in block.chunks(AHEAD).zip(actions.chunks(AHEAD)) {
        for &agent in agents {
            touched ^= exec.ledger.balance(agent);
        }
        for (&agent, &action) in agents.iter().zip(actions) {
            exec.execute(agent, action);
        }
    }
    std::hint::black_box(touched);
}

/// Agents per block of [`execute_curves`]: an eighth of the agents, at
/// least 1,024 and at most [`BLOCK`] (the fastest in a sweep of sizes at
/// ten thousand and at a million agents). The first block is decided
/// before the first trade, so it must be a small part of the step.
fn curve_block(agents: usize) -> usize {
    (agents / 8).clamp(1024, BLOCK)
}

/// Blocks in flight in [`execute_curves`]: the one copied out, the one
/// trading and two copied in ahead.
const SLOTS: usize = 4;

/// A task's state ([`Conveyor`]): nobody's, in hand, done.
const FREE: u8 = 0;
const CLAIMED: u8 = 1;
const DONE: u8 = 2;

/// The buffers of a block in flight: the copy of its accounts, and its
/// actions a piece at a time (so that both threads can decide it).
struct Slot {
    accounts: RwLock<Vec<u64>>,
    actions: Vec<Mutex<Vec<Action>>>,
}

/// The work of a step of [`execute_curves`] but the trades: for each block
/// of the order, copying its accounts in, deciding it (in pieces) and
/// copying its accounts out, each task claimed by whichever thread comes
/// for it first. This thread (trading) waits only for a task the other
/// has in hand, so the step never waits on a thread that has not started:
/// if the other thread never comes, this one does everything.
struct Conveyor<'a, 'd> {
    blocks: Vec<&'a [AgentId]>,
    stride: usize,
    /// Agents per piece of a block's decisions.
    piece: usize,
    deciding: &'a Deciding<'d>,
    cells: Mutex<&'a mut [u64]>,
    slots: [Slot; SLOTS],
    copied_in: Vec<AtomicU8>,
    copied_out: Vec<AtomicU8>,
    /// Per block, the pieces claimed and the pieces decided.
    claimed: Vec<AtomicUsize>,
    decided: Vec<AtomicUsize>,
    /// Blocks traded, in order; all of them once the trading thread is
    /// done (or unwinding), which sends the other thread away.
    traded: AtomicUsize,
}

/// Waits until `ready()`, spinning a little and then yielding the core.
#[inline]
fn wait_until(ready: impl Fn() -> bool) {
    let mut spins = 0u32;
    while !ready() {
        if spins < 64 {
            std::hint::spin_loop();
            spins += 1;
        } else {
            std::thread::yield_now();
        }
    }
}

impl<'a, 'd> Conveyor<'a, 'd> {
    /// The conveyor of `order`, in blocks of [`curve_block`] agents and
    /// pieces of [`PIECE`], or in `sizes`.
    fn new(
        order: &'a [AgentId],
        stride: usize,
        deciding: &'a Deciding<'d>,
        cells: &'a mut [u64],
        sizes: Option<Sizes>,
    ) -> Self {
        let Sizes { block: size, piece } = sizes.unwrap_or(Sizes {
            block: curve_block(order.len()),
            piece: PIECE,
        });
        let blocks: Vec<&[AgentId]> = order.chunks(size).collect();
        let n = blocks.len();
        let pieces = size.div_ceil(piece);
        let slot = || Slot {
            accounts: RwLock::new(Vec::with_capacity(size * stride)),
            actions: (0..pieces)
                .map(|_| Mutex::new(Vec::with_capacity(piece)))
                .collect(),
        };
        let flags = |_| AtomicU8::new(FREE);
        let counts = |_| AtomicUsize::new(0);
        Conveyor {
            blocks,
            stride,
            piece,
            deciding,
            cells: Mutex::new(cells),
            slots: [slot(), slot(), slot(), slot()],
            copied_in: (0..n).map(flags).collect(),
            copied_out: (0..n).map(flags).collect(),
            claimed: (0..n).map(counts).collect(),
            decided: (0..n).map(counts).collect(),
            traded: AtomicUsize::new(0),
        }
    }

    fn pieces(&self, b: usize) -> usize {
        self.blocks[b].len().div_ceil(self.piece)
    }

    fn slot(&self, b: usize) -> &Slot {
        &self.slots[b % SLOTS]
    }

    /// Claims a task that is nobody's.
    fn claim(flag: &AtomicU8) -> bool {
        flag.compare_exchange(FREE, CLAIMED, Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
    }

    fn copy_in(&self, b: usize) {
        let mut accounts = self
            .slot(b)
            .accounts
            .write()
            .unwrap_or_else(PoisonError::into_inner);
        let cells = self.cells.lock().unwrap_or_else(PoisonError::into_inner);
        copy_in(&cells, self.stride, self.blocks[b], &mut accounts);
        drop(cells);
        drop(accounts);
        self.copied_in[b].store(DONE, Ordering::Release);
    }

    fn copy_out(&self, b: usize) {
        let accounts = self
            .slot(b)
            .accounts
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        let mut cells = self.cells.lock().unwrap_or_else(PoisonError::into_inner);
        copy_out(&mut cells, self.stride, self.blocks[b], &accounts);
        drop(cells);
        drop(accounts);
        self.copied_out[b].store(DONE, Ordering::Release);
    }

    /// Claims and decides pieces of block `b` (copied in) until none is
    /// left; true if it decided any.
    fn decide(&self, b: usize) -> bool {
        let pieces = self.pieces(b);
        let mut any = false;
        loop {
            let i = self.claimed[b].fetch_add(1, Ordering::Relaxed);
            if i >= pieces {
                return any;
            }
            any = true;
            let slot = self.slot(b);
            let copy = slot.accounts.read().unwrap_or_else(PoisonError::into_inner);
            let mut out = slot.actions[i]
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            let piece = self.piece;
            let agents = &self.blocks[b][i * piece..];
            let agents = &agents[..agents.len().min(piece)];
            let stride = self.stride;
            let accounts = &copy[i * piece * stride..][..agents.len() * stride];
            let d = self.deciding;
            out.clear();
            out.extend(agents.iter().zip(accounts.chunks_exact(stride)).map(
                |(&agent, account)| {
                    let g = d.groups.partition_point(|g| g.end <= agent);
                    d.decide_on(g, agent, account[0], &account[1..])
                },
            ));
            drop(out);
            drop(copy);
            self.decided[b].fetch_add(1, Ordering::Release);
        }
    }

    /// The trading thread: block `b` copied in (the slot it reuses copied
    /// out first) and decided, by this thread or the other.
    fn ready(&self, b: usize) {
        if b >= SLOTS {
            self.ensure_out(b - SLOTS);
        }
        if Self::claim(&self.copied_in[b]) {
            self.copy_in(b);
        } else {
            wait_until(|| self.copied_in[b].load(Ordering::Acquire) == DONE);
        }
        self.decide(b);
        let pieces = self.pieces(b);
        wait_until(|| self.decided[b].load(Ordering::Acquire) >= pieces);
    }

    /// Block `b`'s accounts are back in the ledger.
    fn ensure_out(&self, b: usize) {
        if Self::claim(&self.copied_out[b]) {
            self.copy_out(b);
        } else {
            wait_until(|| self.copied_out[b].load(Ordering::Acquire) == DONE);
        }
    }

    /// The other thread's copy of block `b` into its slot: only once the
    /// block that used the slot before it is copied out, and only if
    /// nobody has claimed the copy. True if it copied the block.
    fn try_copy_in(&self, b: usize) -> bool {
        let free = b < SLOTS || self.copied_out[b - SLOTS].load(Ordering::Acquire) == DONE;
        free && Self::claim(&self.copied_in[b]) && {
            self.copy_in(b);
            true
        }
    }

    /// The other thread: decides the blocks ahead, copies traded blocks
    /// out and the next ones in, until every block is traded.
    fn help(&self) {
        let n = self.blocks.len();
        let mut out = 0;
        let mut spins = 0u32;
        loop {
            let t = self.traded.load(Ordering::Acquire);
            if t >= n {
                return;
            }
            let ahead = t..n.min(t + SLOTS - 1);
            // deciding a block copied in comes first: the trades wait on it
            let mut worked = ahead
                .clone()
                .any(|b| self.copied_in[b].load(Ordering::Acquire) == DONE && self.decide(b));
            if !worked {
                while out < t && self.copied_out[out].load(Ordering::Acquire) != FREE {
                    out += 1;
                }
                if out < t && Self::claim(&self.copied_out[out]) {
                    self.copy_out(out);
                    worked = true;
                }
            }
            if !worked {
                worked = ahead.clone().any(|b| self.try_copy_in(b));
            }
            if worked {
                spins = 0;
            } else if spins < 64 {
                std::hint::spin_loop();
                spins += 1;
            } else {
                std::thread::yield_now();
            }
        }
    }
}

/// A value on cache lines of its own (128 bytes: two lines, against the
/// adjacent-line prefetch).
#[repr(align(128))]
struct Aligned<T>(T);

/// Marks every block traded when dropped: the end of the trading, or its
/// unwinding, lets the other thread go.
struct Finished<'c>(&'c AtomicUsize, usize);

impl Drop for Finished<'_> {
    fn drop(&mut self) {
        self.0.store(self.1, Ordering::Release);
    }
}

/// The execute phase of a lazily decided step on two threads when every
/// market is a bonding curve and no asset is halted or guarded: this
/// thread prices the trades and keeps the books, in the seeded order; the
/// accounts of each block of the order are copied in before it trades and
/// back out after, and the blocks decided, by whichever thread comes for
/// the work first ([`Conveyor`]): in the usual case, the other.
///
/// A curve trade touches only its trader's account, so an agent's account
/// is, at its turn, what it was at the start of the step: the copy made
/// while earlier blocks traded. The agent decides on the copy; the trade
/// is settled on it (with the ledger's own checks,
/// [`crate::ledger::BookSide`]), and it goes back into the ledger while
/// later blocks trade. The trading thread then touches no account, and
/// the cache misses of accounts scattered over tens of megabytes (at a
/// million agents) are the other thread's. The threads meet through
/// flags, not by waking each other: the step's hand-overs cost
/// nanoseconds, not the microseconds of a sleeping thread's wake-up. The
/// outputs are byte-identical to executing on the ledger one trade at a
/// time.
pub(super) fn execute_curves<const LOG: bool>(
    order: &[AgentId],
    deciding: &Deciding<'_>,
    exec: &mut Executor<'_, LOG>,
    sizes: Option<Sizes>,
) {
    let Some(&first) = order.first() else {
        return;
    };
    let stride = exec
        .ledger
        .account_cells(first as usize..first as usize + 1)
        .len();
    let step = exec.step;
    let markets = &mut *exec.markets;
    let stats = &mut *exec.stats;
    let trades = &mut *exec.trades;
    let fault = &mut exec.fault;
    let (cells, mut books) = exec.ledger.split();
    // What the deciding reads for every agent, and the conveyor the other
    // thread polls, in cache lines of their own on the heap: on this
    // thread's stack they would share lines with the values the trades
    // write (measured: the other thread's deciding took 2.7 times as long
    // as on one thread).
    let obs = Box::new(Aligned(*deciding.obs));
    let deciding = Box::new(Aligned(Deciding {
        groups: deciding.groups,
        decide: deciding.decide,
        private: deciding.private,
        obs: &obs.0,
    }));
    let conveyor = Box::new(Aligned(Conveyor::new(
        order,
        stride,
        &deciding.0,
        cells,
        sizes,
    )));
    let conveyor = &conveyor.0;
    let n = conveyor.blocks.len();
    rayon::in_place_scope(|s| {
        s.spawn(move |_| conveyor.help());
        let _finished = Finished(&conveyor.traded, n);
        for b in 0..n {
            conveyor.ready(b);
            let slot = conveyor.slot(b);
            let mut guard = slot
                .accounts
                .write()
                .unwrap_or_else(PoisonError::into_inner);
            let mut accounts = guard.chunks_exact_mut(stride);
            let mut agents = conveyor.blocks[b].iter();
            for piece in &slot.actions[..conveyor.pieces(b)] {
                let actions = piece.lock().unwrap_or_else(PoisonError::into_inner);
                for (&action, (&agent, account)) in
                    actions.iter().zip((&mut agents).zip(&mut accounts))
                {
                    let Some(j) = action.asset() else {
                        continue;
                    };
                    let Some(Market::Curve(curve)) = markets.get_mut(j) else {
                        // (every market is a curve: past the last asset)
                        books.count_rejected();
                        continue;
                    };
                    let result = curve_trade::<LOG>(
                        step,
                        curve,
                        &mut books,
                        account,
                        agent,
                        j,
                        action,
                        &mut stats[j],
                        trades,
                    );
                    if let Err((what, e)) = result {
                        match refusal(agent, j, what, e) {
                            Some(f) => {
                                fault.get_or_insert(f);
                            }
                            None => books.count_rejected(),
                        }
                    }
                }
            }
            drop(guard);
            conveyor.traded.store(b + 1, Ordering::Release);
        }
        for b in 0..n {
            conveyor.ensure_out(b);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agents::Observation;
    use crate::rng::{Stream, StreamFamily};

    /// Cells per account (one asset).
    const STRIDE: usize = 2;

    /// The accounts of the agents of `block`, in its order, as the test's
    /// ledger cells hold them: agent `a` has `[a, 1000 + a]`.
    fn accounts_of(block: &[AgentId]) -> Vec<u64> {
        block
            .iter()
            .flat_map(|&a| [u64::from(a), 1000 + u64::from(a)])
            .collect()
    }

    /// What the slot of block `b` holds now.
    fn slot_holds(conveyor: &Conveyor<'_, '_>, b: usize) -> Vec<u64> {
        conveyor
            .slot(b)
            .accounts
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The other thread copies a block in only into a slot whose last
    /// block is copied out, and only a block nobody has claimed: a copy
    /// over a slot still in use would trade on another block's accounts
    /// and write them back over it.
    #[test]
    fn a_block_is_copied_in_only_into_a_freed_slot_and_only_once() {
        // Five blocks of 1,024 (an eighth of the agents is under the least
        // block): block 4 reuses block 0's slot.
        let agents = 5 * 1024;
        let order: Vec<AgentId> = (0..agents as u32).rev().collect();
        let mut cells: Vec<u64> = (0..agents as u64).flat_map(|a| [a, 1000 + a]).collect();
        let obs = Observation {
            step: 1,
            assets: &[],
            incentives: &[],
            mempool: &[],
        };
        let deciding = Deciding {
            groups: &[],
            decide: StreamFamily::new(1, 0, 1, Stream::Decide),
            private: StreamFamily::new(1, 0, 0, Stream::Private),
            obs: &obs,
        };
        let conveyor = Conveyor::new(&order, STRIDE, &deciding, &mut cells, None);
        assert_eq!(conveyor.blocks.len(), SLOTS + 1);
        let block = |b: usize| conveyor.blocks[b];

        // The first SLOTS blocks have slots of their own: each is copied
        // in once, and a second try finds it claimed.
        for b in 0..SLOTS {
            assert!(conveyor.try_copy_in(b), "block {b} not copied in");
            assert_eq!(conveyor.copied_in[b].load(Ordering::Acquire), DONE);
            assert_eq!(slot_holds(&conveyor, b), accounts_of(block(b)));
            assert!(!conveyor.try_copy_in(b), "block {b} copied in twice");
        }
        // Block 4's slot is block 0's, not yet copied out: left alone.
        assert!(!conveyor.try_copy_in(SLOTS));
        assert_eq!(conveyor.copied_in[SLOTS].load(Ordering::Acquire), FREE);
        assert_eq!(slot_holds(&conveyor, 0), accounts_of(block(0)));
        // Claimed for the copy out, but not yet copied: still left alone.
        assert!(Conveyor::claim(&conveyor.copied_out[0]));
        assert!(!conveyor.try_copy_in(SLOTS));
        assert_eq!(conveyor.copied_in[SLOTS].load(Ordering::Acquire), FREE);
        // Copied out: now block 4 is copied in, once.
        conveyor.copy_out(0);
        assert!(conveyor.try_copy_in(SLOTS));
        assert_eq!(slot_holds(&conveyor, SLOTS), accounts_of(block(SLOTS)));
        assert!(!conveyor.try_copy_in(SLOTS));
    }
}
