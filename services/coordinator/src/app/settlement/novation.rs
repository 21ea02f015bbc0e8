//! What a round takes in from the rounds before it (`accord_domain::settlement::novation`):
//! the last final round's carry-forward and the instructions still owed, read from that
//! round's signed report, which carries the performances it found of earlier instructions.
//!
//! Rounds settle in the order of their periods: a round is proposed only when every round of
//! an earlier period is final (what it owes is known only then) and no round of a later
//! period has been proposed (its report could not have taken this one in).

use accord_domain::settlement::CarriedDebt;
use accord_domain::settlement::novation::{OwedInstruction, owed_after};

use super::Settlement;
use crate::app::Error;
use crate::convert::obligations::obligations_of;
use crate::convert::settlement::RoundStatus;
use crate::store::RoundRecord;

/// What the rounds before a round leave owed at its start.
#[derive(Debug, Default)]
pub(super) struct Prior {
    /// Earlier instructions still owed.
    pub owed: Vec<OwedInstruction>,
    /// The last final round's carry-forward.
    pub carry_forward: Vec<CarriedDebt>,
}

impl Settlement {
    /// What the rounds before `round` leave owed, or why `round` cannot be settled yet.
    pub(super) async fn prior(&self, round: &RoundRecord) -> Result<Prior, Error> {
        let rounds = self.app.inner.store.rounds().await?;
        let mut last_final: Option<&RoundRecord> = None;
        for other in rounds
            .iter()
            .filter(|other| other.round_id != round.round_id)
        {
            let status = RoundStatus::parse(&other.status);
            if other.period_end <= round.period_start {
                if status != Some(RoundStatus::Final) {
                    return Err(Error::IllegalTransition(format!(
                        "round {} settles an earlier period and is {}: what it leaves owed is \
                         known only once it is final",
                        other.round_id, other.status
                    )));
                }
                if last_final.is_none_or(|last| last.period_end < other.period_end) {
                    last_final = Some(other);
                }
            } else if other.version > 0 {
                return Err(Error::IllegalTransition(format!(
                    "round {} settles a later period and was proposed already: rounds settle \
                     in the order of their periods",
                    other.round_id
                )));
            }
        }
        let Some(last) = last_final else {
            return Ok(Prior::default());
        };
        let opened = self.latest(last)?;
        let read = obligations_of(opened.report()).map_err(|what| {
            Error::internal(
                "reading an earlier round's report",
                std::io::Error::other(format!("round {}: {what}", last.round_id)),
            )
        })?;
        Ok(Prior {
            owed: owed_after(&read.performances, read.instructions),
            carry_forward: read.carry_forward,
        })
    }
}
