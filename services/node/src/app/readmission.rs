//! Readmission use cases: opening a case, every caseworker step, receiving the partner's
//! events (with the resolution of two events claiming one sequence), the deadlines this
//! node's clock owns, and reading cases.
//!
//! Steps follow the shared pipeline (`case`); what is particular to readmissions is here:
//! the receipt that starts R's reply clock, the parity guard on a received request, the
//! refusal of a step that a recorded lapse cut off, and a hold's release naming its hold.

use accord_domain::deadline::{self, Deadline};
use accord_domain::parity;
use accord_domain::readmission::{
    self as domain, ReadmissionCase, ReadmissionEventKind, ReadmissionStatus, ReadmissionStep,
};
use accord_domain::reason::ReadmissionReason;
use accord_domain::regime::{ClockDuty, Silence};
use accord_domain::{
    Actor, CaseKind, CaseRef, Event, FreeText, Lifecycle, StateCode, StepRefusal, Timestamp,
};
use accord_trust::PeerIdentity;

use super::agreement::check_data_flow;
use super::case::{CaseType, Loaded, check_sequence, event_record};
use super::event_key::EventKey;
use super::idempotency::Asked;
use super::{Cases, Deadlines, Error, Precondition, not_before};
use crate::convert::command::{
    Answer, ListQuery, OpenReadmission, ReadmissionFilter, Receipt, RecordPage, Step,
};
use crate::convert::envelope::{Signed, Wire};
use crate::convert::readmission as convert;
use crate::store::{CaseFilter, CaseWrite, Change};

/// What a readmission event carries beyond the domain's facts.
pub type Detail = <ReadmissionCase as Wire>::Detail;

/// The wire event of a readmission case, as a partner delivers it.
pub type WireEvent = <ReadmissionCase as Wire>::WireEvent;

impl CaseType for ReadmissionCase {
    const KIND: CaseKind = CaseKind::Readmission;

    fn refusal(error: &domain::Error, subject: &str) -> Error {
        domain_error(error, subject)
    }

    fn step_refusal(loaded: &Loaded<Self>, error: &domain::Error, subject: &str) -> Error {
        step_error(loaded, error, subject)
    }

    fn next_own_deadline(case: &Self, own: StateCode, log_clock: bool) -> Option<Timestamp> {
        next_own_deadline(case, own, log_clock)
    }
}

super::case::served!(
    ReadmissionCase,
    cases,
    readmission_step,
    deliver_readmission_event
);

impl Cases {
    /// Opens a case: S records SUBMITTED and queues it for R's node.
    ///
    /// The hot path reads nothing: the writer checks the idempotency key in the same batch
    /// query that serves every concurrent request, and answers a replay with the first
    /// response. Only a request that fails here looks up its key, so that a replay is
    /// answered with its first result even when the request would now be refused.
    pub async fn open_readmission(
        &self,
        caller: &str,
        request: OpenReadmission<Detail>,
    ) -> Result<Answer<ReadmissionCase>, Error> {
        let event_key = self.core.event_key_of(&request.key);
        let asked = Asked::new(caller, &request.key, &event_key);
        match self.prepare_opening(asked, &request) {
            Ok((change, answer)) => self.core.commit_answer(asked, change, answer).await,
            Err(error) => match self.core.first_answer_to(asked).await? {
                Some(answer) => Ok(answer),
                None => Err(error),
            },
        }
    }

