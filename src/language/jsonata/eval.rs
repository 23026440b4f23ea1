//! The evaluator: walks the compiled tree over runtime values, following jsonata-js's
//! `evaluate` family function by function (paths, steps, tuple streams, predicates, grouping,
//! sorting, function application with tail calls, transforms).

use std::cell::{Cell, RefCell};
use std::time::Instant;

use bumpalo::collections::Vec as BumpVec;
use smallvec::SmallVec;

use super::ast::{BinOp, Group, Kind, Node, Stage};
use super::error::{json_quote, Error};
use super::functions::{self, Builtin};
use super::signature::{Signature, Slot};
use super::value::{
    construct_array, deep_equal, empty_seq, json_text, make_arr, make_arr_flags, singleton_seq, truthy, Arr, Env, Func,
    SeqBuilder, Val,
};
use super::Bindings;
use crate::value::{key_eq, Arena};

/// Result of evaluating to a runtime value.
pub type R<'a> = Result<Val<'a>, Error>;

/// Argument lists (most calls have few arguments).
pub type Args<'a> = SmallVec<[Val<'a>; 4]>;

/// The evaluation context of one `evaluate` call.
pub struct Ctx<'a, 'b> {
    /// Where results are allocated.
    pub arena: &'a Arena,
    /// External variable bindings.
    pub bindings: &'b dyn Bindings<'a>,
    depth: Cell<usize>,
    max_depth: usize,
    deadline: Option<Instant>,
    ticks: Cell<u32>,
    /// Milliseconds since the epoch, read once per evaluation on first use (`$now`,
    /// `$millis`).
    now_millis: Cell<Option<i64>>,
    /// Expressions parsed by `$eval` during this evaluation (kept alive until it ends).
    #[allow(clippy::vec_box)] // boxed: the nodes are borrowed and must not move
    pub evals: RefCell<Vec<Box<Node>>>,
    /// Lowest stack address the evaluation may reach (0: unchecked).
    stack_floor: usize,
    /// Arena bytes in use when the evaluation started.
    memory_base: usize,
    /// Most arena bytes the evaluation may add.
    max_memory: usize,
    /// Deepest nesting a walk over a value may reach.
    pub max_value_depth: usize,
}

/// Bytes in use in an arena: those of its chunks minus the free end of the current one.
#[inline]
fn arena_used(arena: &Arena) -> usize {
    arena.allocated_bytes().saturating_sub(arena.chunk_capacity())
}

/// A byte count as the limit messages show it.
fn show_bytes(n: usize) -> String {
    if n >= 1 << 20 && n % (1 << 20) == 0 {
        format!("{} MiB", n >> 20)
    } else if n >= 1 << 10 && n % (1 << 10) == 0 {
        format!("{} KiB", n >> 10)
    } else {
        format!("{n} bytes")
    }
}

/// The address of a local: an approximation of the current stack pointer.
#[inline(always)]
fn stack_pointer() -> usize {
    let probe = 0u8;
    std::hint::black_box(&probe) as *const u8 as usize
}

