//! Admission case use cases: nominating a candidate under an offer, every caseworker step,
//! receiving the partner's case events, the grant's lapse, and reading cases.
//!
//! Steps follow the shared pipeline (`case`); what is particular to admission cases is
//! here: a nomination claims one of its offer's places (the offer's SLOT_CLAIMED and the
//! case's NOMINATED in one transaction, the offer event first); a case that ends without an
//! admission releases its place (SLOT_RELEASED with the case's event); the offer's parity
//! pause; and the checks of a grant's and a journey's dates against the visa. A case's
//! events are read under its offer's regime, which they do not repeat.

use std::future::Future;

use accord_domain::admission::{
    self as domain, AdmissionCase, AdmissionEventKind, AdmissionStatus, Offer, OfferEventKind,
};
use accord_domain::deadline;
use accord_domain::parity;
use accord_domain::reason::OfferPauseReason;
use accord_domain::regime::RegimeProfile;
use accord_domain::{
    Actor, CaseKind, CaseRef, Lifecycle, Regime, StateCode, StepRefusal, Timestamp,
};

use super::agreement::check_data_flow;
use super::case::{CaseType, Loaded, event_record};
use super::event_key::EventKey;
use super::idempotency::Asked;
use super::list::RoleAndStatuses;
use super::offer::offer_error;
use super::{Cases, Core, Deadlines, Error, Precondition, not_before};
use crate::convert::admission as convert;
use crate::convert::command::{
    AdmissionFilter, Answer, ListQuery, NominateCandidate, Receipt, RecordPage, Step,
};
use crate::convert::envelope::{Signed, Wire};
use crate::store::{CaseRecord, CaseWrite, Change, SummaryUpdate};

/// What an admission event carries beyond the domain's facts.
pub type Detail = <AdmissionCase as Wire>::Detail;

/// The wire event of an admission case, as a partner delivers it.
pub type WireEvent = <AdmissionCase as Wire>::WireEvent;

impl CaseType for AdmissionCase {
    const KIND: CaseKind = CaseKind::Admission;

    fn refusal(error: &domain::Error, subject: &str) -> Error {
        admission_error(error, subject)
    }

    fn next_own_deadline(case: &Self, own: StateCode, _log_clock: bool) -> Option<Timestamp> {
        // Only A's clock records a lapse, so only A's node sweeps for it.
        let visa_running = matches!(
            case.status(),
            AdmissionStatus::Granted | AdmissionStatus::TravelBooked
        );
        case.visa_valid_until()
            .filter(|_| visa_running && case.admitting() == own)
            .map(|until| until.plus_millis(1))
    }

    fn load(
        core: &Core,
        case_ref: &CaseRef,
    ) -> impl Future<Output = Result<Option<Loaded<Self>>, Error>> + Send {
        let core = core.clone();
        let case_ref = case_ref.clone();
        async move {
            match core.admission_regime(&case_ref).await? {
                Some(regime) => core.load_as(&case_ref, Some(regime)).await,
                None => Ok(None),
            }
        }
    }

    fn actor_of_step(kind: &AdmissionEventKind, own: StateCode) -> Actor {
        // A grant's lapse is always A's clock event, also when A's caseworker reports it.
        if *kind == AdmissionEventKind::GrantLapsed {
            Actor::Clock(own)
        } else {
            Actor::State(own)
        }
    }

    fn ordering_key(case: &Self) -> &CaseRef {
        case.offer_ref()
    }
}

super::case::served!(
    AdmissionCase,
    cases,
    admission_step,
    deliver_admission_event
);

impl Cases {
    /// Nominates a candidate: A records the offer's SLOT_CLAIMED and the new case's
    /// NOMINATED in one transaction and queues both for O's node, the offer event first.
    pub async fn nominate_candidate(
        &self,
        caller: &str,
        request: NominateCandidate<Detail>,
    ) -> Result<Answer<AdmissionCase>, Error> {
        let event_key = self.core.event_key_of(&request.key);
        let asked = Asked::new(caller, &request.key, &event_key);
        self.core
            .replay_or_attempt(&request.offer_ref, asked, || {
                self.try_nominate(asked, &request)
            })
            .await
    }

