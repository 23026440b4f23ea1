//! ASL definitions generated from the model: every state type in both query languages, with
//! paths, payload templates, intrinsic calls (nested, and in loops through Choice back-edges
//! that grow a variable or the payload), JSONata `{% %}` expressions, Retry/Catch, Assign,
//! Parallel branches and Map processors (nested), and now and then a field that is wrong.

use serde_json::{json, Map, Value as Json};

use crate::json::{value, STRINGS};
use crate::path::{path, path_or_call, VARS};
use crate::{jsonata, G};

/// Task resources the harness registers ([`crate::harness::registry`]).
pub const RESOURCES: &[&str] = &[
    "arn:aws:lambda:us-east-1:123456789012:function:identity",
    "arn:aws:lambda:us-east-1:123456789012:function:fail",
    "arn:aws:lambda:us-east-1:123456789012:function:wrap",
    "arn:aws:lambda:us-east-1:123456789012:function:raise",
    "arn:aws:lambda:us-east-1:123456789012:function:later",
    "arn:aws:states:::lambda:invoke",
    "arn:aws:states:::lambda:invoke.waitForTaskToken",
    "arn:aws:states:::sqs:sendMessage.waitForTaskToken",
    "arn:aws:lambda:us-east-1:123456789012:function:unregistered",
    "arn:aws:states:us-east-1:123456789012:activity:act",
    "arn:aws:states:::dynamodb:getItem",
];

const ERRORS: &[&str] = &[
    "States.ALL",
    "States.TaskFailed",
    "States.Timeout",
    "States.HeartbeatTimeout",
    "States.Runtime",
    "States.DataLimitExceeded",
    "States.IntrinsicFailure",
    "States.QueryEvaluationError",
    "States.BranchFailed",
    "States.ExceedToleratedFailureThreshold",
    "States.ItemReaderFailed",
    "Custom",
    "Lambda.Unknown",
    "Exception",
];

struct Ctx {
    /// The query language in force (the machine's, or the state's own).
    jsonata: bool,
    /// The machine's query language (what nested states inherit).
    machine_jsonata: bool,
    /// Nesting budget for Parallel/Map.
    depth: u32,
    /// Prefix of this machine's state names (state names are unique across the definition).
    prefix: String,
}

/// A whole definition (a JSON object), as text.
pub fn definition(g: &mut G) -> String {
    let jsonata = g.chance(2, 5);
    let mut m = machine(g, jsonata, jsonata, 2, "");
    if jsonata {
        m.insert("QueryLanguage".into(), json!("JSONata"));
    } else if g.chance(1, 8) {
        m.insert("QueryLanguage".into(), json!("JSONPath"));
    }
    if g.chance(1, 10) {
        m.insert("TimeoutSeconds".into(), json!(g.pick(&[1, 5, 60, 99999999])));
    }
    if g.chance(1, 12) {
        m.insert("Version".into(), json!(g.pick(&["1.0", "2.0"])));
    }
    let text = Json::Object(m).to_string();
    if g.chance(1, 60) {
        // sometimes the text itself is a little wrong
        let cut = g.below(text.len());
        return text
            .char_indices()
            .take_while(|(i, _)| *i < cut)
            .map(|(_, c)| c)
            .collect();
    }
    text
}

/// `StartAt` and `States` (the top level, a branch or a processor).
fn machine(g: &mut G, jsonata: bool, machine_jsonata: bool, depth: u32, prefix: &str) -> Map<String, Json> {
    let n = 1 + g.below(6);
    let names: Vec<String> = (0..n).map(|i| format!("{prefix}S{i}")).collect();
    let mut states = Map::new();
    let ctx = Ctx {
        jsonata,
        machine_jsonata,
        depth,
        prefix: prefix.to_string(),
    };
    let looped = n >= 2 && g.chance(1, 3);
    for i in 0..n {
        let state = if looped && i == 0 {
            loop_init(g, &ctx)
        } else if looped && i == n - 1 && n >= 2 {
            {
                let target = 1 + g.below(n - 1);
                loop_back(g, &ctx, target)
            }
        } else {
            state(g, &ctx, &names, i)
        };
        states.insert(names[i].clone(), Json::Object(state));
    }
    if looped && n >= 2 {
        states.insert(format!("{prefix}Done"), Json::Object(loop_done(g, &ctx)));
    }
    let mut m = Map::new();
    m.insert(
        "StartAt".into(),
        json!(if g.chance(1, 200) {
            "Nope".to_string()
        } else {
            names[0].clone()
        }),
    );
    m.insert("States".into(), Json::Object(states));
    if g.chance(1, 10) {
        m.insert("Comment".into(), json!("generated"));
    }
    m
}

