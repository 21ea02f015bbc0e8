//! Row types: the node's tables as sea-orm entities.
//!
//! These types never leave the `store` module: the application layer sees the plain
//! structs of `store::model`, which carry no sea-orm types. Times are milliseconds since
//! the Unix epoch (UTC) in `i64` columns, so SQLite and PostgreSQL store them alike.

/// One case the node is a party to: a readmission, an admission or an offer.
pub mod case {
    use sea_orm::entity::prelude::*;

    /// A case's summary row; its history is in `case_event`.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "case_summary")]
    pub struct Model {
        /// The case reference, e.g. `RDM-GB-FR-…`.
        #[sea_orm(primary_key, auto_increment = false)]
        pub case_ref: String,
        /// `readmission`, `admission` or `offer`.
        pub case_kind: String,
        /// The requesting (readmission) or admitting (admission, offer) state.
        pub first_state: String,
        /// The requested (readmission) or origin (admission, offer) state.
        pub second_state: String,
        /// The lifecycle status, as the domain names it.
        pub status: String,
        /// How many events the case's history holds (optimistic concurrency).
        pub event_count: i64,
        /// When the case was first recorded here.
        pub created_at: i64,
        /// When the case last changed here.
        pub updated_at: i64,
        /// The next time a deadline may fire for this case, if any.
        pub next_deadline_at: Option<i64>,
    }

    /// No relations are navigated through sea-orm.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// One event of a case's history, as signed by the state that acted.
pub mod case_event {
    use sea_orm::entity::prelude::*;

    /// The signed event, with the columns the node filters on.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "case_event")]
    pub struct Model {
        /// The case this event belongs to.
        #[sea_orm(primary_key, auto_increment = false)]
        pub case_ref: String,
        /// Position in the case's history, from 1.
        #[sea_orm(primary_key, auto_increment = false)]
        pub sequence: i64,
        /// The event kind, as the domain names it.
        pub kind: String,
        /// The state that acted and signed.
        pub acting_state: String,
        /// When the event happened (the actor's clock).
        pub occurred_at: i64,
        /// The actor's idempotency key for this event.
        pub idempotency_key: String,
        /// The signed event exactly as exchanged between nodes (protobuf bytes).
        pub envelope: Vec<u8>,
    }

    /// No relations are navigated through sea-orm.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// The first answer given to each (caller, idempotency key).
pub mod idempotency {
    use sea_orm::entity::prelude::*;

    /// A remembered answer.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "idempotency")]
    pub struct Model {
        /// The caller's identity (its SPIFFE URI).
        #[sea_orm(primary_key, auto_increment = false)]
        pub caller: String,
        /// The caller's key.
        #[sea_orm(primary_key, auto_increment = false)]
        pub idempotency_key: String,
        /// The RPC the key was used with.
        pub operation: String,
        /// SHA-256 of the request's content, to tell a replay from a reuse.
        pub request_digest: Vec<u8>,
        /// The response given the first time (protobuf bytes), without the case history
        /// when `history_through` is set.
        pub response: Vec<u8>,
        /// When the key was first seen.
        pub created_at: i64,
        /// The response's case history is the case's events 1 to this sequence; NULL: the
        /// response is whole.
        pub history_through: Option<i64>,
    }

    /// No relations are navigated through sea-orm.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// Messages to partner nodes, written in the same transaction as the change they report.
pub mod outbox {
    use sea_orm::entity::prelude::*;

    /// One message awaiting delivery (or delivered, kept for audit).
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "outbox")]
    pub struct Model {
        /// Delivery order: messages of one case leave in `id` order.
        #[sea_orm(primary_key)]
        pub id: i64,
        /// The case the message is about.
        pub case_ref: String,
        /// The partner state to deliver to.
        pub destination: String,
        /// Which delivery RPC carries it: `readmission` or `admission`.
        pub channel: String,
        /// The request to send (protobuf bytes) of a message written before migration 3;
        /// empty since, the message naming its event instead.
        pub payload: Vec<u8>,
        /// The case of the event the message delivers (`None` before migration 3).
        pub event_case_ref: Option<String>,
        /// The sequence of that event (`None` before migration 3).
        pub event_sequence: Option<i64>,
        /// Delivery attempts so far.
        pub attempts: i32,
        /// Earliest time of the next attempt.
        pub next_attempt_at: i64,
        /// When the message was written.
        pub created_at: i64,
        /// When the partner acknowledged it; `None` while pending.
        pub delivered_at: Option<i64>,
        /// Why the partner refused it for good, if it did (`None` while retrying).
        pub failed_reason: Option<String>,
        /// The last transient error, for operators.
        pub last_error: Option<String>,
    }

    /// No relations are navigated through sea-orm.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// The last verified signed directory (one row, slot 1).
pub mod membership_directory {
    use sea_orm::entity::prelude::*;

    /// The directory as the coordinator signed it.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "membership_directory")]
    pub struct Model {
        /// Always 1: the node keeps one directory.
        #[sea_orm(primary_key, auto_increment = false)]
        pub slot: i32,
        /// The directory's version.
        pub version: i64,
        /// The `SignedDirectory` bytes, verbatim.
        pub signed_directory: Vec<u8>,
        /// When this node saved it (ms).
        pub saved_at: i64,
    }

    /// No relations are navigated through sea-orm.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// The node's secret (one row, slot 1).
pub mod node_secret {
    use sea_orm::entity::prelude::*;

    /// The node's secret (`model::NodeSecret`).
    #[derive(Clone, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "node_secret")]
    pub struct Model {
        /// Always 1: the node keeps one secret.
        #[sea_orm(primary_key, auto_increment = false)]
        pub slot: i32,
        /// 32 random bytes.
        pub secret: Vec<u8>,
    }

    /// The secret is never printed.
    impl std::fmt::Debug for Model {
        fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            formatter.write_str("node_secret::Model { .. }")
        }
    }

    /// No relations are navigated through sea-orm.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}

/// The last revocation list fetched from the coordinator (one row, slot 1).
pub mod revocation_list {
    use sea_orm::entity::prelude::*;

    /// The list as the coordinator's CA signed it.
    #[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
    #[sea_orm(table_name = "revocation_list")]
    pub struct Model {
        /// Always 1: the node keeps one list.
        #[sea_orm(primary_key, auto_increment = false)]
        pub slot: i32,
        /// The list's `cRLNumber`.
        pub crl_number: i64,
        /// The list, PEM.
        pub crl_pem: String,
        /// When this node saved it (ms).
        pub saved_at: i64,
    }

    /// No relations are navigated through sea-orm.
    #[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
    pub enum Relation {}

    impl ActiveModelBehavior for ActiveModel {}
}
