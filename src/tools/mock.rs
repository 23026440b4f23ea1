//! Mocked Task states, in the shape of Step Functions Local's mock configuration file
//! (`MockConfigFile.json`): a test case names the Task states it mocks and, for each, a
//! mocked response that gives the result (`Return`) or the error (`Throw`) of every
//! invocation of that state, counted from 0 across the whole execution.
//!
//! ```
//! use quickstep::mock::MockConfig;
//! use quickstep::{Machine, Status, TaskRegistry};
//! let config = MockConfig::parse(r#"{
//!     "StateMachines": {"Hello": {"TestCases": {"HappyPath": {"Greet": "Greeting"}}}},
//!     "MockedResponses": {"Greeting": {"0": {"Return": {"greeting": "hi"}}}}
//! }"#).unwrap();
//! let machine = Machine::new(
//!     r#"{"StartAt": "Greet", "States": {"Greet": {"Type": "Task", "Resource": "arn:aws:states:::sqs:sendMessage", "End": true}}}"#,
//!     TaskRegistry::new(),
//! ).unwrap();
//! let machine = machine.with_mocks(&config.test_case("Hello", "HappyPath").unwrap()).unwrap();
//! let outcome = machine.run_json("{}").unwrap();
//! assert_eq!(outcome.status, Status::Succeeded);
//! assert_eq!(outcome.output.as_deref(), Some(r#"{"greeting":"hi"}"#));
//! // Another execution counts its invocations afresh.
//! assert_eq!(machine.run_json("{}").unwrap().status, Status::Succeeded);
//! ```

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{Map, Value as Json};

use crate::program::{Op, Program};

/// A problem with a mock configuration, or with a test case's mocks for a definition: where
/// (a JSON Pointer into the configuration, empty for mocks built in code) and what.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MockError {
    /// The JSON Pointer of the offending field, such as `/MockedResponses/R/1-2`.
    pub pointer: String,
    /// What is wrong with it.
    pub message: String,
}

impl MockError {
    fn at(pointer: impl Into<String>, message: impl Into<String>) -> MockError {
        MockError {
            pointer: pointer.into(),
            message: message.into(),
        }
    }
}

impl std::fmt::Display for MockError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.pointer.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.pointer, self.message)
        }
    }
}

impl std::error::Error for MockError {}

/// `pointer` with the reference token `token` appended (escaped as RFC 6901 says).
fn child(pointer: &str, token: &str) -> String {
    format!("{pointer}/{}", token.replace('~', "~0").replace('/', "~1"))
}

/// What one invocation of a mocked state answers.
#[derive(Clone, Debug, PartialEq)]
pub enum MockAnswer {
    /// `{"Return": value}`: the task's result, as it is (a service integration's whole API
    /// response, such as `{"StatusCode": 200, "Payload": ...}` for `lambda:invoke`).
    Return(Json),
    /// `{"Throw": {"Error": ..., "Cause": ...}}`: the task fails with this error and cause.
    Throw {
        /// The error name (what Retry and Catch match).
        error: String,
        /// The cause.
        cause: Option<String>,
    },
}

/// A mocked response: an answer for each invocation of a mocked state, by invocation number
/// (from 0) or inclusive range of them.
#[derive(Clone, Debug, PartialEq)]
pub struct MockedResponse {
    name: String,
    /// `first -> (last, answer)`: ranges not overlapping, in order (a map, so that adding
    /// ranges in any order is O(log n) each: a file of many ranges reads in O(n log n)).
    answers: BTreeMap<u32, (u32, MockAnswer)>,
}

impl MockedResponse {
    /// A mocked response named `name` with no answers yet.
    pub fn new(name: impl Into<String>) -> MockedResponse {
        MockedResponse {
            name: name.into(),
            answers: BTreeMap::new(),
        }
    }

