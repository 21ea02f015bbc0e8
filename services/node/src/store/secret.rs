//! The node's secret: 32 random bytes made at the node's first start and kept in its one
//! row of `node_secret`, which key the pseudonyms of its callers' idempotency keys
//! (`app::event_key`).

use sea_orm::{ActiveValue::Set, DatabaseConnection, EntityTrait};

use super::{Error, NodeSecret, rows};

/// The one row of `node_secret`.
const NODE_SECRET_SLOT: i32 = 1;

/// The node's secret: the one `db` holds, or 32 random bytes kept now if it holds none.
/// Two starts racing on one database both insert; the row's key lets the first insert
/// alone, and both read back the same secret.
pub(super) async fn node_secret(db: &DatabaseConnection) -> Result<NodeSecret, Error> {
    use ring::rand::{SecureRandom as _, SystemRandom};
    use rows::node_secret::{ActiveModel, Column, Entity};
    use sea_orm::sea_query::OnConflict;
    if let Some(kept) = read_node_secret(db).await? {
        return Ok(kept);
    }
    let mut fresh = [0u8; NodeSecret::LEN];
    SystemRandom::new()
        .fill(&mut fresh)
        .map_err(|_| Error::NoRandomness)?;
    let row = ActiveModel {
        slot: Set(NODE_SECRET_SLOT),
        secret: Set(fresh.to_vec()),
    };
    Entity::insert(row)
        .on_conflict(OnConflict::column(Column::Slot).do_nothing().to_owned())
        .exec_without_returning(db)
        .await?;
    fresh.fill(0);
    read_node_secret(db)
        .await?
        .ok_or_else(|| Error::Corrupt("the node's secret vanished once written".into()))
}

/// The node's secret if `db` holds one.
async fn read_node_secret(db: &DatabaseConnection) -> Result<Option<NodeSecret>, Error> {
    let row = rows::node_secret::Entity::find_by_id(NODE_SECRET_SLOT)
        .one(db)
        .await?;
    row.map(|row| {
        let bytes = <[u8; NodeSecret::LEN]>::try_from(row.secret.as_slice())
            .map_err(|_| Error::Corrupt(format!("a node secret of {} bytes", row.secret.len())))?;
        Ok(NodeSecret::from_bytes(bytes))
    })
    .transpose()
}