/// Where a state goes: `Next` (any state, back-edges included) or `End`.
fn transition(g: &mut G, names: &[String], i: usize, state: &mut Map<String, Json>) {
    if i + 1 >= names.len() || g.chance(1, 12) {
        state.insert("End".into(), json!(true));
    } else if g.chance(1, 200) {
        state.insert("Next".into(), json!("Nope"));
    } else {
        let next = if g.chance(1, 8) { g.below(names.len()) } else { i + 1 };
        state.insert("Next".into(), json!(names[next]));
    }
}

/// A value that grows a loop's variable `$v` (or the payload): the shapes of hand-made
/// extremes.
fn grow_jsonpath(g: &mut G) -> String {
    match g.below(3) {
        0 | 1 => g
            .pick(&[
                "States.Array($v)",
                "States.Array($v, $v)",
                "States.Array($v, $i)",
                "States.JsonMerge($v, $v, true)",
                "States.Format('{}{}', $v, $v)",
                "States.JsonToString($v)",
                "States.ArrayPartition($v, 1)",
                "States.StringToJson(States.JsonToString(States.Array($v)))",
                "States.ArrayUnique(States.Array($v, $v))",
                "States.ArrayRange(0, $i, 1)",
                "States.StringSplit(States.Format('{},{}', $v, $v), ',')",
                "States.Base64Encode(States.JsonToString($v))",
                "States.Hash(States.JsonToString($v), 'SHA-512')",
                "States.ArrayGetItem(States.Array($v, $v), 1)",
                "States.MathAdd($i, $i)",
            ])
            .to_string(),
        _ => path_or_call(g, 3),
    }
}

fn grow_jsonata(g: &mut G) -> String {
    match g.below(3) {
        0 | 1 => format!(
            "{{% {} %}}",
            g.pick(&[
                "[$v]",
                "[$v, $v]",
                "{\"a\": $v}",
                "$string($v) & $string($v)",
                "$append($v, $v)",
                "$merge([$v, {\"k\" & $string($i): $v}])",
                "$distinct($append($v, $v))",
                "$sort($append($v, [$i]))",
                "$string($v)",
                "$reverse($append($v, $i))",
                "$v ~> $append($v)",
                "$states.input",
                "[$states.input, $v]",
            ])
        ),
        _ => jsonata::template(g),
    }
}

/// The first state of a loop: sets the counter and the grown value.
fn loop_init(g: &mut G, ctx: &Ctx) -> Map<String, Json> {
    let mut s = Map::new();
    s.insert("Type".into(), json!("Pass"));
    let init = value(g, 1);
    s.insert("Assign".into(), json!({"i": 0, "v": init}));
    s.insert("Next".into(), json!(format!("{}S1", ctx.prefix)));
    s
}

/// The last state of a loop: grows `$v`, counts, and goes back while the count is low.
fn loop_back(g: &mut G, ctx: &Ctx, target: usize) -> Map<String, Json> {
    let limit = g.pick(&[1, 2, 5, 10, 30, 64, 100, 200, 1000, 5000, 20000]);
    let mut s = Map::new();
    s.insert("Type".into(), json!("Choice"));
    let target = format!("{}S{target}", ctx.prefix);
    if ctx.jsonata {
        s.insert(
            "Choices".into(),
            json!([{"Condition": format!("{{% $i < {limit} %}}"), "Next": target,
                    "Assign": {"i": "{% $i + 1 %}", "v": grow_jsonata(g)}}]),
        );
    } else {
        let mut assign = Map::new();
        assign.insert("i.$".into(), json!("States.MathAdd($i, 1)"));
        assign.insert("v.$".into(), json!(grow_jsonpath(g)));
        if g.chance(1, 3) {
            // grow the payload too
            s.insert("OutputPath".into(), json!(g.pick(&["$", "$.x", "$[0]"])));
        }
        s.insert(
            "Choices".into(),
            json!([{"Variable": "$i", "NumericLessThan": limit, "Next": target, "Assign": assign}]),
        );
    }
    s.insert("Default".into(), json!(format!("{}Done", ctx.prefix)));
    // the machine ends after the loop through a Pass that outputs the grown value ("Done")
    s
}

