//! Admission offer use cases: publishing, amending, pausing, resuming and closing an offer,
//! receiving the admitting state's offer events on the origin state's node, and reading
//! offers.
//!
//! Only the admitting state A acts on an offer; the origin state O's node holds the same
//! signed history from A's deliveries. Steps follow the shared pipeline (`case`).
//!
//! The offer's history, not its summary row, is the truth: the summary (status, event count)
//! is an index over it. Nominations and slot releases (see `admission`) write an offer event
//! in the same transaction as their admission event, and the offer's summary with it
//! (`Change::offer`): written only if neither the case nor the offer moved since they were
//! read, so a nomination never commits without its offer's summary. Two changes can never
//! both write event *n* of an offer (the event table's key is (reference, sequence)). A
//! summary left behind by an earlier version of the node, which refreshed it in a second
//! commit, is brought up to date by the offer's next change.
//!
//! Outbox messages about an offer and about every admission case under it share one ordering
//! key, the offer's reference: the partner receives a nomination's SLOT_CLAIMED before its
//! NOMINATED, and every case event after the offer events it depends on.

use accord_domain::admission::offer::Error as OfferError;
use accord_domain::admission::{Offer, OfferEventKind};
use accord_domain::{CaseKind, CaseRef, Regime, StateCode, Timestamp};

use super::case::{CaseType, Loaded, event_record};
use super::idempotency::Asked;
use super::list::RoleAndStatuses;
use super::{Core, Error, Offers, Precondition, new_case_id};
use crate::convert::command::{
    Answer, ListQuery, OfferFilter, PublishOffer, Receipt, RecordPage, Step,
};
use crate::convert::envelope::{Signed, Wire};
use crate::store::{CaseFilter, CaseRecord, CaseWrite, Change};

/// What an offer event carries beyond the domain's facts.
pub type Detail = <Offer as Wire>::Detail;

/// The wire event of an offer, as a partner delivers it.
pub type WireEvent = <Offer as Wire>::WireEvent;

/// Admission cases read per query when counting an offer's admitted cases.
const ADMITTED_SCAN_BATCH: u64 = 500;

impl CaseType for Offer {
    const KIND: CaseKind = CaseKind::Offer;

    fn refusal(error: &OfferError, subject: &str) -> Error {
        offer_error(error, subject)
    }

    fn next_own_deadline(_: &Self, _: StateCode, _: bool) -> Option<Timestamp> {
        None
    }
}

super::case::served!(Offer, offers, offer_step, deliver_offer_event);

impl Offers {
    /// Publishes an offer: A records PUBLISHED and queues it for O's node.
    pub async fn publish_offer(
        &self,
        caller: &str,
        request: PublishOffer<Detail>,
    ) -> Result<Answer<Offer>, Error> {
        let event_key = self.core.event_key_of(&request.key);
        let asked = Asked::new(caller, &request.key, &event_key);
        if let Some(answer) = self.core.first_answer_to(asked).await? {
            return Ok(answer);
        }
        let own = self.core.own_state();
        let origin = request.origin;
        self.partners.check_agreement(
            origin,
            request.regime,
            &origin.to_string(),
            self.core.now(),
        )?;
        let now = self.core.now();
        let offer_ref = CaseRef::new(CaseKind::Offer, own, origin, &new_case_id(now))
            .map_err(|error| Error::internal("making an offer reference", error))?;
        let (offer, event) = Offer::publish(
            offer_ref,
            request.regime,
            request.capacity,
            request.window,
            now,
        )
        .map_err(|error| offer_error(&error, &format!("OFR-{own}-{origin}")))?;
        let signed: Signed<Offer> =
            self.core
                .seal(event, asked.event_key, Some(request.publication.clone()));
        let answer = Answer {
            case: offer,
            history: vec![signed],
            pending_deliveries: 1,
            admitted: 0,
        };
        let signed = &answer.history[0];
        let change = Change {
            idempotency: Some(self.core.answer_record(asked, &answer)),
            case: CaseWrite::Create(self.core.summary(&answer.case, now.as_millis())),
            offer: None,
            events: vec![event_record(signed)],
            outbox: vec![self.core.outbox(signed, origin, answer.case.case_ref())],
        };
        self.core.commit_answer(asked, change, answer).await
    }

