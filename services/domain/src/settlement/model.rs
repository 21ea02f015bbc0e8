//! The constraints of one settlement, derived from its input: the flow network both the
//! solver and the verifier work on.
//!
//! A settlement is a flow from a source, through one *admitting* node per state, across
//! (admitting, origin) *pair arcs*, through one *origin* node per state, to a sink:
//!
//! - source → admitting(A), bound `min(supply(A), capacity(A))`, cost 0;
//! - admitting(A) → origin(O), bound `min(mode bound, candidates(A,O))`, cost 1 when the pair
//!   is *redirected* (multilateral, no bilateral need), else 0;
//! - origin(O) → sink, bound `demand(O)`, cost 0.
//!
//! `supply` and `demand` are what each state must admit and release in the mode before
//! capacity: gross `Σ d(A,·)` and `Σ d(·,O)`; bilateral the same sums of bilateral needs;
//! multilateral the positive and negative parts of the position. Pair arcs exist for every
//! debt (gross), every bilateral need (bilateral), and, in multilateral mode, from each net
//! debtor to each net creditor where the pair has a bilateral need or consented. This module
//! states the constraints; it does not optimise (see `flow`) nor check a result (`verify`).

use super::input::{Mode, SettlementInput};

/// One admitting → origin arc of the network, by state index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PairArc {
    /// Index of the admitting state in [`Model::states`].
    pub admitting: usize,
    /// Index of the origin state in [`Model::states`].
    pub origin: usize,
    /// The most admissions the pair may carry, or `None` for no limit.
    pub bound: Option<u64>,
    /// Whether an admission on this pair is redirected (costs 1 instead of 0).
    pub redirected: bool,
}

impl PairArc {
    /// The cost of one admission on this arc.
    pub fn cost(&self) -> i64 {
        i64::from(self.redirected)
    }
}

/// The network of one settlement input.
#[derive(Debug, Clone)]
pub(crate) struct Model<S> {
    /// Every state of the input, sorted; indices below refer to this list.
    pub states: Vec<S>,
    /// What each state must admit in this mode, before capacity.
    pub supply: Vec<u64>,
    /// What must leave each state in this mode.
    pub demand: Vec<u64>,
    /// The source arc's bound: supply limited by capacity.
    pub admit_bound: Vec<u64>,
    /// Pair arcs, sorted by (admitting, origin).
    pub arcs: Vec<PairArc>,
    /// Σ of all debts: what the gross mode requires.
    pub required_gross: u64,
}

/// A debt by state index: (debtor, creditor, debt, bilateral need).
type IndexedDebt = (usize, usize, u64, u64);

impl<S: Copy + Ord> Model<S> {
    /// Derives the network of `input`. The input keeps its lists by state index and sorted by
    /// pair, so everything here is a linear merge of sorted lists: no map lookups.
    pub fn new(input: &SettlementInput<S>) -> Self {
        let states = input.states_sorted().to_vec();
        let debts = debts_with_needs(states.len(), input.indexed_debts());
        let required_gross = debts.iter().map(|(_, _, debt, _)| debt).sum();
        let mut model = Model {
            supply: vec![0; states.len()],
            demand: vec![0; states.len()],
            admit_bound: Vec::new(),
            arcs: Vec::new(),
            required_gross,
            states,
        };
        match input.mode() {
            Mode::Gross => model.add_debt_arcs(&debts, |debt, _| debt),
            Mode::Bilateral => model.add_debt_arcs(&debts, |_, need| need),
            Mode::Multilateral => model.add_netted_arcs(input.indexed_consented(), &debts),
        }
        model.limit_arcs_by_candidates(input.indexed_candidates());
        model.admit_bound = model
            .supply
            .iter()
            .zip(input.indexed_capacity())
            .map(|(supply, capacity)| capacity.map_or(*supply, |capacity| capacity.min(*supply)))
            .collect();
        model
    }

    /// Gross and bilateral modes: one arc per pair with a positive `amount(debt, need)`.
    fn add_debt_arcs(&mut self, debts: &[IndexedDebt], amount: fn(u64, u64) -> u64) {
        for &(admitting, origin, debt, need) in debts {
            let amount = amount(debt, need);
            if amount == 0 {
                continue;
            }
            self.supply[admitting] += amount;
            self.demand[origin] += amount;
            self.arcs.push(PairArc {
                admitting,
                origin,
                bound: Some(amount),
                redirected: false,
            });
        }
    }

