//! The one pipeline every case kind shares — readmission cases, offers and admission cases.
//!
//! A change reads the record and its signed history, rebuilds the domain record from it,
//! lets the domain decide the step, signs the new event, and commits the event, the record's
//! summary, the idempotency record and the partner's outbox message in one transaction
//! ([`Core::step`]). A partner's event is checked the same way in reverse: who may deliver it
//! ([`Core::check_delivery`]), its signature (`Partners::verify`), then whether it was delivered before, opens the
//! record or continues it ([`Core::receive`]). What differs per kind — the summary's next
//! deadline, how a domain refusal reads, what a step checks beyond the domain — is the
//! kind's [`CaseType`], implemented in its own module.

use std::future::Future;

use accord_domain::{Actor, CaseKind, CaseRef, Event, Regime, StateCode, Timestamp};

use super::event_key::EventKey;
use super::idempotency::Asked;
use super::list::SummaryScan;
use super::{App, Core, Error, Precondition, not_before, retry_on_conflict};
use crate::convert::answers::Answered;
use crate::convert::command::{Answer, EventPage, EventPageRequest, Receipt, RecordPage, Step};
use crate::convert::envelope::Signed;
use crate::store::{
    self, CaseFilter, CaseRecord, CaseWrite, Change, Channel, EventRecord, EventRef, OutboxMessage,
};

/// Events per page of a history read when the caller names no page size.
const EVENT_PAGE_SIZE_DEFAULT: u32 = 50;

/// What the shared pipeline needs to know of one case kind.
pub(crate) trait CaseType: Answered {
    /// The kind of record, as references and the store name it.
    const KIND: CaseKind;

    /// A refusal of the domain, as the application tells it.
    fn refusal(error: &Self::Error, subject: &str) -> Error;

    /// A refusal of the domain of a caseworker's step on the stored record `loaded`.
    fn step_refusal(_loaded: &Loaded<Self>, error: &Self::Error, subject: &str) -> Error {
        Self::refusal(error, subject)
    }

    /// The first instant a deadline whose clock `own` owns lapses on `case`; with
    /// `log_clock`, also those it may record on the coordinator log's clock.
    fn next_own_deadline(case: &Self, own: StateCode, log_clock: bool) -> Option<Timestamp>;

    /// The record `case_ref` names, with its history, if this node holds one of this kind.
    fn load(
        core: &Core,
        case_ref: &CaseRef,
    ) -> impl Future<Output = Result<Option<Loaded<Self>>, Error>> + Send {
        core.load_as(case_ref, None)
    }

    /// Who takes a caseworker's step of `kind` on `own`'s node: the state itself, except
    /// where the step is its clock's event.
    fn actor_of_step(_kind: &Self::Kind, own: StateCode) -> Actor {
        Actor::State(own)
    }

    /// The key that orders the outbox messages of `case`: its own reference (an admission
    /// case's messages follow its offer's, under the offer's reference).
    fn ordering_key(case: &Self) -> &CaseRef {
        case.case_ref()
    }

    /// The partner of `own` in `case`.
    fn partner(case: &Self, own: StateCode) -> StateCode {
        let case_ref = case.case_ref();
        if case_ref.first_state() == own {
            case_ref.second_state()
        } else {
            case_ref.first_state()
        }
    }
}

/// The use cases of a case kind that the gRPC layer serves through its shared paths: a
/// caseworker's step, and a partner's delivered event.
pub(crate) trait Served: CaseType {
    /// Records `caller`'s step.
    fn step_on(
        app: &App,
        caller: &str,
        step: Step<Self>,
    ) -> impl Future<Output = Result<Answer<Self>, Error>> + Send;

    /// Receives `partner`'s signed event.
    fn deliver_to(
        app: &App,
        partner: StateCode,
        wire: Self::WireEvent,
    ) -> impl Future<Output = Result<Receipt, Error>> + Send;
}

/// Implements [`Served`] for a kind with its context's accessor on [`App`] and the names of
/// its step and delivery use cases there.
macro_rules! served {
    ($kind:ty, $context:ident, $step:ident, $deliver:ident) => {
        impl $crate::app::case::Served for $kind {
            fn step_on(
                app: &$crate::app::App,
                caller: &str,
                step: $crate::convert::command::Step<Self>,
            ) -> impl ::std::future::Future<
                Output = Result<$crate::convert::command::Answer<Self>, $crate::app::Error>,
            > + Send {
                app.$context().$step(caller, step)
            }

            fn deliver_to(
                app: &$crate::app::App,
                partner: accord_domain::StateCode,
                wire: <Self as $crate::convert::envelope::Wire>::WireEvent,
            ) -> impl ::std::future::Future<
                Output = Result<$crate::convert::command::Receipt, $crate::app::Error>,
            > + Send {
                app.$context().$deliver(partner, wire)
            }
        }
    };
}

