//! Admission case use cases: nominating a candidate under an offer, every caseworker step
//! after it, the grant's lapse, receiving the partner's events, and reading cases.
//!
//! Every change follows the readmission path: read the case and its signed history,
//! rebuild the domain [`AdmissionCase`] from it, let the domain decide the step, sign the
//! new event, and commit the event, the case summary, the idempotency record and the
//! partner's outbox message in one transaction. A lost race reads again and retries.
//!
//! Steps that touch the case's offer write the offer event in that same transaction:
//! a nomination records the offer's SLOT_CLAIMED with the case's NOMINATED
//! ([`AdmissionCase::nominate`] returns both), and a case that ends without an admission
//! (REFUSED, WITHDRAWN, GRANT_LAPSED) records the offer's SLOT_RELEASED with its own event.
//! The offer's summary row is refreshed just after (see `offer` for why that is safe).
//! A case's messages travel in its offer's ordered queue, so a case's
//! `pending_event_count` counts every message of that queue still unacknowledged.
//!
//! **Personal data.** The NOMINATED event carries the person from A's node to O's node, so
//! A nominates only where the regime lets personal data flow from A to O
//! (`RegimeProfile::may_send_personal_data`); otherwise FAILED_PRECONDITION `NO_AGREEMENT`,
//! as for opening a readmission. O's node checks the same on receipt. UK–France: France
//! cannot nominate people in the UK for admission to France.
//!
//! **Parity.** The guard runs where a new admission would start: when A's node nominates
//! under an OPEN offer, it reads the pair's ledger of confirmed movements
//! (`App::pair_ledger`) and asks `parity::offer_should_pause` whether A's credit with O
//! exceeds the pair's limit (the partner's configured `parity_limit`, where the regime
//! allows parity refusals). If so, it records the offer's PAUSED {PARITY_NOT_REACHED} as
//! its own signed event, delivered to O like any other, and refuses the nomination with
//! FAILED_PRECONDITION `OFFER_NOT_AVAILABLE`; nothing of the nomination is stored. A's
//! caseworkers resume the offer when returns have caught up; a nomination under a resumed
//! offer that is still beyond the limit pauses it again. Checking at nomination, rather
//! than when a departure is confirmed, keeps the rule in one place and also catches a limit
//! lowered in the configuration.
//!
//! **Deadlines.** A granted visa runs for the regime's `visa_validity` from the grant; once
//! it passes, A's deadline sweeper records GRANT_LAPSED as A's clock event (and releases the
//! place), and delivers both to O. O's node never records a lapse itself. The domain fixes
//! the validity: a grant's requested `visa_valid_until` is checked to lie within it, and
//! the event records the validity the domain granted, so both nodes show the same date.

use accord_domain::admission::{
    self as domain, AdmissionCase, AdmissionEventKind, AdmissionStatus, OfferEventKind, OfferStatus,
};
use accord_domain::deadline;
use accord_domain::parity;
use accord_domain::reason::OfferPauseReason;
use accord_domain::{
    Actor, CaseKind, CaseRef, IdempotencyKey, RegimeProfile, StateCode, Timestamp,
};
use accord_proto::v1 as pb;
use pb::admission_event::Detail;
use prost::Message;

use super::idempotency::IdempotencyContext;
use super::offer::{LoadedOffer, check_sequence, offer_error, offer_event_record};
use super::{App, Error, EventPage, EventPageRequest, Precondition, not_before, retry_on_conflict};
use crate::convert::admission as convert;
use crate::convert::to_wire_time;
use crate::store::{
    self, CaseFilter, CaseRecord, CaseWrite, Change, Channel, EventRef, OutboxMessage,
    SummaryUpdate,
};

/// A validated nomination (A's caseworker, through A's gateway).
#[derive(Debug, Clone)]
pub struct NominateCandidate {
    /// The caller's key.
    pub idempotency_key: IdempotencyKey,
    /// SHA-256 of the request, see [`super::request_digest`].
    pub request_digest: Vec<u8>,
    /// The offer whose place the candidate takes.
    pub offer_ref: CaseRef,
    /// The nomination as it will travel (offer, person, references), already validated.
    pub nomination: pb::Nomination,
}

/// A validated caseworker step on an existing admission case.
#[derive(Debug, Clone)]
pub struct AdmissionStep {
    /// The caller's key.
    pub idempotency_key: IdempotencyKey,
    /// SHA-256 of the request.
    pub request_digest: Vec<u8>,
    /// The RPC, for the idempotency record.
    pub operation: &'static str,
    /// The case.
    pub case_ref: CaseRef,
    /// What the domain sees.
    pub kind: AdmissionEventKind,
    /// What the wire event carries. For GRANTED and GRANT_LAPSED the node fills in the
    /// visa's validity from the case.
    pub detail: Option<Detail>,
    /// The checks a step needs against the case, beyond the domain's.
    pub checks: StepChecks,
}

