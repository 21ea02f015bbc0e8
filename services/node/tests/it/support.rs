//! What every module shares beyond the federation: times on the wire, what a refusal says
//! (its code, its `google.rpc.ErrorInfo` reason, the fields its `BadRequest` names), and the
//! step requests of both services, each keyed on a case.

use accord_domain::Timestamp;
use accord_node::convert::to_wire_time;

pub const DAY_MS: i64 = 24 * 60 * 60 * 1_000;
pub const HOUR_MS: i64 = 60 * 60 * 1_000;

/// `millis` since the epoch as a wire timestamp.
pub fn time(millis: i64) -> prost_types::Timestamp {
    to_wire_time(Timestamp::from_millis(millis).unwrap())
}

pub use accord_edge::testing::{bad_fields, reason};

/// Asserts that `status` is a refusal with `code` and the ErrorInfo `reason`.
pub fn assert_refused(status: &tonic::Status, code: tonic::Code, expected: &str) {
    assert_eq!(status.code(), code, "{status:?}");
    assert_eq!(reason(status), expected, "{status:?}");
}

/// Asserts that `status` refuses a request as invalid, naming exactly `fields`.
pub fn assert_invalid(status: &tonic::Status, fields: &[&str]) {
    assert_refused(status, tonic::Code::InvalidArgument, "FIELD_INVALID");
    assert_eq!(bad_fields(status), fields, "{}", status.message());
}

/// A step on a case: a request that names its idempotency key and its case, and whose other
/// fields a test sets (`..step(key, case_ref)` fills in the rest with their defaults).
pub trait Step: Default {
    /// The step keyed `key` on `case_ref`, every other field at its default.
    fn keyed(key: &str, case_ref: &str) -> Self;
}

macro_rules! steps {
    ($($request:ident),* $(,)?) => {
        $(
            impl Step for accord_proto::v1::$request {
                // Some steps hold nothing but their key and case: no default is left to fill.
                #[allow(clippy::needless_update)]
                fn keyed(key: &str, case_ref: &str) -> Self {
                    Self {
                        idempotency_key: key.to_owned(),
                        case_ref: case_ref.to_owned(),
                        ..Default::default()
                    }
                }
            }
        )*
    };
}

steps!(
    // Readmission.
    CloseReadmissionRequest,
    ConfirmArrivalRequest,
    DecideReadmissionRequest,
    DecideReExaminationRequest,
    IssueTransferDecisionRequest,
    PlaceLegalHoldRequest,
    PostponeTransferRequest,
    ProvideInformationRequest,
    ReleaseLegalHoldRequest,
    ReportNoShowRequest,
    ReportTransferFailedRequest,
    ReportTransferRequest,
    RequestInformationRequest,
    RequestReExaminationRequest,
    ScheduleTransferRequest,
    StartExaminationRequest,
    WithdrawReadmissionRequest,
    // Admission.
    BookTravelRequest,
    ConfirmDepartureRequest,
    DecideAdmissionRequest,
    ReportArrivalRequest,
    ReportGrantLapsedRequest,
    StartVettingRequest,
    WithdrawNominationRequest,
);

/// A step request of the type the caller needs, keyed `key`, on `case_ref`.
pub fn step<R: Step>(key: &str, case_ref: &str) -> R {
    R::keyed(key, case_ref)
}
