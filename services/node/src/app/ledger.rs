//! The pair ledger a node can see from its own cases, for the parity guard.
//!
//! A node is a party to every case between its state and a partner, so it can count the
//! confirmed movements of the pair itself: returns confirmed by arrival
//! (`ARRIVAL_CONFIRMED`), and admissions as the domain counts them
//! (`AdmissionCase::is_counted`): at `DEPARTURE_CONFIRMED` always, and at `ARRIVED` when the
//! case's regime profile asks for no departure confirmation
//! (`RegimeProfile::admission_departure_confirmation` false, as under `DUBLIN_III`), since
//! such a case ends there. Until the coordinator publishes reconciled positions, this count
//! is the one the guard uses (DESIGN.md §3, "Parity guard").
//!
//! An admission case takes its profile from its offer's regime, so the arrivals that count
//! are those of cases holding a place of an offer whose profile asks no confirmation. The
//! count reads case summaries and offers, never an admission case's history; a direction
//! with no case at `ARRIVED` costs three counts and nothing more.

use accord_domain::admission::{AdmissionStatus, Offer};
use accord_domain::ledger::Ledger;
use accord_domain::{CaseRef, StateCode};

use super::{Core, Error};
use accord_domain::CaseKind;

use crate::store::{CaseFilter, Store};

const RETURN_CONFIRMED: &str = "ARRIVAL_CONFIRMED";

/// Summaries read per query while scanning a pair's offers or arrived admission cases.
const LEDGER_SCAN_BATCH: u64 = 500;

impl Core {
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
            let admissions = self.counted_admissions(from, to).await?;
            ledger.record_admission(from, to, admissions);
        }
        Ok(ledger)
    }

    /// Admissions by `admitting` from `origin` that count: every case at
    /// `DEPARTURE_CONFIRMED`, and every case at `ARRIVED` under an offer whose regime profile
    /// asks for no departure confirmation.
    async fn counted_admissions(
        &self,
        admitting: StateCode,
        origin: StateCode,
    ) -> Result<u64, Error> {
        let count = |status: AdmissionStatus| {
            self.store().count_cases(
                CaseKind::Admission,
                admitting.as_str(),
                origin.as_str(),
                status.code(),
            )
        };
        let confirmed = count(AdmissionStatus::DepartureConfirmed).await?;
        if count(AdmissionStatus::Arrived).await? == 0 {
            return Ok(confirmed);
        }
        let offers = self.offers_without_confirmation(admitting, origin).await?;
        if offers.is_empty() {
            return Ok(confirmed);
        }
        let arrived = self
            .arrived_under_any_of(&offers, admitting, origin)
            .await?;
        Ok(confirmed.saturating_add(arrived))
    }

    /// The offers by `admitting` to people in `origin` whose regime profile asks for no
    /// departure confirmation, so that their cases count at arrival.
    async fn offers_without_confirmation(
        &self,
        admitting: StateCode,
        origin: StateCode,
    ) -> Result<Vec<Offer>, Error> {
        let mut scan = PairScan::new(self.pair_filter(CaseKind::Offer, None, admitting, origin));
        let mut offers = Vec::new();
        while let Some(offer_refs) = scan.next_batch(self.store(), admitting, origin).await? {
            for offer_ref in offer_refs {
                let Some(regime) = self.offer_regime(&offer_ref).await? else {
                    continue;
                };
                if regime.profile().admission_departure_confirmation {
                    continue;
                }
                if let Some(loaded) = self.load_offer(&offer_ref).await? {
                    offers.push(loaded.case);
                }
            }
        }
        Ok(offers)
    }

    /// How many admission cases by `admitting` from `origin` are at `ARRIVED` and hold a
    /// place of one of `offers`.
    async fn arrived_under_any_of(
        &self,
        offers: &[Offer],
        admitting: StateCode,
        origin: StateCode,
    ) -> Result<u64, Error> {
        let arrived = Some(AdmissionStatus::Arrived);
        let filter = self.pair_filter(CaseKind::Admission, arrived, admitting, origin);
        let mut scan = PairScan::new(filter);
        let mut counted: u64 = 0;
        while let Some(case_refs) = scan.next_batch(self.store(), admitting, origin).await? {
            for case_ref in case_refs {
                let holds = offers.iter().any(|offer| offer.holds_slot(&case_ref));
                counted = counted.saturating_add(u64::from(holds));
            }
        }
        Ok(counted)
    }

    /// The store's filter nearest to the pair (`first`, `second`): the partner's records of
    /// `case_kind`, both ways (the scan keeps one way).
    fn pair_filter(
        &self,
        case_kind: CaseKind,
        status: Option<AdmissionStatus>,
        first: StateCode,
        second: StateCode,
    ) -> CaseFilter {
        let partner = if first == self.own_state() {
            second
        } else {
            first
        };
        CaseFilter {
            case_kind,
            counterpart: Some(partner.to_string()),
            status: status.map(|status| status.code().to_owned()),
        }
    }
}

/// Reads the references of the summaries a filter selects, newest first and in
/// batches of [`LEDGER_SCAN_BATCH`], to the end of the table: the ledger counts every case.
struct PairScan {
    filter: CaseFilter,
    after: Option<String>,
    ended: bool,
}

impl PairScan {
    fn new(filter: CaseFilter) -> Self {
        Self {
            filter,
            after: None,
            ended: false,
        }
    }

    /// The next batch's references of records between `first` and `second` (in that
    /// order), or `None` once the table ended.
    async fn next_batch(
        &mut self,
        store: &Store,
        first: StateCode,
        second: StateCode,
    ) -> Result<Option<Vec<CaseRef>>, Error> {
        if self.ended {
            return Ok(None);
        }
        let records = store
            .list_cases(&self.filter, self.after.as_deref(), LEDGER_SCAN_BATCH)
            .await?;
        self.ended = (records.len() as u64) < LEDGER_SCAN_BATCH;
        self.after = records.last().map(|record| record.case_ref.clone());
        records
            .iter()
            .filter(|record| {
                record.first_state == first.as_str() && record.second_state == second.as_str()
            })
            .map(|record| {
                CaseRef::parse(&record.case_ref).map_err(|error| {
                    Error::internal(
                        format!("reading stored reference {}", record.case_ref),
                        error,
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some)
    }
}
