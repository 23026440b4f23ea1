//! The engine's limits on what an execution builds ([`Limits`], AWS's payload limit) and the
//! work its expressions do: values nested past `max_value_depth` fail the state with
//! `States.Runtime` wherever they are built, every walk over a value as deep as the limit
//! allows finishes (no stack overflow), strings and arrays stop growing past the payload
//! limit, and the operations that were quadratic keep their results on large inputs.

use quickstep::mock::MockConfig;
use quickstep::tasks::TaskRegistry;
use quickstep::value::{parse, Arena, Value};
use quickstep::{ExecutionInfo, Limits, Machine, Outcome, Status, VirtualClock};
use serde_json::{json, Value as Json};

fn run_with(definition: &Json, input: &str, limits: Limits, tasks: TaskRegistry) -> Outcome {
    Machine::new(&definition.to_string(), tasks)
        .unwrap()
        .with_limits(limits)
        .run_json_with(input, &ExecutionInfo::default(), &mut VirtualClock::default())
        .unwrap()
}

fn run(definition: &Json, input: &str) -> Outcome {
    run_with(definition, input, Limits::default(), TaskRegistry::new())
}

fn limits(max_value_depth: usize) -> Limits {
    Limits {
        max_value_depth,
        ..Limits::default()
    }
}

/// A loop that nests `$.a` one array deeper per turn (`States.Array($.a)`) for `turns`
/// turns, then runs `last`'s `Parameters` on `{"n": turns, "a": <turns deep>}`.
fn deepening(turns: u32, last: Json) -> Json {
    json!({
        "StartAt": "Deepen",
        "States": {
            "Deepen": {
                "Type": "Pass",
                "Parameters": {"n.$": "States.MathAdd($.n, 1)", "a.$": "States.Array($.a)"},
                "Next": "Enough?"
            },
            "Enough?": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.n", "NumericGreaterThanEquals": turns, "Next": "Last"}],
                "Default": "Deepen"
            },
            "Last": {"Type": "Pass", "Parameters": last, "End": true}
        }
    })
}

fn assert_too_deep(outcome: &Outcome, state: &str, limit: usize) {
    assert_eq!(outcome.status, Status::Failed, "{outcome:?}");
    assert_eq!(outcome.error.as_deref(), Some("States.Runtime"), "{outcome:?}");
    let cause = outcome.cause.as_deref().unwrap();
    assert!(cause.contains(&format!("the state '{state}'")), "{cause}");
    assert!(
        cause.contains(&format!("nested more than {limit} levels deep")),
        "{cause}"
    );
}

/// `[[...[1]...]]`, `depth` arrays deep.
fn nested_text(depth: usize) -> String {
    format!("{}1{}", "[".repeat(depth), "]".repeat(depth))
}

