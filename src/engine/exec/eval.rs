//! Evaluating a state's fields in its frame: the context object, what payloads read,
//! paths, output processing, `Assign` and number fields.

use bumpalo::collections::Vec as BumpVec;
use smallvec::SmallVec;

use crate::error::{names, EvalError};
use crate::model::QueryLanguage;
use crate::payload::{JsonataEnv, NumberSpec, Payload, PayloadInput};
use crate::program::*;
use crate::scope::Scope;
use crate::tasks::TaskToken;
use crate::value::{with_member, Arena, ArenaExt, Member, Value};

use super::{iso_time, Execution, Failure};

impl<'a> Execution<'a> {
    /// The context object for frame `top`'s current state (empty when the program never
    /// reads it).
    #[inline]
    pub(super) fn context(&self, top: usize) -> Value<'a> {
        if !self.program.uses_context {
            return Value::EMPTY_OBJECT;
        }
        self.build_context(top)
    }

    /// Builds the context object (`$$`) for frame `top`'s current state, its members in the
    /// order AWS gives them: `Execution`, `StateMachine`, `State` (then `Task` and `Map`
    /// where they apply, added by [`context_with_token`](Self::context_with_token) and the
    /// Map's `ItemSelector`).
    #[inline(never)]
    fn build_context(&self, top: usize) -> Value<'a> {
        let a = self.arena;
        let frame = &self.frames[top];
        let state = self.program.state(frame.state);
        let id = ("Id", a.string(&self.info.execution_arn_named(self.name)));
        let input = ("Input", self.input);
        let start_time = ("StartTime", a.string(&iso_time(self.start_ms)));
        let name = ("Name", Value::String(self.name));
        let role_arn = ("RoleArn", a.string(&self.info.role_arn));
        let execution = if self.info.express_id.is_some() {
            // An EXPRESS execution run to its end (StartSyncExecution): AWS's order, and no
            // `RedriveCount`.
            a.object(&[id, input, name, role_arn, start_time])
        } else if self.redrive_count == 0 {
            a.object(&[id, input, start_time, name, role_arn, ("RedriveCount", Value::int(0))])
        } else {
            // After a redrive: how many, and when the last was.
            a.object(&[
                id,
                input,
                start_time,
                name,
                role_arn,
                ("RedriveCount", Value::int(self.redrive_count as i64)),
                ("RedriveTime", a.string(&iso_time(self.redrive_ms))),
            ])
        };
        let state_machine = a.object(&[
            ("Id", a.string(&self.info.state_machine_arn())),
            ("Name", a.string(&self.info.state_machine_name)),
        ]);
        let mut state_members: SmallVec<[Member<'a>; 3]> = SmallVec::new();
        state_members.push(("Name", Value::String(state.name)));
        state_members.push(("EnteredTime", a.string(&iso_time(frame.entered_ms))));
        if matches!(state.op, Op::Task(_) | Op::Parallel { .. } | Op::Map(_)) {
            let retry_count: u32 = frame.retries.iter().sum();
            state_members.push(("RetryCount", Value::int(retry_count as i64)));
        }
        a.object(&[
            ("Execution", execution),
            ("StateMachine", state_machine),
            ("State", a.object(&state_members)),
        ])
    }

    /// The context object of an attempt of frame `top`'s Task that issued `token` before
    /// evaluating its effective input: as [`context`](Self::context), with
    /// `"Task": {"Token": "<token>"}` (`$$.Task.Token`).
    pub(super) fn context_with_token(&self, top: usize, token: TaskToken) -> Value<'a> {
        let a = self.arena;
        let task = a.object(&[("Token", a.string(&token.to_string()))]);
        with_member(a, self.context(top), "Task", task)
    }

    /// What a payload of frame `top`'s state reads: `$` is `input` (JSONPath); `$states` is
    /// built from the state's raw input, the context and `extra` (JSONata).
    #[inline]
    pub(super) fn payload_input(
        &self,
        top: usize,
        input: Value<'a>,
        context: Value<'a>,
        extra: Option<Member<'a>>,
    ) -> PayloadInput<'a> {
        let frame = &self.frames[top];
        let states = if self.program.state(frame.state).language == QueryLanguage::Jsonata {
            let (input, context) = (("input", frame.input), ("context", context));
            match extra {
                Some(extra) => self.arena.object(&[input, context, extra]),
                None => self.arena.object(&[input, context]),
            }
        } else {
            Value::Null
        };
        PayloadInput {
            scope: Scope {
                input,
                context,
                variables: frame.variables,
            },
            states,
            limits: self.limits,
        }
    }

    pub(super) fn eval_payload(
        &self,
        top: usize,
        payload: &'a Payload,
        input: &PayloadInput<'a>,
    ) -> Result<Value<'a>, Failure> {
        payload.eval(self.arena, input).map_err(|e| self.eval_failure(top, e))
    }

    /// `ResultPath`: places `result` into the state's raw input (the whole result when absent,
    /// the raw input unchanged when `null`).
    pub(super) fn result_path(
        &self,
        top: usize,
        spec: &'a PathSpec,
        raw_input: Value<'a>,
        result: Value<'a>,
    ) -> Result<Value<'a>, Failure> {
        apply_result_path(self.arena, spec, raw_input, result).map_err(|e| self.eval_failure(top, e))
    }

    /// InputPath or OutputPath `spec` applied to `value` (the default, `$`, costs nothing).
    #[inline(always)]
    pub(super) fn eval_path(
        &self,
        top: usize,
        spec: &'a PathSpec,
        value: Value<'a>,
        context: Value<'a>,
    ) -> Result<Value<'a>, Failure> {
        match spec {
            PathSpec::Whole => Ok(value),
            // `$.a.b` found: no scope, no error to map
            PathSpec::Path(path) => match path.select_members_of_input(value) {
                Some(found) => Ok(found),
                None => self.eval_given_path(top, spec, value, context),
            },
            spec => self.eval_given_path(top, spec, value, context),
        }
    }

    /// [`eval_path`](Self::eval_path) past its default.
    fn eval_given_path(
        &self,
        top: usize,
        spec: &'a PathSpec,
        value: Value<'a>,
        context: Value<'a>,
    ) -> Result<Value<'a>, Failure> {
        let scope = Scope {
            input: value,
            context,
            variables: self.frames[top].variables,
        };
        select_path(self.arena, spec, &scope).map_err(|e| self.eval_failure(top, e))
    }

    /// Runs `Assign`, evaluated against the variables as they were when the state was
    /// entered, and stores the values in the frame's scope.
    #[inline]
    pub(super) fn assign(
        &mut self,
        top: usize,
        assign: Option<&'a Payload>,
        jsonpath_input: Value<'a>,
        context: Value<'a>,
        extra: Option<Member<'a>>,
    ) -> Result<(), Failure> {
        match assign {
            Some(assign) => self.assign_variables(top, assign, jsonpath_input, context, extra),
            None => Ok(()),
        }
    }

    /// [`assign`](Self::assign) when the state has an `Assign` field.
    fn assign_variables(
        &mut self,
        top: usize,
        assign: &'a Payload,
        jsonpath_input: Value<'a>,
        context: Value<'a>,
        extra: Option<Member<'a>>,
    ) -> Result<(), Failure> {
        let assigned = self.eval_payload(top, assign, &self.payload_input(top, jsonpath_input, context, extra))?;
        let Some(members) = assigned.as_object() else {
            return Ok(());
        };
        self.check_variable_limits(top, members)?;
        if self.history.is_some() {
            // for the state's exited event
            self.assigned = Some(members);
        }
        let frame = &mut self.frames[top];
        let old = frame.variables.local;
        let mut merged: BumpVec<Member<'a>> = BumpVec::with_capacity_in(old.len() + members.len(), self.arena);
        merged.extend(
            old.iter()
                .filter(|(k, _)| !members.iter().any(|(n, _)| n == k))
                .copied(),
        );
        merged.extend(members.iter().copied());
        frame.variables.local = merged.into_bump_slice();
        Ok(())
    }

    /// The state's output from its raw input and result: ResultSelector, ResultPath and
    /// OutputPath (JSONPath), or Output (JSONata; the result when absent).
    pub(super) fn output(
        &self,
        top: usize,
        raw_input: Value<'a>,
        result: Value<'a>,
        context: Value<'a>,
    ) -> Result<Value<'a>, Failure> {
        let state = self.program.state(self.frames[top].state);
        match state.language {
            QueryLanguage::JsonPath => {
                let selected = match &state.result_selector {
                    Some(p) => self.eval_payload(top, p, &self.payload_input(top, result, context, None))?,
                    None => result,
                };
                let merged = self.result_path(top, &state.result_path, raw_input, selected)?;
                self.eval_path(top, &state.output_path, merged, context)
            }
            QueryLanguage::Jsonata => match &state.output {
                Some(p) => self.eval_payload(
                    top,
                    p,
                    &self.payload_input(top, raw_input, context, Some(("result", result))),
                ),
                None => Ok(result),
            },
        }
    }

    /// Evaluates a number field; `integer` selects the integer rules (and AWS's wording).
    #[inline]
    pub(super) fn number(
        &self,
        spec: &'a NumberSpec,
        scope: &Scope<'a>,
        env: &JsonataEnv<'a>,
        integer: bool,
    ) -> Result<f64, EvalError> {
        eval_number(self.arena, spec, scope, env, integer)
    }
}