    /// The response's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Answers invocations `first..=last` with `answer`; an error when `first > last` or
    /// the range overlaps one given before.
    pub fn answer_range(&mut self, first: u32, last: u32, answer: MockAnswer) -> Result<&mut Self, MockError> {
        let key = if first == last {
            first.to_string()
        } else {
            format!("{first}-{last}")
        };
        self.add(first, last, answer, &key, "")
    }

    fn add(&mut self, first: u32, last: u32, answer: MockAnswer, key: &str, at: &str) -> Result<&mut Self, MockError> {
        if first > last {
            return Err(MockError::at(
                at,
                format!("the range \"{key}\" starts after it ends: expected \"{last}-{first}\""),
            ));
        }
        // Only the ranges on either side of where this one goes can overlap it.
        let before = self.answers.range(..first).next_back();
        let after = self.answers.range(first..).next();
        for (f, (l, _)) in before.into_iter().chain(after) {
            if *f <= last && first <= *l {
                let other = if f == l { f.to_string() } else { format!("{f}-{l}") };
                return Err(MockError::at(
                    at,
                    format!("the invocations \"{key}\" overlap \"{other}\" of the same mocked response"),
                ));
            }
        }
        self.answers.insert(first, (last, answer));
        Ok(self)
    }

    /// Parses a mocked response's JSON object (`{"0": {"Return": ...}, "1-2": {"Throw":
    /// ...}}`); errors point into it from `pointer`.
    pub fn from_value(name: impl Into<String>, json: &Json, pointer: &str) -> Result<MockedResponse, MockError> {
        let mut response = MockedResponse::new(name);
        let object = json.as_object().ok_or_else(|| {
            MockError::at(
                pointer,
                "expected an object from invocation numbers (\"0\", \"1-2\") to {\"Return\": ...} or {\"Throw\": ...}",
            )
        })?;
        for (key, value) in object {
            let at = child(pointer, key);
            let (first, last) = invocations(key).ok_or_else(|| {
                MockError::at(
                    &at,
                    format!("\"{key}\" is not an invocation number (\"0\") or an inclusive range of them (\"1-2\")"),
                )
            })?;
            let answer = answer(value, &at)?;
            response.add(first, last, answer, key, &at)?;
        }
        Ok(response)
    }

    /// The answer to invocation `invocation` (from 0), if the response gives one.
    pub fn answer(&self, invocation: u32) -> Option<&MockAnswer> {
        let (_, (last, answer)) = self.answers.range(..=invocation).next_back()?;
        (invocation <= *last).then_some(answer)
    }
}

/// `"3"` as `(3, 3)`, `"1-2"` as `(1, 2)`: decimal digits only.
fn invocations(key: &str) -> Option<(u32, u32)> {
    let number = |text: &str| {
        (!text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()))
            .then(|| text.parse::<u32>().ok())
            .flatten()
    };
    match key.split_once('-') {
        Some((first, last)) => Some((number(first)?, number(last)?)),
        None => number(key).map(|n| (n, n)),
    }
}

/// One invocation's `{"Return": ...}` or `{"Throw": {"Error": ..., "Cause": ...}}`.
fn answer(value: &Json, at: &str) -> Result<MockAnswer, MockError> {
    let one_of = || MockError::at(at, "expected exactly one of Return or Throw");
    let object = value.as_object().filter(|o| o.len() == 1).ok_or_else(one_of)?;
    if let Some(result) = object.get("Return") {
        return Ok(MockAnswer::Return(result.clone()));
    }
    let throw = object.get("Throw").ok_or_else(one_of)?;
    let at = child(at, "Throw");
    let fields = throw
        .as_object()
        .ok_or_else(|| MockError::at(&at, "expected an object with an \"Error\" and a \"Cause\""))?;
    if let Some(other) = fields.keys().find(|k| *k != "Error" && *k != "Cause") {
        return Err(MockError::at(
            child(&at, other),
            "unexpected field: a Throw has an \"Error\" and a \"Cause\"",
        ));
    }
    let error = match fields.get("Error") {
        Some(Json::String(error)) => error.clone(),
        Some(_) => return Err(MockError::at(child(&at, "Error"), "expected a string")),
        None => return Err(MockError::at(&at, "missing \"Error\" (a string)")),
    };
    let cause = match fields.get("Cause") {
        Some(Json::String(cause)) => Some(cause.clone()),
        Some(_) => return Err(MockError::at(child(&at, "Cause"), "expected a string")),
        None => None,
    };
    Ok(MockAnswer::Throw { error, cause })
}

