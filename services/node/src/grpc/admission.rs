//! `accord.v1.AdmissionService`: the local API for this state's caseworkers (through its
//! gateway) on offers and admission cases, and the event deliveries its partners call. Each
//! RPC names its callers, its parser (`convert::admission_rpc`) and its use case; `super`
//! does the rest.

use accord_proto::v1 as pb;
use accord_proto::v1::admission_service_server::AdmissionService;

use accord_domain::admission::{AdmissionCase, Offer};

use super::Rpc;
use crate::app::App;
use crate::convert::admission_rpc as parse;
use crate::convert::allocation_rpc as allocation_parse;
use crate::convert::offer_rpc as offer_parse;

/// The service, over the node's use cases.
#[derive(Clone)]
pub struct AdmissionApi {
    app: App,
}

impl AdmissionApi {
    /// Serves `app`.
    pub fn new(app: App) -> Self {
        Self { app }
    }
}

fn rpc(method: &'static str) -> Rpc {
    Rpc {
        service: "AdmissionService",
        method,
    }
}

#[tonic::async_trait]
impl AdmissionService for AdmissionApi {
    super::step_rpcs! {
        amend_offer: "AmendOffer",
            pb::AmendOfferRequest => pb::AmendOfferResponse, offer_parse::amend_offer;
        pause_offer: "PauseOffer",
            pb::PauseOfferRequest => pb::PauseOfferResponse, offer_parse::pause_offer;
        resume_offer: "ResumeOffer",
            pb::ResumeOfferRequest => pb::ResumeOfferResponse, offer_parse::resume_offer;
        close_offer: "CloseOffer",
            pb::CloseOfferRequest => pb::CloseOfferResponse, offer_parse::close_offer;
        start_vetting: "StartVetting",
            pb::StartVettingRequest => pb::StartVettingResponse, parse::start_vetting;
        decide_admission: "DecideAdmission",
            pb::DecideAdmissionRequest => pb::DecideAdmissionResponse, parse::decide_admission;
        withdraw_nomination: "WithdrawNomination",
            pb::WithdrawNominationRequest => pb::WithdrawNominationResponse, parse::withdraw_nomination;
        report_arrival: "ReportArrival",
            pb::ReportArrivalRequest => pb::ReportArrivalResponse, parse::report_arrival;
        confirm_departure: "ConfirmDeparture",
            pb::ConfirmDepartureRequest => pb::ConfirmDepartureResponse, parse::confirm_departure;
        report_grant_lapsed: "ReportGrantLapsed",
            pb::ReportGrantLapsedRequest => pb::ReportGrantLapsedResponse, parse::report_grant_lapsed;
        book_travel: "BookTravel",
            pb::BookTravelRequest => pb::BookTravelResponse, parse::book_travel;
    }

    super::local_rpcs! {
        publish_offer: "PublishOffer",
            pb::PublishOfferRequest => pb::PublishOfferResponse, offer_parse::publish_offer,
            |app, caller, publish| app.offers().publish_offer(&caller, publish);
        get_offer: "GetOffer",
            pb::GetOfferRequest => pb::GetOfferResponse, offer_parse::get_offer,
            |app, _, offer_ref| app.offers().get_offer(&offer_ref);
        list_offers: "ListOffers",
            pb::ListOffersRequest => pb::ListOffersResponse, offer_parse::list_offers,
            |app, _, query| app.offers().list_offers(query);
        nominate_candidate: "NominateCandidate",
            pb::NominateCandidateRequest => pb::NominateCandidateResponse, parse::nominate,
            |app, caller, nominate| app.cases().nominate_candidate(&caller, nominate);
        get_admission: "GetAdmission",
            pb::GetAdmissionRequest => pb::GetAdmissionResponse, parse::get_admission,
            |app, _, case_ref| app.cases().get_admission(&case_ref);
        list_admissions: "ListAdmissions",
            pb::ListAdmissionsRequest => pb::ListAdmissionsResponse, parse::list_admissions,
            |app, _, query| app.cases().list_admissions(query);
        list_allocations: "ListAllocations",
            pb::ListAllocationsRequest => pb::ListAllocationsResponse,
            allocation_parse::list_allocations,
            |app, _, query| app.list_allocations(query);
    }

    super::delivery_rpcs! {
        deliver_offer_event: "DeliverOfferEvent",
            pb::DeliverOfferEventRequest => pb::DeliverOfferEventResponse, Offer;
        deliver_admission_event: "DeliverAdmissionEvent",
            pb::DeliverAdmissionEventRequest => pb::DeliverAdmissionEventResponse, AdmissionCase;
    }

    super::history_rpcs! {
        list_offer_events: "ListOfferEvents",
            pb::ListOfferEventsRequest => pb::ListOfferEventsResponse,
            Offer, offer_ref, offer_parse::offer_history;
        list_admission_events: "ListAdmissionEvents",
            pb::ListAdmissionEventsRequest => pb::ListAdmissionEventsResponse,
            AdmissionCase, case_ref, parse::admission_history;
    }
}
