//! What a settlement round is computed from, validated once at the edge.
//!
//! [`InputParts`] is the raw shape a caller fills in (the CLI fills it from JSON);
//! [`SettlementInput::new`] checks it and builds the ledger. Past that point a pair naming
//! one state twice, a duplicated entry, a count beyond [`COUNT_MAX`] or a consent list
//! outside multilateral mode cannot exist. Every refusal carries the [`Location`] of the
//! offending entry (`returns[3]`, `capacity.GB`). This module does not parse text or JSON.

use std::fmt;

use crate::StateCode;
use crate::ledger::Ledger;

/// The largest count one entry may carry. Far above any real period (the whole EU sees about
/// a million asylum applications a year), and small enough that sums of [`ENTRIES_MAX`]
/// entries never overflow `u64`.
pub const COUNT_MAX: u64 = 1_000_000_000_000;

/// The most entries one list of the input may hold.
pub const ENTRIES_MAX: usize = 1_000_000;

/// Anything that can name a state in a settlement: Accord uses [`StateCode`]; the benchmarks
/// use plain integers to build networks larger than the ISO 3166-1 list.
pub trait StateKey: Copy + Ord + fmt::Display {}

impl<S: Copy + Ord + fmt::Display> StateKey for S {}

/// How debts are netted before they are settled (DESIGN.md §3, "Settlement").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Mode {
    /// Every debt on its own: `x(A,O) ≤ d(A,O)`.
    Gross,
    /// Mutual debts of a pair offset: `x(A,O) ≤ max(0, d(A,O) − d(O,A))`.
    Bilateral,
    /// Net debtors admit from net creditors, possibly redirected along chains of debts.
    Multilateral,
}

impl Mode {
    /// Every mode, in the order of increasing netting.
    pub const ALL: [Mode; 3] = [Mode::Gross, Mode::Bilateral, Mode::Multilateral];

    /// The mode's name on the wire: `gross`, `bilateral` or `multilateral`.
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Gross => "gross",
            Mode::Bilateral => "bilateral",
            Mode::Multilateral => "multilateral",
        }
    }

    /// The mode named `name` on the wire, if any.
    pub fn parse(name: &str) -> Option<Mode> {
        Mode::ALL.into_iter().find(|mode| mode.as_str() == name)
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// Confirmed readmissions: `from` returned `count` people to `to`, which took them back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Return<S = StateCode> {
    /// The returning (requesting) state; it owes admissions for these returns.
    pub from: S,
    /// The state that took the people back.
    pub to: S,
    /// How many people.
    pub count: u64,
}

/// Confirmed admissions already performed: `admitting` admitted `count` people from `origin`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Admission<S = StateCode> {
    /// The state that admitted the people.
    pub admitting: S,
    /// The state the people came from.
    pub origin: S,
    /// How many people.
    pub count: u64,
}

/// Admissions `admitting` still owed `origin` when an earlier round ended, carried into this
/// one: that round's residual, or the shortfall of an instruction not performed by its
/// deadline. A carried debt weighs in the pair's debt exactly as a return does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CarriedDebt<S = StateCode> {
    /// The state that owes the admissions.
    pub admitting: S,
    /// The state the people are to come from.
    pub origin: S,
    /// How many people.
    pub count: u64,
}

/// A limit on one (admitting, origin) pair, such as the candidates available, or an upper
/// bound on the admissions of a state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PairLimit<S = StateCode> {
    /// The admitting state.
    pub admitting: S,
    /// The origin state.
    pub origin: S,
    /// The most admissions this pair may carry in the period.
    pub count: u64,
}

/// The admissions one state can still perform in this period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CapacityLimit<S = StateCode> {
    /// The admitting state.
    pub state: S,
    /// How many admissions it can still perform.
    pub count: u64,
}

/// A pair allowed to carry redirected admissions in multilateral mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Consent<S = StateCode> {
    /// The admitting state.
    pub admitting: S,
    /// The origin state.
    pub origin: S,
}

/// The raw, unchecked input of a settlement, in the order the caller listed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputParts<S = StateCode> {
    /// The netting mode.
    pub mode: Mode,
    /// Confirmed readmissions, one entry per ordered pair.
    pub returns: Vec<Return<S>>,
    /// Confirmed admissions already performed, one entry per ordered pair.
    pub admissions: Vec<Admission<S>>,
    /// Debts carried in from earlier rounds, one entry per ordered pair.
    pub carried: Vec<CarriedDebt<S>>,
    /// Capacity per admitting state; a state not listed has no limit.
    pub capacity: Vec<CapacityLimit<S>>,
    /// Candidates per (admitting, origin) pair; a pair not listed has no limit.
    pub candidates: Vec<PairLimit<S>>,
    /// Pairs allowed to carry redirected admissions (multilateral only); `None` means all.
    pub consented: Option<Vec<Consent<S>>>,
}