/// The mocks of one test case: which Task states are mocked, with which responses.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Mocks {
    test_case: String,
    /// Where the test case is in its configuration (empty for mocks built in code).
    pointer: String,
    states: Vec<(String, Arc<MockedResponse>)>,
}

impl Mocks {
    /// No mocked states yet, for the test case `test_case` (named in the cause of a failure
    /// past a response's last answer).
    pub fn new(test_case: impl Into<String>) -> Mocks {
        Mocks {
            test_case: test_case.into(),
            ..Mocks::default()
        }
    }

    /// Mocks the Task state `state` with `response`, replacing an earlier mock of it.
    pub fn mock_state(&mut self, state: impl Into<String>, response: MockedResponse) -> &mut Self {
        self.mock(state.into(), Arc::new(response))
    }

    fn mock(&mut self, state: String, response: Arc<MockedResponse>) -> &mut Self {
        self.states.retain(|(s, _)| *s != state);
        self.states.push((state, response));
        self
    }

    /// The test case's name.
    pub fn test_case(&self) -> &str {
        &self.test_case
    }

    /// The mocked states and their responses.
    pub fn states(&self) -> impl Iterator<Item = (&str, &MockedResponse)> {
        self.states.iter().map(|(s, r)| (s.as_str(), &**r))
    }

    /// The mocked states resolved against `program`: for each Task slot, its mock. An error
    /// names a mocked state that does not exist or is not a Task state.
    pub(crate) fn resolve(&self, program: &Program) -> Result<Vec<(u32, Arc<MockedState>)>, MockError> {
        let mut resolved = Vec::with_capacity(self.states.len());
        for (index, (name, response)) in self.states.iter().enumerate() {
            let at = if self.pointer.is_empty() {
                String::new()
            } else {
                child(&self.pointer, name)
            };
            let state = program
                .states
                .iter()
                .find(|s| s.name == name)
                .ok_or_else(|| MockError::at(&at, format!("the definition has no state named '{name}'")))?;
            let Op::Task(task) = &state.op else {
                return Err(MockError::at(
                    &at,
                    format!(
                        "the state '{name}' is a {} state: only Task states can be mocked",
                        state.type_name
                    ),
                ));
            };
            let mocked = MockedState {
                index: index as u32,
                mocked: self.states.len() as u32,
                state: name.clone(),
                test_case: self.test_case.clone(),
                response: response.clone(),
            };
            resolved.push((task.slot, Arc::new(mocked)));
        }
        Ok(resolved)
    }
}

/// A mocked state of a machine: what its Task slot is bound to.
#[derive(Debug)]
pub(crate) struct MockedState {
    /// Its invocation counter among the execution's counters.
    pub(crate) index: u32,
    /// How many states the machine mocks (counters to allocate).
    pub(crate) mocked: u32,
    pub(crate) state: String,
    pub(crate) test_case: String,
    pub(crate) response: Arc<MockedResponse>,
}

impl MockedState {
    /// The cause of the `States.Runtime` failure of invocation `invocation`, past the
    /// response's answers.
    pub(crate) fn unanswered(&self, invocation: u32) -> String {
        format!(
            "The mocked response '{}' of the test case '{}' has no answer for invocation {invocation} \
             (counted from 0) of the state '{}': a mocked state needs a response for every invocation.",
            self.response.name, self.test_case, self.state
        )
    }
}