    /// Records A's step on one of its offers.
    pub async fn offer_step(
        &self,
        caller: &str,
        step: Step<Offer>,
    ) -> Result<Answer<Offer>, Error> {
        let offer_ref = &step.case_ref;
        self.core
            .step(
                caller,
                &step,
                |_, _, step| Ok(step.detail.clone()),
                |mut answer, change| async move {
                    answer.pending_deliveries =
                        self.core.pending_count(offer_ref).await?.saturating_add(1);
                    answer.admitted = self.core.offer_admitted(&answer.case).await?;
                    Ok((answer, change))
                },
            )
            .await
    }

    /// Receives A's signed offer event on O's node. Idempotent: the same event again is
    /// acknowledged as already delivered; another event under the same key is `KeyReused`.
    pub async fn deliver_offer_event(
        &self,
        partner: StateCode,
        wire: WireEvent,
    ) -> Result<Receipt, Error> {
        let offer_ref = self.core.check_delivery::<Offer>(partner, &wire)?;
        let own = self.core.own_state();
        if offer_ref.first_state() != partner || offer_ref.second_state() != own {
            return Err(Error::PermissionDenied(format!(
                "{offer_ref} is not an offer by {partner} to people in {own}"
            )));
        }
        let signed = &self
            .partners
            .verify_received(&self.core, partner, wire, None)
            .await?;
        self.core
            .receive_or_continue(partner, signed, || {
                self.receive_publication(partner, signed)
            })
            .await
    }

    async fn receive_publication(
        &self,
        partner: StateCode,
        signed: &Signed<Offer>,
    ) -> Result<Receipt, Error> {
        let event = signed.event();
        let offer_ref = event.case_ref.to_string();
        let OfferEventKind::Published { regime, .. } = event.kind else {
            return Err(Error::precondition(
                Precondition::SequenceGap,
                offer_ref.clone(),
                format!(
                    "SEQUENCE_GAP: {offer_ref} is unknown here; deliver its PUBLISHED event (sequence 1) first"
                ),
            ));
        };
        if event.sequence != 1 {
            return Err(Error::precondition(
                Precondition::SequenceGap,
                offer_ref.clone(),
                format!(
                    "SEQUENCE_GAP: {offer_ref} is unknown here; deliver its PUBLISHED event (sequence 1) first"
                ),
            ));
        }
        self.partners
            .check_agreement(partner, regime, &offer_ref, self.core.now())?;
        self.core.open_received(signed).await
    }

    /// An offer with its full history, for either party's gateway.
    pub async fn get_offer(&self, offer_ref: &CaseRef) -> Result<Answer<Offer>, Error> {
        let loaded = Offer::load(&self.core, offer_ref).await?;
        self.answer(loaded, offer_ref).await
    }

    /// The offer `loaded` holds (none: `NotFound`), with its pending messages and the
    /// admission cases it counts as admitted.
    async fn answer(
        &self,
        loaded: Option<Loaded<Offer>>,
        offer_ref: &CaseRef,
    ) -> Result<Answer<Offer>, Error> {
        let mut answer = self.core.answer_of(loaded, offer_ref, offer_ref).await?;
        answer.admitted = self.core.offer_admitted(&answer.case).await?;
        Ok(answer)
    }