impl<S> InputParts<S> {
    /// An input with the two required parts and nothing else: no admissions, no limits, full
    /// consent.
    pub fn new(mode: Mode, returns: Vec<Return<S>>) -> Self {
        Self {
            mode,
            returns,
            admissions: Vec::new(),
            carried: Vec::new(),
            capacity: Vec::new(),
            candidates: Vec::new(),
            consented: None,
        }
    }
}

/// Where in the input a problem is, printed as a path: `returns[3]`, `capacity.GB`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// The whole list of one field (`returns`, `consented`, …).
    Field(&'static str),
    /// An entry of `returns`, by index.
    Returns(usize),
    /// An entry of `admissions`, by index.
    Admissions(usize),
    /// An entry of `carried`, by index.
    Carried(usize),
    /// The capacity of one state.
    Capacity(String),
    /// An entry of `candidates`, by index.
    Candidates(usize),
    /// An entry of `consented`, by index.
    Consented(usize),
}

impl fmt::Display for Location {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Field(name) => formatter.write_str(name),
            Location::Returns(index) => write!(formatter, "returns[{index}]"),
            Location::Admissions(index) => write!(formatter, "admissions[{index}]"),
            Location::Carried(index) => write!(formatter, "carried[{index}]"),
            Location::Capacity(state) => write!(formatter, "capacity.{state}"),
            Location::Candidates(index) => write!(formatter, "candidates[{index}]"),
            Location::Consented(index) => write!(formatter, "consented[{index}]"),
        }
    }
}

/// Why an input was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    /// A pair names the same state on both sides.
    #[error("{location}: names {state} on both sides; a pair needs two different states")]
    SameState {
        /// The offending entry.
        location: Location,
        /// The state named twice.
        state: String,
    },
    /// Two entries of one list are about the same pair or state.
    #[error("{location}: duplicated entry, already given at {first}")]
    Duplicate {
        /// The later entry.
        location: Location,
        /// The earlier entry it repeats.
        first: Location,
    },
    /// A consent list was given in gross or bilateral mode, where nothing is redirected.
    #[error("consented: only allowed in multilateral mode, not in {mode} mode")]
    ConsentedOutsideMultilateral {
        /// The input's mode.
        mode: Mode,
    },
    /// A count above [`COUNT_MAX`].
    #[error("{location}: count {count} is above the limit of {COUNT_MAX}")]
    CountTooLarge {
        /// The offending entry.
        location: Location,
        /// The count given.
        count: u64,
    },
    /// A list longer than [`ENTRIES_MAX`].
    #[error("{location}: {count} entries, above the limit of {ENTRIES_MAX}")]
    TooManyEntries {
        /// The list.
        location: Location,
        /// How many entries it has.
        count: usize,
    },
}

impl Error {
    /// Where in the input the problem is.
    pub fn location(&self) -> Location {
        match self {
            Error::SameState { location, .. }
            | Error::Duplicate { location, .. }
            | Error::CountTooLarge { location, .. }
            | Error::TooManyEntries { location, .. } => location.clone(),
            Error::ConsentedOutsideMultilateral { .. } => Location::Field("consented"),
        }
    }
}

/// A validated settlement input: the mode, the ledger of returns and admissions, and the
/// limits. Built only by [`SettlementInput::new`].
///
/// Besides the ledger it keeps everything by state index (the position of a state in the
/// sorted list of states), sorted by pair: validation pays once for turning states into
/// indices, and settling then only merges sorted lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettlementInput<S = StateCode> {
    mode: Mode,
    ledger: Ledger<S>,
    /// Every state named by the input, sorted; indices refer to this list.
    states: Vec<S>,
    /// Every debt above zero as (debtor, creditor, debt), sorted.
    debts: Vec<(usize, usize, u64)>,
    /// Capacity by state index; `None` for no limit.
    capacity: Vec<Option<u64>>,
    /// Candidates limits as ((admitting, origin), limit), sorted.
    candidates: Vec<((usize, usize), u64)>,
    /// Consented pairs, sorted; `None` when every pair consented.
    consented: Option<Vec<(usize, usize)>>,
}