/// A parsed mock configuration file (Step Functions Local's `MockConfigFile.json`):
/// `StateMachines` (machine name → `TestCases` → test case → Task state → mocked response
/// name) and `MockedResponses` (name → invocation → `Return` or `Throw`).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MockConfig {
    /// Machine → test case → `(state, response name)`, in the file's order.
    machines: BTreeMap<String, BTreeMap<String, Vec<(String, String)>>>,
    responses: BTreeMap<String, Arc<MockedResponse>>,
}

impl MockConfig {
    /// Parses the configuration's JSON text.
    pub fn parse(text: &str) -> Result<MockConfig, MockError> {
        let json: Json = serde_json::from_str(text).map_err(|e| MockError::at("", format!("not JSON: {e}")))?;
        MockConfig::from_value(&json)
    }

    /// Reads an already parsed configuration.
    pub fn from_value(json: &Json) -> Result<MockConfig, MockError> {
        let root = object(json, "", "an object with \"StateMachines\" and \"MockedResponses\"")?;
        if let Some(other) = root.keys().find(|k| *k != "StateMachines" && *k != "MockedResponses") {
            return Err(MockError::at(
                child("", other),
                "unexpected field: expected \"StateMachines\" and \"MockedResponses\"",
            ));
        }
        let mut config = MockConfig::default();
        if let Some(responses) = root.get("MockedResponses") {
            for (name, response) in object(responses, "/MockedResponses", "an object of mocked responses")? {
                let at = child("/MockedResponses", name);
                let response = MockedResponse::from_value(name.clone(), response, &at)?;
                config.responses.insert(name.clone(), Arc::new(response));
            }
        }
        if let Some(machines) = root.get("StateMachines") {
            for (machine, fields) in object(machines, "/StateMachines", "an object of state machines")? {
                let at = child("/StateMachines", machine);
                let fields = object(fields, &at, "an object with \"TestCases\"")?;
                if let Some(other) = fields.keys().find(|k| *k != "TestCases") {
                    return Err(MockError::at(
                        child(&at, other),
                        "unexpected field: expected \"TestCases\"",
                    ));
                }
                let at = child(&at, "TestCases");
                let cases = match fields.get("TestCases") {
                    Some(cases) => object(cases, &at, "an object of test cases")?,
                    None => return Err(MockError::at(at, "missing: a state machine has \"TestCases\"")),
                };
                let mut test_cases = BTreeMap::new();
                for (case, states) in cases {
                    let at = child(&at, case);
                    let mut mocked = Vec::new();
                    for (state, response) in object(states, &at, "an object from Task state to mocked response")? {
                        let at = child(&at, state);
                        let Json::String(response) = response else {
                            return Err(MockError::at(at, "expected the name of a mocked response"));
                        };
                        if !config.responses.contains_key(response) {
                            return Err(MockError::at(
                                at,
                                format!("no mocked response named '{response}' in /MockedResponses"),
                            ));
                        }
                        mocked.push((state.clone(), response.clone()));
                    }
                    test_cases.insert(case.clone(), mocked);
                }
                config.machines.insert(machine.clone(), test_cases);
            }
        }
        Ok(config)
    }

    /// The state machines the configuration has test cases for.
    pub fn state_machines(&self) -> impl Iterator<Item = &str> {
        self.machines.keys().map(String::as_str)
    }