    /// A page of offers, newest first (`Store::list_cases`).
    pub async fn list_offers(
        &self,
        query: ListQuery<OfferFilter>,
    ) -> Result<RecordPage<Offer>, Error> {
        let filter = RoleAndStatuses {
            own: self.core.own_state(),
            admitting: query.filter.admitting,
            statuses: query.filter.statuses.clone(),
        };
        let store_filter = filter.store_filter(CaseKind::Offer, query.filter.counterpart);
        let keep = |summary: &CaseRecord| filter.keeps(summary);
        let after = query.after.as_deref();
        self.core
            .list_records(
                store_filter,
                after,
                query.page_size,
                keep,
                |loaded: Loaded<Offer>| async move {
                    let offer_ref = loaded.case.case_ref().clone();
                    self.answer(Some(loaded), &offer_ref).await.map(Some)
                },
            )
            .await
    }
}

impl Core {
    /// Reads an offer and rebuilds it from its signed history; `None` if this node holds no
    /// offer `offer_ref`.
    pub(crate) async fn load_offer(
        &self,
        offer_ref: &CaseRef,
    ) -> Result<Option<Loaded<Offer>>, Error> {
        Offer::load(self, offer_ref).await
    }

    /// The regime of a stored offer, from its first (PUBLISHED) event only.
    pub(crate) async fn offer_regime(&self, offer_ref: &CaseRef) -> Result<Option<Regime>, Error> {
        let Some((_summary, records)) = self.store().load_case(&offer_ref.to_string()).await?
        else {
            return Ok(None);
        };
        let Some(first) = records.first() else {
            return Ok(None);
        };
        match Signed::<Offer>::stored(&first.envelope, None)?.event().kind {
            OfferEventKind::Published { regime, .. } => Ok(Some(regime)),
            _ => Err(Error::inconsistent(format!(
                "{offer_ref} does not start with PUBLISHED"
            ))),
        }
    }

    /// How many of the offer's cases reached ARRIVED or DEPARTURE_CONFIRMED: the cases of the
    /// pair in those statuses that hold one of the offer's places.
    pub(crate) async fn offer_admitted(&self, offer: &Offer) -> Result<u32, Error> {
        let counterpart = Offer::partner(offer, self.own_state());
        let mut admitted: u32 = 0;
        for status in ["ARRIVED", "DEPARTURE_CONFIRMED"] {
            let filter = CaseFilter {
                case_kind: CaseKind::Admission,
                counterpart: Some(counterpart.to_string()),
                status: Some(status.to_owned()),
            };
            let mut after: Option<String> = None;
            loop {
                let records = self
                    .store()
                    .list_cases(&filter, after.as_deref(), ADMITTED_SCAN_BATCH)
                    .await?;
                for record in &records {
                    let holds = CaseRef::parse(&record.case_ref)
                        .is_ok_and(|case_ref| offer.holds_slot(&case_ref));
                    admitted = admitted.saturating_add(u32::from(holds));
                }
                if (records.len() as u64) < ADMITTED_SCAN_BATCH {
                    break;
                }
                after = records.last().map(|record| record.case_ref.clone());
            }
        }
        Ok(admitted)
    }
}

/// The one mapping of the domain's offer refusals to application errors.
pub(crate) fn offer_error(error: &OfferError, subject: &str) -> Error {
    use OfferError as O;
    let description = error.to_string();
    match error {
        O::WrongActor { .. } => Error::PermissionDenied(description),
        O::Paused { .. } | O::Closed | O::OutsideWindow { .. } | O::Full { .. } => {
            Error::precondition(Precondition::OfferNotAvailable, subject, description)
        }
        O::ZeroCapacity => Error::invalid("capacity", description),
        O::EmptyWindow { .. } | O::WindowAlreadyClosed { .. } => {
            Error::invalid("window.end_time", description)
        }
        O::EmptyAmendment => Error::invalid("capacity", description),
        O::StepNotAllowed { .. }
        | O::TimeWentBackwards { .. }
        | O::AlreadyClaimed { .. }
        | O::NotClaimed { .. }
        | O::CapacityBelowUse { .. } => {
            Error::precondition(Precondition::IllegalTransition, subject, description)
        }
        _ => Error::internal(
            format!("the domain refused a step of {subject}"),
            error.clone(),
        ),
    }
}
