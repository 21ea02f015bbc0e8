//! Who calls the gateway, and what each caller may do.
//!
//! A caller presents `Authorization: Bearer <token>`; the gateway keeps only the SHA-256 of
//! each token (from its configuration) and the role it grants. What a role may do is one
//! pure function, [`allows`]: on a state's gateway, a caseworker of that state reads and
//! acts, operators and diplomats read only, a caseworker of another state does nothing; on
//! the coordinator's gateway, operators read and act, diplomats read only, and caseworkers
//! do nothing. The
//! extractors [`Reader`] and [`Writer`] apply it before a handler runs, so a refused call
//! never reaches the node. No token, or one the gateway does not know: 401 with
//! `WWW-Authenticate`; a known token whose role may not: 403.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use accord_domain::StateCode;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{StatusCode, header};

use crate::api::Context;
use crate::config::{Token, Upstream, digest};
use crate::problem::Problem;

/// What a token grants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A caseworker of one state's ministry.
    Caseworker(StateCode),
    /// A coordinator operator.
    Operator,
    /// A diplomat reviewing the scheme: reads only.
    Diplomat,
}

impl fmt::Display for Role {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Caseworker(state) => write!(formatter, "caseworker of {state}"),
            Self::Operator => formatter.write_str("operator"),
            Self::Diplomat => formatter.write_str("diplomat"),
        }
    }
}

/// What a call does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Reads cases and offers.
    Read,
    /// Records a step.
    Write,
}

/// Whether `role` may make an `access` call on the gateway of `upstream`.
pub fn allows(role: Role, upstream: Upstream, access: Access) -> bool {
    match (upstream, role) {
        (Upstream::Node(gateway_state), Role::Caseworker(state)) => state == gateway_state,
        (Upstream::Node(_), Role::Operator | Role::Diplomat) => access == Access::Read,
        (Upstream::Coordinator, Role::Operator) => true,
        (Upstream::Coordinator, Role::Diplomat) => access == Access::Read,
        (Upstream::Coordinator, Role::Caseworker(_)) => false,
    }
}

/// The configured tokens, by digest.
#[derive(Debug, Clone, Default)]
pub struct Tokens(HashMap<[u8; 32], Role>);

impl Tokens {
    /// The table of `tokens`.
    pub fn new(tokens: &[Token]) -> Self {
        Self(
            tokens
                .iter()
                .map(|token| (token.sha256, token.role))
                .collect(),
        )
    }

    /// The role of a presented token.
    pub fn role(&self, secret: &str) -> Option<Role> {
        self.0.get(&digest(secret)).copied()
    }
}

/// The role of the request's bearer token, or 401.
fn authenticate(parts: &Parts, context: &Context) -> Result<Role, Problem> {
    let unauthenticated =
        |detail: &str| Problem::new(StatusCode::UNAUTHORIZED, "UNAUTHENTICATED", detail);
    let value = parts
        .headers
        .get(header::AUTHORIZATION)
        .ok_or_else(|| unauthenticated("an Authorization: Bearer token is required"))?;
    let secret = value
        .to_str()
        .ok()
        .and_then(|text| text.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|secret| !secret.is_empty())
        .ok_or_else(|| unauthenticated("the Authorization header must be `Bearer <token>`"))?;
    context
        .tokens
        .role(secret)
        .ok_or_else(|| unauthenticated("the token is not known to this gateway"))
}

/// Authenticates and authorizes `access`.
fn authorize(parts: &Parts, context: &Context, access: Access) -> Result<Role, Problem> {
    let role = authenticate(parts, context)?;
    let upstream = context.upstream();
    if allows(role, upstream, access) {
        Ok(role)
    } else {
        let what = match access {
            Access::Read => "read",
            Access::Write => "act",
        };
        Err(Problem::new(
            StatusCode::FORBIDDEN,
            "ROLE_NOT_ALLOWED",
            match upstream {
                Upstream::Node(state) => format!("a {role} may not {what} on {state}'s gateway"),
                Upstream::Coordinator => {
                    format!("a {role} may not {what} on the coordinator's gateway")
                }
            },
        ))
    }
}

/// A caller allowed to read.
#[derive(Debug, Clone, Copy)]
pub struct Reader(pub Role);

/// A caller allowed to act: a caseworker of the gateway's state, or an operator on the
/// coordinator's gateway.
#[derive(Debug, Clone, Copy)]
pub struct Writer(pub Role);

impl FromRequestParts<Arc<Context>> for Reader {
    type Rejection = Problem;

    async fn from_request_parts(
        parts: &mut Parts,
        context: &Arc<Context>,
    ) -> Result<Self, Problem> {
        authorize(parts, context, Access::Read).map(Self)
    }
}

impl FromRequestParts<Arc<Context>> for Writer {
    type Rejection = Problem;

    async fn from_request_parts(
        parts: &mut Parts,
        context: &Arc<Context>,
    ) -> Result<Self, Problem> {
        authorize(parts, context, Access::Write).map(Self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn who_may_read_and_act_on_each_kind_of_gateway() {
        let gb = StateCode::parse("GB").unwrap();
        let fr = StateCode::parse("FR").unwrap();
        let check = |role: Role, upstream: Upstream, read: bool, write: bool| {
            assert_eq!(allows(role, upstream, Access::Read), read, "{role} reads");
            assert_eq!(allows(role, upstream, Access::Write), write, "{role} acts");
        };
        check(Role::Caseworker(gb), Upstream::Node(gb), true, true);
        check(Role::Caseworker(fr), Upstream::Node(gb), false, false);
        check(Role::Operator, Upstream::Node(gb), true, false);
        check(Role::Diplomat, Upstream::Node(gb), true, false);
        check(Role::Caseworker(gb), Upstream::Coordinator, false, false);
        check(Role::Operator, Upstream::Coordinator, true, true);
        check(Role::Diplomat, Upstream::Coordinator, true, false);
    }
}