    async fn try_nominate(
        &self,
        asked: Asked<'_>,
        request: &NominateCandidate<Detail>,
    ) -> Result<Answer<AdmissionCase>, Error> {
        let own = self.core.own_state();
        let offer_ref = &request.offer_ref;
        let loaded = self
            .core
            .load_offer(offer_ref)
            .await?
            .ok_or_else(|| Error::NotFound(offer_ref.to_string()))?;
        let origin = loaded.case.origin();
        if loaded.case.admitting() != own {
            return Err(Error::PermissionDenied(format!(
                "only {}, the admitting state, nominates under {offer_ref}; not {own}",
                loaded.case.admitting()
            )));
        }
        let profile = loaded.case.regime().profile();
        self.check_nomination_agreement(origin, &profile)?;
        let now = not_before(self.core.now(), loaded.case.last_event_at());
        if let Some(refusal) = self.pause_for_parity(&loaded, &profile, now).await? {
            return Err(refusal);
        }
        let case_ref = CaseRef::new(CaseKind::Admission, own, origin, &super::new_case_id(now))
            .map_err(|error| Error::internal("making a case reference", error))?;
        let nomination = AdmissionCase::nominate(
            case_ref.clone(),
            &loaded.case,
            profile,
            Actor::State(own),
            now,
        )
        .map_err(|error| admission_error(&error, &offer_ref.to_string()))?;
        let claim_detail = convert::offer_detail(&nomination.offer_event.kind);
        let claim_key = self.core.event_keys().of_own_step("claim", &case_ref);
        let claim: Signed<Offer> = self
            .core
            .seal(nomination.offer_event, &claim_key, claim_detail);
        let nominated: Signed<AdmissionCase> = self.core.seal(
            nomination.case_event,
            asked.event_key,
            Some(request.nomination.clone()),
        );
        let pending = self.core.pending_count(offer_ref).await?.saturating_add(2);
        let change = Change {
            idempotency: None,
            case: CaseWrite::Create(self.core.summary(&nomination.case, now.as_millis())),
            offer: Some(SummaryUpdate {
                record: self
                    .core
                    .summary(&nomination.offer, loaded.summary.created_at),
                expected_event_count: loaded.summary.event_count,
            }),
            events: vec![event_record(&claim), event_record(&nominated)],
            outbox: vec![
                self.core.outbox(&claim, origin, offer_ref),
                self.core.outbox(&nominated, origin, offer_ref),
            ],
        };
        let answer = Answer {
            case: nomination.case,
            history: vec![nominated],
            pending_deliveries: pending,
            admitted: 0,
        };
        let change = Change {
            idempotency: Some(self.core.answer_record(asked, &answer)),
            ..change
        };
        self.core.commit_answer(asked, change, answer).await
    }

    /// A nominates only for a partner, and only where the person may travel from A to O.
    fn check_nomination_agreement(
        &self,
        origin: StateCode,
        profile: &RegimeProfile,
    ) -> Result<(), Error> {
        let own = self.core.own_state();
        let subject = origin.to_string();
        self.partners
            .check_agreement(origin, profile.regime, &subject, self.core.now())?;
        check_data_flow(profile, (own, origin), &subject, || {
            format!(
                "under {} no personal data may flow from {own} to {origin}, so {own} cannot nominate people in {origin}",
                profile.regime.code()
            )
        })
    }

