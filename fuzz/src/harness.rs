//! Running a definition once, as a user would: the registered tasks, a small input, a
//! virtual clock (waits and back-offs pass at once), and checks of what every outcome
//! promises.

use quickstep::value::{Arena, Value};
use quickstep::{ExecutionInfo, Machine, Outcome, Status, TaskFailure, TaskRegistry, VirtualClock};

/// The payload limit: a succeeded execution's output is never longer.
pub const PAYLOAD_LIMIT: usize = 256 * 1024;

/// Handlers for [`crate::asl::RESOURCES`] (by ARN and by function name, for
/// `lambda:invoke`'s `FunctionName`).
pub fn registry() -> TaskRegistry {
    let mut tasks = TaskRegistry::new();
    for prefix in ["arn:aws:lambda:us-east-1:123456789012:function:", ""] {
        tasks.register(format!("{prefix}identity"), |input, _arena| Ok(input));
        tasks.register(format!("{prefix}fail"), |_input, _arena| {
            Err(TaskFailure::new("Custom", "boom"))
        });
        tasks.register(format!("{prefix}raise"), |_input, _arena| {
            Err(TaskFailure::Function {
                error_type: "Exception".into(),
                error_message: "raised".into(),
            })
        });
        tasks.register(format!("{prefix}wrap"), |input, arena: &Arena| {
            Ok(Value::array(arena.alloc_slice_copy(&[input, input])))
        });
        tasks.register_async(format!("{prefix}later"), |_input, _token| Ok(()));
    }
    // services: answer with their input
    for resource in [
        "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
        "arn:aws:states:::dynamodb:getItem",
        "arn:aws:states:us-east-1:123456789012:activity:act",
    ] {
        tasks.register(resource, |input, _arena| Ok(input));
    }
    tasks
}

/// Registers an identity handler for every `Resource` and `FunctionName` string found in a
/// definition (for fixed definitions whose tasks should just pass their input through).
pub fn identity_registry(definition: &serde_json::Value) -> TaskRegistry {
    fn walk(v: &serde_json::Value, out: &mut Vec<String>) {
        match v {
            serde_json::Value::Object(m) => {
                for (k, v) in m {
                    if k == "Resource" || k == "FunctionName" {
                        if let Some(s) = v.as_str() {
                            out.push(s.to_string());
                        }
                    }
                    walk(v, out);
                }
            }
            serde_json::Value::Array(a) => a.iter().for_each(|v| walk(v, out)),
            _ => {}
        }
    }
    let mut names = vec![];
    walk(definition, &mut names);
    let mut tasks = registry();
    for name in names {
        if tasks.get(&name).is_none() {
            tasks.register(name, |input, _arena| Ok(input));
        }
    }
    tasks
}

/// Runs one execution on `input` (JSON text) under a virtual clock and checks the outcome.
pub fn run_once(machine: &Machine, input: &str) -> Option<Outcome> {
    let mut clock = VirtualClock::starting_at(1_700_000_000_000);
    let outcome = machine
        .run_json_with(input, &ExecutionInfo::default(), &mut clock)
        .ok()?;
    check_outcome(&outcome);
    Some(outcome)
}

/// What every outcome promises: a succeeded execution has an output, its JSON text is valid
/// and within the payload limit; a failed one has no output.
pub fn check_outcome(outcome: &Outcome) {
    match outcome.status {
        Status::Succeeded => {
            let output = outcome.output.as_deref().expect("a succeeded execution has an output");
            assert!(
                output.len() <= PAYLOAD_LIMIT,
                "a succeeded execution's output is {} bytes, over the payload limit",
                output.len()
            );
            if let Err(e) = serde_json::from_str::<serde::de::IgnoredAny>(output) {
                // serde_json stops at 128 levels; quickstep's readers do too, but values built at
                // run time may be deeper
                assert!(
                    e.to_string().contains("recursion limit"),
                    "the output is not JSON ({e}): {output}"
                );
            }
        }
        _ => assert!(
            outcome.output.is_none(),
            "an execution that did not succeed has an output"
        ),
    }
}
