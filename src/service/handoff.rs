//! Asynchronous Express executions handed to NATS JetStream (`quickstep serve --nats URL`):
//! instead of running them itself, the server publishes each `StartExecution` of an Express
//! machine to JetStream, where `quickstep worker`s run them. A server in front and any number
//! of workers behind then scale apart.
//!
//! The message goes to `<prefix>.<state machine name>` (a stream must capture it: the one the
//! machine's workers consume), its payload the execution's input and its `Nats-Msg-Id` the
//! execution's name, which the worker gives the execution (`$$.Execution.Name`) and its
//! outcome. `StartExecution` answers once JetStream has stored the message: the execution is
//! then as safe as the stream, and a retried request with the same name within the stream's
//! duplicate window starts nothing more.

use async_nats::jetstream::{self, Context};
use async_nats::HeaderMap;

use super::protocol::ApiError;

/// Where the server hands its asynchronous Express executions.
#[derive(Clone, Debug)]
pub struct NatsHandoff {
    js: Context,
    prefix: String,
}

impl NatsHandoff {
    /// Connects to the NATS server at `url`; executions go to `<prefix>.<machine name>`.
    pub async fn connect(url: &str, prefix: &str) -> Result<NatsHandoff, String> {
        let client = async_nats::ConnectOptions::new()
            .name("quickstep serve")
            .connect(url)
            .await
            .map_err(|e| format!("cannot connect to NATS at {url}: {e}"))?;
        Ok(NatsHandoff {
            js: jetstream::new(client),
            prefix: prefix.trim_end_matches('.').to_string(),
        })
    }

    /// The subject of `machine`'s executions.
    pub fn subject(&self, machine: &str) -> String {
        format!("{}.{machine}", self.prefix)
    }

    /// Publishes the execution `name` of `machine` on `input`, and waits until JetStream has
    /// stored it.
    pub async fn publish(&self, machine: &str, name: &str, input: &str) -> Result<(), ApiError> {
        let subject = self.subject(machine);
        let mut headers = HeaderMap::new();
        headers.insert(async_nats::header::NATS_MESSAGE_ID, name);
        let stored = async {
            self.js
                .publish_with_headers(subject.clone(), headers, input.to_string().into())
                .await?
                .await
        };
        stored.await.map(|_| ()).map_err(|e| {
            ApiError::internal(format!(
                "the execution could not be handed to NATS JetStream on {subject:?}: {e} (a stream must capture the subject)"
            ))
        })
    }
}