#[test]
fn a_value_nested_in_a_loop_fails_the_state_at_the_depth_limit() {
    // {"n":..,"a":<255 deep>} is 256 deep: within the default limit; one more turn is not
    let ok = run(&deepening(255, json!({"a.$": "$.a"})), r#"{"n":0,"a":1}"#);
    assert_eq!(ok.status, Status::Succeeded, "{ok:?}");
    assert_eq!(ok.output.unwrap(), format!(r#"{{"a":{}}}"#, nested_text(255)));
    let deep = run(&deepening(256, json!({"a.$": "$.a"})), r#"{"n":0,"a":1}"#);
    assert_too_deep(&deep, "Deepen", 256);

    // the limit is the machine's
    let definition = deepening(20, json!({"a.$": "$.a"}));
    assert_too_deep(
        &run_with(&definition, r#"{"n":0,"a":1}"#, limits(10), TaskRegistry::new()),
        "Deepen",
        10,
    );
    let ok = run_with(&definition, r#"{"n":0,"a":1}"#, limits(21), TaskRegistry::new());
    assert_eq!(ok.status, Status::Succeeded);
    // ... up to the ceiling
    let huge = limits(usize::MAX);
    assert_eq!(
        huge.effective_max_value_depth(),
        quickstep::limits::MAX_VALUE_DEPTH_CEILING
    );
    assert_too_deep(
        &run_with(
            &deepening(1100, json!({"a.$": "$.a"})),
            r#"{"n":0,"a":1}"#,
            huge,
            TaskRegistry::new(),
        ),
        "Deepen",
        1000,
    );
}

#[test]
fn one_evaluation_that_nests_past_the_limit_fails() {
    // one state, one call: 3 levels in a 2-level machine
    let definition = json!({"StartAt": "P", "States": {"P": {"Type": "Pass",
        "Parameters": {"a.$": "States.Array(States.Array($))"}, "End": true}}});
    assert_too_deep(&run_with(&definition, "1", limits(2), TaskRegistry::new()), "P", 2);
    assert_eq!(
        run_with(&definition, "1", limits(3), TaskRegistry::new())
            .output
            .as_deref(),
        Some(r#"{"a":[[1]]}"#)
    );
    // a ResultPath that nests the result
    let definition = json!({"StartAt": "P", "States": {"P": {"Type": "Pass",
        "Result": [[1]], "ResultPath": "$.a.b.c", "End": true}}});
    assert_too_deep(&run_with(&definition, "{}", limits(4), TaskRegistry::new()), "P", 4);
    assert_eq!(
        run_with(&definition, "{}", limits(5), TaskRegistry::new())
            .output
            .as_deref(),
        Some(r#"{"a":{"b":{"c":[[1]]}}}"#)
    );
}

#[test]
fn every_walk_over_a_value_at_the_ceiling_finishes() {
    // 1000 deep, then each walk on it with 30 more levels built in the same call: writing,
    // Java text, descendant scans, hashing and equality, in a debug build, on a test thread
    let depth = 999;
    let wrap = |inner: &str, times: usize| format!("{}{inner}{}", "States.Array(".repeat(times), ")".repeat(times));
    let last = json!({
        "text.$": format!("States.JsonToString({})", wrap("$.a", 30)),
        "java.$": format!("States.Format('{{}}', {})", wrap("$.a", 30)),
        "scan.$": "$..x",
        "unique.$": format!("States.ArrayLength(States.ArrayUnique(States.Array({}, $.a, $.a, 1, 1.0)))", wrap("$.a", 30)),
        "contains.$": "States.ArrayContains(States.Array(1, $.a), $.a)",
    });
    let outcome = run_with(
        &deepening(depth, last),
        r#"{"n":0,"a":1}"#,
        limits(usize::MAX),
        TaskRegistry::new(),
    );
    assert_eq!(outcome.status, Status::Succeeded, "{outcome:?}");
    let output = outcome.output_value().unwrap();
    assert_eq!(output["text"], Json::String(nested_text(depth as usize + 30)));
    assert_eq!(output["java"], Json::String(nested_text(depth as usize + 30)));
    assert_eq!(output["scan"], json!([]));
    assert_eq!(output["unique"], json!(3));
    assert_eq!(output["contains"], json!(true));

    // the history writes every value it records
    let machine = Machine::new(&deepening(999, json!({"a.$": "$.a"})).to_string(), TaskRegistry::new())
        .unwrap()
        .with_limits(limits(usize::MAX));
    let mut history = quickstep::history::JsonHistory {
        include_data: true,
        events: Vec::new(),
    };
    let outcome = machine
        .run_json_recording(
            r#"{"n":0,"a":1}"#,
            &ExecutionInfo::default(),
            &mut VirtualClock::default(),
            &mut history,
        )
        .unwrap();
    assert_eq!(outcome.status, Status::Succeeded);
    assert!(history.events.len() > 3990, "{}", history.events.len());
}

#[test]
fn measuring_and_merging_at_the_ceiling_finish() {
    // a value whose bound passes the payload limit (each byte of its string counted as an
    // escape) is measured exactly at every state's exit: at 1000 levels
    let outcome = run_with(
        &deepening(999, json!({"a.$": "$.a"})),
        &json!({"n": 0, "a": "x".repeat(45_000)}).to_string(),
        limits(usize::MAX),
        TaskRegistry::new(),
    );
    assert_eq!(outcome.status, Status::Succeeded, "{outcome:?}");
    assert_eq!(outcome.output.unwrap().len(), 45_000 + 2 * 999 + 8);

    // objects nested 999 deep (1,000 with the input around them), merged deeply with themselves
    let definition = json!({
        "StartAt": "Deepen",
        "States": {
            "Deepen": {
                "Type": "Pass",
                "Parameters": {"n.$": "States.MathAdd($.n, 1)", "o": {"o.$": "$.o"}},
                "Next": "Enough?"
            },
            "Enough?": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.n", "NumericGreaterThanEquals": 998, "Next": "Merge"}],
                "Default": "Deepen"
            },
            "Merge": {"Type": "Pass", "Parameters": {"m.$": "States.JsonMerge($.o, $.o, true)", "same.$": "States.ArrayContains(States.Array($.o), $.o)"}, "End": true}
        }
    });
    let outcome = run_with(
        &definition,
        r#"{"n":0,"o":{}}"#,
        limits(usize::MAX),
        TaskRegistry::new(),
    );
    assert_eq!(outcome.status, Status::Succeeded, "{outcome:?}");
    let output = outcome.output.unwrap();
    assert!(output.starts_with(&format!(r#"{{"m":{}{{}}"#, r#"{"o":"#.repeat(998))));
    assert!(output.ends_with(r#","same":true}"#));
}

#[test]
fn variables_and_task_results_respect_the_depth_limit() {
    let definition = json!({
        "StartAt": "Init",
        "States": {
            "Init": {"Type": "Pass", "Assign": {"x": 1, "n": 0}, "Next": "Deepen"},
            "Deepen": {"Type": "Pass", "Assign": {"x.$": "States.Array($x)", "n.$": "States.MathAdd($n, 1)"}, "Next": "Enough?"},
            "Enough?": {"Type": "Choice", "Choices": [{"Variable": "$n", "NumericGreaterThanEquals": 300, "Next": "Done"}], "Default": "Deepen"},
            "Done": {"Type": "Pass", "End": true}
        }
    });
    assert_too_deep(&run(&definition, "{}"), "Deepen", 256);
    assert_eq!(
        run_with(&definition, "{}", limits(300), TaskRegistry::new()).status,
        Status::Succeeded
    );

    let mut tasks = TaskRegistry::new();
    tasks.register("arn:aws:states:::test:deep", |_input, arena| {
        let mut v = Value::int(1);
        for _ in 0..300 {
            v = Value::array(arena.alloc_slice_copy(&[v]));
        }
        Ok(v)
    });
    let definition = json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": "arn:aws:states:::test:deep", "End": true}}});
    assert_too_deep(&run_with(&definition, "{}", Limits::default(), tasks), "T", 256);
}

#[test]
fn an_input_handed_over_deeper_than_the_limit_fails_before_anything_reads_it() {
    let mut input = json!(1);
    for _ in 0..2000 {
        input = Json::Array(vec![input]);
    }
    let definition =
        json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "Parameters": {"s.$": "$..x"}, "End": true}}});
    let machine = Machine::new(&definition.to_string(), TaskRegistry::new()).unwrap();
    let outcome = machine.run_value(&input);
    assert_eq!(outcome.status, Status::Failed);
    assert_eq!(outcome.error.as_deref(), Some("States.Runtime"));
    assert!(outcome
        .cause
        .unwrap()
        .contains("input is nested more than 256 levels deep"));
    // copied without recursion, its depth counted
    let arena = Arena::new();
    assert_eq!(Value::from_serde(&arena, &input).depth(), 2000);
    // dropped in pieces: serde_json's drop recurses
    let mut input = input;
    while let Json::Array(mut items) = input {
        input = items.pop().unwrap();
    }
}

#[test]
fn strings_past_the_payload_limit_stop_with_data_limit_exceeded() {
    let s = "a".repeat(100_000);
    let input = json!({ "s": s }).to_string();
    let format = |args: usize| {
        json!({"StartAt": "F", "States": {"F": {"Type": "Pass", "Parameters": {
            "r.$": format!("States.Format('{}'{})", "{}".repeat(args), ", $.s".repeat(args))
        }, "End": true}}})
    };
    let ok = run(&format(2), &input);
    assert_eq!(ok.status, Status::Succeeded);
    // 5,000 arguments: stopped after the third, not 500 MB later
    for args in [3, 5_000] {
        let outcome = run(&format(args), &input);
        assert_eq!(
            outcome.error.as_deref(),
            Some("States.DataLimitExceeded"),
            "{outcome:?}"
        );
        assert_eq!(
            outcome.cause.as_deref(),
            Some(
                "The state/task 'F' returned a result with a size exceeding the maximum number of bytes service limit."
            )
        );
    }
    // an array that shares its part twice, doubling its text each turn (not its memory):
    // measured no further than the limit
    let definition = json!({
        "StartAt": "Double",
        "States": {
            "Double": {
                "Type": "Pass",
                "Parameters": {"n.$": "States.MathAdd($.n, 1)", "a.$": "States.Array($.a, $.a)", "t.$": "States.JsonToString($.a)"},
                "Next": "Enough?"
            },
            "Enough?": {
                "Type": "Choice",
                "Choices": [{"Variable": "$.n", "NumericGreaterThanEquals": 40, "Next": "Done"}],
                "Default": "Double"
            },
            "Done": {"Type": "Succeed"}
        }
    });
    let outcome = run(&definition, r#"{"n":0,"a":"x"}"#);
    assert_eq!(
        outcome.error.as_deref(),
        Some("States.DataLimitExceeded"),
        "{outcome:?}"
    );
    assert!(outcome.cause.unwrap().contains("'Double'"));
}

#[test]
fn descendant_paths_stop_past_the_payload_limit_or_the_visit_limit() {
    let nested = |depth: usize| format!("{}1{}", r#"{"a":"#.repeat(depth), "}".repeat(depth));
    let definition = |path: &str| json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "Parameters": {"r.$": path}, "End": true}}});
    let outcome = run(&definition("$..*..*..*..*..*"), &nested(100));
    assert_eq!(outcome.error.as_deref(), Some("States.Runtime"));
    assert!(outcome
        .cause
        .unwrap()
        .contains("Invalid path '$..*..*..*..*..*' : the results are longer than the payload limit"),);
    // no results at all, but a walk that visits C(100, 4) * 100 nodes
    let outcome = run(&definition("$..a..a..a..a..zz"), &nested(100));
    assert_eq!(outcome.error.as_deref(), Some("States.Runtime"));
    assert!(outcome.cause.unwrap().contains("visits more than 16777216 nodes"));
    // ... also in a filter's paths
    let outcome = run(
        &definition("$.l[?(@..a..a..a..a..zz)]"),
        &format!(r#"{{"l":[{}]}}"#, nested(100)),
    );
    assert_eq!(outcome.error.as_deref(), Some("States.Runtime"));
    assert!(outcome.cause.unwrap().contains("visits more than 16777216 nodes"));
    // the same paths on small inputs
    assert_eq!(
        run(&definition("$..*..*"), &nested(3)).output.as_deref(),
        Some(r#"{"r":[{"a":1},1,1]}"#)
    );
    assert_eq!(
        run(&definition("$..a..zz"), &nested(3)).output.as_deref(),
        Some(r#"{"r":[]}"#)
    );
}

#[test]
fn paths_of_more_than_a_thousand_steps_are_refused() {
    let path = format!("${}", ".a".repeat(1001));
    let definition = json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "ResultPath": path, "End": true}}});
    assert!(Machine::new(&definition.to_string(), TaskRegistry::new()).is_err());
    let path = format!("${}", ".a".repeat(1000));
    let definition = json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "ResultPath": path, "End": true}}});
    let outcome = Machine::new(&definition.to_string(), TaskRegistry::new())
        .unwrap()
        .run_json("{}")
        .unwrap();
    assert_eq!(outcome.error.as_deref(), Some("States.Runtime"));
}

#[test]
fn array_unique_keeps_first_occurrences_in_order_on_large_arrays() {
    // numbers by value (1 == 1.0), objects whatever their key order, nested arrays deeply
    let mut items = vec![
        json!(1),
        json!("1"),
        json!({"a": 1, "b": [1, 2]}),
        json!(1.0),
        json!({"b": [1.0, 2], "a": 1.0}),
        json!([1, {"x": null}]),
        json!([1.0, {"x": null}]),
        json!(null),
        json!(false),
        json!(0),
        json!(-0.0),
    ];
    for i in 0..200 {
        items.push(json!(i % 70));
        items.push(json!({ "k": i % 30 }));
    }
    let input = json!({ "a": items }).to_string();
    let definition = json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "Parameters": {"u.$": "States.ArrayUnique($.a)"}, "End": true}}});
    let outcome = run(&definition, &input);
    assert_eq!(outcome.status, Status::Succeeded, "{outcome:?}");
    // what the scan of every kept item gives
    let arena = Arena::new();
    let parsed = parse(&arena, arena.alloc_str(&input)).unwrap();
    let mut expected: Vec<Value<'_>> = Vec::new();
    for item in parsed.get("a").unwrap().as_array().unwrap() {
        if !expected.contains(item) {
            expected.push(*item);
        }
    }
    let expected = Value::object(arena.alloc_slice_copy(&[("u", Value::array(arena.alloc_slice_copy(&expected)))]));
    assert_eq!(outcome.output.as_deref(), Some(expected.to_json_string().as_str()));
    let output = outcome.output_value().unwrap();
    let unique = output["u"].as_array().unwrap();
    // 7 of the first 11 (1.0, the reordered object, [1.0, ...] and -0.0 are seen before),
    // then 2..69 and 30 objects
    assert_eq!(unique.len(), 7 + 68 + 30);
    assert_eq!(
        &unique[..4],
        &[
            json!(1),
            json!("1"),
            json!({"a": 1, "b": [1, 2]}),
            json!([1, {"x": null}])
        ]
    );
    assert_eq!(
        unique[4..10],
        [
            json!(null),
            json!(false),
            json!(0),
            json!({"k": 0}),
            json!({"k": 1}),
            json!(2)
        ][..]
    );
}

