//! The pair ledger a node can see from its own cases, for the parity guard.
//!
//! A node is a party to every case between its state and a partner, so it can count the
//! confirmed movements of the pair itself: returns confirmed by arrival
//! (`ARRIVAL_CONFIRMED`) and admissions confirmed by departure (`DEPARTURE_CONFIRMED`).
//! Until the coordinator publishes reconciled positions, this count is the one the guard
//! uses (DESIGN.md §3, "Parity guard").

use accord_domain::StateCode;
use accord_domain::ledger::Ledger;

use super::{App, Error};
use crate::store::CaseKind;

const RETURN_CONFIRMED: &str = "ARRIVAL_CONFIRMED";
const ADMISSION_CONFIRMED: &str = "DEPARTURE_CONFIRMED";

impl App {
    /// The ledger of the pair (own state, `partner`) from the confirmed cases stored here.
    pub(crate) async fn pair_ledger(&self, partner: StateCode) -> Result<Ledger, Error> {
        let own = self.own_state();
        let store = self.store();
        let mut ledger = Ledger::new();
        for (from, to) in [(own, partner), (partner, own)] {
            let returns = store
                .count_cases(
                    CaseKind::Readmission,
                    from.as_str(),
                    to.as_str(),
                    RETURN_CONFIRMED,
                )
                .await?;
            ledger.record_return(from, to, returns);
            let admissions = store
                .count_cases(
                    CaseKind::Admission,
                    from.as_str(),
                    to.as_str(),
                    ADMISSION_CONFIRMED,
                )
                .await?;
            ledger.record_admission(from, to, admissions);
        }
        Ok(ledger)
    }
}
