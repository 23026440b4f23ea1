//! The service layer (cargo feature `server`): `quickstep serve`, a server speaking the
//! Step Functions API, with Standard executions durable in an embedded journal.
//!
//! - [`protocol`]: the wire rules (awsJson1_0 errors, members, names, ARNs, paging);
//! - [`api`]: the operations;
//! - [`http`]: the HTTP server (axum on tokio);
//! - [`journal`]: the SQLite journal, behind the narrow [`journal::Journal`] interface;
//! - [`standard`]: durable Standard executions (steps journaled, replayed to resume);
//! - [`express`]: Express executions on the in-process runtime;
//! - [`machines`]: compiled machines and what their Task states are bound to;
//! - `test_state`: the TestState operation over [`crate::test_state`].
//! - `versions` and `tags`: versions and aliases of state machines, tags and the
//!   logging, tracing and encryption configurations.
//! - `integrations` (cargo feature `integrations`): Task states that call AWS services (or
//!   AWS-compatible endpoints), for the server, `quickstep run` and embedders.
//!
//! It sits beside the engine and uses it only as embedders do: compiled [`Machine`]s,
//! resumable executions and task tokens, and the [`Runtime`](crate::runtime::Runtime).
//!
//! [`Machine`]: crate::machine::Machine

pub mod api;
pub mod express;
pub mod http;
#[cfg(feature = "integrations")]
pub mod integrations;
pub mod journal;
pub mod logs;
pub mod machines;
mod metrics;
pub mod protocol;
pub mod serve;
pub mod standard;
mod tags;
mod test_state;
mod versions;

pub use api::{Service, ServiceConfig};
pub use journal::SqliteJournal;
pub use machines::{Machines, TaskSources};