/// The state after a loop: outputs the grown value.
fn loop_done(g: &mut G, ctx: &Ctx) -> Map<String, Json> {
    let mut s = Map::new();
    s.insert("Type".into(), json!("Pass"));
    if ctx.jsonata {
        s.insert(
            "Output".into(),
            json!(g.pick(&["{% $v %}", "{% {'v': $v, 'in': $states.input} %}", "{% $string($v) %}"])),
        );
    } else {
        s.insert(
            "Parameters".into(),
            json!({"v.$": g.pick(&["$v", "States.JsonToString($v)", "$v..a", "States.Format('{}', $v)"])}),
        );
    }
    s.insert("End".into(), json!(true));
    s
}

fn jsonpath_value_field(g: &mut G) -> String {
    path(g, 3)
}

fn template(g: &mut G, ctx: &Ctx, depth: u32) -> Json {
    if ctx.jsonata {
        if g.chance(1, 3) {
            return json!(jsonata::template(g));
        }
        let mut m = Map::new();
        for k in ["a", "b", "c"].iter().take(1 + g.below(3)) {
            let v = if g.bool() {
                json!(jsonata::template(g))
            } else {
                value(g, 1)
            };
            m.insert(k.to_string(), v);
        }
        return Json::Object(m);
    }
    let mut m = Map::new();
    for k in ["a", "b", "x", "n"].iter().take(1 + g.below(4)) {
        match g.below(5) {
            0 => {
                m.insert(k.to_string(), value(g, 1));
            }
            1 if depth > 0 => {
                m.insert(k.to_string(), template(g, ctx, depth - 1));
            }
            2 if depth > 0 => {
                m.insert(k.to_string(), json!([template(g, ctx, depth - 1), value(g, 0)]));
            }
            _ => {
                m.insert(format!("{k}.$"), json!(path_or_call(g, 3)));
            }
        }
    }
    Json::Object(m)
}

fn assign(g: &mut G, ctx: &Ctx) -> Json {
    let mut m = Map::new();
    for _ in 0..1 + g.below(2) {
        let var = g.pick(VARS);
        if ctx.jsonata {
            let v = if g.chance(2, 3) {
                json!(jsonata::template(g))
            } else {
                value(g, 1)
            };
            m.insert(var.to_string(), v);
        } else if g.chance(2, 3) {
            m.insert(format!("{var}.$"), json!(path_or_call(g, 3)));
        } else {
            m.insert(var.to_string(), value(g, 1));
        }
    }
    Json::Object(m)
}

fn common_io(g: &mut G, ctx: &Ctx, s: &mut Map<String, Json>, task_like: bool) {
    if ctx.jsonata {
        if g.chance(1, 3) {
            s.insert("Output".into(), template(g, ctx, 1));
        }
        if task_like && g.chance(1, 2) {
            s.insert("Arguments".into(), template(g, ctx, 1));
        }
    } else {
        if g.chance(1, 5) {
            s.insert("InputPath".into(), json!(jsonpath_value_field(g)));
        }
        if g.chance(1, 3) {
            s.insert("Parameters".into(), template(g, ctx, 2));
        }
        if task_like && g.chance(1, 4) {
            s.insert("ResultSelector".into(), template(g, ctx, 1));
        }
        if g.chance(1, 3) {
            s.insert(
                "ResultPath".into(),
                if g.chance(1, 6) {
                    Json::Null
                } else {
                    json!(g.pick(&["$", "$.r", "$.a.b", "$.items[0]", "$.x", "$$.x"]))
                },
            );
        }
        if g.chance(1, 5) {
            s.insert(
                "OutputPath".into(),
                if g.chance(1, 6) {
                    Json::Null
                } else {
                    json!(jsonpath_value_field(g))
                },
            );
        }
    }
    if g.chance(1, 3) {
        s.insert("Assign".into(), assign(g, ctx));
    }
}

