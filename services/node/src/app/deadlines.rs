//! The deadline sweeper: records acceptance by default, re-examination lapse, closure,
//! expiry and an admission grant's lapse when their time passes on this node's clock, for
//! the deadlines whose clock the regime gives to this node's state. Each such event is signed
//! and delivered like any other; the partner records it from the delivery.

use std::time::Duration;

use accord_domain::CaseRef;
use tokio::sync::watch;

use super::Deadlines;
use accord_domain::CaseKind;

/// The sweeper's settings.
#[derive(Debug, Clone, Copy)]
pub struct DeadlineSweeper {
    /// How often to look for passed deadlines.
    pub interval: Duration,
    /// Most cases per sweep.
    pub batch: u64,
}

impl DeadlineSweeper {
    /// Sweeps until `shutdown` turns true.
    pub async fn run(self, deadlines: Deadlines, mut shutdown: watch::Receiver<bool>) {
        loop {
            if *shutdown.borrow() {
                return;
            }
            let recorded = self.sweep(&deadlines).await;
            if recorded > 0 {
                continue;
            }
            tokio::select! {
                () = tokio::time::sleep(self.interval) => {}
                _ = shutdown.changed() => {}
            }
        }
    }

    /// One sweep; returns how many deadline events were recorded.
    pub async fn sweep(&self, deadlines: &Deadlines) -> usize {
        let core = &deadlines.core;
        let now = core.now().as_millis();
        if let Err(error) = core.store().flush_audit_summaries(now).await {
            tracing::warn!(%error, "could not write the audit log's summaries");
        }
        let due = match core.store().due_deadlines(now, self.batch).await {
            Ok(due) => due,
            Err(error) => {
                tracing::warn!(%error, "could not read due deadlines");
                return 0;
            }
        };
        let mut recorded = 0;
        for record in due {
            let Ok(case_ref) = CaseRef::parse(&record.case_ref) else {
                tracing::error!(case_ref = %record.case_ref, "stored case reference does not parse");
                continue;
            };
            let result = match record.case_kind {
                CaseKind::Readmission => deadlines.record_due_readmission_deadline(&case_ref).await,
                CaseKind::Admission => deadlines.record_due_admission_deadline(&case_ref).await,
                CaseKind::Offer => Ok(false),
            };
            match result {
                Ok(true) => recorded += 1,
                Ok(false) => {}
                Err(error) => tracing::warn!(%error, %case_ref, "could not record a due deadline"),
            }
        }
        recorded
    }
}