    /// The case, its SUBMITTED event and the change that records them.
    fn prepare_opening(
        &self,
        asked: Asked<'_>,
        request: &OpenReadmission<Detail>,
    ) -> Result<(Change, Answer<ReadmissionCase>), Error> {
        let own = self.core.own_state();
        let requested = request.requested;
        let subject = requested.to_string();
        self.partners
            .check_agreement(requested, request.regime, &subject, self.core.now())?;
        let profile = request.regime.profile();
        check_data_flow(&profile, (own, requested), &subject, || {
            format!(
                "under {} no personal data may flow from {own} to {requested}",
                request.regime.code()
            )
        })?;
        let now = self.core.now();
        let case_ref = CaseRef::new(
            CaseKind::Readmission,
            own,
            requested,
            &super::new_case_id(now),
        )
        .map_err(|error| Error::internal("making a case reference", error))?;
        let (case, event) =
            ReadmissionCase::submit(case_ref, profile, request.arrival, request.track, now)
                .map_err(|error| domain_error(&error, &format!("RDM-{own}-{requested}")))?;
        let signed: Signed<ReadmissionCase> =
            self.core
                .seal(event, asked.event_key, Some(request.submission.clone()));
        let change = Change {
            idempotency: None,
            case: CaseWrite::Create(self.core.summary(&case, now.as_millis())),
            offer: None,
            events: vec![event_record(&signed)],
            outbox: vec![self.core.outbox(&signed, requested, case.case_ref())],
        };
        let answer = Answer {
            case,
            history: vec![signed],
            pending_deliveries: 1,
            admitted: 0,
        };
        let change = Change {
            idempotency: Some(self.core.answer_record(asked, &answer)),
            ..change
        };
        Ok((change, answer))
    }

    /// Records a caseworker's step on a case, for this node's state.
    pub async fn readmission_step(
        &self,
        caller: &str,
        step: Step<ReadmissionCase>,
    ) -> Result<Answer<ReadmissionCase>, Error> {
        self.core
            .step(
                caller,
                &step,
                |loaded, _, step| {
                    check_named_hold(loaded, step)?;
                    Ok(step.detail.clone())
                },
                |answer, change| async move { Ok((answer, change)) },
            )
            .await
    }

    /// Receives a partner's signed event. Idempotent: the same event again is acknowledged
    /// as already delivered; another event under the same key is `KeyReused`.
    pub async fn deliver_readmission_event(
        &self,
        partner: StateCode,
        wire: WireEvent,
    ) -> Result<Receipt, Error> {
        self.core
            .check_delivery::<ReadmissionCase>(partner, &wire)?;
        let signed = &self
            .partners
            .verify_received(&self.core, partner, wire, None)
            .await?;
        let receipt = self
            .core
            .receive(
                partner,
                signed,
                || self.receive_submission(partner, signed),
                |loaded| self.receive_next_event(loaded, signed),
            )
            .await?;
        if receipt.already_delivered {
            return Ok(Receipt {
                receipt_time: self.first_receipt_time(signed).await?,
                ..receipt
            });
        }
        Ok(receipt)
    }

    /// The receipt time to repeat for a redelivered event: for the request (the only
    /// receipt with legal effect), this node's RECEIVED time; for later events, whose
    /// receipt time is not kept, the current time.
    async fn first_receipt_time(
        &self,
        signed: &Signed<ReadmissionCase>,
    ) -> Result<Timestamp, Error> {
        let event = signed.event();
        if event.sequence != 1 {
            return Ok(self.core.now());
        }
        let received_at = ReadmissionCase::load(&self.core, &event.case_ref)
            .await?
            .and_then(|loaded| loaded.case.received_at());
        Ok(received_at.unwrap_or_else(|| self.core.now()))
    }