fn retry_catch(g: &mut G, ctx: &Ctx, names: &[String], s: &mut Map<String, Json>) {
    if g.chance(1, 3) {
        let mut retriers = vec![];
        for _ in 0..1 + g.below(2) {
            let mut r = Map::new();
            r.insert("ErrorEquals".into(), json!([g.pick(ERRORS)]));
            if g.bool() {
                r.insert("IntervalSeconds".into(), json!(g.pick(&[1, 3, 99999999])));
            }
            if g.bool() {
                r.insert("MaxAttempts".into(), json!(g.pick(&[0, 1, 2, 3, 10, 99999999])));
            }
            if g.chance(1, 3) {
                r.insert("BackoffRate".into(), json!(g.pick(&[1.0, 1.5, 2.0, 100.0])));
            }
            if g.chance(1, 4) {
                r.insert("MaxDelaySeconds".into(), json!(g.pick(&[1, 5, 31622400])));
            }
            if g.chance(1, 4) {
                r.insert("JitterStrategy".into(), json!(g.pick(&["FULL", "NONE"])));
            }
            retriers.push(Json::Object(r));
        }
        s.insert("Retry".into(), Json::Array(retriers));
    }
    if g.chance(1, 3) {
        let mut c = Map::new();
        c.insert("ErrorEquals".into(), json!([g.pick(ERRORS)]));
        c.insert("Next".into(), json!(names[g.below(names.len())]));
        if ctx.jsonata {
            if g.bool() {
                c.insert(
                    "Output".into(),
                    json!(g.pick(&["{% $states.errorOutput %}", "{% $states.input %}"])),
                );
            }
        } else if g.bool() {
            c.insert("ResultPath".into(), json!(g.pick(&["$.error", "$", "$.a.b"])));
        }
        if g.chance(1, 3) {
            c.insert("Assign".into(), assign(g, ctx));
        }
        s.insert("Catch".into(), json!([c]));
    }
}

fn choice_rule(g: &mut G, ctx: &Ctx, depth: u32) -> Map<String, Json> {
    let mut r = Map::new();
    if ctx.jsonata {
        r.insert(
            "Condition".into(),
            json!(if g.bool() {
                format!(
                    "{{% {} %}}",
                    g.pick(&[
                        "$states.input.n > 1",
                        "$exists($states.input.a)",
                        "$i < 3",
                        "true",
                        "$v = $w"
                    ])
                )
            } else {
                jsonata::template(g)
            }),
        );
        return r;
    }
    if depth > 0 && g.chance(1, 4) {
        match g.below(3) {
            0 => {
                r.insert("Not".into(), Json::Object(choice_rule(g, ctx, depth - 1)));
            }
            k => {
                let rules: Vec<Json> = (0..1 + g.below(3))
                    .map(|_| Json::Object(choice_rule(g, ctx, depth - 1)))
                    .collect();
                r.insert((if k == 1 { "And" } else { "Or" }).into(), Json::Array(rules));
            }
        }
        return r;
    }
    r.insert("Variable".into(), json!(path(g, 2)));
    let op = g.pick(&[
        "StringEquals",
        "StringEqualsPath",
        "StringLessThan",
        "StringGreaterThanEquals",
        "StringMatches",
        "NumericEquals",
        "NumericEqualsPath",
        "NumericLessThan",
        "NumericGreaterThan",
        "NumericLessThanEqualsPath",
        "BooleanEquals",
        "BooleanEqualsPath",
        "TimestampEquals",
        "TimestampLessThan",
        "TimestampGreaterThanPath",
        "IsNull",
        "IsPresent",
        "IsNumeric",
        "IsString",
        "IsBoolean",
        "IsTimestamp",
    ]);
    let v = if op.ends_with("Path") {
        json!(path(g, 2))
    } else if op.starts_with("Is") || op.starts_with("Boolean") {
        json!(g.bool())
    } else if op.starts_with("Numeric") {
        serde_json::from_str(&g.number_text()).unwrap_or(json!(1))
    } else if op.starts_with("Timestamp") {
        json!(g.pick(&STRINGS[3..8]))
    } else if op == "StringMatches" {
        json!(g.pick(&["*", "a*", "\\*x", "*.*", "log-*.txt", "\\\\"]))
    } else {
        json!(g.pick(STRINGS))
    };
    r.insert(op.into(), v);
    r
}

