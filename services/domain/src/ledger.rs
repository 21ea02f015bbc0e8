//! The ledger of one-for-one obligations between states (DESIGN.md §3, "Ledger").
//!
//! The ledger counts two kinds of confirmed movement and derives every position from them:
//!
//! - `ret(A→O)`: people state A returned to state O, which took them back
//!   ([`Ledger::record_return`]). A return is what creates an obligation: A now owes O one
//!   admission.
//! - `adm(A←O)`: people state A admitted from state O ([`Ledger::record_admission`]).
//!   An admission discharges A's obligation to O.
//!
//! - `car(A→O)`: admissions A still owed O when an earlier settlement round ended, carried into
//!   this ledger ([`Ledger::record_carried`]): the round's residual, or an instruction not
//!   performed by its deadline. It weighs exactly as a return does.
//!
//! For each ordered pair the balance is `o(A,O) = ret(A→O) + car(A→O) − adm(A←O)`:
//!
//! - its positive part is A's **debt** to O, `d(A,O)` ([`Ledger::debt`]): A must still admit
//!   that many people from O;
//! - its negative part is A's **credit** with O ([`Ledger::credit`]): A admitted ahead of its
//!   returns. A credit is never an obligation on O — it only absorbs A's future returns to O —
//!   so it never appears in O's debts nor in any position.
//!
//! Derived positions: the bilateral need `max(0, d(A,O) − d(O,A))` (mutual debts offset) and
//! the multilateral position `p(i) = Σ_j d(i,j) − Σ_j d(j,i)`: positive for a net debtor (it
//! must admit `p` people), negative for a net creditor (`−p` people should leave it through
//! admissions). The positions of all states always sum to zero.
//!
//! The ledger only counts; it does not decide which movements are confirmed (the lifecycles
//! do) nor how debts are settled (the `settlement` module does). Storage is `BTreeMap`, so
//! every iteration is in state-code order and every result is deterministic.
//!
//! The ledger is keyed by [`StateCode`] in Accord. It is generic over the key only so that
//! synthetic networks larger than the ISO 3166-1 list (the settlement benchmarks) run through
//! the same code; [`Ledger::new`] always makes a `Ledger<StateCode>`.

use std::collections::{BTreeMap, BTreeSet};

use crate::StateCode;

/// The confirmed movements of one ordered pair (A, O): returns by A to O, admissions by A from O.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct PairTally {
    returns: u64,
    admissions: u64,
    carried: u64,
}

impl PairTally {
    /// What creates the obligation: returns, and debts carried in.
    fn owed(self) -> u64 {
        self.returns.saturating_add(self.carried)
    }

    fn debt(self) -> u64 {
        self.owed().saturating_sub(self.admissions)
    }

    fn credit(self) -> u64 {
        self.admissions.saturating_sub(self.owed())
    }
}

/// Confirmed returns and admissions between states, and the debts, credits and positions
/// they imply. Counts saturate at `u64::MAX` rather than wrap (no real tally comes near it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ledger<S = StateCode> {
    /// Keyed by (A, O): A is the returning and admitting state, O its counterpart.
    pairs: BTreeMap<(S, S), PairTally>,
    /// Every state named by a recorded movement, even with a count of zero.
    states: BTreeSet<S>,
}

impl Ledger {
    /// An empty ledger of member states: no states, no debts.
    pub fn new() -> Self {
        Self::default()
    }
}

impl<S: Copy + Ord> Default for Ledger<S> {
    fn default() -> Self {
        Self {
            pairs: BTreeMap::new(),
            states: BTreeSet::new(),
        }
    }
}