    /// R receives S's request: records it, then its own receipt (the legal date and hour,
    /// which starts the reply clock), then — when S owes more than the parity limit — its
    /// refusal with `PARITY_IMBALANCE`.
    async fn receive_submission(
        &self,
        partner: StateCode,
        signed: &Signed<ReadmissionCase>,
    ) -> Result<Receipt, Error> {
        let own = self.core.own_state();
        let submitted = signed.event();
        let case_ref = &submitted.case_ref;
        let ReadmissionEventKind::Submitted { regime, .. } = submitted.kind else {
            return Err(Error::precondition(
                Precondition::SequenceGap,
                case_ref.to_string(),
                format!(
                    "{case_ref} is unknown here; deliver its SUBMITTED event (sequence 1) first"
                ),
            ));
        };
        if case_ref.first_state() != partner || submitted.sequence != 1 {
            return Err(Error::invalid(
                "event.sequence",
                "a case starts with the requesting state's SUBMITTED at sequence 1",
            ));
        }
        let subject = case_ref.to_string();
        self.partners
            .check_agreement(partner, regime, &subject, self.core.now())?;
        check_data_flow(&regime.profile(), (partner, own), &subject, || {
            format!(
                "under {} no personal data may flow from {partner} to {own}",
                regime.code()
            )
        })?;
        let case = <ReadmissionCase as Lifecycle>::begin(submitted)
            .map_err(|error| domain_error(&error, &case_ref.to_string()))?;
        let receipt_time = not_before(self.core.now(), case.last_event_at());
        let (mut case, received) = case
            .record(
                Actor::State(own),
                ReadmissionEventKind::Received,
                receipt_time,
            )
            .map_err(|error| domain_error(&error, &case_ref.to_string()))?;
        let receipt_detail = convert::receipt_detail(&case);
        let receipt_key = self.core.event_keys().of_own_step("receipt", case_ref);
        let mut own_events = vec![self.core.seal(received, &receipt_key, Some(receipt_detail))];
        if let Some((rejected_case, rejection)) =
            self.parity_refusal(partner, &case, receipt_time).await?
        {
            own_events.push(rejection);
            case = rejected_case;
        }
        let mut events = vec![event_record(signed)];
        events.extend(own_events.iter().map(event_record));
        let change = Change {
            idempotency: None,
            case: CaseWrite::Create(self.core.summary(&case, receipt_time.as_millis())),
            offer: None,
            events,
            outbox: own_events
                .iter()
                .map(|own_event| self.core.outbox(own_event, partner, case_ref))
                .collect(),
        };
        self.core.store().commit(change).await?;
        Ok(Receipt {
            receipt_time,
            already_delivered: false,
        })
    }

    /// The parity guard on a received request (R10): R's refusal, signed, when S owes more
    /// than the pair's limit and the regime allows a parity refusal.
    async fn parity_refusal(
        &self,
        partner: StateCode,
        case: &ReadmissionCase,
        at: Timestamp,
    ) -> Result<Option<(ReadmissionCase, Signed<ReadmissionCase>)>, Error> {
        let own = self.core.own_state();
        let limit = self.partners.parity_limit(partner, at);
        let Some(limit) = limit.filter(|_| case.profile().parity_refusal_allowed) else {
            return Ok(None);
        };
        let debt = self.core.pair_ledger(partner).await?.debt(partner, own);
        let Err(refusal) = parity::check_new_request(debt, limit) else {
            return Ok(None);
        };
        let case_ref = case.case_ref();
        let rejection = ReadmissionEventKind::Rejected {
            reasons: vec![ReadmissionReason::ParityImbalance],
            detailed_reasons: FreeText::parse(&refusal.to_string())
                .map_err(|error| Error::internal("writing the parity refusal", error))?,
        };
        let (rejected_case, rejected) = case
            .record(Actor::State(own), rejection, at)
            .map_err(|error| domain_error(&error, &case_ref.to_string()))?;
        let detail = convert::parity_rejection_detail(&refusal.to_string());
        let key = self.core.event_keys().of_own_step("parity", case_ref);
        let signed = self.core.seal(rejected, &key, Some(detail));
        Ok(Some((rejected_case, signed)))
    }

    async fn receive_next_event(
        &self,
        loaded: Loaded<ReadmissionCase>,
        signed: &Signed<ReadmissionCase>,
    ) -> Result<Receipt, Error> {
        self.check_cited_lapse(&loaded, signed)?;
        let event = signed.event();
        if event.sequence <= loaded.case.sequence() {
            return self.resolve_clash(loaded, signed).await;
        }
        check_sequence(
            &event.case_ref.to_string(),
            loaded.case.sequence(),
            event.sequence,
        )?;
        self.core.continue_with(loaded, signed).await
    }

