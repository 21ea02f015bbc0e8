//! `accord.v1.AdmissionService`: the local API for this state's caseworkers (through its
//! gateway) on offers and admission cases, and the event deliveries its partners call. Each
//! RPC names its callers, its parser (`convert::admission_rpc`) and its use case; `super`
//! does the rest.

use accord_proto::v1 as pb;
use accord_proto::v1::admission_service_server::AdmissionService;
use tonic::{Request, Response, Status};

use accord_domain::admission::{AdmissionCase, Offer};

use super::{Rpc, serve_delivery, serve_history, serve_local};
use crate::app::App;
use crate::convert::admission_rpc as parse;
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

    async fn publish_offer(
        &self,
        request: Request<pb::PublishOfferRequest>,
    ) -> Result<Response<pb::PublishOfferResponse>, Status> {
        serve_local(
            &self.app,
            rpc("PublishOffer"),
            request,
            offer_parse::publish_offer,
            |app, caller, publish| async move { app.offers().publish_offer(&caller, publish).await },
        )
        .await
    }

    async fn get_offer(
        &self,
        request: Request<pb::GetOfferRequest>,
    ) -> Result<Response<pb::GetOfferResponse>, Status> {
        serve_local(
            &self.app,
            rpc("GetOffer"),
            request,
            offer_parse::get_offer,
            |app, _, offer_ref| async move { app.offers().get_offer(&offer_ref).await },
        )
        .await
    }

    async fn list_offers(
        &self,
        request: Request<pb::ListOffersRequest>,
    ) -> Result<Response<pb::ListOffersResponse>, Status> {
        serve_local(
            &self.app,
            rpc("ListOffers"),
            request,
            offer_parse::list_offers,
            |app, _, query| async move { app.offers().list_offers(query).await },
        )
        .await
    }

    async fn nominate_candidate(
        &self,
        request: Request<pb::NominateCandidateRequest>,
    ) -> Result<Response<pb::NominateCandidateResponse>, Status> {
        serve_local(
            &self.app,
            rpc("NominateCandidate"),
            request,
            parse::nominate,
            |app, caller, nominate| async move {
                app.cases().nominate_candidate(&caller, nominate).await
            },
        )
        .await
    }

    async fn get_admission(
        &self,
        request: Request<pb::GetAdmissionRequest>,
    ) -> Result<Response<pb::GetAdmissionResponse>, Status> {
        serve_local(
            &self.app,
            rpc("GetAdmission"),
            request,
            parse::get_admission,
            |app, _, case_ref| async move { app.cases().get_admission(&case_ref).await },
        )
        .await
    }

    async fn list_admissions(
        &self,
        request: Request<pb::ListAdmissionsRequest>,
    ) -> Result<Response<pb::ListAdmissionsResponse>, Status> {
        serve_local(
            &self.app,
            rpc("ListAdmissions"),
            request,
            parse::list_admissions,
            |app, _, query| async move { app.cases().list_admissions(query).await },
        )
        .await
    }

    async fn deliver_offer_event(
        &self,
        request: Request<pb::DeliverOfferEventRequest>,
    ) -> Result<Response<pb::DeliverOfferEventResponse>, Status> {
        serve_delivery::<Offer, _, _>(&self.app, rpc("DeliverOfferEvent"), request, |message| {
            message.event
        })
        .await
    }

    async fn deliver_admission_event(
        &self,
        request: Request<pb::DeliverAdmissionEventRequest>,
    ) -> Result<Response<pb::DeliverAdmissionEventResponse>, Status> {
        serve_delivery::<AdmissionCase, _, _>(
            &self.app,
            rpc("DeliverAdmissionEvent"),
            request,
            |message| message.event,
        )
        .await
    }

    async fn list_offer_events(
        &self,
        request: Request<pb::ListOfferEventsRequest>,
    ) -> Result<Response<pb::ListOfferEventsResponse>, Status> {
        serve_history(
            &self.app,
            rpc("ListOfferEvents"),
            request,
            |message| &message.offer_ref,
            offer_parse::offer_history,
            |app, (offer_ref, page)| async move { app.offers().offer_events(&offer_ref, page).await },
        )
        .await
    }

    async fn list_admission_events(
        &self,
        request: Request<pb::ListAdmissionEventsRequest>,
    ) -> Result<Response<pb::ListAdmissionEventsResponse>, Status> {
        serve_history(
            &self.app,
            rpc("ListAdmissionEvents"),
            request,
            |message| &message.case_ref,
            parse::admission_history,
            |app, (case_ref, page)| async move { app.cases().admission_events(&case_ref, page).await },
        )
        .await
    }
}
