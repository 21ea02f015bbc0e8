//! `accord.v1.AdmissionService`: the local API for this state's caseworkers (through its
//! gateway) on offers and admission cases, and the event deliveries its partners call. Each
//! RPC names its callers, its parser (`convert::admission_rpc`) and its use case; `super`
//! does the rest.

use accord_proto::v1 as pb;
use accord_proto::v1::admission_service_server::AdmissionService;
use tonic::{Request, Response, Status};

use super::{Rpc, serve_delivery, serve_history, serve_local};
use accord_domain::admission::{AdmissionCase, Offer};

use crate::app::App;
use crate::convert::RequestContext;
use crate::convert::admission_rpc::{self as parse, AdmissionStep};
use crate::convert::command::Answer;
use crate::convert::offer_rpc::{self as offer_parse, OfferStep};
use crate::violation::Invalid;

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

    /// A caseworker's step on an offer: the shared path of every offer step RPC.
    async fn offer_step<Req: prost::Message, Resp: From<Answer<Offer>>>(
        &self,
        method: &'static str,
        request: Request<Req>,
        parse: fn(&Req, &RequestContext) -> Result<OfferStep, Invalid>,
    ) -> Result<Response<Resp>, Status> {
        serve_local(
            &self.app,
            rpc(method),
            request,
            parse,
            |app, caller, step| async move { app.offer_step(&caller, step).await },
        )
        .await
    }

    /// A caseworker's step on an admission case: the shared path of every case step RPC.
    async fn admission_step<Req: prost::Message, Resp: From<Answer<AdmissionCase>>>(
        &self,
        method: &'static str,
        request: Request<Req>,
        parse: fn(&Req, &RequestContext) -> Result<AdmissionStep, Invalid>,
    ) -> Result<Response<Resp>, Status> {
        serve_local(
            &self.app,
            rpc(method),
            request,
            parse,
            |app, caller, step| async move { app.admission_step(&caller, step).await },
        )
        .await
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
    async fn publish_offer(
        &self,
        request: Request<pb::PublishOfferRequest>,
    ) -> Result<Response<pb::PublishOfferResponse>, Status> {
        serve_local(
            &self.app,
            rpc("PublishOffer"),
            request,
            offer_parse::publish_offer,
            |app, caller, publish| async move { app.publish_offer(&caller, publish).await },
        )
        .await
    }

    async fn amend_offer(
        &self,
        request: Request<pb::AmendOfferRequest>,
    ) -> Result<Response<pb::AmendOfferResponse>, Status> {
        self.offer_step("AmendOffer", request, offer_parse::amend_offer)
            .await
    }

    async fn pause_offer(
        &self,
        request: Request<pb::PauseOfferRequest>,
    ) -> Result<Response<pb::PauseOfferResponse>, Status> {
        self.offer_step("PauseOffer", request, offer_parse::pause_offer)
            .await
    }

    async fn resume_offer(
        &self,
        request: Request<pb::ResumeOfferRequest>,
    ) -> Result<Response<pb::ResumeOfferResponse>, Status> {
        self.offer_step("ResumeOffer", request, offer_parse::resume_offer)
            .await
    }

    async fn close_offer(
        &self,
        request: Request<pb::CloseOfferRequest>,
    ) -> Result<Response<pb::CloseOfferResponse>, Status> {
        self.offer_step("CloseOffer", request, offer_parse::close_offer)
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
            |app, _, offer_ref| async move {
                app.get_offer(&offer_ref)
                    .await
                    .map(offer_parse::offer_response)
            },
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
            |app, _, query| async move {
                app.list_offers(query)
                    .await
                    .map(offer_parse::offers_response)
            },
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
            |app, caller, nominate| async move { app.nominate_candidate(&caller, nominate).await },
        )
        .await
    }

    async fn start_vetting(
        &self,
        request: Request<pb::StartVettingRequest>,
    ) -> Result<Response<pb::StartVettingResponse>, Status> {
        self.admission_step("StartVetting", request, parse::start_vetting)
            .await
    }

    async fn decide_admission(
        &self,
        request: Request<pb::DecideAdmissionRequest>,
    ) -> Result<Response<pb::DecideAdmissionResponse>, Status> {
        self.admission_step("DecideAdmission", request, parse::decide_admission)
            .await
    }

    async fn withdraw_nomination(
        &self,
        request: Request<pb::WithdrawNominationRequest>,
    ) -> Result<Response<pb::WithdrawNominationResponse>, Status> {
        self.admission_step("WithdrawNomination", request, parse::withdraw_nomination)
            .await
    }

    async fn book_travel(
        &self,
        request: Request<pb::BookTravelRequest>,
    ) -> Result<Response<pb::BookTravelResponse>, Status> {
        self.admission_step("BookTravel", request, parse::book_travel)
            .await
    }

    async fn report_arrival(
        &self,
        request: Request<pb::ReportArrivalRequest>,
    ) -> Result<Response<pb::ReportArrivalResponse>, Status> {
        self.admission_step("ReportArrival", request, parse::report_arrival)
            .await
    }

    async fn confirm_departure(
        &self,
        request: Request<pb::ConfirmDepartureRequest>,
    ) -> Result<Response<pb::ConfirmDepartureResponse>, Status> {
        self.admission_step("ConfirmDeparture", request, parse::confirm_departure)
            .await
    }

    async fn report_grant_lapsed(
        &self,
        request: Request<pb::ReportGrantLapsedRequest>,
    ) -> Result<Response<pb::ReportGrantLapsedResponse>, Status> {
        self.admission_step("ReportGrantLapsed", request, parse::report_grant_lapsed)
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
            |app, _, case_ref| async move {
                app.get_admission(&case_ref)
                    .await
                    .map(parse::admission_response)
            },
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
            |app, _, query| async move {
                app.list_admissions(query)
                    .await
                    .map(parse::admissions_response)
            },
        )
        .await
    }

    async fn deliver_offer_event(
        &self,
        request: Request<pb::DeliverOfferEventRequest>,
    ) -> Result<Response<pb::DeliverOfferEventResponse>, Status> {
        serve_delivery(
            &self.app,
            rpc("DeliverOfferEvent"),
            request,
            |message| message.event,
            |app, partner, event| async move {
                app.deliver_offer_event(partner, event)
                    .await
                    .map(offer_parse::offer_receipt_response)
            },
        )
        .await
    }

    async fn deliver_admission_event(
        &self,
        request: Request<pb::DeliverAdmissionEventRequest>,
    ) -> Result<Response<pb::DeliverAdmissionEventResponse>, Status> {
        serve_delivery(
            &self.app,
            rpc("DeliverAdmissionEvent"),
            request,
            |message| message.event,
            |app, partner, event| async move {
                app.deliver_admission_event(partner, event)
                    .await
                    .map(parse::admission_receipt_response)
            },
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
            |app, (offer_ref, page)| async move {
                app.offer_events(&offer_ref, page)
                    .await
                    .map(offer_parse::offer_events_response)
            },
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
            |app, (case_ref, page)| async move {
                app.admission_events(&case_ref, page)
                    .await
                    .map(parse::admission_events_response)
            },
        )
        .await
    }
}