    /// Two events claim one sequence: this node's own event `local` and the partner's `event`.
    /// As event.proto rules, the earlier `occurred_at` wins (ties: the smaller acting state).
    /// If ours wins, the delivery is refused with ABORTED `SEQUENCE_TAKEN` (the partner
    /// resolves when our event reaches it). If theirs wins, our events from that sequence on
    /// are replaced: the partner's event takes the number, and each of our displaced steps is
    /// applied again after it if the lifecycle still allows — as a new event with the same
    /// idempotency key and a new signature — or else dropped (and logged). Our displaced
    /// outbox messages are marked superseded in the same transaction.
    async fn resolve_clash(
        &self,
        loaded: Loaded<ReadmissionCase>,
        signed: &Signed<ReadmissionCase>,
    ) -> Result<Receipt, Error> {
        let own = self.core.own_state();
        let theirs = signed.event();
        let case_ref = theirs.case_ref.to_string();
        let index = usize::try_from(theirs.sequence.saturating_sub(1)).unwrap_or(usize::MAX);
        let taken = || Error::SequenceTaken {
            subject: case_ref.clone(),
            sequence: theirs.sequence,
        };
        let Some(local) = loaded.history.get(index) else {
            return Err(taken());
        };
        let displaced = &loaded.history[index..];
        if displaced
            .iter()
            .any(|displaced| displaced.event().actor.state() != own)
        {
            // Events from the partner already sit at or after that number: the partner's
            // history is inconsistent with itself; nothing to resolve here.
            return Err(taken());
        }
        let ours = local.event();
        let ours_wins = (ours.occurred_at, ours.actor.state().as_str())
            < (theirs.occurred_at, theirs.actor.state().as_str());
        if ours_wins {
            return Err(taken());
        }
        let kept: Vec<Event<ReadmissionEventKind>> = loaded.history[..index]
            .iter()
            .map(|signed| signed.event().clone())
            .collect();
        let case = <ReadmissionCase as Lifecycle>::replay(&kept)
            .map_err(|error| Error::internal(format!("replaying {case_ref}"), error))?
            .apply(theirs.actor, &theirs.kind, theirs.occurred_at)
            .map_err(|error| domain_error(&error, &case_ref))?;
        let (case, reapplied) = self.reapply(case, displaced, &case_ref);
        let partner = theirs.actor.state();
        let gateway = PeerIdentity::Gateway(own).spiffe_id();
        let whole_answers = self
            .core
            .whole_answers(&gateway, displaced, &loaded.history, theirs.sequence)
            .await?;
        let mut events = vec![event_record(signed)];
        events.extend(reapplied.iter().map(event_record));
        let change = Change {
            idempotency: None,
            case: CaseWrite::Replace {
                record: self.core.summary(&case, loaded.summary.created_at),
                expected_event_count: loaded.summary.event_count,
                from_sequence: theirs.sequence,
                whole_answers,
            },
            offer: None,
            events,
            outbox: reapplied
                .iter()
                .map(|again| self.core.outbox(again, partner, case.case_ref()))
                .collect(),
        };
        self.core.commit_received(change, &case_ref).await
    }

    /// Each of our `displaced` steps applied again after the partner's winning event, as a
    /// new event under its idempotency key, where the lifecycle still allows it.
    fn reapply(
        &self,
        mut case: ReadmissionCase,
        displaced: &[Signed<ReadmissionCase>],
        case_ref: &str,
    ) -> (ReadmissionCase, Vec<Signed<ReadmissionCase>>) {
        let mut reapplied = Vec::new();
        for displaced in displaced {
            let step = displaced.event();
            let at = not_before(step.occurred_at, case.last_event_at());
            match case.record(step.actor, step.kind.clone(), at) {
                Ok((next_case, next_event)) => {
                    reapplied.push(self.core.reseal(
                        next_event,
                        displaced.header().idempotency_key,
                        displaced.detail().cloned(),
                    ));
                    case = next_case;
                }
                Err(error) => tracing::warn!(
                    %case_ref,
                    %error,
                    "a step displaced by the partner's earlier event no longer applies; dropped"
                ),
            }
        }
        (case, reapplied)
    }

