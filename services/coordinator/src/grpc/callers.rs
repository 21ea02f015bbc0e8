//! Who may call a service's methods: the caller's certificate identity checked against the
//! directory, a refusal audited under the call's full path. Each check answers what the
//! handler needs to know of its caller; none reads the request's content.

use accord_domain::StateCode;
use accord_trust::OperatorName;
use tonic::{Request, Status};

use super::authorized_at;
use crate::app::App;
use crate::app::ledger::Reader;

/// The callers of one service, named by its path prefix (`/accord.v1.LedgerService/`).
#[derive(Clone)]
pub(super) struct Callers {
    app: App,
    service_path: &'static str,
}

impl Callers {
    /// The callers of the service at `service_path`, checked against `app`'s directory.
    pub(super) fn new(app: App, service_path: &'static str) -> Self {
        Self { app, service_path }
    }

    /// The caller's state when it is an active member's node.
    pub(super) async fn member_node<T>(
        &self,
        method: &str,
        request: &Request<T>,
    ) -> Result<StateCode, Status> {
        let app = &self.app;
        authorized_at(app, &self.path(method), request, |caller| {
            app.active_member_node(caller)
        })
        .await
        .map(|(_, state)| state)
    }

    /// The caller as a reader of the ledger and of what derives from it.
    pub(super) async fn reader<T>(
        &self,
        method: &str,
        request: &Request<T>,
    ) -> Result<Reader, Status> {
        authorized_at(&self.app, &self.path(method), request, Reader::of)
            .await
            .map(|(_, reader)| reader)
    }

    /// The caller's SPIFFE ID and name when it is an operator.
    pub(super) async fn operator<T>(
        &self,
        method: &str,
        request: &Request<T>,
    ) -> Result<(String, OperatorName), Status> {
        let (caller, name) = authorized_at(&self.app, &self.path(method), request, |caller| {
            App::operator(caller).cloned()
        })
        .await?;
        Ok((caller.spiffe_id(), name))
    }

    /// The full path of `method`, as audit rows name a call.
    fn path(&self, method: &str) -> String {
        format!("{}{method}", self.service_path)
    }
}