impl<S: Copy + Ord> Ledger<S> {
    /// A ledger of many movements at once: the same as recording every return `(from, to,
    /// count)` and every admission `(admitting, origin, count)` one by one, but built in one
    /// sort instead of one tree insertion per movement.
    pub fn from_movements(
        returns: impl IntoIterator<Item = (S, S, u64)>,
        admissions: impl IntoIterator<Item = (S, S, u64)>,
    ) -> Self {
        let returned = returns.into_iter().map(|(from, to, count)| {
            let tally = PairTally {
                returns: count,
                ..PairTally::default()
            };
            ((from, to), tally)
        });
        let admitted = admissions.into_iter().map(|(admitting, origin, count)| {
            let tally = PairTally {
                admissions: count,
                ..PairTally::default()
            };
            ((admitting, origin), tally)
        });
        let mut movements: Vec<((S, S), PairTally)> = returned.chain(admitted).collect();
        movements.sort_unstable_by_key(|(pair, _)| *pair);
        let mut tallies: Vec<((S, S), PairTally)> = Vec::with_capacity(movements.len());
        for (pair, tally) in movements {
            match tallies.last_mut() {
                Some((last_pair, total)) if *last_pair == pair => {
                    total.returns = total.returns.saturating_add(tally.returns);
                    total.admissions = total.admissions.saturating_add(tally.admissions);
                }
                _ => tallies.push((pair, tally)),
            }
        }
        let mut states: Vec<S> = tallies
            .iter()
            .flat_map(|((first, second), _)| [*first, *second])
            .collect();
        states.sort_unstable();
        states.dedup();
        // Both collections come sorted, which BTreeMap and BTreeSet build in linear time.
        Self {
            pairs: tallies.into_iter().collect(),
            states: states.into_iter().collect(),
        }
    }

    /// Records `count` confirmed readmissions: `from` returned people to `to`, which took them
    /// back. This creates (or grows) `from`'s debt to `to`, or uses up `from`'s credit with `to`.
    pub fn record_return(&mut self, from: S, to: S, count: u64) {
        let tally = self.tally_mut(from, to);
        tally.returns = tally.returns.saturating_add(count);
    }

    /// Records `count` confirmed admissions: `admitting` admitted people from `origin`. This
    /// discharges `admitting`'s debt to `origin`; beyond the debt it becomes `admitting`'s
    /// credit with `origin`, never a debt of `origin`.
    pub fn record_admission(&mut self, admitting: S, origin: S, count: u64) {
        let tally = self.tally_mut(admitting, origin);
        tally.admissions = tally.admissions.saturating_add(count);
    }

    /// Records `count` admissions `admitting` still owed `origin` at the end of an earlier
    /// round, carried in: they weigh in `admitting`'s debt to `origin` as returns do.
    pub fn record_carried(&mut self, admitting: S, origin: S, count: u64) {
        let tally = self.tally_mut(admitting, origin);
        tally.carried = tally.carried.saturating_add(count);
    }

    /// Debts carried in from earlier rounds: `car(admitting→origin)`.
    pub fn carried(&self, admitting: S, origin: S) -> u64 {
        self.tally(admitting, origin).carried
    }

    /// Confirmed returns from `from` to `to`: `ret(from→to)`.
    pub fn returns(&self, from: S, to: S) -> u64 {
        self.tally(from, to).returns
    }

    /// Confirmed admissions by `admitting` from `origin`: `adm(admitting←origin)`.
    pub fn admissions(&self, admitting: S, origin: S) -> u64 {
        self.tally(admitting, origin).admissions
    }

    /// `d(admitting, origin)`: how many people `admitting` must still admit from `origin` — the
    /// positive part of `ret(admitting→origin) + car(admitting→origin) − adm(admitting←origin)`.
    pub fn debt(&self, admitting: S, origin: S) -> u64 {
        self.tally(admitting, origin).debt()
    }

    /// How far `holder` admitted from `counterpart` ahead of its returns to it — the negative
    /// part of `ret(holder→counterpart) + car(holder→counterpart) − adm(holder←counterpart)`.
    /// Absorbs future returns only.
    pub fn credit(&self, holder: S, counterpart: S) -> u64 {
        self.tally(holder, counterpart).credit()
    }