pub(crate) use served;

/// A record as stored: its summary, its signed history, and the domain record rebuilt from it.
pub(crate) struct Loaded<L: CaseType> {
    /// The summary row, as read (its event count guards the next write).
    pub(crate) summary: CaseRecord,
    /// The signed history.
    pub(crate) history: Vec<Signed<L>>,
    /// The domain record.
    pub(crate) case: L,
}

impl<L: CaseType> Loaded<L> {
    /// The summary update that writes `case` over this record, if nothing moved meanwhile.
    pub(crate) fn update(&self, core: &Core, case: &L) -> CaseWrite {
        CaseWrite::Update {
            record: core.summary(case, self.summary.created_at),
            expected_event_count: self.summary.event_count,
        }
    }
}

impl Core {
    /// The record `case_ref` names, with its history, if this node holds one of kind `L`.
    /// `regime` is the regime its events are read under where they do not name it
    /// (admission cases).
    pub(crate) async fn load_as<L: CaseType>(
        &self,
        case_ref: &CaseRef,
        regime: Option<Regime>,
    ) -> Result<Option<Loaded<L>>, Error> {
        let Some((summary, records)) = self.store().load_case(&case_ref.to_string()).await? else {
            return Ok(None);
        };
        if summary.case_kind != L::KIND {
            return Ok(None);
        }
        let history = records
            .iter()
            .map(|record| Signed::<L>::stored(&record.envelope, regime))
            .collect::<Result<Vec<_>, _>>()?;
        let events: Vec<Event<L::Kind>> = history
            .iter()
            .map(|signed| signed.event().clone())
            .collect();
        let case = L::replay(&events)
            .map_err(|error| Error::internal(format!("replaying {case_ref}"), error))?;
        Ok(Some(Loaded {
            summary,
            history,
            case,
        }))
    }

    /// A caseworker's step on a record of this node: replayed if the request was answered
    /// before; else the record read, the step decided by the domain (after `check`, which
    /// may refuse it or complete its detail from the stored record), signed, and committed
    /// with what `extend` adds to the change (an offer's event that goes with a case's).
    pub(crate) async fn step<L, Check, Extend, Fut>(
        &self,
        caller: &str,
        step: &Step<L>,
        check: Check,
        extend: Extend,
    ) -> Result<Answer<L>, Error>
    where
        L: CaseType,
        Check: Fn(&Loaded<L>, &L, &Step<L>) -> Result<Option<L::Detail>, Error>,
        Extend: Fn(Answer<L>, Change) -> Fut,
        Fut: Future<Output = Result<(Answer<L>, Change), Error>>,
    {
        let event_key = self.event_key_of(&step.key);
        let asked = Asked::new(caller, &step.key, &event_key);
        self.replay_or_attempt(&step.case_ref, asked, || async {
            let subject = step.case_ref.to_string();
            let loaded = L::load(self, &step.case_ref)
                .await?
                .ok_or_else(|| Error::NotFound(subject.clone()))?;
            let own = self.own_state();
            let now = not_before(self.now(), loaded.case.last_event_at());
            let actor = L::actor_of_step(&step.kind, own);
            let (case, event) = loaded
                .case
                .record(actor, step.kind.clone(), now)
                .map_err(|error| L::step_refusal(&loaded, &error, &subject))?;
            let detail = check(&loaded, &case, step)?;
            let signed = self.seal(event, asked.event_key, detail);
            let partner = L::partner(&case, own);
            let change = Change {
                idempotency: None,
                case: loaded.update(self, &case),
                offer: None,
                events: vec![event_record(&signed)],
                outbox: vec![self.outbox(&signed, partner, L::ordering_key(&case))],
            };
            let mut history = loaded.history;
            history.push(signed);
            let answer = Answer {
                case,
                history,
                pending_deliveries: 0,
                admitted: 0,
            };
            let (answer, mut change) = extend(answer, change).await?;
            change.idempotency = Some(self.answer_record(asked, &answer));
            self.commit_answer(asked, change, answer).await
        })
        .await
    }

