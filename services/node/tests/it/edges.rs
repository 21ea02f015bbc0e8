//! The edges keep `common.proto`'s contract through a real node over mTLS, whoever refuses:
//! raw bytes the framework cannot decode, a body over the size limit, an unknown method, a
//! certificate that names nobody, an event under another state's key, and a value too long
//! to echo. Every refusal carries its `ErrorInfo`.

use accord_proto::v1 as pb;
use accord_trust::{CaBundle, ClientTls, Identity};
use prost::bytes::{Buf, BufMut};
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::transport::Channel;
use tonic_types::StatusExt;

use crate::federation::Federation;
use crate::readmission::{deliver, open_and_receive, shared_history, sign};
use crate::support::assert_refused;

/// The node's default message limit (`Limits::default().max_message_bytes`).
const MAX_MESSAGE_BYTES: usize = 4 * 1024 * 1024;

/// A codec that sends and receives bytes as they are: what a broken or hostile client sends.
#[derive(Debug, Clone, Copy, Default)]
struct RawCodec;

impl Codec for RawCodec {
    type Encode = Vec<u8>;
    type Decode = Vec<u8>;
    type Encoder = RawCodec;
    type Decoder = RawCodec;

    fn encoder(&mut self) -> Self::Encoder {
        RawCodec
    }

    fn decoder(&mut self) -> Self::Decoder {
        RawCodec
    }
}

impl Encoder for RawCodec {
    type Item = Vec<u8>;
    type Error = tonic::Status;

    fn encode(&mut self, item: Vec<u8>, buffer: &mut EncodeBuf<'_>) -> Result<(), Self::Error> {
        buffer.put_slice(&item);
        Ok(())
    }
}

impl Decoder for RawCodec {
    type Item = Vec<u8>;
    type Error = tonic::Status;

    fn decode(&mut self, buffer: &mut DecodeBuf<'_>) -> Result<Option<Vec<u8>>, Self::Error> {
        let bytes = buffer.chunk().to_vec();
        buffer.advance(bytes.len());
        Ok(Some(bytes))
    }
}

/// Calls `path` on GB's node as GB's gateway, with `body` as the request message's bytes.
async fn raw_call(federation: &Federation, path: &'static str, body: Vec<u8>) -> tonic::Status {
    let mut client = tonic::client::Grpc::new(federation.gateway_channel("GB").await);
    client.ready().await.unwrap();
    client
        .unary(
            tonic::Request::new(body),
            tonic::codegen::http::uri::PathAndQuery::from_static(path),
            RawCodec,
        )
        .await
        .unwrap_err()
}

const OPEN: &str = "/accord.v1.ReadmissionService/OpenReadmission";

#[tokio::test]
async fn an_undecodable_body_is_invalid_argument_without_the_decoders_text() {
    let federation = Federation::start(&["GB", "FR"]).await;
    let refused = raw_call(&federation, OPEN, vec![0xff; 11]).await;
    assert_refused(&refused, tonic::Code::InvalidArgument, "FIELD_INVALID");
    assert!(
        refused.get_details_bad_request().is_some(),
        "a BadRequest names the body"
    );
    assert!(
        !refused.message().contains("Protobuf") && !refused.message().contains("varint"),
        "the decoder's text stays inside: {}",
        refused.message()
    );
}

#[tokio::test]
async fn an_oversized_body_is_resource_exhausted_with_a_quota_failure() {
    let federation = Federation::start(&["GB", "FR"]).await;
    let refused = raw_call(&federation, OPEN, vec![0; MAX_MESSAGE_BYTES + 1]).await;
    assert_refused(&refused, tonic::Code::ResourceExhausted, "LIMIT_EXCEEDED");
    let quota = refused.get_details_quota_failure().expect("a QuotaFailure");
    assert!(
        quota.violations[0]
            .description
            .contains("limits.max_message_bytes"),
        "{quota:?}"
    );
}

#[tokio::test]
async fn an_unknown_method_is_unimplemented_with_its_error_info() {
    let federation = Federation::start(&["GB", "FR"]).await;
    let unknown = "/accord.v1.LedgerService/ReportEvents";
    let refused = raw_call(&federation, unknown, Vec::new()).await;
    assert_refused(&refused, tonic::Code::Unimplemented, "METHOD_NOT_SERVED");
}