#[test]
fn large_objects_read_merge_and_compare_like_small_ones() {
    let keys: Vec<String> = (0..200).map(|i| format!("\"k{i}\":{i}")).collect();
    // duplicates: the last value, in the first one's place; both readers (1e23 sends the
    // text to serde_json's)
    for extra in ["", ",\"f\":1e23"] {
        let text = format!("{{{},\"k5\":\"five\",\"k199\":\"last\"{extra}}}", keys.join(","));
        let arena = Arena::new();
        let value = parse(&arena, arena.alloc_str(&text)).unwrap();
        let members = value.as_object().unwrap();
        assert_eq!(members.len(), 200 + usize::from(!extra.is_empty()), "{extra}");
        assert_eq!(members[5], ("k5", Value::String("five")));
        assert_eq!(members[199], ("k199", Value::String("last")));
        assert_eq!(members[6], ("k6", Value::int(6)));
    }
    // equality in any order
    let arena = Arena::new();
    let forward = format!("{{{}}}", keys.join(","));
    let backward = format!("{{{}}}", keys.iter().rev().cloned().collect::<Vec<_>>().join(","));
    let (a, b) = (parse(&arena, &forward).unwrap(), parse(&arena, &backward).unwrap());
    assert_eq!(a, b);
    let changed = backward.replace("\"k7\":7", "\"k7\":8");
    assert_ne!(a, parse(&arena, &changed).unwrap());
    // JsonMerge: b's values over a's, a's order first
    let input = format!(r#"{{"a":{forward},"b":{changed}}}"#);
    let definition = json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "Parameters": {"m.$": "States.JsonMerge($.a, $.b, false)"}, "End": true}}});
    let output = run(&definition, &input).output.unwrap();
    assert_eq!(
        output,
        format!(r#"{{"m":{}}}"#, forward.replace("\"k7\":7", "\"k7\":8"))
    );
}