    /// The parity guard on offers (see the module doc): records PAUSED {PARITY_NOT_REACHED}
    /// and returns the refusal to give when A's credit with O exceeds the pair's limit.
    async fn pause_for_parity(
        &self,
        loaded: &Loaded<Offer>,
        profile: &RegimeProfile,
        now: Timestamp,
    ) -> Result<Option<Error>, Error> {
        let own = self.core.own_state();
        let offer = &loaded.case;
        let origin = offer.origin();
        let limit = self.partners.parity_limit(origin, self.core.now());
        let Some(limit) = limit.filter(|_| profile.parity_refusal_allowed) else {
            return Ok(None);
        };
        if offer.status() != domain::OfferStatus::Open {
            return Ok(None);
        }
        let credit = self.core.pair_ledger(origin).await?.credit(own, origin);
        if !parity::offer_should_pause(credit, limit) {
            return Ok(None);
        }
        let offer_ref = offer.case_ref();
        let pause = OfferEventKind::Paused {
            reason: OfferPauseReason::ParityNotReached,
        };
        let (paused, event) = offer
            .record(Actor::State(own), pause, now)
            .map_err(|error| offer_error(&error, &offer_ref.to_string()))?;
        let step = format!("parity-pause-{}", event.sequence);
        let key = self.core.event_keys().of_own_step(&step, offer_ref);
        let detail = convert::offer_detail(&event.kind);
        let signed: Signed<Offer> = self.core.seal(event, &key, detail);
        let change = Change {
            idempotency: None,
            case: loaded.update(&self.core, &paused),
            offer: None,
            events: vec![event_record(&signed)],
            outbox: vec![self.core.outbox(&signed, origin, offer_ref)],
        };
        self.core.store().commit(change).await?;
        tracing::info!(%offer_ref, credit, limit = limit.0, "offer paused by the parity guard");
        Ok(Some(Error::precondition(
            Precondition::OfferNotAvailable,
            offer_ref.to_string(),
            format!(
                "{offer_ref} is paused: parity not reached ({own} admitted {credit} more people from {origin} than it returned there, above the limit of {})",
                limit.0
            ),
        )))
    }

    /// Records a caseworker's step on an admission case, for this node's state.
    pub async fn admission_step(
        &self,
        caller: &str,
        step: Step<AdmissionCase>,
    ) -> Result<Answer<AdmissionCase>, Error> {
        self.core
            .step(
                caller,
                &step,
                |loaded, after, step| completed_detail(&loaded.case, after, step),
                |answer, change| self.core.with_release(answer, change),
            )
            .await
    }

    /// Receives a partner's signed admission event. Idempotent: the same event again is
    /// acknowledged as already delivered; another event under the same key is `KeyReused`.
    pub async fn deliver_admission_event(
        &self,
        partner: StateCode,
        wire: WireEvent,
    ) -> Result<Receipt, Error> {
        let case_ref = self.core.check_delivery::<AdmissionCase>(partner, &wire)?;
        let regime = self.delivered_regime(&case_ref, &wire).await?;
        let signed = &self
            .partners
            .verify_received(&self.core, partner, wire, Some(regime))
            .await?;
        self.core
            .receive_or_continue(partner, signed, || self.receive_nomination(partner, signed))
            .await
    }

    /// The regime a delivered event of `case_ref` is read under: its offer's, named by the
    /// event itself when it is the nomination, or by the case this node holds.
    async fn delivered_regime(
        &self,
        case_ref: &CaseRef,
        wire: &WireEvent,
    ) -> Result<Regime, Error> {
        if let Some(offer_text) = convert::nominated_offer(wire) {
            let offer_ref = CaseRef::parse(offer_text)
                .map_err(|error| Error::invalid("event.nominated.offer_ref", error.to_string()))?;
            return self.core.offer_regime(&offer_ref).await?.ok_or_else(|| {
                Error::precondition(
                    Precondition::SequenceGap,
                    offer_ref.to_string(),
                    format!(
                        "SEQUENCE_GAP: offer {offer_ref} is unknown here; deliver its events first"
                    ),
                )
            });
        }
        match self.core.admission_regime(case_ref).await? {
            Some(regime) => Ok(regime),
            None => Err(Error::precondition(
                Precondition::SequenceGap,
                case_ref.to_string(),
                format!(
                    "SEQUENCE_GAP: {case_ref} is unknown here; deliver its NOMINATED event (sequence 1) first"
                ),
            )),
        }
    }

