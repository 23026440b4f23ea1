//! The `TestState` operation: the request's members read as the model constrains them, then
//! [`crate::test_state`] runs the state, its task (when it has no mock) bound to the server's
//! `--resources` behaviours.

use serde_json::Value as Json;

use crate::tasks::TaskRegistry;
use crate::test_state::{test_state, TestStateError, TestStateRequest};

use super::protocol::{ApiError, Members};

/// The largest input, variables or context: 256 KiB of UTF-8.
const DATA_LIMIT: usize = 262_144;

/// Answers a TestState request (`body`, read through `m`) for a server in `region` and
/// `account`.
pub(super) fn call(
    mut m: Members<'_>,
    body: &Json,
    region: &str,
    account: &str,
    resources: &TaskRegistry,
) -> Result<Json, ApiError> {
    m.string("definition", true, 1, 1_048_576)?;
    m.string("roleArn", false, 1, 256)?;
    m.data("input", false, DATA_LIMIT)?;
    m.enumeration("inspectionLevel", &["INFO", "DEBUG", "TRACE"], "INFO, DEBUG, TRACE")?;
    m.boolean("revealSecrets")?;
    m.data("variables", false, DATA_LIMIT)?;
    m.string("stateName", false, 1, 80)?;
    m.data("context", false, DATA_LIMIT)?;
    for structure in ["mock", "stateConfiguration"] {
        if m.json(structure).is_some_and(|v| !v.is_object()) {
            return Err(ApiError::serialization(format!(
                "The member '{structure}' must be a structure."
            )));
        }
    }
    m.finish()?;
    let mut request = TestStateRequest::from_json(body).map_err(api_error)?;
    request.region = region.to_string();
    request.account = account.to_string();
    let response = test_state(&request, resources).map_err(api_error)?;
    Ok(response.to_json())
}

/// TestState's refusal as the API answers it.
fn api_error(e: TestStateError) -> ApiError {
    ApiError::new(e.name(), e.message())
}
