//! The service layer: `quickstep serve` (cargo feature `server`), a server speaking the
//! Step Functions API, with Standard executions durable in an embedded journal; and
//! `quickstep worker` (cargo feature `nats`), executions fed by NATS JetStream.
//!
//! - [`protocol`]: the wire rules (awsJson1_0 errors, members, names, ARNs, paging);
//! - [`api`]: the operations;
//! - [`http`]: the HTTP server (axum on tokio);
//! - [`console`]: the web console the HTTP server serves on `GET /`;
//! - [`journal`]: the SQLite journal, behind the narrow [`journal::Journal`] interface;
//! - [`standard`]: durable Standard executions (steps journaled, replayed to resume);
//! - [`express`]: Express executions on the in-process runtime;
//! - [`machines`]: compiled machines and what their Task states are bound to;
//! - `test_state`: the TestState operation over [`crate::test_state`].
//! - `versions` and `tags`: versions and aliases of state machines, tags and the
//!   logging, tracing and encryption configurations.
//! - `integrations` (cargo feature `integrations`): Task states that call AWS services (or
//!   AWS-compatible endpoints), for the server, `quickstep run` and embedders.
//! - `nested` (cargo feature `integrations`): the server's machines as the children of
//!   `states:startExecution` Tasks.
//! - `nats`: workers on a NATS JetStream consumer; `handoff`: the server's asynchronous
//!   Express executions handed to them.
//!
//! It sits beside the engine and uses it only as embedders do: compiled [`Machine`]s,
//! resumable executions and task tokens, and the [`Runtime`](crate::runtime::Runtime).
//!
//! [`Machine`]: crate::machine::Machine

#[cfg(feature = "server")]
pub mod api;
#[cfg(feature = "server")]
pub mod console;
#[cfg(feature = "server")]
pub mod express;
#[cfg(all(feature = "server", feature = "nats"))]
pub mod handoff;
#[cfg(feature = "server")]
pub mod http;
#[cfg(feature = "integrations")]
pub mod integrations;
#[cfg(feature = "server")]
pub mod journal;
#[cfg(feature = "server")]
pub mod logs;
#[cfg(feature = "server")]
pub mod machines;
#[cfg(feature = "server")]
mod map_runs;
#[cfg(feature = "server")]
mod metrics;
#[cfg(feature = "nats")]
pub mod nats;
#[cfg(feature = "integrations")]
pub mod nested;
#[cfg(feature = "server")]
pub mod protocol;
#[cfg(feature = "server")]
pub mod serve;
#[cfg(feature = "server")]
pub mod standard;
#[cfg(feature = "server")]
mod tags;
#[cfg(feature = "server")]
mod test_state;
#[cfg(feature = "server")]
mod versions;

#[cfg(feature = "server")]
pub use api::{Service, ServiceConfig};
#[cfg(feature = "server")]
pub use journal::SqliteJournal;
#[cfg(feature = "server")]
pub use machines::{Machines, TaskSources};