    /// O receives A's nomination: the case starts on O's node under the offer O holds.
    async fn receive_nomination(
        &self,
        partner: StateCode,
        signed: &Signed<AdmissionCase>,
    ) -> Result<Receipt, Error> {
        let own = self.core.own_state();
        let event = signed.event();
        let case_ref = &event.case_ref;
        let AdmissionEventKind::Nominated { offer, regime } = &event.kind else {
            return Err(Error::precondition(
                Precondition::SequenceGap,
                case_ref.to_string(),
                format!(
                    "SEQUENCE_GAP: {case_ref} is unknown here; deliver its NOMINATED event (sequence 1) first"
                ),
            ));
        };
        let same_pair = offer.kind() == CaseKind::Offer
            && offer.first_state() == case_ref.first_state()
            && offer.second_state() == case_ref.second_state();
        if !same_pair {
            return Err(Error::invalid(
                "event.nominated.offer_ref",
                format!("{offer} is not an offer of {case_ref}'s pair"),
            ));
        }
        if case_ref.first_state() != partner || event.sequence != 1 {
            return Err(Error::invalid(
                "event.sequence",
                "a case starts with the admitting state's NOMINATED at sequence 1",
            ));
        }
        let subject = case_ref.to_string();
        self.partners
            .check_agreement(partner, *regime, &subject, self.core.now())?;
        check_data_flow(&regime.profile(), (partner, own), &subject, || {
            format!(
                "under {} no personal data may flow from {partner} to {own}",
                regime.code()
            )
        })?;
        self.core.open_received(signed).await
    }

    /// A case with its person and full history, for either party's gateway.
    pub async fn get_admission(&self, case_ref: &CaseRef) -> Result<Answer<AdmissionCase>, Error> {
        let loaded = AdmissionCase::load(&self.core, case_ref)
            .await?
            .ok_or_else(|| Error::NotFound(case_ref.to_string()))?;
        let offer_ref = loaded.case.offer_ref().clone();
        self.core
            .answer_of(Some(loaded), case_ref, &offer_ref)
            .await
    }

    /// A page of cases, newest first (`Store::list_cases`).
    pub async fn list_admissions(
        &self,
        query: ListQuery<AdmissionFilter>,
    ) -> Result<RecordPage<AdmissionCase>, Error> {
        let filter = &query.filter;
        let role_and_statuses = RoleAndStatuses {
            own: self.core.own_state(),
            admitting: filter.admitting,
            statuses: filter.statuses.iter().map(|status| status.code()).collect(),
        };
        let store_filter = role_and_statuses.store_filter(CaseKind::Admission, filter.counterpart);
        let keep = |summary: &CaseRecord| {
            let recent = filter
                .updated_since
                .is_none_or(|since| summary.updated_at >= since.as_millis());
            role_and_statuses.keeps(summary) && recent
        };
        let after = query.after.as_deref();
        self.core
            .list_records(
                store_filter,
                after,
                query.page_size,
                keep,
                |loaded: Loaded<AdmissionCase>| async move {
                    let offer_ref = loaded.case.offer_ref().clone();
                    if filter
                        .offer_ref
                        .as_ref()
                        .is_some_and(|wanted| *wanted != offer_ref)
                    {
                        return Ok(None);
                    }
                    let case_ref = loaded.case.case_ref().clone();
                    self.core
                        .answer_of(Some(loaded), &case_ref, &offer_ref)
                        .await
                        .map(Some)
                },
            )
            .await
    }
}