    /// `event`, signed by this node's state under `event_key`, a key this node made
    /// (`event_key`), never a caller's.
    pub(crate) fn seal<L: CaseType>(
        &self,
        event: Event<L::Kind>,
        event_key: &EventKey,
        detail: Option<L::Detail>,
    ) -> Signed<L> {
        Signed::sign(event, event_key.as_str(), detail, self.signer())
    }

    /// `event`, signed by this node's state under the key of the event of its own that it
    /// re-applies (a step displaced by the partner's earlier event keeps its key).
    pub(crate) fn reseal<L: CaseType>(
        &self,
        event: Event<L::Kind>,
        displaced_key: &str,
        detail: Option<L::Detail>,
    ) -> Signed<L> {
        Signed::sign(event, displaced_key, detail, self.signer())
    }

    /// The summary row of `case`, first recorded here at `created_at_ms`.
    pub(crate) fn summary<L: CaseType>(&self, case: &L, created_at_ms: i64) -> CaseRecord {
        let case_ref = case.case_ref();
        CaseRecord {
            case_ref: case_ref.to_string(),
            case_kind: L::KIND,
            first_state: case_ref.first_state().to_string(),
            second_state: case_ref.second_state().to_string(),
            status: case.status().to_string(),
            event_count: case.sequence(),
            created_at: created_at_ms.min(case.last_event_at().as_millis()),
            updated_at: case.last_event_at().as_millis(),
            next_deadline_at: L::next_own_deadline(
                case,
                self.own_state(),
                self.log_clock().is_some(),
            )
            .map(Timestamp::as_millis),
        }
    }

    /// The outbox message delivering `signed` to `destination`, in order with every other
    /// message under `ordering_key` (a case's own reference, or its offer's).
    pub(crate) fn outbox<L: CaseType>(
        &self,
        signed: &Signed<L>,
        destination: StateCode,
        ordering_key: &CaseRef,
    ) -> OutboxMessage {
        let event = signed.event();
        OutboxMessage {
            case_ref: ordering_key.to_string(),
            destination: destination.to_string(),
            channel: Channel::of(L::KIND),
            event: EventRef {
                case_ref: event.case_ref.to_string(),
                sequence: event.sequence,
            },
            created_at: self.now().as_millis(),
        }
    }

    /// Decides, from the fields that name who acts and on what, whether `partner`'s node may
    /// deliver an event of `case_ref`: before the rest of the event is read, so that a caller
    /// who may not deliver it learns nothing from validation.
    pub(crate) fn check_delivery<L: CaseType>(
        &self,
        partner: StateCode,
        wire: &L::WireEvent,
    ) -> Result<CaseRef, Error> {
        let header = L::header(wire);
        let (case_ref, acting_state) = (header.case_ref, header.acting_state);
        let own = self.own_state();
        if acting_state != partner.as_str() {
            return Err(Error::PermissionDenied(format!(
                "{partner}'s node may deliver only {partner}'s events, not {acting_state:?}'s"
            )));
        }
        let case_ref = CaseRef::parse(case_ref)
            .map_err(|error| Error::invalid("event.case_ref", error.to_string()))?;
        let parties = (case_ref.first_state(), case_ref.second_state());
        if case_ref.kind() != L::KIND || !(parties == (own, partner) || parties == (partner, own)) {
            return Err(Error::PermissionDenied(format!(
                "{case_ref} is not a {} record between {partner} and {own}",
                L::KIND.prefix()
            )));
        }
        Ok(case_ref)
    }

    /// Receives a partner's verified event: acknowledged again if it was delivered before
    /// (the same bytes under its key; other bytes are `KeyReused`); else `first` opens the
    /// record when this node holds none, or `next` continues it. Retried while a concurrent
    /// change wins.
    pub(crate) async fn receive<L, First, FirstFut, Next, NextFut>(
        &self,
        partner: StateCode,
        signed: &Signed<L>,
        first: First,
        next: Next,
    ) -> Result<Receipt, Error>
    where
        L: CaseType,
        First: Fn() -> FirstFut,
        FirstFut: Future<Output = Result<Receipt, Error>>,
        Next: Fn(Loaded<L>) -> NextFut,
        NextFut: Future<Output = Result<Receipt, Error>>,
    {
        let case_ref = &signed.event().case_ref;
        retry_on_conflict(case_ref, || async {
            if let Some(already) = self.delivered_before(partner, signed).await? {
                return Ok(Receipt {
                    receipt_time: already,
                    already_delivered: true,
                });
            }
            match L::load(self, case_ref).await? {
                None => first().await,
                Some(loaded) => next(loaded).await,
            }
        })
        .await
    }