    /// The bilateral need of `admitting` toward `origin`: `max(0, d(admitting,origin) −
    /// d(origin,admitting))`. At most one direction of a pair has a need.
    pub fn bilateral_need(&self, admitting: S, origin: S) -> u64 {
        self.debt(admitting, origin)
            .saturating_sub(self.debt(origin, admitting))
    }

    /// The multilateral position `p(state) = Σ_j d(state,j) − Σ_j d(j,state)`: positive for a
    /// net debtor, negative for a net creditor. Saturates at the bounds of `i64`.
    pub fn position(&self, state: S) -> i64 {
        let mut position: i128 = 0;
        for ((debtor, creditor), tally) in &self.pairs {
            if *debtor == state {
                position += i128::from(tally.debt());
            }
            if *creditor == state {
                position -= i128::from(tally.debt());
            }
        }
        saturate_to_i64(position)
    }

    /// The multilateral position of every state in [`Ledger::states`], computed in one pass.
    pub fn positions(&self) -> BTreeMap<S, i64> {
        let mut positions: BTreeMap<S, i128> =
            self.states.iter().map(|state| (*state, 0)).collect();
        for (debtor, creditor, debt) in self.debts() {
            *positions.entry(debtor).or_default() += i128::from(debt);
            *positions.entry(creditor).or_default() -= i128::from(debt);
        }
        positions
            .into_iter()
            .map(|(state, position)| (state, saturate_to_i64(position)))
            .collect()
    }

    /// Every state named by a recorded return or admission, in code order.
    pub fn states(&self) -> impl Iterator<Item = S> + '_ {
        self.states.iter().copied()
    }

    /// Every debt above zero as `(debtor, creditor, d(debtor, creditor))`, ordered by debtor
    /// then creditor. The debtor is the state that must admit; the creditor its origin.
    pub fn debts(&self) -> impl Iterator<Item = (S, S, u64)> + '_ {
        self.pairs
            .iter()
            .map(|((debtor, creditor), tally)| (*debtor, *creditor, tally.debt()))
            .filter(|(_, _, debt)| *debt > 0)
    }

    /// Every credit above zero as `(holder, counterpart, credit)`, ordered by holder then
    /// counterpart.
    pub fn credits(&self) -> impl Iterator<Item = (S, S, u64)> + '_ {
        self.pairs
            .iter()
            .map(|((holder, counterpart), tally)| (*holder, *counterpart, tally.credit()))
            .filter(|(_, _, credit)| *credit > 0)
    }

    fn tally(&self, first: S, second: S) -> PairTally {
        self.pairs
            .get(&(first, second))
            .copied()
            .unwrap_or_default()
    }

    fn tally_mut(&mut self, first: S, second: S) -> &mut PairTally {
        self.states.insert(first);
        self.states.insert(second);
        self.pairs.entry((first, second)).or_default()
    }
}