#[test]
fn array_range_at_the_ends_of_the_integers() {
    let definition = json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "Parameters": {
        "r.$": "States.ArrayRange(-9223372036854775808, 9223372036854775807, 4611686018427387904)",
        "down.$": "States.ArrayRange(9223372036854775807, -9223372036854775808, -9223372036854775808)"
    }, "End": true}}});
    let outcome = run(&definition, "{}");
    assert_eq!(
        outcome.output.as_deref(),
        Some(
            r#"{"r":[-9223372036854775808,-4611686018427387904,0,4611686018427387904],"down":[9223372036854775807,-1]}"#
        )
    );
}

#[test]
fn mocked_responses_of_many_descending_ranges() {
    let n = 20_000u32;
    let responses: serde_json::Map<String, Json> = (0..n)
        .rev()
        .map(|i| (format!("{}-{}", 2 * i, 2 * i + 1), json!({ "Return": i })))
        .collect();
    let config = json!({
        "StateMachines": {"M": {"TestCases": {"T": {"T": "R"}}}},
        "MockedResponses": {"R": responses}
    });
    let mocks = MockConfig::from_value(&config).unwrap().test_case("M", "T").unwrap();
    let (_, response) = mocks.states().next().unwrap();
    for (invocation, answer) in [(0, 0), (1, 0), (2, 1), (39_999, 19_999)] {
        match response.answer(invocation) {
            Some(quickstep::mock::MockAnswer::Return(v)) => assert_eq!(*v, json!(answer)),
            other => panic!("{invocation}: {other:?}"),
        }
    }
    assert!(response.answer(40_000).is_none());
    // an overlap among many is still found
    let mut overlapping = config.clone();
    overlapping["MockedResponses"]["R"]["77"] = json!({"Return": 0});
    let error = MockConfig::from_value(&overlapping).unwrap_err().to_string();
    assert!(error.contains("overlap \"76-77\""), "{error}");
}

#[test]
fn jsonata_limits_are_the_machines() {
    let definition = json!({"QueryLanguage": "JSONata", "StartAt": "P", "States": {"P": {"Type": "Pass",
        "Output": "{% ($f := function($n) { $n = 0 ? 0 : 1 + $f($n - 1) }; $f(60)) %}", "End": true}}});
    assert_eq!(run(&definition, "{}").output.as_deref(), Some("60"));
    let mut tight = Limits::default();
    tight.jsonata.max_depth = 20;
    let outcome = run_with(&definition, "{}", tight, TaskRegistry::new());
    assert_eq!(
        outcome.error.as_deref(),
        Some("States.QueryEvaluationError"),
        "{outcome:?}"
    );
}