fn state(g: &mut G, ctx: &Ctx, names: &[String], i: usize) -> Map<String, Json> {
    let mut s = Map::new();
    // a state may choose JSONata in a JSONPath machine (not the other way round); rarely, the
    // wrong way
    let own_language = (!ctx.machine_jsonata && g.chance(1, 8)) || g.chance(1, 60);
    let local;
    let ctx = if own_language {
        local = Ctx {
            jsonata: !ctx.jsonata,
            machine_jsonata: ctx.machine_jsonata,
            depth: ctx.depth,
            prefix: ctx.prefix.clone(),
        };
        s.insert(
            "QueryLanguage".into(),
            json!(if local.jsonata { "JSONata" } else { "JSONPath" }),
        );
        &local
    } else {
        ctx
    };
    let kinds = if ctx.depth == 0 { 7 } else { 9 };
    let mut kind = g.below(kinds);
    if (kind == 5 || kind == 6) && i + 1 < names.len() && !g.chance(1, 10) {
        // Succeed and Fail end the machine: in the middle, the states after them are unreachable
        kind = 0;
    }
    match kind {
        0 | 1 => {
            s.insert("Type".into(), json!("Pass"));
            if !ctx.jsonata && g.chance(1, 3) {
                s.insert("Result".into(), value(g, 2));
            }
            common_io(g, ctx, &mut s, false);
            transition(g, names, i, &mut s);
        }
        2 => {
            s.insert("Type".into(), json!("Task"));
            let resource = g.pick(RESOURCES);
            s.insert("Resource".into(), json!(resource));
            common_io(g, ctx, &mut s, true);
            if resource.contains(":::lambda:invoke") {
                let fname = g.pick(&["identity", "fail", "wrap", "nope"]);
                let args = json!({"FunctionName": format!("arn:aws:lambda:us-east-1:123456789012:function:{fname}"), "Payload": if ctx.jsonata {json!("{% $states.input %}")} else {json!({"in.$": "$"})}});
                s.insert((if ctx.jsonata { "Arguments" } else { "Parameters" }).into(), args);
            }
            if g.chance(1, 4) {
                s.insert("TimeoutSeconds".into(), json!(g.pick(&[1, 10, 99999999])));
            }
            if g.chance(1, 8) {
                s.insert("HeartbeatSeconds".into(), json!(g.pick(&[1, 5])));
            }
            retry_catch(g, ctx, names, &mut s);
            transition(g, names, i, &mut s);
        }
        3 => {
            s.insert("Type".into(), json!("Choice"));
            let rules: Vec<Json> = (0..1 + g.below(3))
                .map(|_| {
                    let mut r = choice_rule(g, ctx, 2);
                    r.insert("Next".into(), json!(names[g.below(names.len())]));
                    if g.chance(1, 5) {
                        r.insert("Assign".into(), assign(g, ctx));
                    }
                    Json::Object(r)
                })
                .collect();
            s.insert("Choices".into(), Json::Array(rules));
            if !g.chance(1, 8) {
                let d = if i + 1 < names.len() {
                    i + 1
                } else {
                    g.below(names.len())
                };
                s.insert("Default".into(), json!(names[d]));
            }
            if g.chance(1, 5) {
                common_io(g, ctx, &mut s, false);
                s.remove("Parameters");
                s.remove("ResultPath");
            }
        }
        4 => {
            s.insert("Type".into(), json!("Wait"));
            if ctx.jsonata {
                if g.bool() {
                    s.insert(
                        "Seconds".into(),
                        json!(g.pick(&[
                            "{% 1 %}",
                            "{% $states.input.n %}",
                            "{% -1 %}",
                            "{% 1.5 %}",
                            "{% 99999999999 %}"
                        ])),
                    );
                } else {
                    s.insert(
                        "Timestamp".into(),
                        json!(g.pick(&["{% $states.input.ts %}", "{% '2016-03-14T01:59:00Z' %}", "{% $now() %}"])),
                    );
                }
            } else {
                match g.below(4) {
                    0 => s.insert("Seconds".into(), json!(g.pick(&[0, 1, 10, 99999999]))),
                    1 => s.insert("SecondsPath".into(), json!(path(g, 2))),
                    2 => s.insert("Timestamp".into(), json!(g.pick(&STRINGS[3..8]))),
                    _ => s.insert("TimestampPath".into(), json!(path(g, 2))),
                };
            }
            common_io(g, ctx, &mut s, false);
            s.remove("Parameters");
            s.remove("Arguments");
            s.remove("ResultPath");
            transition(g, names, i, &mut s);
        }
        5 => {
            s.insert("Type".into(), json!("Succeed"));
            if !ctx.jsonata && g.chance(1, 3) {
                s.insert("OutputPath".into(), json!(path(g, 2)));
            } else if ctx.jsonata && g.chance(1, 3) {
                s.insert("Output".into(), json!(jsonata::template(g)));
            }
        }
        6 => {
            s.insert("Type".into(), json!("Fail"));
            if ctx.jsonata {
                if g.bool() {
                    s.insert(
                        "Error".into(),
                        json!(if g.bool() {
                            "E".to_string()
                        } else {
                            jsonata::template(g)
                        }),
                    );
                }
                if g.bool() {
                    s.insert(
                        "Cause".into(),
                        json!(if g.bool() {
                            "C".to_string()
                        } else {
                            jsonata::template(g)
                        }),
                    );
                }
            } else {
                if g.bool() {
                    s.insert("Error".into(), json!("E"));
                } else if g.bool() {
                    s.insert("ErrorPath".into(), json!(path_or_call(g, 2)));
                }
                if g.bool() {
                    s.insert("Cause".into(), json!("C"));
                } else if g.bool() {
                    s.insert("CausePath".into(), json!(path_or_call(g, 2)));
                }
            }
        }
        7 => {
            s.insert("Type".into(), json!("Parallel"));
            let branches: Vec<Json> = (0..1 + g.below(3))
                .map(|b| {
                    let prefix = format!("{}{i}b{b}.", ctx.prefix);
                    Json::Object(machine(
                        g,
                        ctx.machine_jsonata,
                        ctx.machine_jsonata,
                        ctx.depth - 1,
                        &prefix,
                    ))
                })
                .collect();
            s.insert("Branches".into(), Json::Array(branches));
            common_io(g, ctx, &mut s, true);
            retry_catch(g, ctx, names, &mut s);
            transition(g, names, i, &mut s);
        }
        _ => {
            s.insert("Type".into(), json!("Map"));
            let prefix = format!("{}{i}m.", ctx.prefix);
            let mut processor = machine(g, ctx.machine_jsonata, ctx.machine_jsonata, ctx.depth - 1, &prefix);
            let mut config = Map::new();
            if g.bool() {
                let mode = g.pick(&["INLINE", "DISTRIBUTED"]);
                config.insert("Mode".into(), json!(mode));
                if mode == "DISTRIBUTED" && !g.chance(1, 16) {
                    config.insert("ExecutionType".into(), json!(g.pick(&["EXPRESS", "STANDARD"])));
                }
            }
            processor.insert("ProcessorConfig".into(), Json::Object(config));
            let legacy = !ctx.jsonata && g.chance(1, 6);
            if legacy {
                processor.remove("ProcessorConfig");
                s.insert("Iterator".into(), Json::Object(processor));
            } else {
                s.insert("ItemProcessor".into(), Json::Object(processor));
            }
            if ctx.jsonata {
                if !g.chance(1, 3) {
                    s.insert(
                        "Items".into(),
                        json!(if g.bool() {
                            "{% $states.input.items %}".to_string()
                        } else {
                            jsonata::template(g)
                        }),
                    );
                }
                if g.chance(1, 3) {
                    s.insert("ItemSelector".into(), json!({"v": "{% $states.context.Map.Item.Value %}", "i": "{% $states.context.Map.Item.Index %}"}));
                }
                if g.chance(1, 4) {
                    s.insert(
                        "MaxConcurrency".into(),
                        json!(g.pick(&["{% 1 %}", "{% 0 %}", "{% -1 %}"])),
                    );
                }
            } else {
                if !g.chance(1, 3) {
                    s.insert(
                        "ItemsPath".into(),
                        json!(g.pick(&["$.items", "$", "$.a", "$$.Execution.Input.items"]).to_string()),
                    );
                }
                if g.chance(1, 3) {
                    s.insert(
                        (if g.bool() { "ItemSelector" } else { "Parameters" }).into(),
                        json!({"v.$": "$$.Map.Item.Value", "i.$": "$$.Map.Item.Index", "n.$": "$.n"}),
                    );
                }
                if g.chance(1, 4) {
                    s.insert("MaxConcurrency".into(), json!(g.pick(&[0, 1, 2, 40])));
                }
            }
            if g.chance(1, 5) {
                s.insert("ToleratedFailurePercentage".into(), json!(g.pick(&[0, 50, 100])));
            }
            if g.chance(1, 6) {
                s.insert("ToleratedFailureCount".into(), json!(g.pick(&[0, 1, 5])));
            }
            if g.chance(1, 8) {
                s.insert("ItemBatcher".into(), json!({"MaxItemsPerBatch": g.pick(&[1, 2, 1000])}));
            }
            common_io(g, ctx, &mut s, true);
            s.remove("Arguments");
            retry_catch(g, ctx, names, &mut s);
            transition(g, names, i, &mut s);
        }
    }
    if g.chance(1, 150) {
        // a field that does not belong
        let k = g.pick(&[
            "Resource",
            "Next",
            "End",
            "Seconds",
            "Branches",
            "Unknown",
            "Type",
            "Result",
            "Items",
            "Condition",
        ]);
        s.insert(k.into(), value(g, 1));
    }
    s
}