fn saturate_to_i64(value: i128) -> i64 {
    i64::try_from(value).unwrap_or(if value < 0 { i64::MIN } else { i64::MAX })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::state;
    use proptest::prelude::*;

    const CODES: [&str; 5] = ["GB", "FR", "BE", "DE", "IT"];

    #[derive(Debug, Clone, Copy)]
    enum Movement {
        Return {
            from: usize,
            to: usize,
            count: u64,
        },
        Admission {
            admitting: usize,
            origin: usize,
            count: u64,
        },
    }

    fn movement() -> impl Strategy<Value = Movement> {
        let pair = (0..CODES.len(), 0..CODES.len()).prop_filter("two states", |(a, b)| a != b);
        (any::<bool>(), pair, 0u64..50).prop_map(|(is_return, (first, second), count)| {
            if is_return {
                Movement::Return {
                    from: first,
                    to: second,
                    count,
                }
            } else {
                Movement::Admission {
                    admitting: first,
                    origin: second,
                    count,
                }
            }
        })
    }

    fn replay(movements: &[Movement]) -> Ledger {
        let mut ledger = Ledger::new();
        for movement in movements {
            match *movement {
                Movement::Return { from, to, count } => {
                    ledger.record_return(state(CODES[from]), state(CODES[to]), count)
                }
                Movement::Admission {
                    admitting,
                    origin,
                    count,
                } => ledger.record_admission(state(CODES[admitting]), state(CODES[origin]), count),
            }
        }
        ledger
    }

    /// Recounts positions from scratch, with nothing but the definitions of DESIGN.md §3.
    fn naive_positions(movements: &[Movement]) -> Vec<i64> {
        let size = CODES.len();
        let mut balance = vec![vec![0i64; size]; size];
        for movement in movements {
            match *movement {
                Movement::Return { from, to, count } => balance[from][to] += count as i64,
                Movement::Admission {
                    admitting,
                    origin,
                    count,
                } => balance[admitting][origin] -= count as i64,
            }
        }
        (0..size)
            .map(|state| {
                let owed: i64 = (0..size).map(|other| balance[state][other].max(0)).sum();
                let owed_to: i64 = (0..size).map(|other| balance[other][state].max(0)).sum();
                owed - owed_to
            })
            .collect()
    }

    /// A ledger that recorded `returns` (from, to, count), then `admissions` (admitting, origin,
    /// count), one by one.
    fn recorded(returns: &[(&str, &str, u64)], admissions: &[(&str, &str, u64)]) -> Ledger {
        let mut ledger = Ledger::new();
        for (from, to, count) in returns {
            ledger.record_return(state(from), state(to), *count);
        }
        for (admitting, origin, count) in admissions {
            ledger.record_admission(state(admitting), state(origin), *count);
        }
        ledger
    }

    #[test]
    fn a_return_creates_a_debt_of_the_returning_state_only() {
        let ledger = recorded(&[("GB", "FR", 120)], &[("GB", "FR", 40)]);
        assert_eq!(ledger.debt(state("GB"), state("FR")), 80);
        assert_eq!(ledger.debt(state("FR"), state("GB")), 0);
        assert_eq!(ledger.position(state("GB")), 80);
        assert_eq!(ledger.position(state("FR")), -80);
        assert_eq!(ledger.bilateral_need(state("GB"), state("FR")), 80);
        assert_eq!(ledger.credits().count(), 0);
    }

    #[test]
    fn admissions_ahead_of_returns_are_a_credit_never_the_other_states_debt() {
        let ledger = recorded(&[("GB", "FR", 281)], &[("GB", "FR", 350)]);
        assert_eq!(ledger.credit(state("GB"), state("FR")), 69);
        assert_eq!(ledger.debt(state("GB"), state("FR")), 0);
        assert_eq!(ledger.debt(state("FR"), state("GB")), 0);
        assert_eq!(ledger.position(state("FR")), 0);
        assert_eq!(
            ledger.credits().collect::<Vec<_>>(),
            vec![(state("GB"), state("FR"), 69)]
        );
    }

    #[test]
    fn a_carried_debt_weighs_as_returns_do_and_admissions_discharge_it_first() {
        let mut ledger = recorded(&[("GB", "FR", 5)], &[("GB", "FR", 4)]);
        ledger.record_carried(state("GB"), state("FR"), 3);
        assert_eq!(ledger.carried(state("GB"), state("FR")), 3);
        assert_eq!(ledger.returns(state("GB"), state("FR")), 5);
        assert_eq!(ledger.debt(state("GB"), state("FR")), 4);
        assert_eq!(ledger.position(state("FR")), -4);
        // Admissions beyond returns and carried debts together are a credit.
        ledger.record_admission(state("GB"), state("FR"), 6);
        assert_eq!(ledger.debt(state("GB"), state("FR")), 0);
        assert_eq!(ledger.credit(state("GB"), state("FR")), 2);
    }

    #[test]
    fn mutual_debts_offset_in_the_bilateral_need() {
        let ledger = recorded(&[("GB", "FR", 10), ("FR", "GB", 4)], &[]);
        assert_eq!(ledger.bilateral_need(state("GB"), state("FR")), 6);
        assert_eq!(ledger.bilateral_need(state("FR"), state("GB")), 0);
        assert_eq!(ledger.position(state("GB")), 6);
    }

    #[test]
    fn a_three_state_cycle_nets_to_zero_positions() {
        let ledger = recorded(&[("GB", "FR", 10), ("FR", "BE", 10), ("BE", "GB", 10)], &[]);
        assert_eq!(ledger.debts().count(), 3);
        assert!(ledger.positions().values().all(|position| *position == 0));
        assert_eq!(
            ledger.states().collect::<Vec<_>>(),
            vec![state("BE"), state("FR"), state("GB")]
        );
    }

    proptest! {
        #[test]
        fn debts_come_from_returns_only(movements in prop::collection::vec(movement(), 0..40)) {
            let ledger = replay(&movements);
            for (debtor, creditor, debt) in ledger.debts() {
                prop_assert!(debt <= ledger.returns(debtor, creditor));
            }
            let admissions_only: Vec<Movement> = movements
                .iter()
                .copied()
                .filter(|movement| matches!(movement, Movement::Admission { .. }))
                .collect();
            prop_assert_eq!(replay(&admissions_only).debts().count(), 0);
        }

        #[test]
        fn admissions_ahead_of_returns_become_credits_of_the_admitting_state(
            movements in prop::collection::vec(movement(), 0..40)
        ) {
            let ledger = replay(&movements);
            for (holder, counterpart, credit) in ledger.credits() {
                let returns = ledger.returns(holder, counterpart);
                let admissions = ledger.admissions(holder, counterpart);
                prop_assert_eq!(credit, admissions - returns);
                prop_assert_eq!(ledger.debt(holder, counterpart), 0);
                // The credit never shows up as the counterpart's debt.
                prop_assert!(ledger.debt(counterpart, holder) <= ledger.returns(counterpart, holder));
                prop_assert_eq!(
                    ledger.debt(counterpart, holder),
                    ledger.returns(counterpart, holder)
                        .saturating_sub(ledger.admissions(counterpart, holder))
                );
            }
        }

        #[test]
        fn building_at_once_equals_recording_one_by_one(
            movements in prop::collection::vec(movement(), 0..40)
        ) {
            let mut returns = Vec::new();
            let mut admissions = Vec::new();
            for movement in &movements {
                match *movement {
                    Movement::Return { from, to, count } => {
                        returns.push((state(CODES[from]), state(CODES[to]), count))
                    }
                    Movement::Admission {
                        admitting,
                        origin,
                        count,
                    } => admissions.push((state(CODES[admitting]), state(CODES[origin]), count)),
                }
            }
            prop_assert_eq!(Ledger::from_movements(returns, admissions), replay(&movements));
        }

        #[test]
        fn positions_sum_to_zero(movements in prop::collection::vec(movement(), 0..40)) {
            let ledger = replay(&movements);
            let total: i64 = ledger.states().map(|state| ledger.position(state)).sum();
            prop_assert_eq!(total, 0);
        }

        #[test]
        fn positions_equal_a_naive_recount(movements in prop::collection::vec(movement(), 0..40)) {
            let ledger = replay(&movements);
            let expected = naive_positions(&movements);
            let all_positions = ledger.positions();
            for (index, code) in CODES.iter().enumerate() {
                prop_assert_eq!(ledger.position(state(code)), expected[index]);
                let listed = all_positions.get(&state(code)).copied().unwrap_or(0);
                prop_assert_eq!(listed, expected[index]);
            }
        }
    }
}