impl<S: StateKey> SettlementInput<S> {
    /// Checks `parts` and builds the input, or names the first problem found (lists are
    /// checked in the order returns, admissions, carried, capacity, candidates, consented).
    pub fn new(parts: InputParts<S>) -> Result<Self, Error> {
        if parts.mode != Mode::Multilateral && parts.consented.is_some() {
            return Err(Error::ConsentedOutsideMultilateral { mode: parts.mode });
        }
        let returns = parts
            .returns
            .iter()
            .map(|entry| (entry.from, entry.to, entry.count));
        let returns = check_pairs(returns, "returns", Location::Returns)?;
        let admissions = parts
            .admissions
            .iter()
            .map(|entry| (entry.admitting, entry.origin, entry.count));
        let admissions = check_pairs(admissions, "admissions", Location::Admissions)?;
        let carried = parts
            .carried
            .iter()
            .map(|entry| (entry.admitting, entry.origin, entry.count));
        let carried = check_pairs(carried, "carried", Location::Carried)?;
        let capacity = check_capacity(&parts.capacity)?;
        let candidates = parts
            .candidates
            .iter()
            .map(|entry| (entry.admitting, entry.origin, entry.count));
        let candidates = check_pairs(candidates, "candidates", Location::Candidates)?;
        let consented = match &parts.consented {
            None => None,
            Some(consents) => {
                let entries = consents
                    .iter()
                    .map(|entry| (entry.admitting, entry.origin, 0));
                Some(check_pairs(entries, "consented", Location::Consented)?)
            }
        };
        let mut ledger = Ledger::from_movements(returns, admissions);
        for (admitting, origin, count) in carried {
            ledger.record_carried(admitting, origin, count);
        }
        let mut states: Vec<S> = ledger.states().collect();
        states.extend(capacity.iter().map(|(state, _)| *state));
        for (admitting, origin, _) in candidates.iter().chain(consented.iter().flatten()) {
            states.extend([*admitting, *origin]);
        }
        states.sort_unstable();
        states.dedup();
        let mut capacity_by_index = vec![None; states.len()];
        for (index, count) in index_sorted(
            &states,
            capacity.iter().map(|(state, count)| (*state, *count)),
        ) {
            capacity_by_index[index] = Some(count);
        }
        Ok(Self {
            mode: parts.mode,
            debts: index_pairs(&states, ledger.debts())
                .map(|((debtor, creditor), debt)| (debtor, creditor, debt))
                .collect(),
            capacity: capacity_by_index,
            candidates: index_pairs(&states, candidates.into_iter()).collect(),
            consented: consented.map(|pairs| {
                index_pairs(&states, pairs.into_iter())
                    .map(|(pair, _)| pair)
                    .collect()
            }),
            ledger,
            states,
        })
    }
}

/// Maps sorted `(state, value)` entries to `(index, value)`, by finger search.
fn index_sorted<S: Ord, V>(
    states: &[S],
    entries: impl Iterator<Item = (S, V)>,
) -> impl Iterator<Item = (usize, V)> {
    let mut finger = FingerSearch::new(states);
    entries.map(move |(state, value)| (finger.find(state), value))
}

/// Maps `(first, second, value)` entries sorted by pair to `((first, second), value)` by
/// index, still sorted (indices follow the order of states).
fn index_pairs<S: Ord, V>(
    states: &[S],
    entries: impl Iterator<Item = (S, S, V)>,
) -> impl Iterator<Item = ((usize, usize), V)> {
    let mut firsts = FingerSearch::new(states);
    let mut seconds = FingerSearch::new(states);
    entries.map(move |(first, second, value)| ((firsts.find(first), seconds.find(second)), value))
}

/// Finds positions in a sorted slice by galloping from the last position found, so a sorted
/// run of keys costs O(log distance) each instead of O(log n); a smaller key restarts at 0.
struct FingerSearch<'a, S> {
    sorted: &'a [S],
    finger: usize,
}

impl<'a, S: Ord> FingerSearch<'a, S> {
    fn new(sorted: &'a [S]) -> Self {
        Self { sorted, finger: 0 }
    }

    /// The position of `key` (or where it would be inserted).
    fn find(&mut self, key: S) -> usize {
        if self
            .sorted
            .get(self.finger)
            .is_none_or(|at_finger| *at_finger > key)
        {
            self.finger = 0;
        }
        let (mut low, mut high, mut step) = (self.finger, self.finger, 1);
        while high < self.sorted.len() && self.sorted[high] < key {
            low = high;
            high += step;
            step *= 2;
        }
        let high = high.min(self.sorted.len());
        self.finger = low + self.sorted[low..high].partition_point(|state| *state < key);
        self.finger
    }
}

impl<S: Copy + Ord> SettlementInput<S> {
    /// The netting mode.
    pub fn mode(&self) -> Mode {
        self.mode
    }

    /// The ledger of the input's returns and admissions: debts, credits, positions.
    pub fn ledger(&self) -> &Ledger<S> {
        &self.ledger
    }

