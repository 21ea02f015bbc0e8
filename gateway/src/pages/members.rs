//! `/members`: the member states — status, why it last changed, when each joined, its
//! certificates and when they expire, its signing keys — and what each pair agreed (regimes,
//! effective dates, sunset, parity limit), as the coordinator's current signed directory
//! lists them, for operators and diplomats. The gateway reads the directory
//! (`MembershipService.GetDirectory`, which an operator's identity may call); it changes
//! nothing in it.

use std::sync::Arc;

use accord_proto::v1 as pb;
use askama::Template;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::text::{self, Text};
use super::words::{self, Words};
use super::{PageQuery, coordinator_reader, render};
use crate::api::Context;
use crate::convert::{code_or_empty, time};
use crate::problem::Problem;

/// Registers the members' page.
pub fn routes(router: OpenApiRouter<Arc<Context>>) -> OpenApiRouter<Arc<Context>> {
    router.routes(routes!(members))
}

/// One certificate of a member.
struct CertificateRow {
    role: String,
    not_after: String,
}

/// One member on the page.
struct MemberRow {
    state: String,
    status: String,
    reason: String,
    status_changed_at: String,
    joined_at: String,
    certificates: Vec<CertificateRow>,
    /// The first of its certificates to expire.
    expires: String,
    /// Its signing keys: id and status.
    signing_keys: Vec<(String, String)>,
}

/// One agreement on the page.
struct AgreementRow {
    first_state: String,
    second_state: String,
    regimes: String,
    effective_from: String,
    sunset_at: Option<String>,
    parity_limit: Option<u64>,
}

#[derive(Template)]
#[template(path = "members.html")]
struct MembersPage {
    text: &'static Text,
    words: &'static Words,
    version: u64,
    issued_at: String,
    members: Vec<MemberRow>,
    agreements: Vec<AgreementRow>,
}

/// The member states and their agreements, from the coordinator's signed directory.
#[utoipa::path(get, path = "/members", tag = "pages",
    params(("lang" = Option<String>, Query, description = "`en` or `fr`; default from Accept-Language")),
    responses(
        (status = 200, description = "The members and agreements", content_type = "text/html"),
        (status = 303, description = "Not signed in: on to /login"),
        (status = 403, description = "Signed in with a role that may not see it", content_type = "text/html"),
    ))]
async fn members(
    State(context): State<Arc<Context>>,
    Query(query): Query<PageQuery>,
    headers: HeaderMap,
) -> Response {
    let text = text::choose(query.lang.as_deref(), &headers);
    if let Err(answer) = coordinator_reader(&context, &headers, text) {
        return answer;
    }
    let signed = match directory(&context).await {
        Ok(signed) => signed,
        Err(problem) => return problem.into_response(),
    };
    let directory = signed.directory.unwrap_or_default();
    render(
        StatusCode::OK,
        &MembersPage {
            text,
            words: words::of(text.lang),
            version: directory.version,
            issued_at: time(directory.issued_at.as_ref()).unwrap_or_default(),
            members: directory.members.iter().map(member_row).collect(),
            agreements: directory.agreements.iter().map(agreement_row).collect(),
        },
    )
}

/// The coordinator's current signed directory.
pub(crate) async fn directory(context: &Context) -> Result<pb::SignedDirectory, Problem> {
    Ok(context
        .coordinator()?
        .membership()
        .get_directory(pb::GetDirectoryRequest {})
        .await?
        .into_inner()
        .directory
        .unwrap_or_default())
}

fn member_row(member: &pb::Member) -> MemberRow {
    let expires = member
        .certificates
        .iter()
        .filter_map(|certificate| certificate.not_after)
        .min_by_key(|not_after| (not_after.seconds, not_after.nanos));
    MemberRow {
        state: member.state.clone(),
        status: code_or_empty::<pb::MemberStatus>(member.status),
        reason: code_or_empty::<pb::MemberStatusReason>(member.status_reason),
        status_changed_at: time(member.status_changed_at.as_ref()).unwrap_or_default(),
        joined_at: time(member.joined_at.as_ref()).unwrap_or_default(),
        certificates: member
            .certificates
            .iter()
            .map(|certificate| CertificateRow {
                role: code_or_empty::<pb::CertificateRole>(certificate.role),
                not_after: time(certificate.not_after.as_ref()).unwrap_or_default(),
            })
            .collect(),
        expires: time(expires.as_ref()).unwrap_or_default(),
        signing_keys: member
            .signing_keys
            .iter()
            .map(|key| {
                let status = pb::SigningKeyStatus::try_from(key.status).map_or_else(
                    |_| key.status.to_string(),
                    |status| {
                        status
                            .as_str_name()
                            .trim_start_matches("SIGNING_KEY_STATUS_")
                            .to_owned()
                    },
                );
                (key.key_id.clone(), status)
            })
            .collect(),
    }
}

fn agreement_row(agreement: &pb::Agreement) -> AgreementRow {
    AgreementRow {
        first_state: agreement.first_state.clone(),
        second_state: agreement.second_state.clone(),
        regimes: agreement
            .regimes
            .iter()
            .map(|regime| code_or_empty::<pb::Regime>(*regime))
            .collect::<Vec<_>>()
            .join(", "),
        effective_from: time(agreement.effective_from.as_ref()).unwrap_or_default(),
        sunset_at: time(agreement.sunset_at.as_ref()),
        parity_limit: agreement.parity_limit,
    }
}
