//! What a settlement says: the admission instructions and the figures derived from them.
//!
//! [`SettlementReport`] carries exactly the output of `accord settle` (the settlement issue):
//! instructions, settled and redirected totals, what the mode required, the netting
//! efficiency, the residual per state and the credits. The figures are a pure function of the
//! input and the instructions ([`SettlementReport::from_instructions`]), so a verifier can
//! recompute them; this module does not choose the instructions (see `flow`) nor check them.

use std::collections::BTreeMap;

use super::input::{CarriedDebt, Mode, SettlementInput};
use super::model::Model;
use crate::StateCode;

/// "`admitting` admits `count` people from `origin`."
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Instruction<S = StateCode> {
    /// The state that admits.
    pub admitting: S,
    /// The state the people come from.
    pub origin: S,
    /// How many people; always above zero in a report.
    pub count: u64,
}

/// What is left for one state after the instructions are carried out.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Residual {
    /// Admissions the state must still perform.
    pub to_admit: u64,
    /// Admissions that must still take people from the state: the remaining negative position
    /// in multilateral mode, the remaining need where it is the origin in the other modes.
    pub to_release: u64,
}

/// A pair where admissions ran ahead of returns: `holder` holds a credit with `counterpart`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Credit<S = StateCode> {
    /// The state that admitted ahead of its returns.
    pub holder: S,
    /// The state it admitted from.
    pub counterpart: S,
    /// By how many people admissions exceed returns.
    pub count: u64,
}

/// The outcome of one settlement.
#[derive(Debug, Clone, PartialEq)]
pub struct SettlementReport<S = StateCode> {
    /// The netting mode.
    pub mode: Mode,
    /// Instructions above zero, sorted by admitting then origin state.
    pub instructions: Vec<Instruction<S>>,
    /// Σ of the instruction counts.
    pub settled: u64,
    /// The part of `settled` on redirected pairs (multilateral pairs without bilateral need).
    pub redirected: u64,
    /// Admissions needed to balance in this mode before capacity and candidates.
    pub required: u64,
    /// What the gross mode requires: Σ of all debts.
    pub required_gross: u64,
    /// `1 − required / required_gross`, or 0 when `required_gross` is 0.
    pub netting_efficiency: f64,
    /// What is left for every state of the input.
    pub residual: BTreeMap<S, Residual>,
    /// Every pair whose admissions exceed its returns, sorted by holder then counterpart.
    pub credits: Vec<Credit<S>>,
    /// What the next round carries in: the residuals as debts per (admitting, origin) pair,
    /// sorted, placed along each pair's own open debt first. Everything else the round's
    /// debts were is extinguished by its netting and replaced by its instructions.
    pub carry_forward: Vec<CarriedDebt<S>>,
}

impl<S: Copy + Ord> SettlementReport<S> {
    /// The report of `instructions` on `input`. The instructions must be feasible (checked by
    /// the solver's construction, or by `verify` first); counts beyond a state's need saturate.
    pub fn from_instructions(
        input: &SettlementInput<S>,
        instructions: Vec<Instruction<S>>,
    ) -> Self {
        Self::from_model(input, &Model::new(input), instructions)
    }

    pub(crate) fn from_model(
        input: &SettlementInput<S>,
        model: &Model<S>,
        instructions: Vec<Instruction<S>>,
    ) -> Self {
        let mut admitted = vec![0u64; model.states.len()];
        let mut released = vec![0u64; model.states.len()];
        let mut redirected = 0u64;
        for instruction in &instructions {
            let (Some(admitting), Some(origin)) = (
                model.index_of(instruction.admitting),
                model.index_of(instruction.origin),
            ) else {
                continue;
            };
            admitted[admitting] = admitted[admitting].saturating_add(instruction.count);
            released[origin] = released[origin].saturating_add(instruction.count);
            if model
                .arc(admitting, origin)
                .is_some_and(|arc| arc.redirected)
            {
                redirected = redirected.saturating_add(instruction.count);
            }
        }
        let residual = model
            .states
            .iter()
            .enumerate()
            .map(|(index, state)| {
                let residual = Residual {
                    to_admit: model.supply[index].saturating_sub(admitted[index]),
                    to_release: model.demand[index].saturating_sub(released[index]),
                };
                (*state, residual)
            })
            .collect();
        let credits = input
            .ledger()
            .credits()
            .map(|(holder, counterpart, count)| Credit {
                holder,
                counterpart,
                count,
            })
            .collect();
        let required = model.required();
        let carry_forward = carry_forward(input, &instructions, &residual);
        Self {
            mode: input.mode(),
            settled: instructions.iter().fold(0, |total, instruction| {
                total.saturating_add(instruction.count)
            }),
            instructions,
            redirected,
            required,
            required_gross: model.required_gross,
            netting_efficiency: netting_efficiency(required, model.required_gross),
            residual,
            credits,
            carry_forward,
        }
    }
}