/// What a function body evaluates to in tail position.
enum Tail<'a> {
    Value(Val<'a>),
    Call(Val<'a>, &'a [Val<'a>], Option<&'a str>, usize),
}

fn is_plain(node: &Node) -> bool {
    node.predicate.is_empty() && node.group.is_none() && !node.keep_array
}

impl<'a, 'b> Ctx<'a, 'b> {
    /// A context with the given limits (`deadline` from [`Limits::time_limit`](super::Limits)).
    pub fn new(
        arena: &'a Arena,
        bindings: &'b dyn Bindings<'a>,
        limits: &super::Limits,
        deadline: Option<Instant>,
    ) -> Ctx<'a, 'b> {
        Ctx {
            arena,
            bindings,
            depth: Cell::new(0),
            max_depth: limits.max_depth,
            deadline,
            ticks: Cell::new(0),
            now_millis: Cell::new(None),
            evals: RefCell::new(Vec::new()),
            stack_floor: 0,
            memory_base: arena_used(arena),
            max_memory: limits.max_memory_bytes,
            max_value_depth: limits.max_value_depth,
        }
    }

    /// Bytes the evaluation may still allocate.
    #[inline]
    pub fn memory_left(&self) -> usize {
        let used = arena_used(self.arena).saturating_sub(self.memory_base);
        self.max_memory.saturating_sub(used)
    }

    /// Fails (U1001) unless `bytes` more fit in the evaluation's memory budget: asked before
    /// every allocation whose size depends on the data.
    #[inline]
    pub fn charge(&self, bytes: usize) -> Result<(), Error> {
        if bytes > self.memory_left() {
            return Err(self.memory_error());
        }
        Ok(())
    }

    /// [`charge`](Self::charge) for `n` values of type `T`.
    #[inline]
    pub fn charge_items<T>(&self, n: usize) -> Result<(), Error> {
        self.charge(n.saturating_mul(std::mem::size_of::<T>()))
    }

    /// The error of an evaluation past its memory budget.
    #[cold]
    pub fn memory_error(&self) -> Error {
        Error::new("U1001").message(format!(
            "Memory limit exceeded: the evaluation needs more than {}. Check for strings or arrays that grow in a loop.",
            show_bytes(self.max_memory)
        ))
    }

    /// The error of a walk over a value nested past the value depth limit.
    #[cold]
    pub fn value_depth_error(&self) -> Error {
        Error::new("U1001").message(format!(
            "Value nesting limit exceeded: a value nests more than {} levels deep.",
            self.max_value_depth
        ))
    }

    /// Counts one step of a walk over a value at nesting `depth`: fails past the value depth
    /// limit, and checks the deadline and the memory budget every 256 steps.
    #[inline]
    pub fn value_step(&self, depth: usize) -> Result<(), Error> {
        if depth >= self.max_value_depth {
            return Err(self.value_depth_error());
        }
        self.tick()
    }

    /// Counts one step of a loop that does not go through [`eval`](Self::eval): checks the
    /// deadline and the memory budget every 256 steps.
    #[inline]
    pub fn tick(&self) -> Result<(), Error> {
        let t = self.ticks.get().wrapping_add(1);
        self.ticks.set(t);
        if t & 255 == 0 {
            return self.periodic_checks();
        }
        Ok(())
    }

    #[cold]
    #[inline(never)]
    fn periodic_checks(&self) -> Result<(), Error> {
        if let Some(deadline) = self.deadline {
            if Instant::now() > deadline {
                // jsonata-js's timebox reports a timeout with U1001 too
                return Err(Error::new("U1001").message(super::error::template("U1002")));
            }
        }
        if self.memory_left() == 0 {
            return Err(self.memory_error());
        }
        Ok(())
    }

    /// The evaluation's timestamp: milliseconds since the epoch, fixed at first use.
    pub fn now_millis(&self) -> i64 {
        if let Some(ms) = self.now_millis.get() {
            return ms;
        }
        let ms = crate::language::entropy::now_millis();
        self.now_millis.set(Some(ms));
        ms
    }

    /// Allows the evaluation `bytes` of native stack below the current position.
    pub fn set_stack_budget(&mut self, bytes: usize) {
        self.stack_floor = stack_pointer().saturating_sub(bytes);
    }

    /// Counts one evaluation step: the depth limit, the stack guard and (every 256 steps)
    /// the deadline. The common case is a few compares; the checks that fail or are due
    /// run out of line.
    #[inline]
    fn enter(&self) -> Result<(), Error> {
        let d = self.depth.get() + 1;
        self.depth.set(d);
        let t = self.ticks.get().wrapping_add(1);
        self.ticks.set(t);
        if d > self.max_depth || t & 255 == 0 || stack_pointer() < self.stack_floor {
            return self.enter_checks(d, t);
        }
        Ok(())
    }

    #[cold]
    #[inline(never)]
    fn enter_checks(&self, d: usize, t: u32) -> Result<(), Error> {
        if d > self.max_depth || stack_pointer() < self.stack_floor {
            return Err(Error::new("U1001"));
        }
        if t & 255 == 0 {
            return self.periodic_checks();
        }
        Ok(())
    }

    #[inline]
    fn exit(&self) {
        self.depth.set(self.depth.get() - 1);
    }

    /// Evaluates `node` against `input` in `env` (jsonata-js `evaluate`).
    pub fn eval(&self, node: &'a Node, input: Val<'a>, env: &'a Env<'a>) -> R<'a> {
        self.enter()?;
        let r = self.eval_node(node, input, env);
        self.exit();
        r
    }

    fn eval_node(&self, node: &'a Node, input: Val<'a>, env: &'a Env<'a>) -> R<'a> {
        // the common kinds are dispatched here; the rest go through `eval_other`, which keeps
        // this frame (on every recursion) small in debug builds
        let result: R<'a> = match &node.kind {
            Kind::Path { .. } => self.eval_path(node, input, env),
            Kind::Binary(op, l, r) => self.eval_binary(*op, l, r, node.pos, input, env),
            Kind::Call {
                func,
                args,
                partial: false,
            } => self.eval_call(func, args, node.pos, input, env, None),
            _ => self.eval_other(node, input, env),
        };
        match result {
            Ok(v) if node.predicate.is_empty() && node.group.is_none() && !matches!(v, Val::Arr(_)) => Ok(v),
            Ok(v) => self.finish_node(node, v, env),
            Err(e) => Err(e),
        }
    }

    #[inline(never)]
    fn eval_other(&self, node: &'a Node, input: Val<'a>, env: &'a Env<'a>) -> R<'a> {
        match &node.kind {
            Kind::Name(name) => self.lookup(input, name),
            Kind::Str(s) => Ok(Val::Str(s)),
            Kind::Num(n) => Ok(Val::Num(*n)),
            Kind::Bool(b) => Ok(Val::Bool(*b)),
            Kind::Null => Ok(Val::Null),
            Kind::Variable(name) => Ok(self.variable(name, input, env)),
            Kind::Condition(c, t, e) => self.eval_condition(c, t, e.as_deref(), input, env),
            Kind::Block(items) => self.eval_block(items, input, env),
            Kind::Bind(name, value) => self.eval_bind(name, value, input, env),
            Kind::Wildcard => self.wildcard(input),
            Kind::Descendant => self.descendants(input),
            Kind::Parent(slot) => Ok(env.lookup(&slot.label).unwrap_or(Val::Undef)),
            Kind::Regex(r) => Ok(Val::Func(self.arena.alloc(Func::Regex(r)))),
            Kind::Call { func, args, .. } => self.eval_partial(func, args, node.pos, input, env),
            Kind::Placeholder => Ok(Val::Undef),
            Kind::Lambda(def) => Ok(Val::Func(self.arena.alloc(Func::Lambda { def, env, input }))),
            Kind::Apply(l, r) => self.eval_apply(l, r, node.pos, input, env),
            Kind::Transform(..) => Ok(Val::Func(self.arena.alloc(Func::Transform { node, env }))),
            Kind::Negate(e) => self.eval_negate(node, e, input, env),
            Kind::Array(items) => self.eval_array(node, items, input, env),
            Kind::Object(group) => self.eval_group(group, input, env),
            Kind::Path { .. } => self.eval_path(node, input, env),
            Kind::Binary(op, l, r) => self.eval_binary(*op, l, r, node.pos, input, env),
            // a sort outside a path (cannot be produced by the parser)
            Kind::Sort(_) => self.eval_sort(node, input, env),
        }
    }

    #[inline(never)]
    fn array_of(&self, node: &'a Node, items: &'a [Node], input: Val<'a>, env: &'a Env<'a>) -> R<'a> {
        construct_array(
            self.arena,
            items,
            node.cons_array,
            |item| self.eval(item, input, env),
            |n| self.charge_items::<Val>(n),
        )
    }

    /// Applies a node's predicates, grouping and sequence normalization to its raw result.
    #[inline(never)]
    fn finish_node(&self, node: &'a Node, result: Val<'a>, env: &'a Env<'a>) -> R<'a> {
        let mut result = result;
        for p in &node.predicate {
            result = self.filter(p, result, env)?;
        }
        if !matches!(node.kind, Kind::Path { .. }) {
            if let Some(g) = &node.group {
                result = self.eval_group(g, result, env)?;
            }
        }
        if let Val::Arr(a) = result {
            if a.seq && !a.tuples {
                let mut a = a;
                if node.keep_array && !a.keep {
                    a = self.arena.alloc(Arr { keep: true, ..*a });
                    result = Val::Arr(a);
                }
                if a.items.is_empty() {
                    result = Val::Undef;
                } else if a.items.len() == 1 && !a.keep {
                    result = a.items[0];
                }
            }
        }
        Ok(result)
    }

    #[inline(never)]
    fn eval_bind(&self, name: &'a str, value: &'a Node, input: Val<'a>, env: &'a Env<'a>) -> R<'a> {
        let v = self.eval(value, input, env)?;
        env.bind(name, v);
        Ok(v)
    }

    #[inline(never)]
    fn eval_condition(&self, c: &'a Node, t: &'a Node, e: Option<&'a Node>, input: Val<'a>, env: &'a Env<'a>) -> R<'a> {
        let cond = self.eval(c, input, env)?;
        if truthy(cond) == Some(true) {
            self.eval(t, input, env)
        } else if let Some(e) = e {
            self.eval(e, input, env)
        } else {
            Ok(Val::Undef)
        }
    }

    #[inline(never)]
    fn eval_block(&self, items: &'a [Node], input: Val<'a>, env: &'a Env<'a>) -> R<'a> {
        let frame = Env::new(self.arena, Some(env));
        let mut result = Val::Undef;
        for item in items {
            result = self.eval(item, input, frame)?;
        }
        Ok(result)
    }

    #[inline(never)]
    fn eval_negate(&self, node: &'a Node, e: &'a Node, input: Val<'a>, env: &'a Env<'a>) -> R<'a> {
        match self.eval(e, input, env)? {
            Val::Undef => Ok(Val::Undef),
            Val::Num(n) => Ok(Val::Num(-n)),
            v => Err(Error::new("D1002").pos(node.pos).token("-").value(json_text(v))),
        }
    }

    #[inline(never)]
    fn eval_array(&self, node: &'a Node, items: &'a [Node], input: Val<'a>, env: &'a Env<'a>) -> R<'a> {
        // a single flattened array item is reused, not copied (e.g. `[1..n]`)
        if let [only] = items {
            if !matches!(only.kind, Kind::Array(_)) {
                let v = self.eval(only, input, env)?;
                let items: &'a [Val<'a>] = match v {
                    Val::Arr(a) => a.items,
                    Val::Undef => &[],
                    v => {
                        self.charge_items::<Val>(v.len())?;
                        let mut out = SeqBuilder::new(self.arena);
                        out.extend_flat(v);
                        out.items.into_bump_slice()
                    }
                };
                return Ok(make_arr_flags(
                    self.arena,
                    Arr {
                        items,
                        seq: false,
                        keep: false,
                        cons: node.cons_array,
                        outer: false,
                        tuples: false,
                    },
                ));
            }
        }
        self.array_of(node, items, input, env)
    }

    fn variable(&self, name: &str, input: Val<'a>, env: &'a Env<'a>) -> Val<'a> {
        if name.is_empty() {
            if let Val::Arr(a) = input {
                if a.outer {
                    return a.items.first().copied().unwrap_or(Val::Undef);
                }
            }
            return input;
        }
        self.lookup_var(name, env).unwrap_or(Val::Undef)
    }

    /// Looks a variable up: scopes, then external bindings, then built-in functions.
    pub fn lookup_var(&self, name: &str, env: &'a Env<'a>) -> Option<Val<'a>> {
        if let Some(v) = env.lookup(name) {
            return Some(v);
        }
        if let Some(v) = self.bindings.lookup(name) {
            return Some(Val::from_json(v));
        }
        Builtin::by_name(name).map(|b| Val::Func(functions::builtin_value(self.arena, b)))
    }

    // ----- paths -----

    #[inline(never)]
    fn eval_path(&self, node: &'a Node, input: Val<'a>, env: &'a Env<'a>) -> R<'a> {
        let Kind::Path { steps, keep_singleton } = &node.kind else {
            return Ok(Val::Undef);
        };
        let last = steps.len() - 1;
        let mut first_step = 0;
        let input_seq = if input.is_array() && !matches!(steps[0].kind, Kind::Variable(_)) {
            input
        } else {
            // Fast path: while the context is a single non-array value and the steps are
            // plain names (or a leading variable), navigate without building sequences.
            let mut cur = input;
            if !*keep_singleton && node.group.is_none() && !node.tuple && !node.keep_array {
                // (a plain step does bounded work: it is counted with its path)
                while first_step <= last && plain_step(&steps[first_step], first_step) {
                    let step = &steps[first_step];
                    let v = match &step.kind {
                        Kind::Name(name) => self.lookup(cur, name)?,
                        Kind::Variable(name) => self.variable(name, cur, env),
                        _ => Val::Undef,
                    };
                    first_step += 1;
                    match v {
                        Val::Undef => return Ok(Val::Undef),
                        Val::JArr(_, _) | Val::Arr(_) => {
                            // The last step's own array (even an empty one) is the result,
                            // as in jsonata-js; an empty array earlier ends the path.
                            if first_step > last && !v.is_seq() {
                                return Ok(v);
                            }
                            if v.is_empty() {
                                return Ok(Val::Undef);
                            }
                            // the general rules for an array step result
                            self.charge_items::<Val>(v.len())?;
                            let mut out = SeqBuilder::with_capacity(self.arena, v.len());
                            match v {
                                Val::Arr(a) if a.cons => out.push(v),
                                v => out.extend_flat(v),
                            }
                            let seq = out.seq(self.arena);
                            if first_step > last {
                                return Ok(seq);
                            }
                            cur = seq;
                            break;
                        }
                        _ => cur = v,
                    }
                }
                if first_step > last {
                    return Ok(cur);
                }
            }
            if cur.is_seq() {
                cur
            } else {
                singleton_seq(self.arena, cur)
            }
        };
        self.path_steps(node, steps, first_step, input_seq, env)
    }

    /// The steps of a path from `first_step` on, over the sequence `input_seq` (jsonata-js
    /// `evaluatePath`).
    #[inline(never)]
    fn path_steps(
        &self,
        node: &'a Node,
        steps: &'a [Node],
        first_step: usize,
        input_seq: Val<'a>,
        env: &'a Env<'a>,
    ) -> R<'a> {
        let Kind::Path { keep_singleton, .. } = &node.kind else {
            return Ok(Val::Undef);
        };
        let last = steps.len() - 1;
        let mut input_seq = input_seq;
        let mut result = Val::Undef;
        let mut tuples: Option<Val<'a>> = None;
        let mut is_tuple = false;
        for (ii, step) in steps.iter().enumerate().skip(first_step) {
            if step.tuple {
                is_tuple = true;
            }
            if ii == 0 && step.cons_array {
                result = self.eval(step, input_seq, env)?;
            } else if is_tuple {
                tuples = Some(self.tuple_step(step, input_seq, tuples, env)?);
            } else {
                result = self.step(step, input_seq, env, ii == last)?;
            }
            if !is_tuple && (result.is_undef() || (result.is_array() && result.is_empty())) {
                break;
            }
            if step.focus.is_none() {
                input_seq = result;
            }
        }
        if is_tuple {
            let t = tuples.unwrap_or_else(|| empty_seq(self.arena));
            if node.tuple {
                result = t;
            } else {
                let mut out = SeqBuilder::with_capacity(self.arena, t.len());
                for tuple in t.iter() {
                    out.push(tuple.field("@").unwrap_or(Val::Undef));
                }
                result = out.seq(self.arena);
            }
        }
        if *keep_singleton {
            match result {
                Val::Arr(a) if a.cons && !a.seq => {
                    let inner = singleton_seq(self.arena, result);
                    if let Val::Arr(s) = inner {
                        result = Val::Arr(self.arena.alloc(Arr { keep: true, ..*s }));
                    }
                }
                Val::Arr(a) => result = Val::Arr(self.arena.alloc(Arr { keep: true, ..*a })),
                Val::JArr(items, _) => {
                    self.charge_items::<Val>(items.len())?;
                    result = make_arr_flags(
                        self.arena,
                        Arr {
                            items: self
                                .arena
                                .alloc_slice_fill_iter(items.iter().map(|v| Val::from_json(*v))),
                            seq: false,
                            keep: true,
                            cons: false,
                            outer: false,
                            tuples: false,
                        },
                    )
                }
                _ => {}
            }
        }
        if let Some(g) = &node.group {
            let data = if is_tuple { tuples.unwrap_or(result) } else { result };
            result = self.eval_group(g, data, env)?;
        }
        Ok(result)
    }

    #[inline(never)]
    fn step(&self, step: &'a Node, input: Val<'a>, env: &'a Env<'a>, last: bool) -> R<'a> {
        if let Kind::Sort(_) = step.kind {
            let mut result = self.eval_sort(step, input, env)?;
            result = self.stages(&step.stages, result, env)?;
            return Ok(result);
        }
        // results are flattened as they come; the first one is kept aside for the
        // "single array result of the last step" rule
        let mut out = SeqBuilder::with_capacity(self.arena, input.len());
        let mut count = 0usize;
        let mut first = Val::Undef;
        for item in input.iter() {
            let mut res = self.eval(step, item, env)?;
            for stage in &step.stages {
                if let Stage::Filter(f) = stage {
                    res = self.filter(f, res, env)?;
                }
            }
            if res.is_undef() {
                continue;
            }
            if count == 0 {
                first = res;
            }
            count += 1;
            match res {
                Val::Arr(a) if a.cons => out.push(res),
                v if v.is_array() => {
                    self.charge_items::<Val>(out.len() + v.len())?;
                    out.extend_flat(v)
                }
                v => out.push(v),
            }
        }
        if last && count == 1 && first.is_array() && !first.is_seq() {
            return Ok(first);
        }
        Ok(out.seq(self.arena))
    }

    fn stages(&self, stages: &'a [Stage], input: Val<'a>, env: &'a Env<'a>) -> R<'a> {
        let mut result = input;
        for stage in stages {
            match stage {
                Stage::Filter(f) => result = self.filter(f, result, env)?,
                Stage::Index(var) => {
                    let per_tuple = result.iter().next().map_or(0, |t| t.obj_len() + 1);
                    self.charge_items::<(&str, Val)>(result.len().saturating_mul(per_tuple))?;
                    let mut out = SeqBuilder::with_capacity(self.arena, result.len());
                    for (i, tuple) in result.iter().enumerate() {
                        out.push(self.tuple_with(tuple, &[(var.as_str(), Val::Num(i as f64))]));
                    }
                    result = self.tuple_seq(out);
                }
            }
        }
        Ok(result)
    }

    /// A copy of tuple object `tuple` with `extra` bindings set.
    fn tuple_with(&self, tuple: Val<'a>, extra: &[(&'a str, Val<'a>)]) -> Val<'a> {
        let mut members: BumpVec<'a, (&'a str, Val<'a>)> =
            BumpVec::with_capacity_in(tuple.obj_len() + extra.len(), self.arena);
        for i in 0..tuple.obj_len() {
            members.push(tuple.member(i));
        }
        for (k, v) in extra {
            match members.iter_mut().find(|(key, _)| key == k) {
                Some(slot) => slot.1 = *v,
                None => members.push((k, *v)),
            }
        }
        Val::Obj(members.into_bump_slice())
    }

    fn tuple_seq(&self, b: SeqBuilder<'a>) -> Val<'a> {
        make_arr_flags(
            self.arena,
            Arr {
                items: b.items.into_bump_slice(),
                seq: true,
                keep: false,
                cons: false,
                outer: false,
                tuples: true,
            },
        )
    }

    /// A frame binding every member of a tuple.
    fn frame_from_tuple(&self, env: &'a Env<'a>, tuple: Val<'a>) -> &'a Env<'a> {
        let frame = Env::new(self.arena, Some(env));
        for i in 0..tuple.obj_len() {
            let (k, v) = tuple.member(i);
            frame.bind(k, v);
        }
        frame
    }

    #[inline(never)]
    fn tuple_step(&self, step: &'a Node, input: Val<'a>, bindings: Option<Val<'a>>, env: &'a Env<'a>) -> R<'a> {
        if let Kind::Sort(_) = step.kind {
            let mut result = match bindings {
                Some(b) => self.eval_sort(step, b, env)?,
                None => {
                    let sorted = self.eval_sort(step, input, env)?;
                    let mut out = SeqBuilder::new(self.arena);
                    for (i, v) in sorted.iter().enumerate() {
                        let mut m: Vec<(&'a str, Val<'a>)> = vec![("@", v)];
                        if let Some(idx) = &step.index {
                            m.push((idx.as_str(), Val::Num(i as f64)));
                        }
                        out.push(Val::Obj(self.arena.alloc_slice_copy(&m)));
                    }
                    self.tuple_seq(out)
                }
            };
            result = self.stages(&step.stages, result, env)?;
            return Ok(result);
        }
        let bindings = match bindings {
            Some(b) => b,
            None => {
                let mut out = SeqBuilder::with_capacity(self.arena, input.len());
                for item in input.iter() {
                    out.push(Val::Obj(self.arena.alloc_slice_copy(&[("@", item)])));
                }
                self.tuple_seq(out)
            }
        };
        let mut result = SeqBuilder::new(self.arena);
        for tuple in bindings.iter() {
            let step_env = self.frame_from_tuple(env, tuple);
            let context = tuple.field("@").unwrap_or(Val::Undef);
            let res = self.eval(step, context, step_env)?;
            if res.is_undef() {
                continue;
            }
            let res_tuples = matches!(res, Val::Arr(a) if a.tuples);
            if res.is_array() {
                self.charge_items::<(&str, Val)>(res.len().saturating_mul(tuple.obj_len() + 4))?;
            }
            let items: SmallVec<[Val<'a>; 8]> = if res.is_array() {
                res.iter().collect()
            } else {
                smallvec::smallvec![res]
            };
            for (bb, r) in items.into_iter().enumerate() {
                let t = if res_tuples {
                    let mut extra: Vec<(&'a str, Val<'a>)> = Vec::new();
                    for i in 0..r.obj_len() {
                        extra.push(r.member(i));
                    }
                    self.tuple_with(tuple, &extra)
                } else {
                    let mut extra: SmallVec<[(&'a str, Val<'a>); 4]> = SmallVec::new();
                    if let Some(f) = &step.focus {
                        extra.push((f.as_str(), r));
                        extra.push(("@", context));
                    } else {
                        extra.push(("@", r));
                    }
                    if let Some(i) = &step.index {
                        extra.push((i.as_str(), Val::Num(bb as f64)));
                    }
                    if let Some(a) = &step.ancestor {
                        extra.push((a.label.as_str(), context));
                    }
                    self.tuple_with(tuple, &extra)
                };
                result.push(t);
            }
        }
        let mut out = self.tuple_seq(result);
        out = self.stages(&step.stages, out, env)?;
        Ok(out)
    }

    /// jsonata-js `evaluateFilter`: applies predicate `pred` to `input`.
    #[inline(never)]
    fn filter(&self, pred: &'a Node, input: Val<'a>, env: &'a Env<'a>) -> R<'a> {
        let tuples = matches!(input, Val::Arr(a) if a.tuples);
        let input = if input.is_array() {
            input
        } else {
            singleton_seq(self.arena, input)
        };
        let mut results = SeqBuilder::new(self.arena);
        let len = input.len();
        if let (Kind::Num(n), true) = (&pred.kind, is_plain(pred)) {
            let mut index = n.floor();
            if index < 0.0 {
                index += len as f64;
            }
            if index >= 0.0 && (index as usize) < len {
                let item = input.item(index as usize);
                if item.is_array() {
                    return Ok(item);
                }
                if !item.is_undef() {
                    results.push(item);
                }
            }
        } else {
            for (index, item) in input.iter().enumerate() {
                let (context, e) = if tuples {
                    (item.field("@").unwrap_or(Val::Undef), self.frame_from_tuple(env, item))
                } else {
                    (item, env)
                };
                let res = self.eval(pred, context, e)?;
                let numbers = match res {
                    Val::Num(_) => true,
                    v if v.is_array() => v.iter().all(|x| matches!(x, Val::Num(_))),
                    _ => false,
                };
                if numbers {
                    for n in res.iter() {
                        let mut ii = n.as_num().unwrap_or(f64::NAN).floor();
                        if ii < 0.0 {
                            ii += len as f64;
                        }
                        if ii == index as f64 {
                            results.push(item);
                        }
                    }
                } else if truthy(res) == Some(true) {
                    results.push(item);
                }
            }
        }
        Ok(if tuples {
            self.tuple_seq(results)
        } else {
            results.seq(self.arena)
        })
    }

    fn wildcard(&self, input: Val<'a>) -> R<'a> {
        let mut input = input;
        if let Val::Arr(a) = input {
            if a.outer && !a.items.is_empty() {
                input = a.items[0];
            }
        }
        let mut out = SeqBuilder::new(self.arena);
        let mut plain = false;
        let mut add = |v: Val<'a>, out: &mut SeqBuilder<'a>| {
            if v.is_array() {
                plain = true;
                self.flatten_into(v, out, 0)
            } else {
                out.push(v);
                Ok(())
            }
        };
        if input.is_object() {
            self.charge_items::<Val>(input.obj_len())?;
            for i in 0..input.obj_len() {
                add(input.member(i).1, &mut out)?;
            }
        } else if input.is_array() {
            self.charge_items::<Val>(input.len())?;
            for v in input.iter() {
                add(v, &mut out)?;
            }
        }
        Ok(if plain {
            out.array(self.arena)
        } else {
            out.seq(self.arena)
        })
    }

    /// Appends the items of array `v` to `out`, flattening nested arrays (jsonata-js
    /// `flatten`).
    fn flatten_into(&self, v: Val<'a>, out: &mut SeqBuilder<'a>, depth: usize) -> Result<(), Error> {
        self.value_step(depth)?;
        self.charge_items::<Val>(out.len() + v.len())?;
        for x in v.iter() {
            if x.is_array() {
                self.flatten_into(x, out, depth + 1)?;
            } else {
                out.push(x);
            }
        }
        Ok(())
    }

    fn descendants(&self, input: Val<'a>) -> R<'a> {
        if input.is_undef() {
            return Ok(Val::Undef);
        }
        let mut out = SeqBuilder::new(self.arena);
        self.recurse_descendants(input, &mut out, 0)?;
        Ok(if out.len() == 1 {
            out.items[0]
        } else {
            out.seq(self.arena)
        })
    }

    /// `v` and everything inside it, in document order (arrays only through their items).
    fn recurse_descendants(&self, v: Val<'a>, out: &mut SeqBuilder<'a>, depth: usize) -> Result<(), Error> {
        if v.is_array() {
            self.value_step(depth)?;
            for x in v.iter() {
                self.recurse_descendants(x, out, depth + 1)?;
            }
            return Ok(());
        }
        self.charge_items::<Val>(out.len() + 1)?;
        out.push(v);
        if v.is_object() {
            self.value_step(depth)?;
            for i in 0..v.obj_len() {
                self.recurse_descendants(v.member(i).1, out, depth + 1)?;
            }
        }
        Ok(())
    }

    /// jsonata-js `lookup`: field `key` of an object, or of every object in an array
    /// (through nested arrays, flattened).
    #[inline]
    pub fn lookup(&self, input: Val<'a>, key: &str) -> R<'a> {
        match input {
            Val::JObj(m, _) => Ok(match m.iter().find(|(k, _)| key_eq(k, key)) {
                Some((_, v)) => Val::from_json(*v),
                None => Val::Undef,
            }),
            Val::Obj(m) => Ok(match m.iter().find(|(k, _)| key_eq(k, key)) {
                Some((_, v)) => *v,
                None => Val::Undef,
            }),
            Val::JArr(_, _) | Val::Arr(_) => self.lookup_items(input, key),
            _ => Ok(Val::Undef),
        }
    }

    #[inline(never)]
    fn lookup_items(&self, input: Val<'a>, key: &str) -> R<'a> {
        let mut out = SeqBuilder::new(self.arena);
        // the arrays being walked, with the next index in each (iterative: arrays may nest
        // deep)
        let mut stack: SmallVec<[(Val<'a>, usize); 4]> = smallvec::smallvec![(input, 0)];
        while let Some((array, i)) = stack.pop() {
            if i >= array.len() {
                continue;
            }
            stack.push((array, i + 1));
            let item = array.item(i);
            if item.is_array() {
                self.tick()?;
                stack.push((item, 0));
                continue;
            }
            let res = self.lookup(item, key)?;
            if res.is_array() {
                self.charge_items::<Val>(out.len() + res.len())?;
                out.extend_flat(res);
            } else if !res.is_undef() {
                out.push(res);
            }
        }
        Ok(out.seq(self.arena))
    }

    // ----- operators -----

    #[inline(never)]
    fn eval_binary(&self, op: BinOp, l: &'a Node, r: &'a Node, pos: usize, input: Val<'a>, env: &'a Env<'a>) -> R<'a> {
        let lhs = self.eval(l, input, env)?;
        match op {
            BinOp::And => {
                let lb = truthy(lhs).unwrap_or(false);
                if !lb {
                    return Ok(Val::Bool(false));
                }
                let rhs = self.eval(r, input, env)?;
                return Ok(Val::Bool(truthy(rhs).unwrap_or(false)));
            }
            BinOp::Or => {
                if truthy(lhs).unwrap_or(false) {
                    return Ok(Val::Bool(true));
                }
                let rhs = self.eval(r, input, env)?;
                return Ok(Val::Bool(truthy(rhs).unwrap_or(false)));
            }
            BinOp::Coalesce => {
                return if lhs.is_undef() {
                    self.eval(r, input, env)
                } else {
                    Ok(lhs)
                };
            }
            BinOp::Default => {
                return if truthy(lhs) == Some(true) {
                    Ok(lhs)
                } else {
                    self.eval(r, input, env)
                };
            }
            _ => {}
        }
        let rhs = self.eval(r, input, env)?;
        self.binary_values(op, lhs, rhs)
            .map_err(|e| e.pos(pos).token(op.symbol()))
    }

    fn binary_values(&self, op: BinOp, lhs: Val<'a>, rhs: Val<'a>) -> R<'a> {
        Ok(match op {
            BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div | BinOp::Mod => {
                let l = numeric_operand(lhs, "T2001")?;
                let r = numeric_operand(rhs, "T2002")?;
                let (Some(l), Some(r)) = (l, r) else {
                    return Ok(Val::Undef);
                };
                Val::Num(match op {
                    BinOp::Add => l + r,
                    BinOp::Sub => l - r,
                    BinOp::Mul => l * r,
                    BinOp::Div => l / r,
                    _ => l % r,
                })
            }
            BinOp::Eq | BinOp::Ne => {
                if lhs.is_undef() || rhs.is_undef() {
                    return Ok(Val::Bool(false));
                }
                let eq = deep_equal(self, lhs, rhs)?;
                Val::Bool(if op == BinOp::Eq { eq } else { !eq })
            }
            BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge => {
                let comparable = |v: &Val| matches!(v, Val::Undef | Val::Str(_) | Val::Num(_));
                if !comparable(&lhs) || !comparable(&rhs) {
                    let bad = if matches!(lhs, Val::Str(_) | Val::Num(_)) {
                        rhs
                    } else {
                        lhs
                    };
                    return Err(Error::new("T2010").value(json_text(bad)));
                }
                if lhs.is_undef() || rhs.is_undef() {
                    return Ok(Val::Undef);
                }
                let ord = match (lhs, rhs) {
                    (Val::Num(a), Val::Num(b)) => a.partial_cmp(&b),
                    (Val::Str(a), Val::Str(b)) => Some(js_str_cmp(a, b)),
                    _ => return Err(Error::new("T2009").value(json_text(lhs)).value2(json_text(rhs))),
                };
                use std::cmp::Ordering::*;
                Val::Bool(match (op, ord) {
                    (_, None) => false,
                    (BinOp::Lt, Some(o)) => o == Less,
                    (BinOp::Le, Some(o)) => o != Greater,
                    (BinOp::Gt, Some(o)) => o == Greater,
                    (_, Some(o)) => o != Less,
                })
            }
            BinOp::Concat => {
                let text = |v: Val<'a>| match v {
                    Val::Undef => Ok(std::borrow::Cow::Borrowed("")),
                    v => functions::to_string(self, v),
                };
                let (l, r) = (text(lhs)?, text(rhs)?);
                if r.is_empty() {
                    if let std::borrow::Cow::Borrowed(l) = l {
                        return Ok(Val::Str(l));
                    }
                }
                self.charge(l.len() + r.len())?;
                let mut s = bumpalo::collections::String::with_capacity_in(l.len() + r.len(), self.arena);
                s.push_str(&l);
                s.push_str(&r);
                Val::Str(s.into_bump_str())
            }
            BinOp::Range => self.range(lhs, rhs)?,
            BinOp::In => {
                if lhs.is_undef() || rhs.is_undef() {
                    return Ok(Val::Bool(false));
                }
                Val::Bool(rhs.iter().any(|v| strict_equal(v, lhs)))
            }
            _ => Val::Undef,
        })
    }

    fn range(&self, lhs: Val<'a>, rhs: Val<'a>) -> R<'a> {
        let is_int = |v: &Val| matches!(v, Val::Num(n) if n.fract() == 0.0 && n.is_finite());
        if !lhs.is_undef() && !is_int(&lhs) {
            return Err(Error::new("T2003").value(json_text(lhs)));
        }
        if !rhs.is_undef() && !is_int(&rhs) {
            return Err(Error::new("T2004").value(json_text(rhs)));
        }
        let (Val::Num(a), Val::Num(b)) = (lhs, rhs) else {
            return Ok(Val::Undef);
        };
        if a > b {
            return Ok(Val::Undef);
        }
        let size = b - a + 1.0;
        if size > 1e7 {
            return Err(Error::new("D2014").value(super::value::js_number_string(size)));
        }
        self.charge_items::<Val>(size as usize)?;
        let items = self
            .arena
            .alloc_slice_fill_with(size as usize, |i| Val::Num(a + i as f64));
        Ok(make_arr(self.arena, items, true))
    }

    // ----- objects, grouping, sorting -----

    /// jsonata-js `evaluateGroupExpression`: object constructor / grouping.
    #[inline(never)]
    fn eval_group(&self, group: &'a Group, input: Val<'a>, env: &'a Env<'a>) -> R<'a> {
        if group.literal_keys && !input.is_array() {
            // one context item and distinct literal keys: every pair is its own group
            let mut members: BumpVec<'a, (&'a str, Val<'a>)> = BumpVec::with_capacity_in(group.pairs.len(), self.arena);
            for (k, v) in &group.pairs {
                if let Kind::Str(key) = &k.kind {
                    let value = self.eval(v, input, env)?;
                    if !value.is_undef() {
                        members.push((key.as_str(), value));
                    }
                }
            }
            return Ok(Val::Obj(members.into_bump_slice()));
        }
        let tuples = matches!(input, Val::Arr(a) if a.tuples);
        let items: SmallVec<[Val<'a>; 8]> = if input.is_array() {
            input.iter().collect()
        } else {
            smallvec::smallvec![input]
        };
        let items = if items.is_empty() {
            smallvec::smallvec![Val::Undef]
        } else {
            items
        };
        // (key, items, pair index): a group's data is its one item, or all its items
        // concatenated (jsonata-js `fn.append`), built once at the end
        let mut groups: Vec<(&'a str, SmallVec<[Val<'a>; 1]>, usize)> = Vec::new();
        // linear search while small; a hash index once there are many groups
        let mut index: Option<std::collections::HashMap<&'a str, usize>> = None;
        for item in items.iter().copied() {
            let (context, e) = if tuples {
                (item.field("@").unwrap_or(Val::Undef), self.frame_from_tuple(env, item))
            } else {
                (item, env)
            };
            for (pi, (kn, _)) in group.pairs.iter().enumerate() {
                let key = self.eval(kn, context, e)?;
                let key = match key {
                    Val::Undef => continue,
                    Val::Str(s) => s,
                    other => return Err(Error::new("T1003").pos(group.pos).value(json_text(other))),
                };
                let found = match &index {
                    Some(map) => map.get(key).copied(),
                    None => groups.iter().position(|g| g.0 == key),
                };
                match found {
                    Some(gi) => {
                        if groups[gi].2 != pi {
                            return Err(Error::new("D1009").pos(group.pos).value(json_quote(key)));
                        }
                        groups[gi].1.push(item);
                    }
                    None => {
                        if let Some(map) = index.as_mut() {
                            map.insert(key, groups.len());
                        }
                        groups.push((key, smallvec::smallvec![item], pi));
                        if index.is_none() && groups.len() > 16 {
                            index = Some(groups.iter().enumerate().map(|(i, g)| (g.0, i)).collect());
                        }
                    }
                }
            }
        }
        let mut members: BumpVec<'a, (&'a str, Val<'a>)> = BumpVec::with_capacity_in(groups.len(), self.arena);
        for (key, data, pi) in groups {
            let data = self.concat(&data)?;
            let (context, e) = if tuples {
                let tuple = self.reduce_tuples(data)?;
                let context = tuple.field("@").unwrap_or(Val::Undef);
                let frame = Env::new(self.arena, Some(env));
                for i in 0..tuple.obj_len() {
                    let (k, v) = tuple.member(i);
                    if k != "@" {
                        frame.bind(k, v);
                    }
                }
                (context, frame)
            } else {
                (data, env)
            };
            let value = self.eval(&group.pairs[pi].1, context, e)?;
            if !value.is_undef() {
                members.push((key, value));
            }
        }
        Ok(Val::Obj(members.into_bump_slice()))
    }

    /// The values in `items` appended one after the other (jsonata-js `fn.append` folded
    /// over them): one value stays as it is; several make an array of their items (arrays
    /// flattened one level). Undefined values are skipped.
    fn concat(&self, items: &[Val<'a>]) -> R<'a> {
        let mut defined = items.iter().copied().filter(|v| !v.is_undef());
        let (Some(first), second) = (defined.next(), defined.next()) else {
            return Ok(items.iter().copied().find(|v| !v.is_undef()).unwrap_or(Val::Undef));
        };
        if second.is_none() {
            return Ok(first);
        }
        let total: usize = items.iter().map(|v| v.len().max(1)).sum();
        self.charge_items::<Val>(total)?;
        let mut out = SeqBuilder::with_capacity(self.arena, total);
        for v in items {
            out.extend_flat(*v);
        }
        Ok(out.array(self.arena))
    }

    /// Merges a group's tuples into one: each binding holds its values concatenated.
    fn reduce_tuples(&self, data: Val<'a>) -> R<'a> {
        if !data.is_array() {
            return Ok(data);
        }
        let mut members: Vec<(&'a str, SmallVec<[Val<'a>; 1]>)> = Vec::new();
        for tuple in data.iter() {
            for j in 0..tuple.obj_len() {
                let (k, v) = tuple.member(j);
                match members.iter_mut().find(|(key, _)| *key == k) {
                    Some(slot) => slot.1.push(v),
                    None => members.push((k, smallvec::smallvec![v])),
                }
            }
        }
        let mut out: BumpVec<'a, (&'a str, Val<'a>)> = BumpVec::with_capacity_in(members.len(), self.arena);
        for (k, values) in members {
            out.push((k, self.concat(&values)?));
        }
        Ok(Val::Obj(out.into_bump_slice()))
    }

    #[inline(never)]
    fn eval_sort(&self, step: &'a Node, input: Val<'a>, env: &'a Env<'a>) -> R<'a> {
        let Kind::Sort(terms) = &step.kind else {
            return Ok(input);
        };
        if input.is_undef() {
            return Ok(Val::Undef);
        }
        if input.len() <= 1 {
            return Ok(input);
        }
        let tuples = matches!(input, Val::Arr(a) if a.tuples);
        self.charge_items::<Val>(input.len().saturating_mul(terms.len() + 2))?;
        let items: Vec<Val<'a>> = input.iter().collect();
        let mut keys: Vec<Vec<Val<'a>>> = Vec::with_capacity(items.len());
        for item in &items {
            let (context, e) = if tuples {
                (item.field("@").unwrap_or(Val::Undef), self.frame_from_tuple(env, *item))
            } else {
                (*item, env)
            };
            let mut k = Vec::with_capacity(terms.len());
            for t in terms {
                k.push(self.eval(&t.expr, context, e)?);
            }
            keys.push(k);
        }
        let mut order: Vec<usize> = (0..items.len()).collect();
        let mut error = None;
        let cmp = |a: usize, b: usize, error: &mut Option<Error>| -> bool {
            // returns true when a must come after b
            for (ti, t) in terms.iter().enumerate() {
                let (aa, bb) = (keys[a][ti], keys[b][ti]);
                let comp = match (aa, bb) {
                    (Val::Undef, Val::Undef) => 0,
                    (Val::Undef, _) => 1,
                    (_, Val::Undef) => -1,
                    _ => {
                        let ok = |v: &Val| matches!(v, Val::Str(_) | Val::Num(_));
                        if !ok(&aa) || !ok(&bb) {
                            *error =
                                Some(
                                    Error::new("T2008")
                                        .pos(step.pos)
                                        .value(json_text(if ok(&aa) { bb } else { aa })),
                                );
                            return false;
                        }
                        let c = match (aa, bb) {
                            (Val::Num(x), Val::Num(y)) => {
                                if x == y {
                                    0
                                } else if x < y {
                                    -1
                                } else {
                                    1
                                }
                            }
                            (Val::Str(x), Val::Str(y)) => js_str_cmp(x, y) as i32,
                            _ => {
                                *error = Some(
                                    Error::new("T2007")
                                        .pos(step.pos)
                                        .value(json_text(aa))
                                        .value2(json_text(bb)),
                                );
                                return false;
                            }
                        };
                        if t.descending {
                            -c
                        } else {
                            c
                        }
                    }
                };
                if comp != 0 {
                    return comp == 1;
                }
            }
            false
        };
        merge_sort(&mut order, &mut |a, b| {
            if error.is_some() {
                return Ok(false);
            }
            Ok(cmp(a, b, &mut error))
        })?;
        if let Some(e) = error {
            return Err(e);
        }
        let out = self.arena.alloc_slice_fill_iter(order.iter().map(|&i| items[i]));
        Ok(make_arr_flags(
            self.arena,
            Arr {
                items: out,
                seq: false,
                keep: false,
                cons: false,
                outer: false,
                tuples,
            },
        ))
    }

    // ----- functions -----

    #[inline(never)]
    fn eval_call(
        &self,
        func: &'a Node,
        args: &'a [Node],
        pos: usize,
        input: Val<'a>,
        env: &'a Env<'a>,
        applyto: Option<Val<'a>>,
    ) -> R<'a> {
        let proc = self.eval(func, input, env)?;
        let name = proc_name(func);
        if proc.is_undef() {
            if let Kind::Path { steps, .. } = &func.kind {
                if let Kind::Name(n) = &steps[0].kind {
                    if self.lookup_var(n, env).is_some() {
                        return Err(Error::new("T1005").pos(pos).token(n.as_str()));
                    }
                }
            }
        }
        let mut evaluated: Args<'a> = SmallVec::new();
        if let Some(a) = applyto {
            evaluated.push(a);
        }
        for a in args {
            evaluated.push(self.eval(a, input, env)?);
        }
        self.apply(proc, evaluated, input, env)
            .map_err(|e| annotate(e, pos, name))
    }

    #[inline(never)]
    fn eval_partial(&self, func: &'a Node, args: &'a [Node], pos: usize, input: Val<'a>, env: &'a Env<'a>) -> R<'a> {
        let mut evaluated: BumpVec<'a, Option<Val<'a>>> = BumpVec::with_capacity_in(args.len(), self.arena);
        for a in args {
            if matches!(a.kind, Kind::Placeholder) {
                evaluated.push(None);
            } else {
                evaluated.push(Some(self.eval(a, input, env)?));
            }
        }
        let proc = self.eval(func, input, env)?;
        if !proc.is_function() {
            if proc.is_undef() {
                if let Kind::Path { steps, .. } = &func.kind {
                    if let Kind::Name(n) = &steps[0].kind {
                        if self.lookup_var(n, env).is_some() {
                            return Err(Error::new("T1007").pos(pos).token(n.as_str()));
                        }
                    }
                }
            }
            let mut e = Error::new("T1008").pos(pos);
            if let Some(n) = proc_name(func) {
                e = e.token(n);
            }
            return Err(e);
        }
        Ok(Val::Func(self.arena.alloc(Func::Partial {
            func: proc,
            args: evaluated.into_bump_slice(),
        })))
    }

    #[inline(never)]
    fn eval_apply(&self, l: &'a Node, r: &'a Node, pos: usize, input: Val<'a>, env: &'a Env<'a>) -> R<'a> {
        let lhs = self.eval(l, input, env)?;
        if let Kind::Call {
            func,
            args,
            partial: false,
        } = &r.kind
        {
            return self.eval_call(func, args, r.pos, input, env, Some(lhs));
        }
        let func = self.eval(r, input, env)?;
        if !func.is_function() {
            return Err(Error::new("T2006").pos(pos).value(json_text(func)));
        }
        if lhs.is_function() {
            return Ok(Val::Func(self.arena.alloc(Func::Chain {
                first: lhs,
                second: func,
            })));
        }
        self.apply(func, smallvec::smallvec![lhs], Val::Undef, env)
    }

    /// Applies a function value to arguments (jsonata-js `apply`, with the tail-call
    /// trampoline).
    #[inline(never)]
    pub fn apply(&self, proc: Val<'a>, args: Args<'a>, input: Val<'a>, env: &'a Env<'a>) -> R<'a> {
        let mut proc = proc;
        let mut args = args;
        loop {
            let Val::Func(f) = proc else {
                return Err(Error::new("T1006"));
            };
            match f {
                Func::Lambda {
                    def,
                    env: cenv,
                    input: cinput,
                } => match self.enter_lambda(def, cenv, *cinput, &args, input)? {
                    Tail::Value(v) => return Ok(v),
                    Tail::Call(p, a, name, pos) => {
                        if !p.is_function() {
                            let mut e = Error::new("T1006").pos(pos);
                            if let Some(n) = name {
                                e = e.token(n);
                            }
                            return Err(e);
                        }
                        proc = p;
                        args = a.iter().copied().collect();
                    }
                },
                Func::Builtin(b) => return functions::call(self, *b, &args, input, env),
                Func::Partial { func, args: fixed } => {
                    let mut supplied = args.into_iter();
                    let mut merged: Args<'a> = SmallVec::new();
                    for a in fixed.iter() {
                        merged.push(match a {
                            Some(v) => *v,
                            None => supplied.next().unwrap_or(Val::Undef),
                        });
                    }
                    proc = *func;
                    args = merged;
                }
                Func::Regex(r) => {
                    let s = args.first().copied().unwrap_or(Val::Undef);
                    return functions::regex_match_object(self, r, s, 0);
                }
                Func::Transform { node, env: tenv } => {
                    let obj = args.first().copied().unwrap_or(Val::Undef);
                    return self.transform(node, obj, tenv);
                }
                Func::Chain { first, second } => {
                    let r = self.apply(*first, args, input, env)?;
                    proc = *second;
                    args = smallvec::smallvec![r];
                }
            }
        }
    }

    /// Binds a lambda's parameters and evaluates its body in tail position.
    #[inline(never)]
    fn enter_lambda(
        &self,
        def: &'a super::ast::Lambda,
        cenv: &'a Env<'a>,
        cinput: Val<'a>,
        args: &[Val<'a>],
        input: Val<'a>,
    ) -> Result<Tail<'a>, Error> {
        let frame = Env::new(self.arena, Some(cenv));
        match &def.signature {
            Some(sig) => {
                let validated = self.validate(sig, args, input)?;
                for (i, p) in def.params.iter().enumerate() {
                    frame.bind(p, validated.get(i).copied().unwrap_or(Val::Undef));
                }
            }
            None => {
                for (i, p) in def.params.iter().enumerate() {
                    frame.bind(p, args.get(i).copied().unwrap_or(Val::Undef));
                }
            }
        }
        self.eval_tail(&def.body, cinput, frame)
    }

    #[inline(never)]
    fn eval_tail(&self, node: &'a Node, input: Val<'a>, env: &'a Env<'a>) -> Result<Tail<'a>, Error> {
        if !is_plain(node) {
            return Ok(Tail::Value(self.eval(node, input, env)?));
        }
        match &node.kind {
            Kind::Condition(c, t, e) => {
                self.enter()?;
                let r = self.tail_condition(c, t, e.as_deref(), input, env);
                self.exit();
                r.map(|t| self.normalize_tail(t))
            }
            Kind::Block(items) if !items.is_empty() => {
                self.enter()?;
                let r = self.tail_block(items, input, env);
                self.exit();
                r.map(|t| self.normalize_tail(t))
            }
            Kind::Call {
                func,
                args,
                partial: false,
            } => self.tail_call(node, func, args, input, env),
            _ => Ok(Tail::Value(self.eval(node, input, env)?)),
        }
    }

    fn normalize_tail(&self, t: Tail<'a>) -> Tail<'a> {
        match t {
            Tail::Value(v) => Tail::Value(normalize(self.arena, v, false)),
            call => call,
        }
    }

    #[inline(never)]
    fn tail_condition(
        &self,
        c: &'a Node,
        t: &'a Node,
        e: Option<&'a Node>,
        input: Val<'a>,
        env: &'a Env<'a>,
    ) -> Result<Tail<'a>, Error> {
        let cond = self.eval(c, input, env)?;
        if truthy(cond) == Some(true) {
            self.eval_tail(t, input, env)
        } else if let Some(e) = e {
            self.eval_tail(e, input, env)
        } else {
            Ok(Tail::Value(Val::Undef))
        }
    }

    #[inline(never)]
    fn tail_block(&self, items: &'a [Node], input: Val<'a>, env: &'a Env<'a>) -> Result<Tail<'a>, Error> {
        let frame = Env::new(self.arena, Some(env));
        for item in &items[..items.len() - 1] {
            self.eval(item, input, frame)?;
        }
        self.eval_tail(&items[items.len() - 1], input, frame)
    }

    #[inline(never)]
    fn tail_call(
        &self,
        node: &'a Node,
        func: &'a Node,
        args: &'a [Node],
        input: Val<'a>,
        env: &'a Env<'a>,
    ) -> Result<Tail<'a>, Error> {
        let proc = self.eval(func, input, env)?;
        let mut evaluated = BumpVec::with_capacity_in(args.len(), self.arena);
        for a in args {
            evaluated.push(self.eval(a, input, env)?);
        }
        Ok(Tail::Call(proc, evaluated.into_bump_slice(), proc_name(func), node.pos))
    }

    /// Validates (and completes) arguments against a signature.
    pub fn validate(&self, sig: &Signature, args: &[Val<'a>], context: Val<'a>) -> Result<Args<'a>, Error> {
        let kinds: SmallVec<[_; 4]> = args.iter().map(|a| a.arg_kind()).collect();
        let slots = sig
            .validate(&kinds, context.arg_kind(), &|i| {
                args[i].iter().map(|v| v.arg_kind()).collect()
            })
            .map_err(|e| {
                let idx = e.index.unwrap_or(1).saturating_sub(1);
                match args.get(idx) {
                    Some(v) if e.value.is_none() => e.value(json_text(*v)),
                    _ => e,
                }
            })?;
        Ok(slots
            .into_iter()
            .map(|s| match s {
                Slot::Arg(i) => args.get(i).copied().unwrap_or(Val::Undef),
                Slot::ArgAsArray(i) => {
                    let v = args.get(i).copied().unwrap_or(Val::Undef);
                    make_arr(self.arena, self.arena.alloc_slice_copy(&[v]), false)
                }
                Slot::Context => context,
                Slot::Missing => Val::Undef,
            })
            .collect())
    }

    // ----- transform -----

    fn transform(&self, node: &'a Node, obj: Val<'a>, env: &'a Env<'a>) -> R<'a> {
        let Kind::Transform(pattern, update, delete) = &node.kind else {
            return Ok(Val::Undef);
        };
        if obj.is_undef() {
            return Ok(Val::Undef);
        }
        if let Some(c) = env.lookup("clone") {
            if !c.is_function() {
                return Err(Error::new("T2013").pos(node.pos));
            }
        }
        let matches = self.eval(pattern, obj, env)?;
        let mut ids: std::collections::HashSet<usize> = std::collections::HashSet::new();
        for m in matches.iter() {
            if let Some(id) = m.identity() {
                ids.insert(id);
            }
        }
        if ids.is_empty() {
            return Ok(obj);
        }
        let (v, _) = self.rebuild(obj, &ids, update, delete.as_deref(), env, 0)?;
        Ok(v)
    }

    fn rebuild(
        &self,
        v: Val<'a>,
        ids: &std::collections::HashSet<usize>,
        update: &'a Node,
        delete: Option<&'a Node>,
        env: &'a Env<'a>,
        depth: usize,
    ) -> Result<(Val<'a>, bool), Error> {
        if v.is_array() || v.is_object() {
            self.value_step(depth)?;
            self.charge_items::<(&str, Val)>(v.len().max(v.obj_len()))?;
        }
        if v.is_array() {
            let mut changed = false;
            let mut out = SeqBuilder::with_capacity(self.arena, v.len());
            for item in v.iter() {
                let (n, c) = self.rebuild(item, ids, update, delete, env, depth + 1)?;
                changed |= c;
                out.push(n);
            }
            if !changed {
                return Ok((v, false));
            }
            let flags = v.as_arr();
            return Ok((
                make_arr_flags(
                    self.arena,
                    Arr {
                        items: out.items.into_bump_slice(),
                        seq: flags.is_some_and(|a| a.seq),
                        keep: flags.is_some_and(|a| a.keep),
                        cons: flags.is_some_and(|a| a.cons),
                        outer: flags.is_some_and(|a| a.outer),
                        tuples: false,
                    },
                ),
                true,
            ));
        }
        if !v.is_object() {
            return Ok((v, false));
        }
        let mut changed = false;
        let mut members: BumpVec<'a, (&'a str, Val<'a>)> = BumpVec::with_capacity_in(v.obj_len(), self.arena);
        for i in 0..v.obj_len() {
            let (k, x) = v.member(i);
            let (n, c) = self.rebuild(x, ids, update, delete, env, depth + 1)?;
            changed |= c;
            members.push((k, n));
        }
        let is_match = v.identity().is_some_and(|id| ids.contains(&id));
        if !is_match {
            if !changed {
                return Ok((v, false));
            }
            return Ok((Val::Obj(members.into_bump_slice()), true));
        }
        let current = Val::Obj(self.arena.alloc_slice_copy(&members));
        let upd = self.eval(update, current, env)?;
        if !upd.is_undef() {
            if !upd.is_object() {
                return Err(Error::new("T2011").pos(update.pos).value(json_text(upd)));
            }
            for i in 0..upd.obj_len() {
                let (k, x) = upd.member(i);
                match members.iter_mut().find(|(key, _)| *key == k) {
                    Some(slot) => slot.1 = x,
                    None => members.push((k, x)),
                }
            }
        }
        if let Some(d) = delete {
            let dels = self.eval(d, current, env)?;
            if !dels.is_undef() {
                if !dels.iter().all(|x| matches!(x, Val::Str(_))) {
                    return Err(Error::new("T2012").pos(d.pos).value(json_text(dels)));
                }
                for name in dels.iter() {
                    if let Val::Str(s) = name {
                        members.retain(|(k, _)| *k != s);
                    }
                }
            }
        }
        Ok((Val::Obj(members.into_bump_slice()), true))
    }
}

/// Whether a path step is a bare name (or a leading variable) with no predicates, bindings
/// or other annotations, so that it can be navigated without sequences.
fn plain_step(step: &Node, index: usize) -> bool {
    let simple_kind = match step.kind {
        Kind::Name(_) => true,
        Kind::Variable(_) => index == 0,
        _ => false,
    };
    simple_kind
        && step.stages.is_empty()
        && step.predicate.is_empty()
        && step.group.is_none()
        && step.focus.is_none()
        && step.index.is_none()
        && !step.tuple
        && !step.keep_array
        && !step.cons_array
        && step.ancestor.is_none()
}

/// Sequence normalization of a value produced in tail position.
fn normalize<'a>(_arena: &'a Arena, v: Val<'a>, _keep: bool) -> Val<'a> {
    if let Val::Arr(a) = v {
        if a.seq && !a.tuples && !a.keep {
            if a.items.is_empty() {
                return Val::Undef;
            }
            if a.items.len() == 1 {
                return a.items[0];
            }
        }
    }
    v
}

fn proc_name(func: &Node) -> Option<&str> {
    match &func.kind {
        Kind::Path { steps, .. } => match &steps[0].kind {
            Kind::Name(n) => Some(n),
            _ => None,
        },
        Kind::Variable(v) => Some(v),
        _ => None,
    }
}

fn annotate(e: Error, pos: usize, name: Option<&str>) -> Error {
    let mut e = e;
    if e.position.is_none() {
        e.position = Some(pos);
    }
    if e.token.is_none() {
        if let Some(n) = name {
            e.token = Some(n.to_string());
        }
    }
    e
}

/// jsonata-js `isNumeric` on an operand: `Ok(None)` for undefined.
fn numeric_operand(v: Val<'_>, code: &'static str) -> Result<Option<f64>, Error> {
    match v {
        Val::Undef => Ok(None),
        Val::Num(n) if n.is_nan() => Err(Error::new(code).value(json_text(v))),
        Val::Num(n) if n.is_infinite() => Err(Error::new("D1001").value(json_text(v))),
        Val::Num(n) => Ok(Some(n)),
        _ => Err(Error::new(code).value(json_text(v))),
    }
}

/// JavaScript `===` (objects by identity).
fn strict_equal<'a>(a: Val<'a>, b: Val<'a>) -> bool {
    match (a, b) {
        (Val::Null, Val::Null) => true,
        (Val::Bool(x), Val::Bool(y)) => x == y,
        (Val::Num(x), Val::Num(y)) => x == y,
        (Val::Str(x), Val::Str(y)) => x == y,
        (Val::Func(x), Val::Func(y)) => std::ptr::eq(x, y),
        _ => match (a.identity(), b.identity()) {
            (Some(x), Some(y)) => x == y,
            _ => false,
        },
    }
}

/// Compares strings by UTF-16 code units, as JavaScript does.
pub fn js_str_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    if a.is_ascii() && b.is_ascii() {
        return a.cmp(b);
    }
    a.encode_utf16().cmp(b.encode_utf16())
}