/// Checks of a step's request against the stored case.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StepChecks {
    /// A grant's requested last day of the visa: must lie within the regime's validity.
    pub visa_valid_until: Option<Timestamp>,
    /// A booked journey's departure: must be before the visa expires.
    pub departure: Option<Timestamp>,
}

/// A case and the event a step recorded: every admission step RPC answers this.
#[derive(Clone, PartialEq, Message)]
pub struct AdmissionOutcome {
    /// The case after the step.
    #[prost(message, optional, tag = "1")]
    pub admission: Option<pb::AdmissionCase>,
    /// The event recorded.
    #[prost(message, optional, tag = "2")]
    pub event: Option<pb::AdmissionEvent>,
}

/// Which admission cases a list returns, beyond the store's filter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdmissionListFilter {
    /// Only cases with this partner state.
    pub counterpart: Option<StateCode>,
    /// Only cases where this node's state admits (`Some(true)`) or is the origin
    /// (`Some(false)`).
    pub admitting: Option<bool>,
    /// Only cases in one of these statuses; empty for all.
    pub statuses: Vec<AdmissionStatus>,
    /// Only cases under this offer.
    pub offer_ref: Option<CaseRef>,
    /// Only cases with an event at or after this instant.
    pub updated_since: Option<Timestamp>,
}

/// A case as stored: summary, signed history, and the domain case rebuilt from it.
struct LoadedAdmission {
    summary: CaseRecord,
    events: Vec<pb::AdmissionEvent>,
    case: AdmissionCase,
}

/// A signed case event to commit, with what the commit needs besides.
struct Recorded<'a> {
    loaded: LoadedAdmission,
    case: AdmissionCase,
    event: domain::AdmissionEvent,
    idempotency_key: &'a str,
    detail: Option<Detail>,
}

const OPERATION_NOMINATE: &str = "NominateCandidate";

/// Most case summaries one list call reads while filtering, so a sparse filter cannot make
/// one call read the whole table; the page then ends early with a token to continue.
const LIST_SCAN_ROWS_MAX: usize = 10_000;

impl App {
    /// Nominates a candidate: A records the offer's SLOT_CLAIMED and the new case's
    /// NOMINATED in one transaction and queues both for O's node, the offer event first.
    pub async fn nominate_candidate(
        &self,
        caller: &str,
        request: NominateCandidate,
    ) -> Result<AdmissionOutcome, Error> {
        let context = IdempotencyContext {
            caller,
            idempotency_key: &request.idempotency_key,
            operation: OPERATION_NOMINATE,
            request_digest: &request.request_digest,
        };
        self.replay_or_attempt(&request.offer_ref, &context, || {
            self.try_nominate(&context, &request)
        })
        .await
    }

    async fn try_nominate(
        &self,
        context: &IdempotencyContext<'_>,
        request: &NominateCandidate,
    ) -> Result<AdmissionOutcome, Error> {
        let own = self.own_state();
        let offer_ref = &request.offer_ref;
        let loaded = self
            .load_offer(offer_ref)
            .await?
            .ok_or_else(|| Error::NotFound(offer_ref.to_string()))?;
        let origin = loaded.offer.origin();
        if loaded.offer.admitting() != own {
            return Err(Error::PermissionDenied(format!(
                "only {}, the admitting state, nominates under {offer_ref}; not {own}",
                loaded.offer.admitting()
            )));
        }
        let profile = loaded.offer.regime().profile();
        self.check_nomination_agreement(origin, &profile)?;
        self.check_agreement(origin, profile.regime, &offer_ref.to_string())?;
        let now = not_before(self.now(), loaded.offer.last_event_at());
        if let Some(refusal) = self.pause_for_parity(&loaded, &profile, now).await? {
            return Err(refusal);
        }
        let case_ref = CaseRef::new(CaseKind::Admission, own, origin, &super::new_case_id(now))
            .map_err(|error| Error::Internal(format!("case reference: {error}")))?;
        let nomination = AdmissionCase::nominate(
            case_ref.clone(),
            &loaded.offer,
            profile,
            Actor::State(own),
            now,
        )
        .map_err(|error| admission_error(&error, &offer_ref.to_string()))?;
        let claim = self.signed_offer_event(
            &nomination.offer_event,
            &format!("claim:{case_ref}"),
            convert::offer_detail(&nomination.offer_event.kind),
        );
        let nominated = self.signed_admission_event(
            &nomination.case_event,
            request.idempotency_key.as_str(),
            Some(Detail::Nominated(request.nomination.clone())),
        );
        let pending = pending_count(self, offer_ref).await?.saturating_add(2);
        let mut outcome = AdmissionOutcome {
            admission: Some(convert::admission_to_wire(
                &nomination.case,
                std::slice::from_ref(&nominated),
                true,
                pending,
            )),
            event: Some(nominated.clone()),
        };
        let change = Change {
            idempotency: Some(self.outcome_record(context, &mut outcome)),
            case: CaseWrite::Create(self.admission_summary(&nomination.case, now.as_millis())),
            offer: Some(SummaryUpdate {
                record: self.offer_summary(&nomination.offer, loaded.summary.created_at),
                expected_event_count: loaded.summary.event_count,
            }),
            events: vec![
                offer_event_record(&claim),
                admission_event_record(&nominated),
            ],
            outbox: vec![
                self.offer_outbox(&claim, origin),
                self.admission_outbox(&nominated, offer_ref, origin),
            ],
        };
        self.commit_with_outcome(change, outcome).await
    }