impl Core {
    /// Adds to a case event's change the offer's SLOT_RELEASED when the case ended without
    /// an admission, and the answer's count of pending messages under the offer.
    async fn with_release(
        &self,
        mut answer: Answer<AdmissionCase>,
        mut change: Change,
    ) -> Result<(Answer<AdmissionCase>, Change), Error> {
        let case = &answer.case;
        let offer_ref = case.offer_ref().clone();
        if case.status().releases_offer_slot() {
            let at = answer
                .event()
                .map_or_else(|| self.now(), |event| event.event().occurred_at);
            let (release, summary) = self.release_slot(case, at).await?;
            let partner = AdmissionCase::partner(case, self.own_state());
            change.events.push(event_record(&release));
            change
                .outbox
                .push(self.outbox(&release, partner, &offer_ref));
            change.offer = Some(summary);
        }
        answer.pending_deliveries = self
            .pending_count(&offer_ref)
            .await?
            .saturating_add(u32::try_from(change.outbox.len()).unwrap_or(u32::MAX));
        Ok((answer, change))
    }

    /// The offer's signed SLOT_RELEASED for a case that ended without an admission, and the
    /// offer's summary after it, to be written with the case's change.
    async fn release_slot(
        &self,
        case: &AdmissionCase,
        at: Timestamp,
    ) -> Result<(Signed<Offer>, SummaryUpdate), Error> {
        let offer_ref = case.offer_ref();
        let loaded = self.load_offer(offer_ref).await?.ok_or_else(|| {
            Error::inconsistent(format!("{offer_ref} of {} vanished", case.case_ref()))
        })?;
        let release = OfferEventKind::SlotReleased {
            admission: case.case_ref().clone(),
        };
        let at = not_before(at, loaded.case.last_event_at());
        let (offer, event) = loaded
            .case
            .record(Actor::State(case.admitting()), release, at)
            .map_err(|error| offer_error(&error, &offer_ref.to_string()))?;
        let key = self.event_keys().of_own_step("release", case.case_ref());
        let summary = SummaryUpdate {
            record: self.summary(&offer, loaded.summary.created_at),
            expected_event_count: loaded.summary.event_count,
        };
        let detail = convert::offer_detail(&event.kind);
        Ok((self.seal(event, &key, detail), summary))
    }

    /// The regime an admission case's events are read under: its offer's, named by the
    /// case's first (NOMINATED) event; `None` when this node holds no such case. Reads the
    /// first event and the offer's, not the case's history.
    async fn admission_regime(&self, case_ref: &CaseRef) -> Result<Option<Regime>, Error> {
        let Some(first) = self
            .store()
            .events_through(&case_ref.to_string(), 1)
            .await?
            .pop()
        else {
            return Ok(None);
        };
        let offer_ref = convert::stored_nomination_offer(&first.envelope).ok_or_else(|| {
            Error::inconsistent(format!("{case_ref} does not start with NOMINATED"))
        })?;
        let regime = self.offer_regime(&offer_ref).await?.ok_or_else(|| {
            Error::inconsistent(format!("{case_ref}'s offer {offer_ref} is missing"))
        })?;
        Ok(Some(regime))
    }
}

impl Deadlines {
    /// Records the grant's lapse on `case_ref` when its visa has passed and this node is A's.
    /// Returns whether an event was recorded.
    pub(crate) async fn record_due_admission_deadline(
        &self,
        case_ref: &CaseRef,
    ) -> Result<bool, Error> {
        let Some(loaded) = AdmissionCase::load(&self.core, case_ref).await? else {
            return Ok(false);
        };
        let due = deadline::admission_due(&loaded.case, self.core.now())
            .filter(|due| due.actor.state() == self.core.own_state());
        let Some(due) = due else {
            // Not ours, or not due any more: refresh the summary's next deadline.
            let change = Change {
                idempotency: None,
                case: loaded.update(&self.core, &loaded.case),
                offer: None,
                events: Vec::new(),
                outbox: Vec::new(),
            };
            self.core.store().commit(change).await?;
            return Ok(false);
        };
        let at = not_before(due.deadline.plus_millis(1), loaded.case.last_event_at());
        let (case, event) = loaded
            .case
            .record(due.actor, due.kind.clone(), at)
            .map_err(|error| Error::internal("recording a due deadline", error))?;
        let key = EventKey::of_deadline(case_ref, event.kind.step().code());
        let detail = convert::grant_lapsed_detail(Some(due.deadline));
        let signed: Signed<AdmissionCase> = self.core.seal(event, &key, Some(detail));
        let partner = AdmissionCase::partner(&case, self.core.own_state());
        let change = Change {
            idempotency: None,
            case: loaded.update(&self.core, &case),
            offer: None,
            events: vec![event_record(&signed)],
            outbox: vec![self.core.outbox(&signed, partner, case.offer_ref())],
        };
        let answer = Answer {
            case,
            history: vec![signed],
            pending_deliveries: 0,
            admitted: 0,
        };
        let (_, change) = self.core.with_release(answer, change).await?;
        self.core.store().commit(change).await?;
        Ok(true)
    }
}

