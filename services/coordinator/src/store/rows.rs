//! Row types: the coordinator's tables as sea-orm entities.
//!
//! These types never leave the `store` module: the application layer sees the plain
//! structs of `store` (`EnrolmentRecord`, `StoredDirectory`, …). Times are milliseconds
//! since the Unix epoch (UTC) in `i64` columns, so SQLite and PostgreSQL store them alike.

/// One enrolment token's life, from issue to use.
pub mod enrolment {
    use sea_orm::entity::prelude::*;

    /// The token's record; the secret itself is never stored, only its SHA-256.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "enrolment")]
    pub struct Model {
        /// The token's public id.
        #[sea_orm(primary_key, auto_increment = false)]
        pub token_id: String,
        /// Lower-case hex SHA-256 of the secret token.
        pub token_sha256: String,
        /// The state the token admits.
        pub state: String,
        /// When it was issued.
        pub issued_at: i64,
        /// When it stops working.
        pub expires_at: i64,
        /// Approvals by existing members required first.
        pub required_approvals: i32,
        /// When it was used, if it was.
        pub used_at: Option<i64>,
        /// When an operator cancelled it, if one did.
        pub cancelled_at: Option<i64>,
        /// The operator who issued it.
        pub issued_by: String,
    }

    /// No relations are navigated through sea-orm.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// One member's signed approval of an enrolment.
pub mod enrolment_approval {
    use sea_orm::entity::prelude::*;

    /// The approval, with the signature that proves it.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "enrolment_approval")]
    pub struct Model {
        /// The enrolment's token id.
        #[sea_orm(primary_key, auto_increment = false)]
        pub token_id: String,
        /// The approving state.
        #[sea_orm(primary_key, auto_increment = false)]
        pub state: String,
        /// When the coordinator recorded it.
        pub at: i64,
        /// The key the state signed with.
        pub signing_key_id: String,
        /// The Ed25519 signature over the approval.
        pub signature: Vec<u8>,
    }

    /// No relations are navigated through sea-orm.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Every directory version the coordinator signed, as it signed it.
pub mod directory_version {
    use sea_orm::entity::prelude::*;

    /// One version: the signed directory's protobuf bytes, kept whole so that what was
    /// published can be shown again byte for byte.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "directory_version")]
    pub struct Model {
        /// The version, from 1.
        #[sea_orm(primary_key, auto_increment = false)]
        pub version: i64,
        /// When the coordinator issued it.
        pub issued_at: i64,
        /// `accord.v1.SignedDirectory`, protobuf bytes.
        pub signed_directory: Vec<u8>,
    }

    /// No relations are navigated through sea-orm.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// The first answer to each (caller, idempotency key), for replays.
pub mod idempotency {
    use sea_orm::entity::prelude::*;

    /// One answered request.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "idempotency")]
    pub struct Model {
        /// The caller's SPIFFE ID.
        #[sea_orm(primary_key, auto_increment = false)]
        pub caller: String,
        /// The caller's key.
        #[sea_orm(primary_key, auto_increment = false)]
        pub idempotency_key: String,
        /// SHA-256 of the request's method and content.
        pub request_digest: Vec<u8>,
        /// The first answer, protobuf bytes.
        pub response: Vec<u8>,
        /// When it was answered.
        pub created_at: i64,
    }

    /// No relations are navigated through sea-orm.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// One leaf of the ledger's log: a member's report of one event, as logged.
pub mod ledger_leaf {
    use sea_orm::entity::prelude::*;

    /// The leaf, with the attestation's fields the ledger looks reports up by.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "ledger_leaf")]
    pub struct Model {
        /// The leaf's index in the log, from 0, without gaps.
        #[sea_orm(primary_key, auto_increment = false)]
        pub leaf_index: i64,
        /// The state whose node reported it.
        pub reporter_state: String,
        /// The state that recorded and signed the event.
        pub acting_state: String,
        /// The event's node-made idempotency key.
        pub event_key: String,
        /// The event's number in its case.
        pub sequence: i64,
        /// The case reference.
        pub case_ref: String,
        /// The pair's first state.
        pub first_state: String,
        /// The pair's second state.
        pub second_state: String,
        /// The event kind's code.
        pub event_kind: String,
        /// When the event took effect.
        pub occurred_at: i64,
        /// SHA-256 of the event's canonical bytes.
        pub event_digest: Vec<u8>,
        /// The leaf's RFC 6962 hash.
        pub leaf_hash: Vec<u8>,
        /// `accord.v1.LedgerLeaf`, canonical protobuf bytes.
        pub leaf: Vec<u8>,
        /// When the coordinator logged it.
        pub accepted_at: i64,
    }

    /// No relations are navigated through sea-orm.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// One published tree head of the log, with the coordinator's signature.
pub mod ledger_head {
    use sea_orm::entity::prelude::*;

    /// The head.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "ledger_head")]
    pub struct Model {
        /// The number of leaves.
        #[sea_orm(primary_key, auto_increment = false)]
        pub tree_size: i64,
        /// The root hash.
        pub root_hash: Vec<u8>,
        /// When the coordinator computed it.
        pub timestamp: i64,
        /// The coordinator's key that signed it.
        pub signing_key_id: String,
        /// The coordinator's note signature.
        pub signature: Vec<u8>,
        /// The checkpoint as a signed note, without cosignatures.
        pub signed_note: String,
    }

    /// No relations are navigated through sea-orm.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// A member state's cosignature of a published head, as a witness.
pub mod ledger_cosignature {
    use sea_orm::entity::prelude::*;

    /// The cosignature.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "ledger_cosignature")]
    pub struct Model {
        /// The head's size.
        #[sea_orm(primary_key, auto_increment = false)]
        pub tree_size: i64,
        /// The cosigning state.
        #[sea_orm(primary_key, auto_increment = false)]
        pub state: String,
        /// The state's key, as the directory lists it.
        pub signing_key_id: String,
        /// The cosignature's time, POSIX seconds (covered by the signature).
        pub signed_at: i64,
        /// The Ed25519 signature.
        pub signature: Vec<u8>,
        /// When the coordinator recorded it.
        pub recorded_at: i64,
    }

    /// No relations are navigated through sea-orm.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// An operator's resolution of a reconciliation break.
pub mod break_resolution {
    use sea_orm::entity::prelude::*;

    /// The resolution.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "break_resolution")]
    pub struct Model {
        /// The break's id (derived from what it is about).
        #[sea_orm(primary_key, auto_increment = false)]
        pub break_id: String,
        /// The operator's name.
        pub operator: String,
        /// Why.
        pub reason: String,
        /// When.
        pub resolved_at: i64,
    }

    /// No relations are navigated through sea-orm.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