    /// A nominates only for a partner, and only where the person may travel from A to O.
    fn check_nomination_agreement(
        &self,
        origin: StateCode,
        profile: &RegimeProfile,
    ) -> Result<(), Error> {
        let own = self.own_state();
        if self.partner(origin).is_none() {
            return Err(Error::precondition(
                Precondition::NoAgreement,
                origin.to_string(),
                format!("{origin} is not a partner of {own}: no node is configured for it"),
            ));
        }
        if !profile.may_send_personal_data(own, origin) {
            return Err(Error::precondition(
                Precondition::NoAgreement,
                origin.to_string(),
                format!(
                    "under {} no personal data may flow from {own} to {origin}, so {own} cannot nominate people in {origin}",
                    profile.regime.code()
                ),
            ));
        }
        Ok(())
    }

    /// The parity guard on offers (see the module doc): records PAUSED {PARITY_NOT_REACHED}
    /// and returns the refusal to give when A's credit with O exceeds the pair's limit.
    async fn pause_for_parity(
        &self,
        loaded: &LoadedOffer,
        profile: &RegimeProfile,
        now: Timestamp,
    ) -> Result<Option<Error>, Error> {
        let own = self.own_state();
        let origin = loaded.offer.origin();
        let limit = self
            .partner(origin)
            .and_then(|partner| partner.parity_limit);
        let Some(limit) = limit.filter(|_| profile.parity_refusal_allowed) else {
            return Ok(None);
        };
        if loaded.offer.status() != OfferStatus::Open {
            return Ok(None);
        }
        let credit = self.pair_ledger(origin).await?.credit(own, origin);
        if !parity::offer_should_pause(credit, limit) {
            return Ok(None);
        }
        let offer_ref = loaded.offer.case_ref();
        let pause = OfferEventKind::Paused {
            reason: OfferPauseReason::ParityNotReached,
        };
        let (offer, event) = loaded
            .offer
            .record(Actor::State(own), pause, now)
            .map_err(|error| offer_error(&error, &offer_ref.to_string()))?;
        let key = format!("parity-pause:{offer_ref}:{}", event.sequence);
        let wire = self.signed_offer_event(&event, &key, convert::offer_detail(&event.kind));
        let change = Change {
            idempotency: None,
            case: CaseWrite::Update {
                record: self.offer_summary(&offer, loaded.summary.created_at),
                expected_event_count: loaded.summary.event_count,
            },
            offer: None,
            events: vec![offer_event_record(&wire)],
            outbox: vec![self.offer_outbox(&wire, origin)],
        };
        self.store().commit(change).await?;
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
        step: AdmissionStep,
    ) -> Result<AdmissionOutcome, Error> {
        let context = IdempotencyContext {
            caller,
            idempotency_key: &step.idempotency_key,
            operation: step.operation,
            request_digest: &step.request_digest,
        };
        self.replay_or_attempt(&step.case_ref, &context, || {
            self.try_admission_step(&context, &step)
        })
        .await
    }