    /// A case with its full history, for either party's gateway.
    pub async fn get_readmission(
        &self,
        case_ref: &CaseRef,
    ) -> Result<Answer<ReadmissionCase>, Error> {
        let loaded = ReadmissionCase::load(&self.core, case_ref).await?;
        self.core.answer_of(loaded, case_ref, case_ref).await
    }

    /// A page of cases, newest first (`Store::list_cases`).
    pub async fn list_readmissions(
        &self,
        query: ListQuery<ReadmissionFilter>,
    ) -> Result<RecordPage<ReadmissionCase>, Error> {
        let filter = CaseFilter {
            case_kind: CaseKind::Readmission,
            counterpart: query.filter.counterpart.map(|state| state.to_string()),
            status: query.filter.status.map(|status| status.code().to_owned()),
        };
        let after = query.after.as_deref();
        self.core
            .list_records(
                filter,
                after,
                query.page_size,
                |_| true,
                |loaded| async move {
                    Ok(Some(Answer {
                        case: loaded.case,
                        history: loaded.history,
                        pending_deliveries: 0,
                        admitted: 0,
                    }))
                },
            )
            .await
    }
}

impl Deadlines {
    /// Records the deadline event that is due on `case_ref`, if this node's clock owns it.
    /// Returns whether an event was recorded.
    pub(crate) async fn record_due_readmission_deadline(
        &self,
        case_ref: &CaseRef,
    ) -> Result<bool, Error> {
        let own = self.core.own_state();
        let Some(loaded) = ReadmissionCase::load(&self.core, case_ref).await? else {
            return Ok(false);
        };
        let now = self.core.now();
        let due = deadline::due(&loaded.case, now);
        let lapse_for_us = due.as_ref().is_some_and(|due| {
            due.kind == ReadmissionEventKind::AcceptedByDefault
                && due.actor.state() != own
                && loaded.case.requesting() == own
        });
        if let Some(log_clock) = self.core.log_clock().filter(|_| lapse_for_us) {
            return self.record_on_log_clock(loaded, log_clock).await;
        }
        let due = due.filter(|due| due.actor.state() == own);
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
        let at = not_before(due.lapsed_at(), loaded.case.last_event_at());
        let (case, event) = loaded
            .case
            .record(due.actor, due.kind.clone(), at)
            .map_err(|error| Error::internal("recording a due deadline", error))?;
        let key = EventKey::of_deadline(case_ref, event.kind.step().code());
        let detail = convert::deadline_detail(&event.kind, due.deadline);
        let signed: Signed<ReadmissionCase> = self.core.seal(event, &key, detail);
        let partner = ReadmissionCase::partner(&case, own);
        let change = Change {
            idempotency: None,
            case: loaded.update(&self.core, &case),
            offer: None,
            events: vec![event_record(&signed)],
            outbox: vec![self.core.outbox(&signed, partner, case_ref)],
        };
        self.core.store().commit(change).await?;
        Ok(true)
    }
}

/// The first instant at which a deadline whose clock this node owns lapses; with
/// `log_clock`, S's node also owns acceptance by default (`log_clock` module).
fn next_own_deadline(case: &ReadmissionCase, own: StateCode, log_clock: bool) -> Option<Timestamp> {
    let deadlines = convert::running_deadlines(case);
    let owners = &case.profile().clock_owners;
    let owner_of = |duty: ClockDuty| {
        let on_log_clock = log_clock && duty == ClockDuty::AcceptanceByDefault;
        case.state_of(owners.owner(duty)) == own || (on_log_clock && case.requesting() == own)
    };
    // Silence that means nothing records no event when the reply deadline passes.
    let reply = deadlines
        .reply
        .filter(|_| case.profile().silence == Silence::MeansAcceptance);
    [
        (reply, ClockDuty::AcceptanceByDefault),
        (
            deadlines.re_examination_request,
            ClockDuty::RejectionClosure,
        ),
        (
            deadlines.re_examination_reply,
            ClockDuty::ReExaminationLapse,
        ),
        (deadlines.transfer, ClockDuty::Expiry),
        (deadlines.procedure, ClockDuty::Expiry),
    ]
    .into_iter()
    .filter(|(_, duty)| owner_of(*duty))
    .filter_map(|(deadline, _)| match deadline {
        Some(Deadline::At(time)) => Some(time.plus_millis(1)),
        _ => None,
    })
    .min()
}

