//! Moving a suspended execution into another arena ([`Execution::relocate`]), so that what a
//! parked execution keeps is what it still needs, in an arena of that size, and the arena it
//! ran in can be reset and reused at once.

use std::collections::HashMap;

use bumpalo::collections::Vec as BumpVec;
use smallvec::SmallVec;

use super::{Execution, Frame, Phase};
use crate::scope::Variables;
use crate::value::{Arena, Member, SourceText, Value};

/// Copies what lives in one arena (the old one) into another, leaving in place what lives
/// elsewhere (the input's text, the program's constants, a shared input), and copying what
/// is shared once.
struct Relocator<'a> {
    /// The used parts of the old arena's chunks: start and end addresses.
    old: SmallVec<[(usize, usize); 4]>,
    new: &'a Arena,
    /// Strings and slices copied so far: (kind, old address, length) to the new address.
    copied: HashMap<(u8, usize, usize), usize>,
}

/// The kinds of allocation [`Relocator::copied`] tells apart.
const STR: u8 = 0;
const VALUES: u8 = 1;
const MEMBERS: u8 = 2;

impl<'a> Relocator<'a> {
    fn new(old: &Arena, new: &'a Arena) -> Relocator<'a> {
        // SAFETY: the chunks' addresses are only compared, never read through, and nothing
        // is allocated in `old` while the iterator lives.
        let old = unsafe { old.iter_allocated_chunks_raw() }
            .map(|(start, len)| (start as usize, start as usize + len))
            .collect();
        Relocator {
            old,
            new,
            copied: HashMap::new(),
        }
    }

    /// Whether `len` bytes at `addr` lie in the old arena.
    fn in_old(&self, addr: usize, len: usize) -> bool {
        len > 0 && self.old.iter().any(|&(start, end)| addr >= start && addr < end)
    }

    fn str(&mut self, s: &'a str) -> &'a str {
        let (addr, len) = (s.as_ptr() as usize, s.len());
        if !self.in_old(addr, len) {
            return s;
        }
        if let Some(&new) = self.copied.get(&(STR, addr, len)) {
            // SAFETY: `new` is the address of a copy of `s` made below in the new arena,
            // `len` bytes of UTF-8 that live as long as it.
            return unsafe { std::str::from_utf8_unchecked(std::slice::from_raw_parts(new as *const u8, len)) };
        }
        let copy: &'a str = self.new.alloc_str(s);
        self.copied.insert((STR, addr, len), copy.as_ptr() as usize);
        copy
    }

    fn value(&mut self, value: Value<'a>) -> Value<'a> {
        match value {
            Value::String(s) => Value::String(self.str(s)),
            Value::Array(items, bound) => Value::Array(self.values(items), bound),
            Value::Object(members, bound) => Value::Object(self.members(members), bound),
            Value::Null | Value::Bool(_) | Value::Number(_) => value,
        }
    }

    fn values(&mut self, items: &'a [Value<'a>]) -> &'a [Value<'a>] {
        let (addr, len) = (items.as_ptr() as usize, items.len());
        if !self.in_old(addr, len * std::mem::size_of::<Value<'_>>()) {
            // Nothing outside the old arena points into it.
            return items;
        }
        if let Some(&new) = self.copied.get(&(VALUES, addr, len)) {
            // SAFETY: `new` is the address of a copy of `items` made below in the new arena.
            return unsafe { std::slice::from_raw_parts(new as *const Value<'a>, len) };
        }
        let copied: SmallVec<[Value<'a>; 16]> = items.iter().map(|v| self.value(*v)).collect();
        let copy: &'a [Value<'a>] = self.new.alloc_slice_copy(&copied);
        self.copied.insert((VALUES, addr, len), copy.as_ptr() as usize);
        copy
    }

    fn members(&mut self, members: &'a [Member<'a>]) -> &'a [Member<'a>] {
        let (addr, len) = (members.as_ptr() as usize, members.len());
        if !self.in_old(addr, len * std::mem::size_of::<Member<'_>>()) {
            return members;
        }
        if let Some(&new) = self.copied.get(&(MEMBERS, addr, len)) {
            // SAFETY: `new` is the address of a copy of `members` made below in the new arena.
            return unsafe { std::slice::from_raw_parts(new as *const Member<'a>, len) };
        }
        let copied: SmallVec<[Member<'a>; 16]> = members.iter().map(|(k, v)| (self.str(k), self.value(*v))).collect();
        let copy: &'a [Member<'a>] = self.new.alloc_slice_copy(&copied);
        self.copied.insert((MEMBERS, addr, len), copy.as_ptr() as usize);
        copy
    }

    fn variables(&mut self, variables: Variables<'a>) -> Variables<'a> {
        Variables {
            local: self.members(variables.local),
            outer: variables.outer.map(|outer| {
                let outer = self.variables(*outer);
                &*self.new.alloc(outer)
            }),
        }
    }

    fn u32s(&mut self, counts: &[u32]) -> &'a mut [u32] {
        self.new.alloc_slice_copy(counts)
    }
}

impl<'a> Execution<'a> {
    /// Moves this suspended execution into `arena`: what it holds of its own arena (its
    /// input, frames, variables, answers, counters) is copied there, the rest (the input's
    /// text, the program's constants) stays where it is, and nothing refers to its old arena
    /// any more. `false`, and nothing changes, when it cannot move: a frame runs Parallel
    /// branches or Map iterations, or it sends its history to a sink (both live in its
    /// arena).
    ///
    /// The input's kept text ([`SourceText`]) is dropped: the output is then written from
    /// the values, which give the same text.
    pub(crate) fn relocate(&mut self, arena: &'a Arena) -> bool {
        let fans_out = self
            .frames
            .iter()
            .any(|f| matches!(f.phase, Phase::Parallel(_) | Phase::Map(_) | Phase::MapIo(_)));
        if fans_out || self.history.is_some() {
            return false;
        }
        let mut r = Relocator::new(self.arena, arena);
        self.name = r.str(self.name);
        self.input = r.value(self.input);
        self.source = SourceText::NONE;
        let old = std::mem::replace(&mut self.frames, BumpVec::new_in(arena));
        self.frames.reserve_exact(old.len());
        for frame in old {
            let phase = match frame.phase {
                Phase::Waiting { until_ms, result } => Phase::Waiting {
                    until_ms,
                    result: r.value(result),
                },
                // Values of their own in the arena: none.
                phase @ (Phase::Enter
                | Phase::Attempt
                | Phase::Backoff { .. }
                | Phase::AwaitingTask(_)
                | Phase::TaskAnswered(_)) => phase,
                // A fan-out's state lives in the old arena: such executions are refused above.
                phase @ (Phase::Parallel(_) | Phase::Map(_) | Phase::MapIo(_)) => phase,
            };
            self.frames.push(Frame {
                input: r.value(frame.input),
                variables: r.variables(frame.variables),
                retries: r.u32s(frame.retries),
                phase,
                ..frame
            });
        }
        for (_, answer) in &mut self.task_answers {
            if let Ok(value) = answer {
                *value = r.value(*value);
            }
        }
        if let Some(Ok(value)) = &mut self.ended {
            *value = r.value(*value);
        }
        self.mock_invocations = r.u32s(self.mock_invocations);
        self.assigned = self.assigned.map(|members| r.members(members));
        if let Some((_, value, variables)) = &mut self.redrive_at {
            *value = r.value(*value);
            *variables = r.variables(*variables);
        }
        self.arena = arena;
        true
    }
}