    async fn try_admission_step(
        &self,
        context: &IdempotencyContext<'_>,
        step: &AdmissionStep,
    ) -> Result<AdmissionOutcome, Error> {
        let own = self.own_state();
        let case_ref = step.case_ref.to_string();
        let loaded = self
            .load_admission(&step.case_ref)
            .await?
            .ok_or_else(|| Error::NotFound(case_ref.clone()))?;
        let now = not_before(self.now(), loaded.case.last_event_at());
        // A grant's lapse is always A's clock event, also when A's caseworker reports it.
        let actor = if step.kind == AdmissionEventKind::GrantLapsed {
            Actor::Clock(own)
        } else {
            Actor::State(own)
        };
        let (case, event) = loaded
            .case
            .record(actor, step.kind.clone(), now)
            .map_err(|error| admission_error(&error, &case_ref))?;
        let detail = completed_detail(&loaded.case, &case, step)?;
        let recorded = Recorded {
            loaded,
            case,
            event,
            idempotency_key: step.idempotency_key.as_str(),
            detail,
        };
        self.commit_admission_event(recorded, Some(context)).await
    }

    /// Signs a case event and commits it with its idempotency record, the offer's
    /// SLOT_RELEASED when the case ended without an admission, and the partner's messages.
    async fn commit_admission_event(
        &self,
        recorded: Recorded<'_>,
        context: Option<&IdempotencyContext<'_>>,
    ) -> Result<AdmissionOutcome, Error> {
        let Recorded {
            loaded,
            case,
            event,
            idempotency_key,
            detail,
        } = recorded;
        let own = self.own_state();
        let partner = if case.admitting() == own {
            case.origin()
        } else {
            case.admitting()
        };
        let offer_ref = case.offer_ref().clone();
        let wire = self.signed_admission_event(&event, idempotency_key, detail);
        let mut events = vec![admission_event_record(&wire)];
        let mut outbox = vec![self.admission_outbox(&wire, &offer_ref, partner)];
        let mut offer = None;
        if case.status().releases_offer_slot() {
            let (release, summary) = self.release_slot(&case, event.occurred_at).await?;
            events.push(offer_event_record(&release));
            outbox.push(self.offer_outbox(&release, partner));
            offer = Some(summary);
        }
        let mut history = loaded.events;
        history.push(wire.clone());
        let pending = pending_count(self, &offer_ref)
            .await?
            .saturating_add(u32::try_from(outbox.len()).unwrap_or(u32::MAX));
        let mut outcome = AdmissionOutcome {
            admission: Some(convert::admission_to_wire(&case, &history, true, pending)),
            event: Some(wire),
        };
        let change = Change {
            idempotency: context.map(|context| self.outcome_record(context, &mut outcome)),
            case: CaseWrite::Update {
                record: self.admission_summary(&case, loaded.summary.created_at),
                expected_event_count: loaded.summary.event_count,
            },
            offer,
            events,
            outbox,
        };
        self.commit_with_outcome(change, outcome).await
    }

    /// The offer's signed SLOT_RELEASED for a case that ended without an admission, and the
    /// offer's summary after it, to be written with the case's change.
    async fn release_slot(
        &self,
        case: &AdmissionCase,
        at: Timestamp,
    ) -> Result<(pb::OfferEvent, SummaryUpdate), Error> {
        let offer_ref = case.offer_ref();
        let loaded = self.load_offer(offer_ref).await?.ok_or_else(|| {
            Error::Internal(format!("{offer_ref} of {} vanished", case.case_ref()))
        })?;
        let release = OfferEventKind::SlotReleased {
            admission: case.case_ref().clone(),
        };
        let at = not_before(at, loaded.offer.last_event_at());
        let (offer, event) = loaded
            .offer
            .record(Actor::State(case.admitting()), release, at)
            .map_err(|error| offer_error(&error, &offer_ref.to_string()))?;
        let key = format!("release:{}", case.case_ref());
        let summary = SummaryUpdate {
            record: self.offer_summary(&offer, loaded.summary.created_at),
            expected_event_count: loaded.summary.event_count,
        };
        Ok((
            self.signed_offer_event(&event, &key, convert::offer_detail(&event.kind)),
            summary,
        ))
    }