/// The residuals as debts per (admitting, origin) pair, so the next round can carry them in:
/// first along each pair's own open debt in this mode (gross: its debt; otherwise its
/// bilateral need) less what the pair was instructed, in pair order; then, for what netting
/// moved along chains of debts (multilateral only: a net debtor whose creditors are reached
/// only through states that owe in turn), along those chains — each leg a pair's open debt,
/// the states between netting to nothing ([`route_along_debts`]) — so that a carried debt
/// stays on a pair that owes and never joins two states without a debt between them (who
/// may have no agreement); last, only for what no chain of open debts reaches, each
/// remaining admitting state with each remaining origin in state order. In gross and
/// bilateral modes the first pass places every residual (each state's residual is the sum
/// of its pairs' open debts), and each state's sums owed and owed to are its residuals; in
/// multilateral mode their difference is (a state inside a chain owes and is owed alike).
fn carry_forward<S: Copy + Ord>(
    input: &SettlementInput<S>,
    instructions: &[Instruction<S>],
    residual: &BTreeMap<S, Residual>,
) -> Vec<CarriedDebt<S>> {
    let to_admit: BTreeMap<S, u64> = residual
        .iter()
        .filter(|(_, left)| left.to_admit > 0)
        .map(|(state, left)| (*state, left.to_admit))
        .collect();
    let to_release: BTreeMap<S, u64> = residual
        .iter()
        .filter(|(_, left)| left.to_release > 0)
        .map(|(state, left)| (*state, left.to_release))
        .collect();
    let instructed: BTreeMap<(S, S), u64> = instructions
        .iter()
        .map(|instruction| {
            (
                (instruction.admitting, instruction.origin),
                instruction.count,
            )
        })
        .collect();
    let ledger = input.ledger();
    let mut left = (to_admit, to_release);
    let mut carried: BTreeMap<(S, S), u64> = BTreeMap::new();
    let mut open_debts: BTreeMap<(S, S), u64> = BTreeMap::new();
    for (admitting, origin, debt) in ledger.debts() {
        let owed = match input.mode() {
            Mode::Gross => debt,
            Mode::Bilateral | Mode::Multilateral => ledger.bilateral_need(admitting, origin),
        };
        let open = owed.saturating_sub(instructed.get(&(admitting, origin)).copied().unwrap_or(0));
        let placed = place(&mut left, (admitting, origin), open, &mut carried);
        if open > placed {
            open_debts.insert((admitting, origin), open - placed);
        }
    }
    route_along_debts(&mut left.0, &mut left.1, &open_debts, &mut carried);
    let admitting: Vec<S> = residual.keys().copied().collect();
    for debtor in &admitting {
        for creditor in &admitting {
            place(&mut left, (*debtor, *creditor), u64::MAX, &mut carried);
        }
    }
    carried
        .into_iter()
        .map(|((admitting, origin), count)| CarriedDebt {
            admitting,
            origin,
            count,
        })
        .collect()
}

/// What is left to admit (by debtor) and to release (by creditor).
type Left<S> = (BTreeMap<S, u64>, BTreeMap<S, u64>);

