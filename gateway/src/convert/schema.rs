//! The OpenAPI schemas of coded fields: a string whose allowed values are the proto enum's
//! names without their prefix, read from the generated enums, so the document lists exactly
//! the codes the gateway accepts and never drifts from the proto.

use accord_proto::v1 as pb;
use utoipa::openapi::schema::{Array, ArrayBuilder, Object, ObjectBuilder, SchemaType, Type};

use super::Coded;

/// The codes of `E`, in wire order, without the unspecified value.
fn all_codes<E: Coded>() -> Vec<String> {
    (1..=i32::from(u8::MAX))
        .filter_map(E::from_number)
        .map(|value| value.full_name().trim_start_matches(E::PREFIX).to_owned())
        .collect()
}

/// A string schema allowing `E`'s codes (and `null` when `nullable`).
fn one<E: Coded>(nullable: bool) -> Object {
    let schema_type = if nullable {
        SchemaType::from_iter([Type::String, Type::Null])
    } else {
        SchemaType::Type(Type::String)
    };
    ObjectBuilder::new()
        .schema_type(schema_type)
        .enum_values(Some(all_codes::<E>()))
        .build()
}

/// An array schema of `E`'s codes.
fn many<E: Coded>() -> Array {
    ArrayBuilder::new().items(one::<E>(false)).build()
}

macro_rules! schemas {
    ($($one:ident, $nullable:ident, $many:ident => $name:ident;)*) => {
        $(
            #[doc = concat!("A `", stringify!($name), "` code.")]
            pub fn $one() -> Object {
                one::<pb::$name>(false)
            }
            #[doc = concat!("A `", stringify!($name), "` code, or null.")]
            pub fn $nullable() -> Object {
                one::<pb::$name>(true)
            }
            #[doc = concat!("A list of `", stringify!($name), "` codes.")]
            pub fn $many() -> Array {
                many::<pb::$name>()
            }
        )*
    };
}

schemas! {
    regime, regime_or_null, regimes => Regime;
    transport_mode, transport_mode_or_null, transport_modes => TransportMode;
    evidence_kind, evidence_kind_or_null, evidence_kinds => EvidenceKind;
    readmission_status, readmission_status_or_null, readmission_statuses => ReadmissionStatus;
    readmission_reason, readmission_reason_or_null, readmission_reasons => ReadmissionReason;
    legal_hold_kind, legal_hold_kind_or_null, legal_hold_kinds => LegalHoldKind;
    postponement_reason, postponement_reason_or_null, postponement_reasons => TransferPostponementReason;
    offer_status, offer_status_or_null, offer_statuses => OfferStatus;
    offer_pause_reason, offer_pause_reason_or_null, offer_pause_reasons => OfferPauseReason;
    admission_status, admission_status_or_null, admission_statuses => AdmissionStatus;
    refusal_reason, refusal_reason_or_null, refusal_reasons => AdmissionRefusalReason;
    withdrawal_reason, withdrawal_reason_or_null, withdrawal_reasons => NominationWithdrawalReason;
}