    /// Receives a partner's signed admission event. Idempotent: the same event again is
    /// acknowledged as already delivered; another event under the same key is `KeyReused`.
    pub async fn deliver_admission_event(
        &self,
        partner: StateCode,
        event: pb::AdmissionEvent,
    ) -> Result<pb::DeliverAdmissionEventResponse, Error> {
        let own = self.own_state();
        let case_ref = CaseRef::parse(&event.case_ref)
            .map_err(|error| Error::invalid("event.case_ref", error.to_string()))?;
        let acting_state = StateCode::parse(&event.acting_state)
            .map_err(|error| Error::invalid("event.acting_state", error.to_string()))?;
        if acting_state != partner {
            return Err(Error::PermissionDenied(format!(
                "{partner}'s node may deliver only {partner}'s events, not {acting_state}'s"
            )));
        }
        let parties = (case_ref.first_state(), case_ref.second_state());
        if case_ref.kind() != CaseKind::Admission
            || !(parties == (own, partner) || parties == (partner, own))
        {
            return Err(Error::PermissionDenied(format!(
                "{case_ref} is not an admission case between {partner} and {own}"
            )));
        }
        let link = self
            .partner(partner)
            .ok_or_else(|| Error::PermissionDenied(format!("{partner} is not a partner")))?;
        super::envelope::verify(&event, parties, &link.verifying_key)?;
        let (case_ref, event) = (&case_ref, &event);
        retry_on_conflict(case_ref, move || async move {
            if let Some(already) = self
                .delivered_before(
                    &case_ref.to_string(),
                    partner,
                    &event.idempotency_key,
                    &event.encode_to_vec(),
                )
                .await?
            {
                return Ok(pb::DeliverAdmissionEventResponse {
                    receipt_time: Some(to_wire_time(already)),
                    already_delivered: true,
                });
            }
            match self.load_admission(case_ref).await? {
                None => self.receive_nomination(partner, case_ref, event).await,
                Some(loaded) => self.receive_admission_event(loaded, event).await,
            }
        })
        .await
    }

    /// O receives A's nomination: the case starts on O's node under the offer O holds.
    async fn receive_nomination(
        &self,
        partner: StateCode,
        case_ref: &CaseRef,
        event: &pb::AdmissionEvent,
    ) -> Result<pb::DeliverAdmissionEventResponse, Error> {
        let own = self.own_state();
        let Some(offer_text) = convert::nominated_offer(event) else {
            return Err(Error::precondition(
                Precondition::SequenceGap,
                case_ref.to_string(),
                format!(
                    "SEQUENCE_GAP: {case_ref} is unknown here; deliver its NOMINATED event (sequence 1) first"
                ),
            ));
        };
        let offer_ref = CaseRef::parse(offer_text)
            .map_err(|error| Error::invalid("event.nominated.offer_ref", error.to_string()))?;
        let Some(regime) = self.offer_regime(&offer_ref).await? else {
            return Err(Error::precondition(
                Precondition::SequenceGap,
                offer_ref.to_string(),
                format!(
                    "SEQUENCE_GAP: offer {offer_ref} is unknown here; deliver its events first"
                ),
            ));
        };
        let same_pair = offer_ref.kind() == CaseKind::Offer
            && offer_ref.first_state() == case_ref.first_state()
            && offer_ref.second_state() == case_ref.second_state();
        if !same_pair {
            return Err(Error::invalid(
                "event.nominated.offer_ref",
                format!("{offer_ref} is not an offer of {case_ref}'s pair"),
            ));
        }
        let domain_event =
            convert::admission_event_from_wire(event, regime).map_err(Error::InvalidArgument)?;
        if case_ref.first_state() != partner || domain_event.sequence != 1 {
            return Err(Error::invalid(
                "event.sequence",
                "a case starts with the admitting state's NOMINATED at sequence 1",
            ));
        }
        self.check_agreement(partner, regime, &case_ref.to_string())?;
        let profile = regime.profile();
        if !profile.may_send_personal_data(partner, own) {
            return Err(Error::precondition(
                Precondition::NoAgreement,
                case_ref.to_string(),
                format!(
                    "under {} no personal data may flow from {partner} to {own}",
                    regime.code()
                ),
            ));
        }
        let case = AdmissionCase::replay(profile, std::slice::from_ref(&domain_event))
            .map_err(|error| admission_error(&error, &case_ref.to_string()))?;
        let receipt_time = self.now();
        let change = Change {
            idempotency: None,
            case: CaseWrite::Create(self.admission_summary(&case, receipt_time.as_millis())),
            offer: None,
            events: vec![admission_event_record(event)],
            outbox: Vec::new(),
        };
        self.store().commit(change).await?;
        Ok(pb::DeliverAdmissionEventResponse {
            receipt_time: Some(to_wire_time(receipt_time)),
            already_delivered: false,
        })
    }