/// jsonata-js `fn.append`: concatenation as a plain array.
pub fn append<'a>(ctx: &Ctx<'a, '_>, a: Val<'a>, b: Val<'a>) -> R<'a> {
    if a.is_undef() {
        return Ok(b);
    }
    if b.is_undef() {
        return Ok(a);
    }
    let n = a.len().max(1) + b.len().max(1);
    ctx.charge_items::<Val>(n)?;
    let mut out = SeqBuilder::with_capacity(ctx.arena, n);
    out.extend_flat(a);
    out.extend_flat(b);
    Ok(out.array(ctx.arena))
}

/// A stable merge sort with a fallible "a goes after b" test (jsonata-js `$sort`'s shape).
pub fn merge_sort<T: Copy>(items: &mut [T], after: &mut dyn FnMut(T, T) -> Result<bool, Error>) -> Result<(), Error> {
    if items.len() <= 1 {
        return Ok(());
    }
    let mid = items.len() / 2;
    merge_sort(&mut items[..mid], after)?;
    merge_sort(&mut items[mid..], after)?;
    let left = items[..mid].to_vec();
    let right = items[mid..].to_vec();
    let (mut i, mut j, mut k) = (0, 0, 0);
    while i < left.len() && j < right.len() {
        if after(left[i], right[j])? {
            items[k] = right[j];
            j += 1;
        } else {
            items[k] = left[i];
            i += 1;
        }
        k += 1;
    }
    while i < left.len() {
        items[k] = left[i];
        i += 1;
        k += 1;
    }
    while j < right.len() {
        items[k] = right[j];
        j += 1;
        k += 1;
    }
    Ok(())
}