/// Evaluates a number field in `arena`; `integer` selects the integer rules (and AWS's
/// wording).
pub(crate) fn eval_number<'a>(
    arena: &'a Arena,
    spec: &'a NumberSpec,
    scope: &Scope<'a>,
    env: &JsonataEnv<'a>,
    integer: bool,
) -> Result<f64, EvalError> {
    let kind = if integer { "integer" } else { "float" };
    match spec {
        NumberSpec::Literal(n) => Ok(*n),
        NumberSpec::Path(path, field) => {
            let value = path.eval(arena, scope)?;
            // AWS (Jackson) also accepts a string holding the number, such as "1".
            let n = match value {
                Value::String(s) if integer => s.trim().parse::<i64>().ok().map(|i| i as f64),
                Value::String(s) => s.trim().parse::<f64>().ok().filter(|f| f.is_finite()),
                _ => value
                    .as_number()
                    .filter(|n| !integer || n.is_integral())
                    .map(|n| n.as_f64()),
            };
            n.ok_or_else(|| {
                let shown = match value {
                    Value::String(s) => s.to_string(),
                    other => other.to_json_string(),
                };
                EvalError::runtime(format!(
                    "The {field} field refers to value \"{shown}\" which is not a valid {kind}: {}",
                    path.text()
                ))
            })
        }
        NumberSpec::Jsonata(expr, field) => {
            let value = expr.eval(arena, env, field)?;
            value.as_number().filter(|n| !integer || n.is_integral()).map(|n| n.as_f64()).ok_or_else(|| {
                    EvalError::new(
                        names::QUERY_EVALUATION_ERROR,
                        format!(
                            "The JSONata expression '{}' specified for the field '{field}' returned an unexpected result type. Expected '{kind}', but was '{}' for value: {value}",
                            expr.text(),
                            value.type_name()
                        ),
                    )
                })
        }
    }
}

/// `ResultPath` `spec`: places `result` into `raw_input` (the whole result when absent,
/// the raw input unchanged when `null`).
#[inline]
pub(crate) fn apply_result_path<'a>(
    arena: &'a Arena,
    spec: &'a PathSpec,
    raw_input: Value<'a>,
    result: Value<'a>,
) -> Result<Value<'a>, EvalError> {
    match spec {
        PathSpec::Whole => Ok(result),
        PathSpec::Null => Ok(raw_input),
        PathSpec::Path(p) => p.set(arena, raw_input, result),
    }
}

/// InputPath or OutputPath `spec` applied to `scope`'s input.
pub(crate) fn select_path<'a>(arena: &'a Arena, spec: &'a PathSpec, scope: &Scope<'a>) -> Result<Value<'a>, EvalError> {
    match spec {
        PathSpec::Whole => Ok(scope.input),
        PathSpec::Null => Ok(Value::EMPTY_OBJECT),
        PathSpec::Path(path) => path.eval(arena, scope).map_err(EvalError::from),
    }
}