    async fn receive_admission_event(
        &self,
        loaded: LoadedAdmission,
        event: &pb::AdmissionEvent,
    ) -> Result<pb::DeliverAdmissionEventResponse, Error> {
        let domain_event = convert::admission_event_from_wire(event, loaded.case.profile().regime)
            .map_err(Error::InvalidArgument)?;
        let case_ref = domain_event.case_ref.to_string();
        check_sequence(&case_ref, loaded.case.sequence(), domain_event.sequence)?;
        let case = loaded
            .case
            .apply(
                domain_event.actor,
                &domain_event.kind,
                domain_event.occurred_at,
            )
            .map_err(|error| admission_error(&error, &case_ref))?;
        let change = Change {
            idempotency: None,
            case: CaseWrite::Update {
                record: self.admission_summary(&case, loaded.summary.created_at),
                expected_event_count: loaded.summary.event_count,
            },
            offer: None,
            events: vec![admission_event_record(event)],
            outbox: Vec::new(),
        };
        self.store().commit(change).await?;
        Ok(pb::DeliverAdmissionEventResponse {
            receipt_time: Some(to_wire_time(self.now())),
            already_delivered: false,
        })
    }

    /// Records the grant's lapse on `case_ref` when its visa has passed and this node is A's.
    /// Returns whether an event was recorded.
    pub(crate) async fn record_due_admission_deadline(
        &self,
        case_ref: &CaseRef,
    ) -> Result<bool, Error> {
        let Some(loaded) = self.load_admission(case_ref).await? else {
            return Ok(false);
        };
        let due = deadline::admission_due(&loaded.case, self.now())
            .filter(|due| due.actor.state() == self.own_state());
        let Some(due) = due else {
            // Not ours, or not due any more: refresh the summary's next deadline.
            let change = Change {
                idempotency: None,
                case: CaseWrite::Update {
                    record: self.admission_summary(&loaded.case, loaded.summary.created_at),
                    expected_event_count: loaded.summary.event_count,
                },
                offer: None,
                events: Vec::new(),
                outbox: Vec::new(),
            };
            self.store().commit(change).await?;
            return Ok(false);
        };
        let at = not_before(due.deadline.plus_millis(1), loaded.case.last_event_at());
        let (case, event) = loaded
            .case
            .record(due.actor, due.kind.clone(), at)
            .map_err(|error| {
                Error::Internal(format!("due event refused by the domain: {error}"))
            })?;
        let key = format!("deadline:{case_ref}:{}", event.kind.step().code());
        let detail = Detail::GrantLapsed(pb::GrantLapse {
            visa_valid_until: Some(to_wire_time(due.deadline)),
        });
        let recorded = Recorded {
            loaded,
            case,
            event,
            idempotency_key: &key,
            detail: Some(detail),
        };
        self.commit_admission_event(recorded, None).await?;
        Ok(true)
    }

    /// A case with its person and full history, for either party's gateway.
    pub async fn get_admission(&self, case_ref: &CaseRef) -> Result<pb::AdmissionCase, Error> {
        let loaded = self
            .load_admission(case_ref)
            .await?
            .ok_or_else(|| Error::NotFound(case_ref.to_string()))?;
        Ok(convert::admission_to_wire(
            &loaded.case,
            &loaded.events,
            true,
            pending_count(self, loaded.case.offer_ref()).await?,
        ))
    }

    /// A page of the signed history of a case.
    pub async fn admission_events(
        &self,
        case_ref: &CaseRef,
        page: EventPageRequest,
    ) -> Result<EventPage<pb::AdmissionEvent>, Error> {
        let loaded = self
            .load_admission(case_ref)
            .await?
            .ok_or_else(|| Error::NotFound(case_ref.to_string()))?;
        Ok(self.event_page(loaded.events, page))
    }

    /// A page of cases (without person or history), newest first (`Store::list_cases`).
    pub async fn list_admissions(
        &self,
        filter: &AdmissionListFilter,
        after_ref: Option<&str>,
        page_size: u32,
    ) -> Result<(Vec<pb::AdmissionCase>, Option<String>), Error> {
        let own = self.own_state();
        let store_filter = CaseFilter {
            case_kind: store::CaseKind::Admission,
            counterpart: filter.counterpart.map(|state| state.to_string()),
            status: match filter.statuses.as_slice() {
                [only] => Some(only.code().to_owned()),
                _ => None,
            },
        };
        let page_size = page_size.clamp(1, self.page_size_max()) as usize;
        let mut scan = SummaryScan::new(store_filter, after_ref, page_size);
        let mut page = Vec::with_capacity(page_size);
        while page.len() < page_size
            && let Some(record) = scan.next(self.store()).await?
        {
            let role_matches = filter
                .admitting
                .is_none_or(|admitting| (record.first_state == own.as_str()) == admitting);
            let status_matches = filter.statuses.is_empty()
                || filter
                    .statuses
                    .iter()
                    .any(|status| status.code() == record.status);
            let recent = filter
                .updated_since
                .is_none_or(|since| record.updated_at >= since.as_millis());
            if !(role_matches && status_matches && recent) {
                continue;
            }
            let case_ref = CaseRef::parse(&record.case_ref)
                .map_err(|error| Error::Internal(error.to_string()))?;
            let loaded = self
                .load_admission(&case_ref)
                .await?
                .ok_or_else(|| Error::Internal(format!("{case_ref} vanished")))?;
            if filter
                .offer_ref
                .as_ref()
                .is_some_and(|offer_ref| offer_ref != loaded.case.offer_ref())
            {
                continue;
            }
            page.push(convert::admission_to_wire(
                &loaded.case,
                &loaded.events,
                false,
                pending_count(self, loaded.case.offer_ref()).await?,
            ));
        }
        Ok((page, scan.next_token()))
    }