    /// Multilateral mode: net debtors to net creditors, on pairs with a bilateral need or a
    /// consent (every pair when the input has no consent list).
    fn add_netted_arcs(&mut self, consented: Option<&[(usize, usize)]>, debts: &[IndexedDebt]) {
        for (index, position) in positions(self.states.len(), debts).into_iter().enumerate() {
            self.supply[index] = u64::try_from(position.max(0)).unwrap_or(u64::MAX);
            self.demand[index] = u64::try_from(-position.min(0)).unwrap_or(u64::MAX);
        }
        let needs: Vec<(usize, usize)> = debts
            .iter()
            .filter(|(debtor, creditor, _, need)| {
                *need > 0 && self.supply[*debtor] > 0 && self.demand[*creditor] > 0
            })
            .map(|(admitting, origin, _, _)| (*admitting, *origin))
            .collect();
        match consented {
            Some(consented) => self.add_allowed_arcs(&needs, consented.iter().copied()),
            None => {
                let creditors: Vec<usize> = (0..self.states.len())
                    .filter(|index| self.demand[*index] > 0)
                    .collect();
                let every_pair: Vec<(usize, usize)> = (0..self.states.len())
                    .filter(|index| self.supply[*index] > 0)
                    .flat_map(|debtor| creditors.iter().map(move |creditor| (debtor, *creditor)))
                    .collect();
                self.add_allowed_arcs(&needs, every_pair.into_iter());
            }
        }
    }

    /// Adds an arc for every debtor–creditor pair among `needs` (direct) and `consented`
    /// (redirected unless also a need), both sorted: one merge, each pair once.
    fn add_allowed_arcs(
        &mut self,
        needs: &[(usize, usize)],
        consented: impl Iterator<Item = (usize, usize)>,
    ) {
        let mut consented = consented
            .filter(|(debtor, creditor)| self.supply[*debtor] > 0 && self.demand[*creditor] > 0)
            .peekable();
        let mut arcs = Vec::with_capacity(needs.len() + consented.size_hint().0);
        let mut need_index = 0;
        loop {
            let need = needs.get(need_index).copied();
            let (pair, redirected) = match (need, consented.peek().copied()) {
                (None, None) => break,
                (Some(need), Some(consent)) if consent < need => {
                    consented.next();
                    (consent, true)
                }
                (Some(need), consent) => {
                    need_index += 1;
                    if consent == Some(need) {
                        consented.next();
                    }
                    (need, false)
                }
                (None, Some(consent)) => {
                    consented.next();
                    (consent, true)
                }
            };
            arcs.push(PairArc {
                admitting: pair.0,
                origin: pair.1,
                bound: None,
                redirected,
            });
        }
        self.arcs = arcs;
    }

    /// Bounds each arc by its candidates limit, merging the two sorted lists.
    fn limit_arcs_by_candidates(&mut self, limits: &[((usize, usize), u64)]) {
        let mut limits = limits.iter().peekable();
        for arc in &mut self.arcs {
            let pair = (arc.admitting, arc.origin);
            while limits.next_if(|(limited, _)| *limited < pair).is_some() {}
            if let Some((_, limit)) = limits.next_if(|(limited, _)| *limited == pair) {
                arc.bound = Some(arc.bound.map_or(*limit, |bound| bound.min(*limit)));
            }
        }
    }

    /// The index of `state`, if the input names it.
    pub fn index_of(&self, state: S) -> Option<usize> {
        self.states.binary_search(&state).ok()
    }

    /// The pair arc from `admitting` to `origin` (state indices), if the pair may carry
    /// admissions in this mode.
    pub fn arc(&self, admitting: usize, origin: usize) -> Option<&PairArc> {
        self.arcs
            .binary_search_by(|arc| (arc.admitting, arc.origin).cmp(&(admitting, origin)))
            .ok()
            .map(|position| &self.arcs[position])
    }

    /// What this mode requires before capacity and candidates: Σ supply.
    pub fn required(&self) -> u64 {
        self.supply.iter().sum()
    }
}

/// Adds the bilateral need to every debt (sorted by debtor, creditor).
fn debts_with_needs(state_count: usize, debts: &[(usize, usize, u64)]) -> Vec<IndexedDebt> {
    let mut row_start = vec![0usize; state_count + 1];
    for (debtor, _, _) in debts {
        row_start[debtor + 1] += 1;
    }
    for state in 0..state_count {
        row_start[state + 1] += row_start[state];
    }
    // The reverse debt d(creditor, debtor) is read from the creditor's row; debtors come in
    // increasing order, so one cursor per row moving forward finds them all.
    let mut row_cursor = row_start.clone();
    debts
        .iter()
        .map(|&(debtor, creditor, debt)| {
            let row_end = row_start[creditor + 1];
            let cursor = &mut row_cursor[creditor];
            while *cursor < row_end && debts[*cursor].1 < debtor {
                *cursor += 1;
            }
            let reverse = if *cursor < row_end && debts[*cursor].1 == debtor {
                debts[*cursor].2
            } else {
                0
            };
            (debtor, creditor, debt, debt.saturating_sub(reverse))
        })
        .collect()
}

/// Multilateral positions by state index, from the debts alone.
fn positions(state_count: usize, debts: &[IndexedDebt]) -> Vec<i128> {
    let mut positions = vec![0i128; state_count];
    for &(debtor, creditor, debt, _) in debts {
        positions[debtor] += i128::from(debt);
        positions[creditor] -= i128::from(debt);
    }
    positions
}