    /// Every state named anywhere in the input, in order.
    pub fn states(&self) -> impl Iterator<Item = S> + '_ {
        self.states.iter().copied()
    }

    /// How many states the input names.
    pub fn state_count(&self) -> usize {
        self.states.len()
    }

    /// The admissions `state` can still perform, or `None` for no limit.
    pub fn capacity(&self, state: S) -> Option<u64> {
        let index = self.states.binary_search(&state).ok()?;
        self.capacity[index]
    }

    /// The candidates limit of the pair, or `None` for no limit.
    pub fn candidates(&self, admitting: S, origin: S) -> Option<u64> {
        let pair = self.index_pair(admitting, origin)?;
        let position = self
            .candidates
            .binary_search_by_key(&pair, |(limited, _)| *limited)
            .ok()?;
        Some(self.candidates[position].1)
    }

    /// Whether the pair consented to carry redirected admissions (always true when the input
    /// gave no consent list).
    pub fn is_consented(&self, admitting: S, origin: S) -> bool {
        match &self.consented {
            None => true,
            Some(pairs) => self
                .index_pair(admitting, origin)
                .is_some_and(|pair| pairs.binary_search(&pair).is_ok()),
        }
    }

    fn index_pair(&self, admitting: S, origin: S) -> Option<(usize, usize)> {
        let admitting = self.states.binary_search(&admitting).ok()?;
        let origin = self.states.binary_search(&origin).ok()?;
        Some((admitting, origin))
    }

    /// The states, sorted: index `i` of the `indexed_*` lists is `states_sorted()[i]`.
    pub(crate) fn states_sorted(&self) -> &[S] {
        &self.states
    }

    /// Every debt above zero as (debtor, creditor, debt) by index, sorted.
    pub(crate) fn indexed_debts(&self) -> &[(usize, usize, u64)] {
        &self.debts
    }

    /// Capacity by state index.
    pub(crate) fn indexed_capacity(&self) -> &[Option<u64>] {
        &self.capacity
    }

    /// Candidates limits by index pair, sorted.
    pub(crate) fn indexed_candidates(&self) -> &[((usize, usize), u64)] {
        &self.candidates
    }

    /// Consented index pairs, sorted, or `None` when every pair consented.
    pub(crate) fn indexed_consented(&self) -> Option<&[(usize, usize)]> {
        self.consented.as_deref()
    }
}

/// Checks one list of pair entries: its length, two distinct states per entry, no count
/// above the limit, no pair twice. Returns the entries sorted by pair.
fn check_pairs<S: StateKey>(
    entries: impl ExactSizeIterator<Item = (S, S, u64)>,
    field: &'static str,
    locate: fn(usize) -> Location,
) -> Result<Vec<(S, S, u64)>, Error> {
    if entries.len() > ENTRIES_MAX {
        return Err(Error::TooManyEntries {
            location: Location::Field(field),
            count: entries.len(),
        });
    }
    let mut checked: Vec<(S, S, u64, usize)> = Vec::with_capacity(entries.len());
    for (index, (first, second, count)) in entries.enumerate() {
        if first == second {
            return Err(Error::SameState {
                location: locate(index),
                state: first.to_string(),
            });
        }
        if count > COUNT_MAX {
            return Err(Error::CountTooLarge {
                location: locate(index),
                count,
            });
        }
        checked.push((first, second, count, index));
    }
    // Sorted by pair then position, a repeated pair sits right after its first entry.
    checked.sort_unstable_by_key(|(first, second, _, index)| (*first, *second, *index));
    let repeated = checked
        .windows(2)
        .filter(|pair| (pair[0].0, pair[0].1) == (pair[1].0, pair[1].1))
        .map(|pair| (pair[1].3, pair[0].3))
        .min();
    if let Some((later, earlier)) = repeated {
        return Err(Error::Duplicate {
            location: locate(later),
            first: locate(earlier),
        });
    }
    Ok(checked
        .into_iter()
        .map(|(first, second, count, _)| (first, second, count))
        .collect())
}

/// Checks the capacity list; returns it sorted by state.
fn check_capacity<S: StateKey>(entries: &[CapacityLimit<S>]) -> Result<Vec<(S, u64)>, Error> {
    if entries.len() > ENTRIES_MAX {
        return Err(Error::TooManyEntries {
            location: Location::Field("capacity"),
            count: entries.len(),
        });
    }
    let mut capacity: Vec<(S, u64)> = Vec::with_capacity(entries.len());
    for entry in entries {
        if entry.count > COUNT_MAX {
            return Err(Error::CountTooLarge {
                location: Location::Capacity(entry.state.to_string()),
                count: entry.count,
            });
        }
        capacity.push((entry.state, entry.count));
    }
    capacity.sort_by_key(|(state, _)| *state);
    if let Some(pair) = capacity.windows(2).find(|pair| pair[0].0 == pair[1].0) {
        let location = Location::Capacity(pair[1].0.to_string());
        return Err(Error::Duplicate {
            first: location.clone(),
            location,
        });
    }
    Ok(capacity)
}