    async fn load_admission(&self, case_ref: &CaseRef) -> Result<Option<LoadedAdmission>, Error> {
        let Some((summary, records)) = self.store().load_case(&case_ref.to_string()).await? else {
            return Ok(None);
        };
        if summary.case_kind != store::CaseKind::Admission {
            return Ok(None);
        }
        let mut events = Vec::with_capacity(records.len());
        for record in &records {
            let event =
                pb::AdmissionEvent::decode(record.envelope.as_slice()).map_err(|error| {
                    Error::Internal(format!("{case_ref} #{}: {error}", record.sequence))
                })?;
            events.push(event);
        }
        let offer_ref = events
            .first()
            .and_then(convert::nominated_offer)
            .and_then(|text| CaseRef::parse(text).ok())
            .ok_or_else(|| Error::Internal(format!("{case_ref} does not start with NOMINATED")))?;
        let regime = self
            .offer_regime(&offer_ref)
            .await?
            .ok_or_else(|| Error::Internal(format!("{case_ref}'s offer {offer_ref} is missing")))?;
        let mut domain_events = Vec::with_capacity(events.len());
        for event in &events {
            let domain_event = convert::admission_event_from_wire(event, regime).map_err(|_| {
                Error::Internal(format!(
                    "{case_ref} #{} is not a valid event",
                    event.sequence
                ))
            })?;
            domain_events.push(domain_event);
        }
        let case = AdmissionCase::replay(regime.profile(), &domain_events)
            .map_err(|error| Error::Internal(format!("{case_ref} does not replay: {error}")))?;
        Ok(Some(LoadedAdmission {
            summary,
            events,
            case,
        }))
    }

    fn signed_admission_event(
        &self,
        event: &domain::AdmissionEvent,
        idempotency_key: &str,
        detail: Option<Detail>,
    ) -> pb::AdmissionEvent {
        let mut wire = pb::AdmissionEvent {
            case_ref: event.case_ref.to_string(),
            sequence: event.sequence,
            kind: convert::admission_kind_to_wire(&event.kind) as i32,
            acting_state: event.actor.state().to_string(),
            occurred_at: Some(to_wire_time(event.occurred_at)),
            idempotency_key: idempotency_key.to_owned(),
            detail,
            signing_key_id: String::new(),
            signature: Vec::new(),
        };
        let pair = (event.case_ref.first_state(), event.case_ref.second_state());
        super::envelope::sign(&mut wire, pair, self.signer());
        wire
    }

    fn admission_summary(&self, case: &AdmissionCase, created_at_ms: i64) -> CaseRecord {
        // Only A's clock records a lapse, so only A's node sweeps for it.
        let visa_running = matches!(
            case.status(),
            AdmissionStatus::Granted | AdmissionStatus::TravelBooked
        );
        let next_deadline_at = case
            .visa_valid_until()
            .filter(|_| visa_running && case.admitting() == self.own_state())
            .map(|until| until.plus_millis(1).as_millis());
        CaseRecord {
            case_ref: case.case_ref().to_string(),
            case_kind: store::CaseKind::Admission,
            first_state: case.admitting().to_string(),
            second_state: case.origin().to_string(),
            status: case.status().code().to_owned(),
            event_count: case.sequence(),
            created_at: created_at_ms.min(case.last_event_at().as_millis()),
            updated_at: case.last_event_at().as_millis(),
            next_deadline_at,
        }
    }

    /// The outbox message delivering a case event, ordered with its offer's events.
    fn admission_outbox(
        &self,
        event: &pb::AdmissionEvent,
        offer_ref: &CaseRef,
        destination: StateCode,
    ) -> OutboxMessage {
        OutboxMessage {
            case_ref: offer_ref.to_string(),
            destination: destination.to_string(),
            channel: Channel::Admission,
            event: EventRef {
                case_ref: event.case_ref.clone(),
                sequence: event.sequence,
            },
            created_at: self.now().as_millis(),
        }
    }
}