    /// [`Core::receive`] for a kind whose later events are applied as the partner's node
    /// applied them ([`Core::continue_with`]); `first` opens the record.
    pub(crate) async fn receive_or_continue<L: CaseType, Opened>(
        &self,
        partner: StateCode,
        signed: &Signed<L>,
        first: impl Fn() -> Opened,
    ) -> Result<Receipt, Error>
    where
        Opened: Future<Output = Result<Receipt, Error>>,
    {
        let next = |loaded| self.continue_with(loaded, signed);
        self.receive(partner, signed, first, next).await
    }

    /// When `signed` was first received here, if it was: the same event under the same key.
    /// The receipt time kept is the event's record time; the same key with other content is
    /// `KeyReused`.
    async fn delivered_before<L: CaseType>(
        &self,
        partner: StateCode,
        signed: &Signed<L>,
    ) -> Result<Option<Timestamp>, Error> {
        let header = signed.header();
        let Some(stored) = self
            .store()
            .find_event(header.case_ref, partner.as_str(), header.idempotency_key)
            .await?
        else {
            return Ok(None);
        };
        if stored.envelope != signed.encoded() {
            return Err(Error::KeyReused(header.idempotency_key.to_owned()));
        }
        Ok(Some(self.now()))
    }

    /// Opens on this node the record that a partner's first event `signed` starts, as the
    /// partner's node opened it: its summary and the event, committed with no outbox message.
    pub(crate) async fn open_received<L: CaseType>(
        &self,
        signed: &Signed<L>,
    ) -> Result<Receipt, Error> {
        let event = signed.event();
        let case =
            L::begin(event).map_err(|error| L::refusal(&error, &event.case_ref.to_string()))?;
        let receipt_time = self.now();
        let change = Change {
            idempotency: None,
            case: CaseWrite::Create(self.summary(&case, receipt_time.as_millis())),
            offer: None,
            events: vec![event_record(signed)],
            outbox: Vec::new(),
        };
        self.store().commit(change).await?;
        Ok(Receipt {
            receipt_time,
            already_delivered: false,
        })
    }

    /// Applies the partner's next event to `loaded`: the one after the last, checked by the
    /// domain as the partner's node checked it; committed with no outbox message.
    pub(crate) async fn continue_with<L: CaseType>(
        &self,
        loaded: Loaded<L>,
        signed: &Signed<L>,
    ) -> Result<Receipt, Error> {
        let event = signed.event();
        let subject = event.case_ref.to_string();
        check_sequence(&subject, loaded.case.sequence(), event.sequence)?;
        let case = loaded
            .case
            .apply(event.actor, &event.kind, event.occurred_at)
            .map_err(|error| L::refusal(&error, &subject))?;
        let change = Change {
            idempotency: None,
            case: loaded.update(self, &case),
            offer: None,
            events: vec![event_record(signed)],
            outbox: Vec::new(),
        };
        self.commit_received(change, &subject).await
    }

    /// Commits a partner's event; a concurrent change that won is `Aborted` (read again).
    pub(crate) async fn commit_received(
        &self,
        change: Change,
        subject: &str,
    ) -> Result<Receipt, Error> {
        match self.store().commit(change).await {
            Ok(_) => Ok(Receipt {
                receipt_time: self.now(),
                already_delivered: false,
            }),
            Err(store::Error::Conflict) => {
                Err(Error::Aborted(format!("{subject} changed concurrently")))
            }
            Err(error) => Err(error.into()),
        }
    }

    /// The record with its history, for either party's gateway.
    pub(crate) async fn answer_of<L: CaseType>(
        &self,
        loaded: Option<Loaded<L>>,
        case_ref: &CaseRef,
        pending_for: &CaseRef,
    ) -> Result<Answer<L>, Error> {
        let loaded = loaded.ok_or_else(|| Error::NotFound(case_ref.to_string()))?;
        Ok(Answer {
            case: loaded.case,
            history: loaded.history,
            pending_deliveries: self.pending_count(pending_for).await?,
            admitted: 0,
        })
    }