/// The detail a step records, completed from the case, after the step's checks.
fn completed_detail(
    before: &AdmissionCase,
    after: &AdmissionCase,
    step: &Step<AdmissionCase>,
) -> Result<Option<Detail>, Error> {
    let subject = step.case_ref.to_string();
    if let (Some(departure), Some(visa_valid_until)) =
        (step.checks.departure, before.visa_valid_until())
        && departure > visa_valid_until
    {
        return Err(Error::precondition(
            Precondition::DeadlinePassed,
            subject,
            format!("the departure at {departure} is after the visa expires at {visa_valid_until}"),
        ));
    }
    match step.kind {
        AdmissionEventKind::Granted => {
            let granted = after.visa_valid_until();
            if let (Some(requested), Some(granted)) = (step.checks.visa_valid_until, granted)
                && requested > granted
            {
                return Err(Error::invalid(
                    "grant.visa_valid_until",
                    format!(
                        "is beyond the {:?} visa validity of {}: at most {granted}",
                        after.profile().visa_validity,
                        after.profile().regime.code()
                    ),
                ));
            }
            Ok(Some(convert::grant_detail(granted)))
        }
        AdmissionEventKind::GrantLapsed => Ok(Some(convert::grant_lapsed_detail(
            before.visa_valid_until(),
        ))),
        _ => Ok(step.detail.clone()),
    }
}

/// The one mapping of the domain's admission refusals to application errors.
pub(crate) fn admission_error(error: &domain::Error, subject: &str) -> Error {
    use domain::Error as D;
    let description = error.to_string();
    match error {
        D::Step(StepRefusal::NotAParty { .. } | StepRefusal::WrongActor { .. }) => {
            Error::PermissionDenied(description)
        }
        D::Offer(offer) => offer_error(offer, subject),
        D::DeadlinePassed { .. } => {
            Error::precondition(Precondition::DeadlinePassed, subject, description)
        }
        D::Reasons(_) => Error::invalid("refuse.reasons", description),
        D::Step(StepRefusal::StepNotAllowed { .. } | StepRefusal::TimeWentBackwards { .. })
        | D::NotDue { .. }
        | D::ConfirmationNotRequired { .. } => {
            Error::precondition(Precondition::IllegalTransition, subject, description)
        }
        _ => Error::internal(
            format!("the domain refused a step of {subject}"),
            error.clone(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use accord_domain::admission::offer::Error as OfferError;

    #[test]
    fn offer_refusals_of_a_nomination_are_offer_not_available() {
        let refusal = admission_error(&domain::Error::Offer(OfferError::Closed), "OFR-GB-FR-1");
        assert!(matches!(
            refusal,
            Error::FailedPrecondition {
                precondition: Precondition::OfferNotAvailable,
                ..
            }
        ));
    }

    #[test]
    fn new_case_ids_sort_by_time_and_are_valid_reference_ids() {
        let earlier = super::super::new_case_id(Timestamp::from_millis(1_000).unwrap());
        let later = super::super::new_case_id(Timestamp::from_millis(2_000).unwrap());
        assert!(earlier < later);
        let state = StateCode::parse("GB").unwrap();
        let other = StateCode::parse("FR").unwrap();
        assert!(CaseRef::new(CaseKind::Admission, state, other, &earlier).is_ok());
    }
}