/// Reads case summaries of a list newest first, in batches, for lists that filter
/// beyond what the store's filter can say. Stops after [`LIST_SCAN_ROWS_MAX`] rows, so a
/// sparse filter cannot make one call read the whole table; the page then ends early with a
/// token to continue.
pub(crate) struct SummaryScan {
    filter: CaseFilter,
    batch_size: u64,
    pending: std::collections::VecDeque<CaseRecord>,
    cursor: Option<String>,
    exhausted: bool,
    scanned: usize,
}

impl SummaryScan {
    /// A scan after `after_ref`, reading a page's worth (plus one) per query.
    pub(crate) fn new(filter: CaseFilter, after_ref: Option<&str>, page_size: usize) -> Self {
        Self {
            filter,
            batch_size: u64::try_from(page_size)
                .unwrap_or(u64::MAX)
                .saturating_add(1),
            pending: std::collections::VecDeque::new(),
            cursor: after_ref.map(str::to_owned),
            exhausted: false,
            scanned: 0,
        }
    }

    /// The next summary, or `None` at the end of the table or of the scan's budget.
    pub(crate) async fn next(&mut self, store: &store::Store) -> Result<Option<CaseRecord>, Error> {
        if self.scanned >= LIST_SCAN_ROWS_MAX {
            return Ok(None);
        }
        if self.pending.is_empty() && !self.exhausted {
            let records = store
                .list_cases(&self.filter, self.cursor.as_deref(), self.batch_size)
                .await?;
            self.exhausted = (records.len() as u64) < self.batch_size;
            self.pending = records.into();
        }
        let record = self.pending.pop_front();
        if let Some(record) = &record {
            self.scanned += 1;
            self.cursor = Some(record.case_ref.clone());
        }
        Ok(record)
    }

    /// The token of the next page: the last reference read, unless the table ended there.
    pub(crate) fn next_token(&self) -> Option<String> {
        if self.exhausted && self.pending.is_empty() {
            None
        } else {
            self.cursor.clone()
        }
    }
}

/// The wire detail a step records, completed from the case, after the step's checks.
fn completed_detail(
    before: &AdmissionCase,
    after: &AdmissionCase,
    step: &AdmissionStep,
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
            Ok(Some(Detail::Granted(pb::AdmissionGrant {
                visa_valid_until: granted.map(to_wire_time),
            })))
        }
        AdmissionEventKind::GrantLapsed => Ok(Some(Detail::GrantLapsed(pb::GrantLapse {
            visa_valid_until: before.visa_valid_until().map(to_wire_time),
        }))),
        _ => Ok(step.detail.clone()),
    }
}

/// Outbox messages about `offer_ref` (and its cases) that await the partner's acknowledgement.
pub(crate) async fn pending_count(app: &App, offer_ref: &CaseRef) -> Result<u32, Error> {
    let pending = app
        .store()
        .pending_delivery_count_for(&offer_ref.to_string())
        .await?;
    Ok(u32::try_from(pending).unwrap_or(u32::MAX))
}

fn admission_event_record(event: &pb::AdmissionEvent) -> store::EventRecord {
    store::EventRecord {
        case_ref: event.case_ref.clone(),
        sequence: event.sequence,
        kind: convert::admission_kind_name(event.kind),
        acting_state: event.acting_state.clone(),
        occurred_at: convert::event_time(event.occurred_at.as_ref())
            .map(Timestamp::as_millis)
            .unwrap_or_default(),
        idempotency_key: event.idempotency_key.clone(),
        envelope: event.encode_to_vec(),
    }
}

/// The one mapping of the domain's admission refusals to application errors.
pub(crate) fn admission_error(error: &domain::Error, subject: &str) -> Error {
    use domain::Error as D;
    let description = error.to_string();
    match error {
        D::NotAParty { .. } | D::WrongActor { .. } => Error::PermissionDenied(description),
        D::Offer(offer) => offer_error(offer, subject),
        D::DeadlinePassed { .. } => {
            Error::precondition(Precondition::DeadlinePassed, subject, description)
        }
        D::NoReasons { .. } | D::DuplicateReason { .. } => {
            Error::invalid("refuse.reasons", description)
        }
        D::UnknownCode { .. }
        | D::WrongCaseRef { .. }
        | D::RegimeMismatch { .. }
        | D::ReplayStart
        | D::ReplayOrder { .. } => Error::Internal(description),
        D::StepNotAllowed { .. }
        | D::TimeWentBackwards { .. }
        | D::NotDue { .. }
        | D::ConfirmationNotRequired { .. } => {
            Error::precondition(Precondition::IllegalTransition, subject, description)
        }
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