/// Carries up to `open` on `(admitting, origin)`, as much as both states have `left` to admit
/// and to release; answers how many.
fn place<S: Copy + Ord>(
    left: &mut Left<S>,
    (admitting, origin): (S, S),
    open: u64,
    carried: &mut BTreeMap<(S, S), u64>,
) -> u64 {
    let admit = left.0.get(&admitting).copied().unwrap_or(0);
    let release = left.1.get(&origin).copied().unwrap_or(0);
    let count = open.min(admit).min(release);
    if count == 0 || admitting == origin {
        return 0;
    }
    *carried.entry((admitting, origin)).or_default() += count;
    left.0.insert(admitting, admit - count);
    left.1.insert(origin, release - count);
    count
}

/// Routes what is left to admit (`to_admit`, by debtor) to what is left to release
/// (`to_release`, by creditor) along chains of `open_debts` (admitting, origin → count),
/// shortest chains first (augmenting paths, breadth first, in state order: deterministic),
/// and adds each leg of each chain to `carried`. A state inside a chain admits and releases
/// alike, so the sums per state stay the residuals.
fn route_along_debts<S: Copy + Ord>(
    to_admit: &mut BTreeMap<S, u64>,
    to_release: &mut BTreeMap<S, u64>,
    open_debts: &BTreeMap<(S, S), u64>,
    carried: &mut BTreeMap<(S, S), u64>,
) {
    let mut open = open_debts.clone();
    let debtors: Vec<S> = to_admit
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(s, _)| *s)
        .collect();
    for debtor in debtors {
        while to_admit.get(&debtor).copied().unwrap_or(0) > 0 {
            let Some(chain) = shortest_chain(debtor, &open, to_release) else {
                break;
            };
            let last = *chain.last().unwrap_or(&debtor);
            let legs = chain
                .windows(2)
                .map(|leg| open.get(&(leg[0], leg[1])).copied().unwrap_or(0));
            let count = legs
                .min()
                .unwrap_or(0)
                .min(to_admit.get(&debtor).copied().unwrap_or(0))
                .min(to_release.get(&last).copied().unwrap_or(0));
            if count == 0 {
                break;
            }
            for leg in chain.windows(2) {
                let pair = (leg[0], leg[1]);
                *carried.entry(pair).or_default() += count;
                if let Some(left) = open.get_mut(&pair) {
                    *left -= count;
                }
            }
            open.retain(|_, left| *left > 0);
            if let Some(left) = to_admit.get_mut(&debtor) {
                *left -= count;
            }
            if let Some(left) = to_release.get_mut(&last) {
                *left -= count;
            }
        }
    }
}

/// The shortest chain of open debts from `debtor` to a state with something left to release
/// (breadth first, neighbours in state order), as its states, `debtor` first.
fn shortest_chain<S: Copy + Ord>(
    debtor: S,
    open: &BTreeMap<(S, S), u64>,
    to_release: &BTreeMap<S, u64>,
) -> Option<Vec<S>> {
    let mut came_from: BTreeMap<S, S> = BTreeMap::new();
    let mut frontier = std::collections::VecDeque::from([debtor]);
    while let Some(state) = frontier.pop_front() {
        if state != debtor && to_release.get(&state).copied().unwrap_or(0) > 0 {
            let mut chain = vec![state];
            let mut at = state;
            while let Some(previous) = came_from.get(&at) {
                chain.push(*previous);
                at = *previous;
            }
            chain.reverse();
            return Some(chain);
        }
        let next = open
            .keys()
            .filter(|(admitting, _)| *admitting == state)
            .map(|(_, origin)| *origin);
        for origin in next {
            if origin != debtor && !came_from.contains_key(&origin) {
                came_from.insert(origin, state);
                frontier.push_back(origin);
            }
        }
    }
    None
}

/// `1 − required / required_gross`, 0 when nothing is required gross.
pub fn netting_efficiency(required: u64, required_gross: u64) -> f64 {
    if required_gross == 0 {
        return 0.0;
    }
    // Counts are at most 10¹⁸; the ratio's rounding is the same on every platform (IEEE 754).
    1.0 - required as f64 / required_gross as f64
}