    /// A page of records of kind `L`, newest first: the summaries `filter` selects after
    /// `after` that `keep` accepts, each loaded with its history and given by `answer`
    /// (`None` leaves it out).
    pub(crate) async fn list_records<L, Keep, Give, Fut>(
        &self,
        filter: CaseFilter,
        after: Option<&str>,
        page_size: u32,
        keep: Keep,
        answer: Give,
    ) -> Result<RecordPage<L>, Error>
    where
        L: CaseType,
        Keep: Fn(&CaseRecord) -> bool,
        Give: Fn(Loaded<L>) -> Fut,
        Fut: Future<Output = Result<Option<Answer<L>>, Error>>,
    {
        let page_size = page_size.clamp(1, self.page_size_max()) as usize;
        let mut scan = SummaryScan::new(filter, after, page_size);
        let mut records = Vec::with_capacity(page_size);
        while records.len() < page_size
            && let Some(summary) = scan.next(self.store()).await?
        {
            if !keep(&summary) {
                continue;
            }
            let case_ref = CaseRef::parse(&summary.case_ref)
                .map_err(|error| Error::internal("reading a stored case reference", error))?;
            let loaded = L::load(self, &case_ref)
                .await?
                .ok_or_else(|| Error::inconsistent(format!("{case_ref} vanished")))?;
            if let Some(record) = answer(loaded).await? {
                records.push(record);
            }
        }
        Ok(RecordPage {
            records,
            next_page_token: scan.next_token(),
        })
    }

    /// Messages about `ordering_key` that await the partner's acknowledgement.
    pub(crate) async fn pending_count(&self, ordering_key: &CaseRef) -> Result<u32, Error> {
        let pending = self
            .store()
            .pending_delivery_count_for(&ordering_key.to_string())
            .await?;
        Ok(u32::try_from(pending).unwrap_or(u32::MAX))
    }

    /// The page of `history` that `request` asks for: the events after its sequence, at
    /// most its page size (or the default), and the token of the next page.
    pub(crate) fn event_page<L: CaseType>(
        &self,
        history: Vec<Signed<L>>,
        request: EventPageRequest,
    ) -> EventPage<Signed<L>> {
        let limit = match request.page_size {
            0 => EVENT_PAGE_SIZE_DEFAULT,
            size => size.min(self.page_size_max()),
        } as usize;
        let mut events: Vec<Signed<L>> = history
            .into_iter()
            .filter(|signed| signed.event().sequence > request.after_sequence)
            .collect();
        let more = events.len() > limit;
        events.truncate(limit);
        let next_page_token = match (more, events.last()) {
            (true, Some(last)) => last.event().sequence.to_string(),
            _ => String::new(),
        };
        EventPage {
            events,
            next_page_token,
        }
    }
}

impl App {
    /// A page of the signed history of the record of kind `L` that `case_ref` names, for
    /// either party (`grpc::serve_history` decides who may read it).
    pub(crate) async fn history<L: CaseType>(
        &self,
        case_ref: CaseRef,
        page: EventPageRequest,
    ) -> Result<EventPage<Signed<L>>, Error> {
        let loaded = L::load(&self.core, &case_ref)
            .await?
            .ok_or_else(|| Error::NotFound(case_ref.to_string()))?;
        Ok(self.core.event_page(loaded.history, page))
    }
}

/// The store's row of `signed`.
pub(crate) fn event_record<L: CaseType>(signed: &Signed<L>) -> EventRecord {
    let event = signed.event();
    EventRecord {
        case_ref: event.case_ref.to_string(),
        sequence: event.sequence,
        kind: signed.kind_name(),
        acting_state: event.actor.state().to_string(),
        occurred_at: event.occurred_at.as_millis(),
        idempotency_key: signed.header().idempotency_key.to_owned(),
        envelope: signed.encoded(),
    }
}

/// Checks that a delivered event is the next one of its record: an earlier sequence is
/// taken (`SEQUENCE_TAKEN`), a later one leaves a gap (`SEQUENCE_GAP`: the partner sends the
/// missing ones first).
pub(crate) fn check_sequence(subject: &str, current: u64, delivered: u64) -> Result<(), Error> {
    let expected = current + 1;
    if delivered < expected {
        return Err(Error::SequenceTaken {
            subject: subject.to_owned(),
            sequence: delivered,
        });
    }
    if delivered > expected {
        return Err(Error::precondition(
            Precondition::SequenceGap,
            subject,
            format!("SEQUENCE_GAP: {subject} expected sequence {expected}, got {delivered}"),
        ));
    }
    Ok(())
}