/// A hold's release names the hold it ends (by the sequence of its placement); naming
/// anything but the hold in force is `NOT_FOUND`.
fn check_named_hold(
    loaded: &Loaded<ReadmissionCase>,
    step: &Step<ReadmissionCase>,
) -> Result<(), Error> {
    let Some(named) = step.checks.released_hold else {
        return Ok(());
    };
    let hold_in_force = loaded.case.legal_hold().and_then(|_| {
        loaded.history.iter().rev().find_map(|signed| {
            let event = signed.event();
            matches!(event.kind, ReadmissionEventKind::LegalHoldPlaced { .. })
                .then_some(event.sequence)
        })
    });
    if hold_in_force == Some(named) {
        Ok(())
    } else {
        Err(Error::NotFound(format!(
            "legal hold #{named} in force on {}",
            step.case_ref
        )))
    }
}

/// A caseworker's step refused on a stored case. A step that a recorded lapse cut off (a
/// decision after acceptance by default, a re-examination answer after its lapse, a
/// re-examination request after the window closed, anything after expiry) is refused for
/// its deadline (`DEADLINE_PASSED`), as the API documents, not as a mere illegal transition.
fn step_error(loaded: &Loaded<ReadmissionCase>, error: &domain::Error, subject: &str) -> Error {
    match error {
        domain::Error::Step(StepRefusal::StepNotAllowed { status, step })
            if was_cut_off_by_lapse(*status, *step, loaded.history.last()) =>
        {
            Error::precondition(Precondition::DeadlinePassed, subject, error.to_string())
        }
        _ => domain_error(error, subject),
    }
}

fn was_cut_off_by_lapse(
    status: ReadmissionStatus,
    step: ReadmissionStep,
    last_event: Option<&Signed<ReadmissionCase>>,
) -> bool {
    use ReadmissionStatus as Status;
    use ReadmissionStep as S;
    match status {
        Status::AcceptedByDefault => matches!(
            step,
            S::ExaminationStarted
                | S::InformationRequested
                | S::InformationProvided
                | S::Accepted
                | S::Rejected
        ),
        Status::ReExaminationLapsed => {
            matches!(step, S::AcceptedOnReExamination | S::RejectedFinal)
        }
        Status::ClosedRejected => {
            let closed_by_lapse = last_event.is_some_and(|signed| {
                matches!(signed.event().kind, ReadmissionEventKind::RejectionClosed)
            });
            closed_by_lapse && matches!(step, S::ReExaminationRequested | S::RejectionAccepted)
        }
        Status::Expired => true,
        _ => false,
    }
}

/// The one mapping of domain refusals to application errors.
pub(crate) fn domain_error(error: &domain::Error, subject: &str) -> Error {
    use domain::Error as D;
    let description = error.to_string();
    match error {
        D::Step(StepRefusal::WrongActor { .. } | StepRefusal::NotAParty { .. }) => {
            Error::PermissionDenied(description)
        }
        D::DeadlinePassed { .. } => {
            Error::precondition(Precondition::DeadlinePassed, subject, description)
        }
        D::RequestOutOfTime { .. } => {
            Error::precondition(Precondition::DeadlinePassed, subject, description)
        }
        D::ParityRefusalNotAllowed { .. } | D::Reasons(_) => Error::invalid("reasons", description),
        D::ArrivalAfterSubmission { .. } => Error::invalid("arrival_time", description),
        D::SlotTooSoon { .. } | D::SlotAfterDeadline { .. } => {
            Error::invalid("slot.start_time", description)
        }
        _ => Error::precondition(Precondition::IllegalTransition, subject, description),
    }
}