    /// The mocks of the test case `test_case` of the state machine `machine`; an error
    /// lists the available machines or test cases when either is unknown.
    pub fn test_case(&self, machine: &str, test_case: &str) -> Result<Mocks, MockError> {
        let available = |names: &mut dyn Iterator<Item = &String>| {
            let names: Vec<String> = names.map(|n| format!("'{n}'")).collect();
            if names.is_empty() {
                "none".to_string()
            } else {
                names.join(", ")
            }
        };
        let cases = self.machines.get(machine).ok_or_else(|| {
            MockError::at(
                "/StateMachines",
                format!(
                    "no state machine named '{machine}' (available: {})",
                    available(&mut self.machines.keys())
                ),
            )
        })?;
        let at = child(&child("/StateMachines", machine), "TestCases");
        let states = cases.get(test_case).ok_or_else(|| {
            MockError::at(
                &at,
                format!(
                    "no test case named '{test_case}' (available: {})",
                    available(&mut cases.keys())
                ),
            )
        })?;
        let mut mocks = Mocks::new(test_case);
        mocks.pointer = child(&at, test_case);
        for (state, response) in states {
            // Every name was checked when the configuration was read.
            if let Some(response) = self.responses.get(response) {
                mocks.mock(state.clone(), response.clone());
            }
        }
        Ok(mocks)
    }
}