/// A certificate the network CA signed that names no Accord identity (no SPIFFE URI).
fn nameless_channel(federation: &Federation, code: &str) -> Channel {
    let authority = federation.pki.authority().unwrap();
    let issuer = rcgen::Issuer::from_ca_cert_pem(
        authority.certificate_pem(),
        rcgen::KeyPair::from_pem(&authority.key_pem()).unwrap(),
    )
    .unwrap();
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let mut params = rcgen::CertificateParams::new(vec!["localhost".to_owned()]).unwrap();
    params.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
    let now = accord_trust::clock::wall_clock_now();
    params.not_before = now - time::Duration::minutes(5);
    params.not_after = now + time::Duration::days(1);
    let certificate = params.signed_by(&key, &issuer).unwrap();
    let identity = Identity::from_pem(&certificate.pem(), &key.serialize_pem()).unwrap();
    let ca = CaBundle::from_pem(authority.certificate_pem()).unwrap();
    let tls = ClientTls::new(&identity, &ca, "127.0.0.1").unwrap();
    let address = federation.nodes[&crate::federation::state(code)].address;
    accord_trust::connect_lazy(&format!("https://{address}"), &tls).unwrap()
}

#[tokio::test]
async fn an_unauthenticated_call_carries_its_error_info_and_is_audited() {
    let federation = Federation::start(&["GB", "FR"]).await;
    let refused = pb::readmission_service_client::ReadmissionServiceClient::new(nameless_channel(
        &federation,
        "FR",
    ))
    .list_readmissions(pb::ListReadmissionsRequest::default())
    .await
    .unwrap_err();
    assert_refused(
        &refused,
        tonic::Code::Unauthenticated,
        "CALLER_UNAUTHENTICATED",
    );
    let audit = federation.audit("FR").await;
    assert_eq!(audit.len(), 1, "{audit:?}");
    assert_eq!(audit[0].outcome, "UNAUTHENTICATED");
    assert_eq!(audit[0].peer, "unauthenticated@127.0.0.1");
    assert_eq!(
        audit[0].operation,
        "/accord.v1.ReadmissionService/ListReadmissions"
    );
}

#[tokio::test]
async fn an_event_signed_under_another_states_key_is_invalid_not_a_key_to_wait_for() {
    let federation = Federation::start(&["GB", "FR"]).await;
    let case_ref = open_and_receive(&federation, "open-1").await;
    // GB's genuine request, signed again under France's key id.
    let mut event = shared_history(&federation, &case_ref).await.remove(0);
    sign(&mut event, &federation.signing_key("FR"));
    let refused = deliver(&federation, "GB", "FR", event).await.unwrap_err();
    assert_refused(&refused, tonic::Code::InvalidArgument, "SIGNATURE_INVALID");
    assert_eq!(shared_history(&federation, &case_ref).await.len(), 2);
}

#[tokio::test]
async fn a_long_value_is_cut_in_the_refusal_and_its_length_said() {
    let federation = Federation::start(&["GB", "FR"]).await;
    let case_ref = "R".repeat(100_000);
    let mut gb = federation.gateway("GB").await;
    let too_long = pb::GetReadmissionRequest { case_ref };
    let refused = gb.get_readmission(too_long).await.unwrap_err();
    assert_refused(&refused, tonic::Code::InvalidArgument, "FIELD_INVALID");
    let told = refused.message().len() + refused.details().len();
    assert!(told < 2_048, "{told} bytes told: {}", refused.message());
    assert!(
        refused.message().contains("…(100000 bytes)"),
        "the cut says so: {}",
        refused.message()
    );
    let violation = &refused.get_details_bad_request().unwrap().field_violations[0];
    assert!(
        violation.description.contains("…(100000 bytes)"),
        "{violation:?}"
    );
}

#[test]
fn aborted_and_internal_no_longer_claim_the_service_is_unavailable() {
    use accord_node::app::Error;
    let aborted = accord_node::grpc::status(Error::Aborted("changed".into()));
    assert_refused(&aborted, tonic::Code::Aborted, "CONCURRENT_CHANGE");
    let internal = accord_node::grpc::status(Error::inconsistent("a bug"));
    assert_refused(&internal, tonic::Code::Internal, "INTERNAL");
    assert!(!internal.message().contains("a bug"));
}
