//! Checks of the v1 API's shape that buf's lint cannot make: the five services exist, every
//! mutating RPC carries an idempotency key, and no message reaching the coordinator can carry
//! personal data. They read the same descriptor set that server reflection serves.

mod api;
mod idempotency;
mod privacy;