/// `json` as an object, or an error at `pointer` saying what was `expected`.
fn object<'j>(json: &'j Json, pointer: &str, expected: &str) -> Result<&'j Map<String, Json>, MockError> {
    json.as_object()
        .ok_or_else(|| MockError::at(pointer, format!("expected {expected}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// AWS's example configuration (the developer guide's LambdaSQSIntegration).
    const AWS_EXAMPLE: &str = r#"{
      "StateMachines": {
        "LambdaSQSIntegration": {
          "TestCases": {
            "HappyPath": {"LambdaState": "MockedLambdaSuccess", "SQSState": "MockedSQSSuccess"},
            "RetryPath": {"LambdaState": "MockedLambdaRetry", "SQSState": "MockedSQSSuccess"},
            "HybridPath": {"LambdaState": "MockedLambdaSuccess"}
          }
        }
      },
      "MockedResponses": {
        "MockedLambdaSuccess": {"0": {"Return": {"StatusCode": 200, "Payload": {"StatusCode": 200, "body": "Hello from Lambda!"}}}},
        "LambdaMockedResourceNotReady": {"0": {"Throw": {"Error": "Lambda.ResourceNotReadyException", "Cause": "Lambda resource is not ready."}}},
        "MockedSQSSuccess": {"0": {"Return": {"MD5OfMessageBody": "3bcb6e8e-7h85-4375-b0bc-1a59812c6e51", "MessageId": "3bcb6e8e-8b51-4375-b0bc-1a59812c6e51"}}},
        "MockedLambdaRetry": {
          "0": {"Throw": {"Error": "Lambda.ResourceNotReadyException", "Cause": "Lambda resource is not ready."}},
          "1-2": {"Throw": {"Error": "Lambda.TimeoutException", "Cause": "Lambda timed out."}},
          "3": {"Return": {"StatusCode": 200, "Payload": {"StatusCode": 200, "body": "Hello from Lambda!"}}}
        }
      }
    }"#;

    fn error_of(json: Json) -> String {
        MockConfig::from_value(&json).unwrap_err().to_string()
    }

    #[test]
    fn reads_aws_example() {
        let config = MockConfig::parse(AWS_EXAMPLE).unwrap();
        assert_eq!(config.state_machines().collect::<Vec<_>>(), ["LambdaSQSIntegration"]);
        let retry = config.test_case("LambdaSQSIntegration", "RetryPath").unwrap();
        assert_eq!(retry.test_case(), "RetryPath");
        let states: Vec<(&str, &str)> = retry.states().map(|(s, r)| (s, r.name())).collect();
        assert_eq!(
            states,
            [("LambdaState", "MockedLambdaRetry"), ("SQSState", "MockedSQSSuccess")]
        );
        let (_, lambda) = retry.states().next().unwrap();
        let throw = |error: &str, cause: &str| MockAnswer::Throw {
            error: error.into(),
            cause: Some(cause.into()),
        };
        assert_eq!(
            lambda.answer(0),
            Some(&throw(
                "Lambda.ResourceNotReadyException",
                "Lambda resource is not ready."
            ))
        );
        assert_eq!(
            lambda.answer(1),
            Some(&throw("Lambda.TimeoutException", "Lambda timed out."))
        );
        assert_eq!(lambda.answer(2), lambda.answer(1));
        assert!(
            matches!(lambda.answer(3), Some(MockAnswer::Return(r)) if r["Payload"]["body"] == "Hello from Lambda!")
        );
        assert_eq!(lambda.answer(4), None);
        let hybrid = config.test_case("LambdaSQSIntegration", "HybridPath").unwrap();
        assert_eq!(hybrid.states().count(), 1);
    }

    #[test]
    fn answer_needs_exactly_one_of_return_or_throw() {
        let both = json!({"MockedResponses": {"MockedLambdaRetry": {"0": {"Return": 1}, "1-2": {"Return": 1, "Throw": {"Error": "E"}}}}});
        assert_eq!(
            error_of(both),
            "/MockedResponses/MockedLambdaRetry/1-2: expected exactly one of Return or Throw"
        );
        let neither = json!({"MockedResponses": {"R": {"0": {}}}});
        assert_eq!(
            error_of(neither),
            "/MockedResponses/R/0: expected exactly one of Return or Throw"
        );
        let other = json!({"MockedResponses": {"R": {"0": {"Result": 1}}}});
        assert_eq!(
            error_of(other),
            "/MockedResponses/R/0: expected exactly one of Return or Throw"
        );
        let not_object = json!({"MockedResponses": {"R": {"0": 5}}});
        assert_eq!(
            error_of(not_object),
            "/MockedResponses/R/0: expected exactly one of Return or Throw"
        );
    }

    #[test]
    fn throw_needs_a_string_error() {
        let no_error = json!({"MockedResponses": {"R": {"0": {"Throw": {"Cause": "C"}}}}});
        assert_eq!(
            error_of(no_error),
            "/MockedResponses/R/0/Throw: missing \"Error\" (a string)"
        );
        let number = json!({"MockedResponses": {"R": {"0": {"Throw": {"Error": "E", "Cause": 3}}}}});
        assert_eq!(error_of(number), "/MockedResponses/R/0/Throw/Cause: expected a string");
        let extra = json!({"MockedResponses": {"R": {"0": {"Throw": {"Error": "E", "Reason": "?"}}}}});
        assert_eq!(
            error_of(extra),
            "/MockedResponses/R/0/Throw/Reason: unexpected field: a Throw has an \"Error\" and a \"Cause\""
        );
    }

    #[test]
    fn bad_ranges() {
        let reversed = json!({"MockedResponses": {"R": {"2-1": {"Return": 1}}}});
        assert_eq!(
            error_of(reversed),
            "/MockedResponses/R/2-1: the range \"2-1\" starts after it ends: expected \"1-2\""
        );
        for key in ["x", "", "-1", "1-", "1-2-3", "+1", " 1", "1.0", "99999999999"] {
            let json = json!({"MockedResponses": {"R": {key: {"Return": 1}}}});
            assert_eq!(
                error_of(json),
                format!(
                    "/MockedResponses/R/{key}: \"{key}\" is not an invocation number (\"0\") or an inclusive range of them (\"1-2\")"
                ),
                "{key:?}"
            );
        }
    }

    #[test]
    fn overlapping_ranges() {
        let overlap = json!({"MockedResponses": {"R": {"0-2": {"Return": 1}, "2": {"Return": 2}}}});
        assert_eq!(
            error_of(overlap),
            "/MockedResponses/R/2: the invocations \"2\" overlap \"0-2\" of the same mocked response"
        );
        let inside =
            json!({"MockedResponses": {"R": {"3": {"Return": 1}, "5-9": {"Return": 1}, "1-4": {"Return": 2}}}});
        assert_eq!(
            error_of(inside),
            "/MockedResponses/R/1-4: the invocations \"1-4\" overlap \"3\" of the same mocked response"
        );
        // Adjacent ranges and gaps are fine (a gap fails the execution when reached).
        let fine = json!({"MockedResponses": {"R": {"4": {"Return": 4}, "0-1": {"Return": 0}, "2-2": {"Return": 2}}}});
        let config = MockConfig::from_value(&fine).unwrap();
        let response = &config.responses["R"];
        let returned = |n| match response.answer(n) {
            Some(MockAnswer::Return(v)) => v.as_i64(),
            _ => None,
        };
        assert_eq!(
            (0..6).map(returned).collect::<Vec<_>>(),
            [Some(0), Some(0), Some(2), None, Some(4), None]
        );
    }

    #[test]
    fn test_case_names_an_existing_response() {
        let json = json!({
            "StateMachines": {"M": {"TestCases": {"T": {"LambdaState": "Missing"}}}},
            "MockedResponses": {"Present": {"0": {"Return": 1}}}
        });
        assert_eq!(
            error_of(json),
            "/StateMachines/M/TestCases/T/LambdaState: no mocked response named 'Missing' in /MockedResponses"
        );
        let not_name = json!({"StateMachines": {"M": {"TestCases": {"T": {"S": 1}}}}});
        assert_eq!(
            error_of(not_name),
            "/StateMachines/M/TestCases/T/S: expected the name of a mocked response"
        );
    }

    #[test]
    fn shapes_and_pointers() {
        assert_eq!(
            error_of(json!([])),
            "expected an object with \"StateMachines\" and \"MockedResponses\""
        );
        assert_eq!(
            error_of(json!({"Mocks": {}})),
            "/Mocks: unexpected field: expected \"StateMachines\" and \"MockedResponses\""
        );
        assert_eq!(
            error_of(json!({"StateMachines": {"a/b~c": {}}})),
            "/StateMachines/a~1b~0c/TestCases: missing: a state machine has \"TestCases\""
        );
        assert_eq!(
            error_of(json!({"StateMachines": {"M": {"TestCases": {}, "Cases": 1}}})),
            "/StateMachines/M/Cases: unexpected field: expected \"TestCases\""
        );
        assert_eq!(
            error_of(json!({"MockedResponses": {"R": [1]}})),
            "/MockedResponses/R: expected an object from invocation numbers (\"0\", \"1-2\") to {\"Return\": ...} or {\"Throw\": ...}"
        );
        assert!(MockConfig::parse("{")
            .unwrap_err()
            .to_string()
            .starts_with("not JSON: "));
    }

    #[test]
    fn unknown_machine_or_test_case_lists_the_available_ones() {
        let config = MockConfig::parse(AWS_EXAMPLE).unwrap();
        assert_eq!(
            config.test_case("Other", "HappyPath").unwrap_err().to_string(),
            "/StateMachines: no state machine named 'Other' (available: 'LambdaSQSIntegration')"
        );
        assert_eq!(
            config.test_case("LambdaSQSIntegration", "SadPath").unwrap_err().to_string(),
            "/StateMachines/LambdaSQSIntegration/TestCases: no test case named 'SadPath' (available: 'HappyPath', 'HybridPath', 'RetryPath')"
        );
        assert_eq!(
            MockConfig::default().test_case("M", "T").unwrap_err().to_string(),
            "/StateMachines: no state machine named 'M' (available: none)"
        );
    }

    #[test]
    fn responses_built_in_code() {
        let mut response = MockedResponse::new("R");
        response.answer_range(2, 3, MockAnswer::Return(json!(2))).unwrap();
        response.answer_range(0, 0, MockAnswer::Return(json!(0))).unwrap();
        assert_eq!(
            response
                .answer_range(3, 5, MockAnswer::Return(json!(3)))
                .unwrap_err()
                .to_string(),
            "the invocations \"3-5\" overlap \"2-3\" of the same mocked response"
        );
        assert_eq!(response.answer(3), Some(&MockAnswer::Return(json!(2))));
        assert_eq!(response.answer(1), None);
    }
}
