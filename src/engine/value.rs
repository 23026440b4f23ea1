//! The payload value type: an immutable, `Copy` JSON value whose arrays, objects and strings
//! live in an arena ([`bumpalo::Bump`]).
//!
//! Every payload an execution touches is a [`Value<'a>`] borrowed from the execution's arena,
//! from the input text (unescaped strings are not copied) or from the compiled program's
//! constants. Updates are persistent: `ResultPath` builds a new spine and shares the rest, so
//! nothing is ever deep-cloned between states.

use std::alloc::Layout;
use std::cell::Cell;
use std::fmt;

use bumpalo::collections::Vec as BumpVec;
use bumpalo::Bump;
use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};

mod text;

pub use text::{JsonInput, SourceText};

/// The arena that payload values are allocated in: a bump allocator ([`bumpalo::Bump`],
/// whose methods it offers through `Deref`) that also keeps room to grow the object it last
/// extended by a member (see [`Arena::append_member`]), so that a chain of states or
/// handlers that each add a member to the object the one before built writes each member
/// after the last instead of copying the whole object every time.
#[derive(Debug, Default)]
pub struct Arena {
    bump: Bump,
    room: AppendRoom,
}

// SAFETY: `Bump` is `Send`; the room's pointer (the one field that is not) points into a
// chunk that `bump` owns, which moves with it, and is only used through `&self`, which an
// `Arena` (not `Sync`) gives to one thread at a time.
unsafe impl Send for Arena {}

impl std::ops::Deref for Arena {
    type Target = Bump;
    #[inline(always)]
    fn deref(&self) -> &Bump {
        &self.bump
    }
}

impl Arena {
    /// An empty arena.
    pub fn new() -> Arena {
        Arena::default()
    }

    /// An empty arena whose first chunk holds at least `bytes`.
    pub fn with_capacity(bytes: usize) -> Arena {
        Arena {
            bump: Bump::with_capacity(bytes),
            room: AppendRoom::default(),
        }
    }

    /// Frees everything allocated in the arena, keeping its largest chunk for reuse.
    pub fn reset(&mut self) {
        self.room = AppendRoom::default();
        self.bump.reset();
    }

    /// `members` with `member` after them: written in place when `members` is the object
    /// this arena last extended and its allocation has a free slot, otherwise copied into a
    /// new allocation with as much room again (which the arena then follows).
    ///
    /// Objects are only ever handed out as prefixes of the room's allocation, the longest
    /// being the last one, and a slot is written only for exactly that object (same start,
    /// same length), so no object handed out ever sees a member change: an older, shorter
    /// one keeps its length, and extending it again copies it.
    #[inline(always)]
    pub fn append_member<'a>(&'a self, members: &'a [Member<'a>], member: Member<'a>) -> &'a [Member<'a>] {
        let room = &self.room;
        let len = members.len();
        let start = room.start.get().cast::<Member<'a>>();
        if std::ptr::eq(start, members.as_ptr()) && len == room.len.get() && len < room.capacity.get() {
            // SAFETY: a non-null `start` is the start of an allocation of `capacity`
            // members in this arena, made below and not freed (a reset clears the room), so
            // slot `len` lies inside it; no slice covers that slot: every slice made from
            // the allocation is a prefix of at most `len` members (only this function makes
            // them, and it writes a slot only once, then hands out the longer prefix).
            // `start` came from the allocation itself, so writing through it is allowed, and
            // the prefix `..len + 1` is written. Members of any lifetime may be written: the
            // slot is reachable only through the prefix returned here, typed `'a`.
            unsafe {
                start.add(len).write(member);
                room.len.set(len + 1);
                return std::slice::from_raw_parts(start, len + 1);
            }
        }
        let capacity = ((len + 1) * 2).max(MIN_ROOM);
        let Ok(layout) = Layout::array::<Member<'a>>(capacity) else {
            // Too large to double: copy without room.
            return appended_copy(self, members, member);
        };
        let start = self.bump.alloc_layout(layout).cast::<Member<'a>>();
        // SAFETY: the new allocation holds `capacity > len` members, properly aligned, and
        // does not overlap `members` (which lives in another allocation or the input); the
        // prefix `..len + 1` is written before the slice over it is made.
        let object = unsafe {
            std::ptr::copy_nonoverlapping(members.as_ptr(), start.as_ptr(), len);
            start.as_ptr().add(len).write(member);
            std::slice::from_raw_parts(start.as_ptr(), len + 1)
        };
        room.start.set(start.as_ptr().cast());
        room.len.set(len + 1);
        room.capacity.set(capacity);
        object
    }
}

/// The fewest members [`Arena::append_member`] makes room for: workflows that gather their
/// states' results in one object (`ResultPath: "$.step3"`) append a dozen or so members, and
/// room for them all up front saves copying the object again at each doubling.
const MIN_ROOM: usize = 16;

/// Where an [`Arena`] can grow the object it last extended: one allocation of `capacity`
/// members whose first `len` are written (see [`Arena::append_member`]).
#[derive(Debug)]
struct AppendRoom {
    /// The allocation's start (a pointer with the right to write all of it), null if none.
    start: Cell<*mut u8>,
    /// Members written: the length of the last object handed out.
    len: Cell<usize>,
    /// Members the allocation holds.
    capacity: Cell<usize>,
}

impl Default for AppendRoom {
    fn default() -> AppendRoom {
        AppendRoom {
            start: Cell::new(std::ptr::null_mut()),
            len: Cell::new(0),
            capacity: Cell::new(0),
        }
    }
}

/// One member of an object: its key and its value.
pub type Member<'a> = (&'a str, Value<'a>);

/// A JSON value whose contents live in an arena.
///
/// Objects keep their members in document order, keys unique; lookups scan linearly, which is
/// the fastest choice for the small objects that state payloads are made of.
#[derive(Clone, Copy, Debug)]
pub enum Value<'a> {
    /// `null`
    Null,
    /// `true` or `false`
    Bool(bool),
    /// A number, integer or floating point.
    Number(Number),
    /// A string.
    String(&'a str),
    /// An array, with an upper bound of its JSON text's length (build it with
    /// [`Value::array`]).
    Array(&'a [Value<'a>], SizeBound),
    /// An object: members in order, keys unique, with an upper bound of its JSON text's
    /// length (build it with [`Value::object`]).
    Object(&'a [Member<'a>], SizeBound),
}

const _: () = assert!(std::mem::size_of::<Value<'static>>() == 24);

/// Two bounds a container carries, computed when it is built from its parts' bounds: an
/// upper bound of its compact JSON text length (strings as if every byte were escaped,
/// numbers as their longest spelling), saturating at `u32::MAX`, and an upper bound of its
/// nesting depth (`[]` and `{}` are 1 deep, `[[1]]` 2; scalars count 0), saturating at
/// `u16::MAX`. Carrying them makes the payload-size limit an O(1) check for payloads well
/// under it, and the depth limit ([`Limits::max_value_depth`](crate::Limits)) an O(1)
/// check always; and every recursive walk over values (writing, measuring, comparing,
/// scanning) is as deep as the depth bound, which the interpreter keeps under that limit.
///
/// Packed to 6 bytes (2-aligned), so that [`Value`] stays 24 bytes: it fills the room
/// between the enum's tag and the slice. Build it only with these functions (or through
/// [`Value::array`] and [`Value::object`]): a bound too small breaks those guarantees.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(C, packed(2))]
pub struct SizeBound {
    len: u32,
    depth: u16,
}

/// What a member's key adds to its object's bound: the key with every byte escaped, its
/// quotes, the colon and a comma.
#[inline(always)]
fn key_bound(key: &str) -> u64 {
    key.len() as u64 * 6 + 4
}

impl SizeBound {
    /// The bounds of `[]` and `{}`.
    pub const EMPTY: SizeBound = SizeBound { len: 2, depth: 1 };

    /// The bounds of an array of `items`.
    #[inline]
    pub fn of_items(items: &[Value<'_>]) -> SizeBound {
        let mut n = 2 + items.len() as u64;
        let mut depth = 0;
        for v in items {
            let (len, deep) = v.bounds();
            n += len;
            depth = depth.max(deep);
        }
        SizeBound::saturating(n, depth)
    }

    /// The bounds of an object of `members`.
    #[inline]
    pub fn of_members(members: &[Member<'_>]) -> SizeBound {
        let mut n = 2;
        let mut depth = 0;
        for (k, v) in members {
            let (len, deep) = v.bounds();
            n += key_bound(k) + len;
            depth = depth.max(deep);
        }
        SizeBound::saturating(n, depth)
    }

    /// [`of_items`](Self::of_items) when the array's depth is known (`depth`: the reader
    /// counts it as it reads, instead of item by item).
    #[inline]
    pub(crate) fn of_items_at_depth(items: &[Value<'_>], depth: u16) -> SizeBound {
        let mut n = 2 + items.len() as u64;
        for v in items {
            n += v.bound_u64();
        }
        SizeBound {
            len: n.min(u32::MAX as u64) as u32,
            depth,
        }
    }

    /// [`of_members`](Self::of_members) when the object's depth is known.
    #[inline]
    pub(crate) fn of_members_at_depth(members: &[Member<'_>], depth: u16) -> SizeBound {
        let mut n = 2;
        for (k, v) in members {
            n += key_bound(k) + v.bound_u64();
        }
        SizeBound {
            len: n.min(u32::MAX as u64) as u32,
            depth,
        }
    }

    /// The part of the length bound of an object with `keys` that the keys make (with
    /// [`SizeBound::of_parts`]: for objects whose keys are known before their values).
    pub fn keys_part<'k>(keys: impl IntoIterator<Item = &'k str>) -> u64 {
        keys.into_iter().fold(2, |n, k| n + key_bound(k))
    }

    /// The bounds of an object whose keys make `keys` ([`SizeBound::keys_part`]), whose
    /// values' length bounds ([`Value::bound_u64`]) add up to `values` and whose deepest
    /// value is `depth` deep ([`Value::depth`]).
    #[inline]
    pub fn of_parts(keys: u64, values: u64, depth: usize) -> SizeBound {
        SizeBound::saturating(keys + values, depth.min(u16::MAX as usize) as u16)
    }

    /// The bounds of an object of these bounds after one member's value `old` became `new`.
    /// The depth stays an upper bound: it only grows here (a shallower `new` keeps it).
    #[inline]
    pub fn replaced(self, old: Value<'_>, new: Value<'_>) -> SizeBound {
        let (new_len, new_depth) = new.bounds();
        let depth = self.depth.max(new_depth.saturating_add(1));
        if self.len == u32::MAX {
            // saturated: still an upper bound whatever changed
            return SizeBound { len: u32::MAX, depth };
        }
        let len = self.get() - old.bound_u64() + new_len;
        SizeBound {
            len: len.min(u32::MAX as u64) as u32,
            depth,
        }
    }

    /// The bounds of an object of these bounds with the member `key: value` appended.
    #[inline]
    pub fn appended(self, key: &str, value: Value<'_>) -> SizeBound {
        let (value_len, value_depth) = value.bounds();
        let len = self.get() + key_bound(key) + value_len;
        SizeBound {
            len: len.min(u32::MAX as u64) as u32,
            depth: self.depth.max(value_depth.saturating_add(1)),
        }
    }

    /// Bounds from a length and the depth of the deepest part (the container adds 1).
    #[inline(always)]
    fn saturating(n: u64, deepest_part: u16) -> SizeBound {
        SizeBound {
            len: n.min(u32::MAX as u64) as u32,
            depth: deepest_part.saturating_add(1),
        }
    }

    /// The length bound in bytes.
    #[inline]
    pub fn get(self) -> u64 {
        self.len as u64
    }

    /// The depth bound (at least 1; saturates at `u16::MAX`).
    #[inline]
    pub fn depth(self) -> usize {
        self.depth as usize
    }
}

/// A JSON number. Integers that fit in an `i64` stay exact; everything else is an `f64`.
/// The distinction is kept so that `1` and `1.0` print as they were written.
#[derive(Clone, Copy, Debug)]
pub enum Number {
    /// An integer (written without fraction or exponent).
    Int(i64),
    /// A floating-point number.
    Float(f64),
}

impl Number {
    /// The number as an `f64`.
    #[inline]
    pub fn as_f64(self) -> f64 {
        match self {
            Number::Int(i) => i as f64,
            Number::Float(f) => f,
        }
    }

    /// The number as an `i64`, if it is integral and in range (`3.0` counts).
    pub fn as_i64(self) -> Option<i64> {
        match self {
            Number::Int(i) => Some(i),
            Number::Float(f)
                if f.fract() == 0.0 && (-9.223_372_036_854_776e18..9.223_372_036_854_776e18).contains(&f) =>
            {
                Some(f as i64)
            }
            Number::Float(_) => None,
        }
    }

    /// Whether the number is integral (has no fractional part).
    pub fn is_integral(self) -> bool {
        match self {
            Number::Int(_) => true,
            Number::Float(f) => f.is_finite() && f.fract() == 0.0,
        }
    }

    /// A number from an `f64`: kept as a float.
    pub fn from_f64(f: f64) -> Number {
        Number::Float(f)
    }

    /// Numeric comparison across representations.
    pub fn cmp_value(self, other: Number) -> Option<std::cmp::Ordering> {
        match (self, other) {
            (Number::Int(a), Number::Int(b)) => Some(a.cmp(&b)),
            (a, b) => a.as_f64().partial_cmp(&b.as_f64()),
        }
    }

    /// The length of the number's JSON text.
    pub fn json_len(self) -> usize {
        match self {
            Number::Int(i) => itoa::Buffer::new().format(i).len(),
            // The common case, plain decimal, measured without writing it.
            Number::Float(f) if (1e-3..1e7).contains(&f.abs()) => {
                let mut buf = ryu::Buffer::new();
                let text = buf.format_finite(f);
                text.len() + if text.contains('.') { 0 } else { 2 }
            }
            Number::Float(_) => {
                let mut text = Vec::new();
                self.write(&mut text);
                text.len()
            }
        }
    }

    /// Appends the number's JSON text (Java's spelling for floats, as AWS prints them).
    pub fn write(self, out: &mut Vec<u8>) {
        self.write_to(out)
    }

    fn write_to(self, out: &mut impl Sink) {
        match self {
            Number::Int(i) => out.put(itoa::Buffer::new().format(i).as_bytes()),
            Number::Float(f) => write_double(f, out),
        }
    }
}

impl PartialEq for Number {
    fn eq(&self, other: &Number) -> bool {
        self.cmp_value(*other) == Some(std::cmp::Ordering::Equal)
    }
}

/// Writes `f` the way Java's `Double.toString` (and so Jackson, and so AWS) does: plain
/// decimal with at least one fractional digit in `[1e-3, 1e7)`, scientific (`1.0E7`) outside.
/// Non-finite values cannot be JSON; they print as `null`.
pub fn write_java_double(f: f64, out: &mut Vec<u8>) {
    write_double(f, out)
}

fn write_double(f: f64, out: &mut impl Sink) {
    if !f.is_finite() {
        out.put(b"null");
        return;
    }
    if f == 0.0 {
        out.put(if f.is_sign_negative() { b"-0.0" } else { b"0.0" });
        return;
    }
    let abs = f.abs();
    if (1e-3..1e7).contains(&abs) && write_short_decimal(f, out) {
        return;
    }
    let mut buf = ryu::Buffer::new();
    let text = buf.format_finite(f);
    if (1e-3..1e7).contains(&abs) {
        out.put(text.as_bytes());
        if !text.contains('.') && !text.contains('e') {
            out.put(b".0");
        }
        return;
    }
    // Scientific: take ryu's shortest digits and place them as d.dddE<exp>.
    let (digits, exp) = shortest_digits(text);
    if f < 0.0 {
        out.push(b'-');
    }
    out.push(digits.as_bytes()[0]);
    out.push(b'.');
    if digits.len() > 1 {
        out.put(&digits.as_bytes()[1..]);
    } else {
        out.push(b'0');
    }
    out.push(b'E');
    out.put(itoa::Buffer::new().format(exp).as_bytes());
}

/// Writes `f` (in `[1e-3, 1e7)` in magnitude) when it has at most 6 decimals, by integer
/// arithmetic: the fewest decimals that read back as `f`, which is what ryu's shortest
/// representation prints. Returns false (writing nothing) when this cannot decide.
fn write_short_decimal(f: f64, out: &mut impl Sink) -> bool {
    const POW10: [f64; 7] = [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6];
    let abs = f.abs();
    for (decimals, &pow) in POW10.iter().enumerate() {
        let scaled = (abs * pow).round();
        // Division of two exact integers rounds once: exactly what reading the text does.
        if scaled / pow != abs {
            continue;
        }
        if (scaled - 1.0) / pow == abs || (scaled + 1.0) / pow == abs {
            return false; // two candidates: leave the choice to ryu
        }
        let digits = scaled as u64;
        let unit = 10u64.pow(decimals as u32);
        if f < 0.0 {
            out.push(b'-');
        }
        out.put(itoa::Buffer::new().format(digits / unit).as_bytes());
        out.push(b'.');
        if decimals == 0 {
            out.push(b'0');
        } else {
            let fraction = digits % unit;
            let mut text = itoa::Buffer::new();
            let text = text.format(fraction).as_bytes();
            for _ in text.len()..decimals {
                out.push(b'0');
            }
            out.put(text);
        }
        return true;
    }
    false
}

/// Splits ryu output into its significant digits and the decimal exponent of the first digit.
fn shortest_digits(text: &str) -> (String, i32) {
    let text = text.trim_start_matches('-');
    let (mantissa, exp) = match text.find('e') {
        Some(i) => (&text[..i], text[i + 1..].parse::<i32>().unwrap_or(0)),
        None => (text, 0),
    };
    let (int_part, frac_part) = match mantissa.find('.') {
        Some(i) => (&mantissa[..i], &mantissa[i + 1..]),
        None => (mantissa, ""),
    };
    let all: String = format!("{int_part}{frac_part}");
    let leading_zeros = all.len() - all.trim_start_matches('0').len();
    let digits = all.trim_start_matches('0').trim_end_matches('0').to_string();
    let point = int_part.len() as i32 + exp; // position of the decimal point in `all`
    let first_exp = point - 1 - leading_zeros as i32;
    if digits.is_empty() {
        ("0".to_string(), 0)
    } else {
        (digits, first_exp)
    }
}

impl<'a> Value<'a> {
    /// The JSON type name as AWS reports it (`null`, `boolean`, `number`, `string`, `array`,
    /// `object`).
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::Array(_, _) => "array",
            Value::Object(_, _) => "object",
        }
    }

    /// The member named `key`, if this is an object that has one.
    #[inline]
    pub fn get(&self, key: &str) -> Option<Value<'a>> {
        match self {
            Value::Object(members, _) => members.iter().find(|(k, _)| key_eq(k, key)).map(|(_, v)| *v),
            _ => None,
        }
    }

    /// The string, if this is one.
    pub fn as_str(&self) -> Option<&'a str> {
        match self {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// The number, if this is one.
    pub fn as_number(&self) -> Option<Number> {
        match self {
            Value::Number(n) => Some(*n),
            _ => None,
        }
    }

    /// The elements, if this is an array.
    pub fn as_array(&self) -> Option<&'a [Value<'a>]> {
        match self {
            Value::Array(items, _) => Some(items),
            _ => None,
        }
    }

    /// The members, if this is an object.
    pub fn as_object(&self) -> Option<&'a [Member<'a>]> {
        match self {
            Value::Object(members, _) => Some(members),
            _ => None,
        }
    }

    /// Whether this is `null`.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// An integer value.
    pub fn int(i: i64) -> Value<'a> {
        Value::Number(Number::Int(i))
    }

    /// A floating-point value.
    pub fn float(f: f64) -> Value<'a> {
        Value::Number(Number::Float(f))
    }

    /// The empty object.
    pub const EMPTY_OBJECT: Value<'static> = Value::Object(&[], SizeBound::EMPTY);

    /// Compact JSON text, appended to `out`.
    ///
    /// Room for the whole text is made at once from the value's [`SizeBound`] (an upper bound
    /// of its length), so writing needs no growth checks and copies short strings inline.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        self.write_json_from(SourceText::NONE, out)
    }

    /// [`write_json`](Self::write_json), copying the text of the containers that `source`
    /// (from [`parse_keeping_text`]) knows instead of writing them again, wherever they are
    /// in this value: the output is the same, only cheaper when much of it is unchanged input.
    pub fn write_json_from(&self, source: SourceText<'_>, out: &mut Vec<u8>) {
        /// Values bounded above this are written into a growing vector instead (the bound can
        /// be several times the text's length: each string byte counts as an escape).
        const RESERVE_AT_MOST: u64 = 1 << 16;
        let bound = self.bound_u64();
        if bound > RESERVE_AT_MOST {
            return self.write_to(out, &source);
        }
        let start = out.len();
        out.resize(start + bound as usize, 0);
        let mut reserved = Reserved {
            buf: &mut out[start..],
            pos: 0,
        };
        self.write_to(&mut reserved, &source);
        let end = start + reserved.pos;
        out.truncate(end);
    }

    /// Writes the compact JSON text, copying what `source` has the text of.
    fn write_to(&self, out: &mut impl Sink, source: &SourceText<'_>) {
        match self {
            Value::Null => out.put(b"null"),
            Value::Bool(true) => out.put(b"true"),
            Value::Bool(false) => out.put(b"false"),
            Value::Number(n) => n.write_to(out),
            Value::String(s) => write_string(s, out),
            Value::Array(items, _) => {
                if let Some(text) = source.array(items) {
                    return out.put(text.as_bytes());
                }
                out.push(b'[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    item.write_to(out, source);
                }
                out.push(b']');
            }
            Value::Object(members, _) => {
                let rest = match source.object_prefix(members) {
                    Some((text, n)) if n == members.len() => return out.put(text.as_bytes()),
                    // the object read, without its `}`, then the members that follow
                    Some((text, n)) => {
                        out.put(&text.as_bytes()[..text.len() - 1]);
                        out.push(b',');
                        &members[n..]
                    }
                    None => {
                        out.push(b'{');
                        members
                    }
                };
                for (i, (key, value)) in rest.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    write_string(key, out);
                    out.push(b':');
                    value.write_to(out, source);
                }
                out.push(b'}');
            }
        }
    }

    /// Whether the writer certainly writes `self` and `other` the same: equal scalars
    /// spelled alike (`1` and `1.0` are not), equal strings, or the same array or object
    /// (not compared member by member).
    #[inline]
    fn writes_as(&self, other: Value<'_>) -> bool {
        match (*self, other) {
            (Value::Null, Value::Null) => true,
            (Value::Bool(a), Value::Bool(b)) => a == b,
            (Value::Number(Number::Int(a)), Value::Number(Number::Int(b))) => a == b,
            (Value::Number(Number::Float(a)), Value::Number(Number::Float(b))) => a.to_bits() == b.to_bits(),
            (Value::String(a), Value::String(b)) => key_eq(a, b),
            (Value::Array(a, _), Value::Array(b, _)) => {
                std::ptr::eq(a.as_ptr(), b.as_ptr().cast()) && a.len() == b.len()
            }
            (Value::Object(a, _), Value::Object(b, _)) => {
                std::ptr::eq(a.as_ptr(), b.as_ptr().cast()) && a.len() == b.len()
            }
            _ => false,
        }
    }

    /// Compact JSON text.
    pub fn to_json_string(&self) -> String {
        let mut out = Vec::with_capacity(64);
        self.write_json(&mut out);
        // write_json only ever writes UTF-8.
        String::from_utf8(out).unwrap_or_default()
    }

    /// The length in bytes of the compact JSON text, without writing it.
    pub fn json_len(&self) -> usize {
        match self {
            Value::Number(n) => n.json_len(),
            Value::String(s) => json_string_len(s),
            _ => self.sized(|v| v.json_len(), json_string_len),
        }
    }

    /// Whether the compact JSON text is longer than `limit` bytes. Cheap for values well
    /// under the limit: it first sums an upper bound (numbers as their longest spelling,
    /// strings as if every byte were escaped) and only measures exactly near the limit,
    /// stopping as soon as the text is past it (so a value that shares one part many times,
    /// whose text is far longer than its memory, costs no more than `limit` to measure).
    #[inline]
    pub fn json_len_exceeds(&self, limit: usize) -> bool {
        self.bound_u64() > limit as u64 && self.measured_len_exceeds(limit)
    }

    /// Whether the value is nested deeper than `max_depth` ([`Value::depth`]) or its compact
    /// JSON text is longer than `max_len` ([`Value::json_len_exceeds`]): the interpreter's
    /// check of every payload, O(1) for values well under both.
    #[inline(always)]
    pub fn exceeds(&self, max_len: usize, max_depth: usize) -> bool {
        // both bounds at once, compared without a branch: one test where the check is made
        let (len, depth) = self.bounds();
        (len > max_len as u64) | (depth as usize > max_depth) && self.exceeds_measured(max_len, max_depth)
    }

    /// [`exceeds`](Self::exceeds) past the bounds (out of line).
    #[cold]
    #[inline(never)]
    fn exceeds_measured(&self, max_len: usize, max_depth: usize) -> bool {
        self.depth() > max_depth || self.measured_len_exceeds(max_len)
    }

    /// [`json_len_exceeds`](Self::json_len_exceeds) past the bound: the text measured (out
    /// of line, so that the check inlines as one comparison where it is made).
    #[cold]
    #[inline(never)]
    fn measured_len_exceeds(&self, limit: usize) -> bool {
        self.json_len_within(limit).is_none()
    }

    /// The length of the compact JSON text if it is at most `limit` bytes, `None` if it is
    /// longer: measured exactly, stopping as soon as the text is past `limit`.
    pub fn json_len_within(&self, limit: usize) -> Option<usize> {
        let mut left = limit;
        self.measure_within(&mut left)?;
        Some(limit - left)
    }

    /// Takes the text's length from `left`; `None` as soon as it does not fit.
    fn measure_within(&self, left: &mut usize) -> Option<()> {
        let take = |left: &mut usize, n: usize| -> Option<()> {
            *left = left.checked_sub(n)?;
            Some(())
        };
        match self {
            Value::Array(items, bound) => {
                if bound.get() <= *left as u64 {
                    return take(left, self.json_len());
                }
                take(left, 2 + items.len().saturating_sub(1))?;
                for item in items.iter() {
                    item.measure_within(left)?;
                }
                Some(())
            }
            Value::Object(members, bound) => {
                if bound.get() <= *left as u64 {
                    return take(left, self.json_len());
                }
                take(left, 2 + members.len().saturating_sub(1))?;
                for (key, value) in members.iter() {
                    take(left, json_string_len(key) + 1)?;
                    value.measure_within(left)?;
                }
                Some(())
            }
            _ => take(left, self.json_len()),
        }
    }

    /// An upper bound of the compact JSON text's length: O(1), containers carry theirs.
    #[inline(always)]
    pub fn bound_u64(&self) -> u64 {
        match self {
            Value::Null | Value::Bool(_) => 5,
            Value::Number(_) => 24,
            Value::String(s) => s.len() as u64 * 6 + 2,
            Value::Array(_, bound) | Value::Object(_, bound) => bound.get(),
        }
    }

    /// An upper bound of the nesting depth: 0 for a scalar, 1 for `[]`, `{}` or a container
    /// of scalars, one more than its deepest part for any other container. O(1): containers
    /// carry theirs ([`SizeBound`]). Exact for values built from their parts; one whose
    /// deepest member was replaced by a shallower one may keep the deeper bound.
    #[inline(always)]
    pub fn depth(&self) -> usize {
        self.depth_u16() as usize
    }

    /// Both bounds at once, in one dispatch on the kind of value: [`bound_u64`](Self::bound_u64)
    /// and [`depth`](Self::depth).
    #[inline(always)]
    pub(crate) fn bounds(&self) -> (u64, u16) {
        match self {
            Value::Null | Value::Bool(_) => (5, 0),
            Value::Number(_) => (24, 0),
            Value::String(s) => (s.len() as u64 * 6 + 2, 0),
            Value::Array(_, bound) | Value::Object(_, bound) => (bound.get(), bound.depth),
        }
    }

    #[inline(always)]
    fn depth_u16(&self) -> u16 {
        match self {
            Value::Array(_, bound) | Value::Object(_, bound) => bound.depth,
            _ => 0,
        }
    }

    /// An array of `items` (computes its [`SizeBound`]).
    #[inline]
    pub fn array(items: &'a [Value<'a>]) -> Value<'a> {
        Value::Array(items, SizeBound::of_items(items))
    }

    /// An object of `members`, whose keys must be unique (computes its [`SizeBound`]).
    #[inline]
    pub fn object(members: &'a [Member<'a>]) -> Value<'a> {
        Value::Object(members, SizeBound::of_members(members))
    }

    /// The length of a scalar, or of a container given how to size its parts.
    fn sized(&self, value_len: impl Fn(&Value<'_>) -> usize, key_len: impl Fn(&str) -> usize) -> usize {
        match self {
            Value::Null | Value::Bool(true) => 4,
            Value::Bool(false) => 5,
            Value::Number(_) | Value::String(_) => value_len(self),
            Value::Array(items, _) => 2 + items.len().saturating_sub(1) + items.iter().map(&value_len).sum::<usize>(),
            Value::Object(members, _) => {
                2 + members.len().saturating_sub(1)
                    + members
                        .iter()
                        .map(|(k, v)| key_len(k) + 1 + value_len(v))
                        .sum::<usize>()
            }
        }
    }

    /// A hash of the value consistent with `==` (equal values hash alike: numbers by value,
    /// object members in any order), for finding equal values among many.
    pub fn hash_json(&self) -> u64 {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        self.hash_into(&mut hasher);
        std::hash::Hasher::finish(&hasher)
    }

    fn hash_into(&self, h: &mut impl std::hash::Hasher) {
        match self {
            Value::Null => h.write_u8(0),
            Value::Bool(b) => h.write_u8(1 + u8::from(*b)),
            Value::Number(n) => {
                // `1 == 1.0`: by the value as a double (`0.0 == -0.0`); integers that differ
                // but round to the same double only share a hash
                let f = n.as_f64();
                h.write_u8(3);
                h.write_u64(if f == 0.0 { 0 } else { f.to_bits() });
            }
            Value::String(s) => {
                h.write_u8(4);
                h.write(s.as_bytes());
                h.write_u8(0xff);
            }
            Value::Array(items, _) => {
                h.write_u8(5);
                h.write_usize(items.len());
                for item in items.iter() {
                    item.hash_into(h);
                }
            }
            Value::Object(members, _) => {
                // members in any order: the sum of their own hashes
                h.write_u8(6);
                h.write_usize(members.len());
                let mut sum = 0u64;
                for (key, value) in members.iter() {
                    let mut member = std::collections::hash_map::DefaultHasher::new();
                    std::hash::Hasher::write(&mut member, key.as_bytes());
                    value.hash_into(&mut member);
                    sum = sum.wrapping_add(std::hash::Hasher::finish(&member));
                }
                h.write_u64(sum);
            }
        }
    }

    /// Converts to a `serde_json::Value`.
    pub fn to_serde(&self) -> serde_json::Value {
        match self {
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Number(Number::Int(i)) => serde_json::Value::from(*i),
            Value::Number(Number::Float(f)) => serde_json::Number::from_f64(*f)
                .map(serde_json::Value::Number)
                .unwrap_or(serde_json::Value::Null),
            Value::String(s) => serde_json::Value::String((*s).to_owned()),
            Value::Array(items, _) => serde_json::Value::Array(items.iter().map(|v| v.to_serde()).collect()),
            Value::Object(members, _) => {
                serde_json::Value::Object(members.iter().map(|(k, v)| ((*k).to_owned(), v.to_serde())).collect())
            }
        }
    }

    /// Copies a `serde_json::Value` into the arena.
    ///
    /// Without recursion: a `serde_json::Value` built in code can be nested any depth (the
    /// ones serde_json reads are at most 128 deep), and the copy carries its depth
    /// ([`Value::depth`]) for the interpreter's depth limit to refuse.
    pub fn from_serde(arena: &'a Arena, value: &serde_json::Value) -> Value<'a> {
        /// A container being copied: its source, and its parts copied so far.
        enum Open<'s, 'a> {
            Array(std::slice::Iter<'s, serde_json::Value>, BumpVec<'a, Value<'a>>),
            Object(serde_json::map::Iter<'s>, BumpVec<'a, Member<'a>>, &'a str),
        }
        let scalar = |value: &serde_json::Value| match value {
            serde_json::Value::Null => Some(Value::Null),
            serde_json::Value::Bool(b) => Some(Value::Bool(*b)),
            serde_json::Value::Number(n) => Some(Value::Number(number_from_serde(n))),
            serde_json::Value::String(s) => Some(Value::String(arena.alloc_str(s))),
            _ => None,
        };
        fn open<'s, 'a>(arena: &'a Arena, value: &'s serde_json::Value) -> Open<'s, 'a> {
            match value {
                serde_json::Value::Array(items) => {
                    Open::Array(items.iter(), BumpVec::with_capacity_in(items.len(), arena))
                }
                serde_json::Value::Object(map) => {
                    Open::Object(map.iter(), BumpVec::with_capacity_in(map.len(), arena), "")
                }
                _ => unreachable!("only containers are opened"),
            }
        }
        if let Some(v) = scalar(value) {
            return v;
        }
        let mut stack = vec![open(arena, value)];
        loop {
            let top = stack.last_mut().expect("the stack holds the container being copied");
            // The next part of the container on top: copied at once if it is a scalar,
            // opened (pushed) if it is a container; the container is closed when done.
            let next = match top {
                Open::Array(items, _) => items.next(),
                Open::Object(members, _, key) => members.next().map(|(k, v)| {
                    *key = arena.alloc_str(k);
                    v
                }),
            };
            let done = match next {
                Some(part) => match scalar(part) {
                    Some(v) => v,
                    None => {
                        let opened = open(arena, part);
                        stack.push(opened);
                        continue;
                    }
                },
                None => match stack.pop().expect("the stack holds the container being copied") {
                    Open::Array(_, items) => Value::array(items.into_bump_slice()),
                    Open::Object(_, members, _) => Value::object(members.into_bump_slice()),
                },
            };
            // `done` is the next part of the container now on top, or the whole copy.
            match stack.last_mut() {
                Some(Open::Array(_, items)) => items.push(done),
                Some(Open::Object(_, members, key)) => members.push((*key, done)),
                None => return done,
            }
        }
    }

    /// Deep-copies this value into `arena` (used to move a value out of an arena that is
    /// about to be reset).
    pub fn copy_into<'b>(&self, arena: &'b Arena) -> Value<'b> {
        match *self {
            Value::Null => Value::Null,
            Value::Bool(b) => Value::Bool(b),
            Value::Number(n) => Value::Number(n),
            Value::String(s) => Value::String(arena.alloc_str(s)),
            Value::Array(items, _) => {
                Value::array(arena.alloc_slice_fill_iter(items.iter().map(|v| v.copy_into(arena))))
            }
            Value::Object(members, _) => Value::object(
                arena.alloc_slice_fill_iter(members.iter().map(|(k, v)| (&*arena.alloc_str(k), v.copy_into(arena)))),
            ),
        }
    }
}

/// Converts a serde_json number: integers that fit stay integers.
pub fn number_from_serde(n: &serde_json::Number) -> Number {
    if let Some(i) = n.as_i64() {
        Number::Int(i)
    } else {
        Number::Float(n.as_f64().unwrap_or(f64::NAN))
    }
}

/// JSON value equality: numbers by value (`1 == 1.0`), object members in any order.
impl PartialEq for Value<'_> {
    fn eq(&self, other: &Value<'_>) -> bool {
        match (self, other) {
            (Value::Null, Value::Null) => true,
            (Value::Bool(a), Value::Bool(b)) => a == b,
            (Value::Number(a), Value::Number(b)) => a == b,
            (Value::String(a), Value::String(b)) => a == b,
            (Value::Array(a, _), Value::Array(b, _)) => {
                a.len() == b.len() && a.iter().zip(b.iter()).all(|(x, y)| x == y)
            }
            (Value::Object(a, _), Value::Object(b, _)) => a.len() == b.len() && same_members(a, b),
            _ => false,
        }
    }
}

/// Whether two objects of as many members (keys unique in each) have the same members, in
/// any order: a scan of `b` per member of `a` for small objects, a hash map of `b` for large
/// ones (so that comparing two objects of many members is not quadratic).
fn same_members(a: &[Member<'_>], b: &[Member<'_>]) -> bool {
    if a.len() <= HASHED_FROM {
        return a.iter().all(|(k, v)| b.iter().any(|(k2, v2)| k == k2 && v == v2));
    }
    let index: std::collections::HashMap<&str, &Value<'_>> = b.iter().map(|(k, v)| (*k, v)).collect();
    a.iter().all(|(k, v)| index.get(k).is_some_and(|v2| v == *v2))
}

/// The number of members from which finding a key by a linear scan gives way to a hash map
/// (reading objects with many members, comparing them): below it the scan is faster, and
/// allocates nothing.
pub(crate) const HASHED_FROM: usize = 32;

/// Finds the earlier member of the same key while an object is read (duplicate keys: the
/// last value wins, in the first one's place): a linear scan of the members read so far
/// while the object is small, the usual case, with no allocation; a hash map of their keys
/// once it has [`HASHED_FROM`] members, so that reading an object of many keys is linear.
#[derive(Default)]
pub(crate) struct KeyIndex<'a> {
    index: Option<std::collections::HashMap<&'a str, usize>>,
}

impl<'a> KeyIndex<'a> {
    /// The position of `key` among `members` (the members read so far, whose keys are
    /// unique), if it is there.
    /// (Members only grow: the map exists once they have reached [`HASHED_FROM`], so the
    /// usual small object costs a comparison of its length here.)
    #[inline(always)]
    pub(crate) fn position(&mut self, members: &[Member<'a>], key: &str) -> Option<usize> {
        if members.len() < HASHED_FROM {
            return members.iter().position(|(k, _)| key_eq(k, key));
        }
        self.hashed_position(members, key)
    }

    /// Records that `key` was appended to `members` (now ending with it).
    #[inline(always)]
    pub(crate) fn appended(&mut self, members: &[Member<'a>]) {
        if members.len() > HASHED_FROM {
            self.index_last(members);
        }
    }

    #[cold]
    #[inline(never)]
    fn index_last(&mut self, members: &[Member<'a>]) {
        if let (Some(index), Some((key, _))) = (&mut self.index, members.last()) {
            index.insert(key, members.len() - 1);
        }
    }

    /// The position of `key` by the hash map of `members`' keys, made on first use.
    #[cold]
    #[inline(never)]
    fn hashed_position(&mut self, members: &[Member<'a>], key: &str) -> Option<usize> {
        self.index
            .get_or_insert_with(|| members.iter().enumerate().map(|(i, (k, _))| (*k, i)).collect())
            .get(key)
            .copied()
    }
}

impl fmt::Display for Value<'_> {
    /// Compact JSON text.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_json_string())
    }
}

/// Appends `s` as a JSON string literal (quotes, escapes for `"`, `\` and control characters;
/// everything else, non-ASCII included, as is).
pub fn write_json_string(s: &str, out: &mut Vec<u8>) {
    out.reserve(s.len() + 2);
    write_string(s, out)
}

// inlined in optimized builds only: the recursive writer's frame must stay small in
// debug builds, where every inlined copy keeps its own stack slots (12 KiB a level)
#[cfg_attr(not(debug_assertions), inline(always))]
fn write_string(s: &str, out: &mut impl Sink) {
    out.push(b'"');
    let bytes = s.as_bytes();
    if !text::needs_escape(bytes) {
        out.put(bytes);
        out.push(b'"');
        return;
    }
    let mut start = 0;
    loop {
        let i = text::next_special(bytes, start);
        out.put(&bytes[start..i]);
        let Some(&b) = bytes.get(i) else { break };
        let escape = ESCAPES[b as usize];
        if escape == b'u' {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.put(&[b'\\', b'u', b'0', b'0', HEX[(b >> 4) as usize], HEX[(b & 0xf) as usize]]);
        } else {
            out.put(&[b'\\', escape]);
        }
        start = i + 1;
    }
    out.push(b'"');
}

/// Where JSON text is written: a growing `Vec<u8>`, or [`Reserved`] room.
trait Sink {
    /// Appends one byte.
    fn push(&mut self, byte: u8);
    /// Appends `bytes`.
    fn put(&mut self, bytes: &[u8]);
}

impl Sink for Vec<u8> {
    #[inline]
    fn push(&mut self, byte: u8) {
        Vec::push(self, byte)
    }

    #[inline]
    fn put(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes)
    }
}

/// Room made in advance for a whole text ([`Value::write_json`]): writes are index checks,
/// and strings up to 16 bytes are copied with at most two word moves instead of a call.
struct Reserved<'b> {
    buf: &'b mut [u8],
    pos: usize,
}

impl Sink for Reserved<'_> {
    // inlined in optimized builds only: the recursive writer's frame must stay small in
    // debug builds, where every inlined copy keeps its own stack slots (12 KiB a level)
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn push(&mut self, byte: u8) {
        self.buf[self.pos] = byte;
        self.pos += 1;
    }

    // inlined in optimized builds only: the recursive writer's frame must stay small in
    // debug builds, where every inlined copy keeps its own stack slots (12 KiB a level)
    #[cfg_attr(not(debug_assertions), inline(always))]
    fn put(&mut self, bytes: &[u8]) {
        let n = bytes.len();
        let to = &mut self.buf[self.pos..self.pos + n];
        if (8..=16).contains(&n) {
            // two overlapping 8-byte moves cover 8..=16 bytes
            to[..8].copy_from_slice(&bytes[..8]);
            to[n - 8..].copy_from_slice(&bytes[n - 8..]);
        } else if (4..8).contains(&n) {
            to[..4].copy_from_slice(&bytes[..4]);
            to[n - 4..].copy_from_slice(&bytes[n - 4..]);
        } else if n < 4 {
            for (to, from) in to.iter_mut().zip(bytes) {
                *to = *from;
            }
        } else {
            to.copy_from_slice(bytes);
        }
        self.pos += n;
    }
}

/// For each byte, how a JSON string writes it: 0 as itself, `u` as `\u00XX`, any other
/// letter `c` as `\c`.
static ESCAPES: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut b = 0;
    while b < 0x20 {
        table[b] = b'u';
        b += 1;
    }
    table[b'"' as usize] = b'"';
    table[b'\\' as usize] = b'\\';
    table[b'\n' as usize] = b'n';
    table[b'\r' as usize] = b'r';
    table[b'\t' as usize] = b't';
    table[0x08] = b'b';
    table[0x0c] = b'f';
    table
};

fn json_string_len(s: &str) -> usize {
    2 + s
        .bytes()
        .map(|b| match ESCAPES[b as usize] {
            0 => 1,
            b'u' => 6,
            _ => 2,
        })
        .sum::<usize>()
}

/// An error in JSON text, with its line and column.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} at line {line} column {column}")]
pub struct ParseError {
    /// What is wrong.
    pub message: String,
    /// 1-based line.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
}

/// Parses JSON text into the arena. Strings without escapes are borrowed from `text`.
/// Duplicate keys: the last one wins, as in Jackson (which AWS uses).
pub fn parse<'a>(arena: &'a Arena, text: &'a str) -> Result<Value<'a>, ParseError> {
    match text::parse_fast(arena, text) {
        Some(value) => Ok(value),
        None => parse_with_serde(arena, text),
    }
}

/// [`parse`], also keeping the text of each object and array that
/// [`Value::write_json`] would write back byte for byte (no whitespace, escape, duplicate
/// key or number spelled another way inside), for [`Value::write_json_from`].
pub fn parse_keeping_text<'a>(arena: &'a Arena, text: &'a str) -> Result<(Value<'a>, SourceText<'a>), ParseError> {
    match text::parse_fast_keeping_text(arena, text) {
        Some((value, source)) => Ok((value, source)),
        None => parse_with_serde(arena, text).map(|value| (value, SourceText::NONE)),
    }
}

/// [`parse`] by serde_json: the reference the fast reader agrees with, and the source of
/// error positions.
fn parse_with_serde<'a>(arena: &'a Arena, text: &'a str) -> Result<Value<'a>, ParseError> {
    let mut de = serde_json::Deserializer::from_str(text);
    let value = ValueSeed { arena }
        .deserialize(&mut de)
        .map_err(|e| to_parse_error(&e))?;
    de.end().map_err(|e| to_parse_error(&e))?;
    Ok(value)
}

fn to_parse_error(e: &serde_json::Error) -> ParseError {
    let text = e.to_string();
    let message = match text.rfind(" at line ") {
        Some(i) => text[..i].to_string(),
        None => text,
    };
    ParseError {
        message,
        line: e.line(),
        column: e.column(),
    }
}

/// Deserializes any serde data format into an arena [`Value`].
#[derive(Clone, Copy)]
pub struct ValueSeed<'a> {
    /// Where arrays, objects and copied strings go.
    pub arena: &'a Arena,
}

impl<'de: 'a, 'a> DeserializeSeed<'de> for ValueSeed<'a> {
    type Value = Value<'a>;
    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Value<'a>, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de: 'a, 'a> Visitor<'de> for ValueSeed<'a> {
    type Value = Value<'a>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_unit<E>(self) -> Result<Value<'a>, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value<'a>, E> {
        Ok(Value::Null)
    }
    fn visit_bool<E>(self, b: bool) -> Result<Value<'a>, E> {
        Ok(Value::Bool(b))
    }
    fn visit_i64<E>(self, i: i64) -> Result<Value<'a>, E> {
        Ok(Value::int(i))
    }
    fn visit_u64<E>(self, u: u64) -> Result<Value<'a>, E> {
        Ok(match i64::try_from(u) {
            Ok(i) => Value::int(i),
            Err(_) => Value::float(u as f64),
        })
    }
    fn visit_f64<E>(self, f: f64) -> Result<Value<'a>, E> {
        Ok(Value::float(f))
    }
    fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Value<'a>, E> {
        Ok(Value::String(s))
    }
    fn visit_str<E>(self, s: &str) -> Result<Value<'a>, E> {
        Ok(Value::String(self.arena.alloc_str(s)))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value<'a>, A::Error> {
        let mut items = BumpVec::with_capacity_in(seq.size_hint().unwrap_or(4), self.arena);
        while let Some(item) = seq.next_element_seed(self)? {
            items.push(item);
        }
        Ok(Value::array(items.into_bump_slice()))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value<'a>, A::Error> {
        let mut members: BumpVec<'a, Member<'a>> = BumpVec::with_capacity_in(map.size_hint().unwrap_or(8), self.arena);
        let mut keys = KeyIndex::default();
        while let Some(key) = map.next_key_seed(KeySeed { arena: self.arena })? {
            let value = map.next_value_seed(self)?;
            match keys.position(&members, key) {
                Some(at) => members[at].1 = value,
                None => {
                    members.push((key, value));
                    keys.appended(&members);
                }
            }
        }
        Ok(Value::object(members.into_bump_slice()))
    }
}

/// Deserializes an object key, borrowing it from the input where possible.
#[derive(Clone, Copy)]
struct KeySeed<'a> {
    arena: &'a Arena,
}

impl<'de: 'a, 'a> DeserializeSeed<'de> for KeySeed<'a> {
    type Value = &'a str;
    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<&'a str, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de: 'a, 'a> Visitor<'de> for KeySeed<'a> {
    type Value = &'a str;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }
    fn visit_borrowed_str<E>(self, s: &'de str) -> Result<&'a str, E> {
        Ok(s)
    }
    fn visit_str<E>(self, s: &str) -> Result<&'a str, E> {
        Ok(self.arena.alloc_str(s))
    }
}

/// Builds arrays and objects in an arena.
pub trait ArenaExt {
    /// An array of the given items.
    fn array<'a>(&'a self, items: &[Value<'a>]) -> Value<'a>;
    /// An object of the given members (keys must be unique).
    fn object<'a>(&'a self, members: &[Member<'a>]) -> Value<'a>;
    /// A string copied into the arena.
    fn string<'a>(&'a self, s: &str) -> Value<'a>;
}

impl ArenaExt for Arena {
    fn array<'a>(&'a self, items: &[Value<'a>]) -> Value<'a> {
        Value::array(self.alloc_slice_copy(items))
    }
    fn object<'a>(&'a self, members: &[Member<'a>]) -> Value<'a> {
        Value::object(self.alloc_slice_copy(members))
    }
    fn string<'a>(&'a self, s: &str) -> Value<'a> {
        Value::String(self.alloc_str(s))
    }
}

/// Whether two object keys are equal. Keys are short: comparing them inline (with at most two
/// loads each, up to 16 bytes) is several times cheaper than a `memcmp` call, and interned keys
/// compare by address.
#[inline]
pub fn key_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    if std::ptr::eq(a.as_ptr(), b.as_ptr()) {
        return true;
    }
    let n = a.len();
    // two overlapping word loads cover any length in 4..=16: no loop, no call
    if n >= 8 {
        if n > 16 {
            return a == b;
        }
        word8(a, 0) == word8(b, 0) && word8(a, n - 8) == word8(b, n - 8)
    } else if n >= 4 {
        word4(a, 0) == word4(b, 0) && word4(a, n - 4) == word4(b, n - 4)
    } else if n >= 2 {
        // two overlapping two-byte loads cover 2..=3
        word2(a, 0) == word2(b, 0) && word2(a, n - 2) == word2(b, n - 2)
    } else {
        a.first() == b.first()
    }
}

#[inline(always)]
fn word2(s: &[u8], at: usize) -> u16 {
    let mut w = [0u8; 2];
    w.copy_from_slice(&s[at..at + 2]);
    u16::from_ne_bytes(w)
}

#[inline(always)]
fn word8(s: &[u8], at: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&s[at..at + 8]);
    u64::from_ne_bytes(w)
}

#[inline(always)]
fn word4(s: &[u8], at: usize) -> u32 {
    let mut w = [0u8; 4];
    w.copy_from_slice(&s[at..at + 4]);
    u32::from_ne_bytes(w)
}

/// The position of `key` among `members`.
#[inline]
pub fn find_member(members: &[Member<'_>], key: &str) -> Option<usize> {
    members.iter().position(|(k, _)| key_eq(k, key))
}

/// Returns `object` with `key` set to `value` (replaced in a copy if present, appended if
/// not, in place when `object` is the one `arena` last extended: see
/// [`Arena::append_member`]), sharing everything else. A value that is not an object counts
/// as `{}`.
#[inline(always)]
pub fn with_member<'a>(arena: &'a Arena, object: Value<'a>, key: &'a str, value: Value<'a>) -> Value<'a> {
    let (members, bound) = match object {
        Value::Object(members, bound) => (members, bound),
        _ => (&[][..], SizeBound::EMPTY),
    };
    // The append is `with_member_at`'s `None` case, here so that it inlines into callers.
    match find_member(members, key) {
        None => Value::Object(arena.append_member(members, (key, value)), bound.appended(key, value)),
        at => with_member_at(arena, members, bound, at, key, value),
    }
}

/// `members` with `member` after them, copied into a new slice of exactly that length.
#[inline]
fn appended_copy<'a>(arena: &'a Arena, members: &'a [Member<'a>], member: Member<'a>) -> &'a [Member<'a>] {
    let mut out = BumpVec::with_capacity_in(members.len() + 1, arena);
    out.extend_from_slice_copy(members);
    out.push(member);
    out.into_bump_slice()
}

/// [`with_member`] on an object's `members` and `bound` when the caller already knows where
/// `key` is (`at`), or that it is absent. The new bound is the old one adjusted for the
/// changed member, so this costs no walk over the other members.
pub fn with_member_at<'a>(
    arena: &'a Arena,
    members: &'a [Member<'a>],
    bound: SizeBound,
    at: Option<usize>,
    key: &'a str,
    value: Value<'a>,
) -> Value<'a> {
    match at {
        Some(i) => {
            let out = arena.alloc_slice_copy(members);
            let old = std::mem::replace(&mut out[i].1, value);
            if value.depth_u16() < old.depth_u16() && old.depth_u16().saturating_add(1) >= bound.depth {
                // the deepest member made shallower: the object's depth may shrink
                return Value::object(out);
            }
            Value::Object(out, bound.replaced(old, value))
        }
        None => Value::Object(arena.append_member(members, (key, value)), bound.appended(key, value)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(text: &str) -> String {
        let arena = Arena::new();
        parse(&arena, text).unwrap().to_json_string()
    }

    #[test]
    fn parses_and_prints_compactly() {
        assert_eq!(
            roundtrip(r#" { "a" : [1, 2.5, "x\"y", null, true], "b": {} } "#),
            r#"{"a":[1,2.5,"x\"y",null,true],"b":{}}"#
        );
    }

    #[test]
    fn keeps_float_spelling() {
        assert_eq!(
            roundtrip("[1.0, 10.0, 0.5, -0.0, 1e7, 1.5e-7, 12345678.9]"),
            "[1.0,10.0,0.5,-0.0,1.0E7,1.5E-7,1.23456789E7]"
        );
    }

    #[test]
    fn borrows_unescaped_strings() {
        let arena = Arena::new();
        let text = r#"{"key":"plain"}"#;
        let v = parse(&arena, text).unwrap();
        let s = v.get("key").unwrap().as_str().unwrap();
        assert!(text.as_bytes().as_ptr_range().contains(&s.as_ptr()));
    }

    #[test]
    fn key_eq_matches_string_equality() {
        let text = "abcdefghijklmnopqrstuvwxyz";
        for n in 0..=20 {
            let a = &text[..n];
            let same = a.to_string();
            assert!(key_eq(a, &same), "{a}");
            for i in 0..n {
                let mut other = a.as_bytes().to_vec();
                other[i] = b'_';
                let other = String::from_utf8(other).unwrap();
                assert!(!key_eq(a, &other), "{a} {other}");
            }
            assert!(!key_eq(a, &text[..n + 1]));
        }
    }

    #[test]
    fn the_arena_grows_the_last_object_in_place_and_copies_any_other() {
        let arena = Arena::new();
        let text = |members: &[Member<'_>]| Value::object(members).to_json_string();
        let input = parse(&arena, r#"{"x":0}"#).unwrap();
        let Value::Object(x, _) = input else { unreachable!() };
        // the first append copies the input into a new allocation with room to grow
        let a = arena.append_member(x, ("a", Value::int(1)));
        assert!(!std::ptr::eq(a.as_ptr(), x.as_ptr()));
        // the next ones to the object just made write after it
        let b = arena.append_member(a, ("b", Value::int(2)));
        assert!(std::ptr::eq(b.as_ptr(), a.as_ptr()));
        let c = arena.append_member(b, ("c", Value::int(3)));
        assert!(std::ptr::eq(c.as_ptr(), a.as_ptr()));
        // an older object (shorter than the last one) is copied: nothing handed out changes
        let other = arena.append_member(a, ("z", Value::int(9)));
        assert!(!std::ptr::eq(other.as_ptr(), a.as_ptr()));
        // so is a shorter prefix of the last one
        let prefix = arena.append_member(&c[..2], ("y", Value::int(7)));
        assert!(!std::ptr::eq(prefix.as_ptr(), c.as_ptr()));
        assert_eq!(text(x), r#"{"x":0}"#);
        assert_eq!(text(a), r#"{"x":0,"a":1}"#);
        assert_eq!(text(b), r#"{"x":0,"a":1,"b":2}"#);
        assert_eq!(text(c), r#"{"x":0,"a":1,"b":2,"c":3}"#);
        assert_eq!(text(other), r#"{"x":0,"a":1,"z":9}"#);
        assert_eq!(text(prefix), r#"{"x":0,"a":1,"y":7}"#);
        // the arena now follows the last copy; the objects it left keep their members
        let grown = arena.append_member(prefix, ("w", Value::int(8)));
        assert!(std::ptr::eq(grown.as_ptr(), prefix.as_ptr()));
        let after = arena.append_member(c, ("d", Value::int(4)));
        assert_eq!(text(c), r#"{"x":0,"a":1,"b":2,"c":3}"#);
        assert_eq!(text(other), r#"{"x":0,"a":1,"z":9}"#);
        assert_eq!(text(after), r#"{"x":0,"a":1,"b":2,"c":3,"d":4}"#);
        assert_eq!(text(grown), r#"{"x":0,"a":1,"y":7,"w":8}"#);
        // many appends to the last object: the room doubles, every object stays as made
        let mut objects = vec![after];
        for i in 0..40 {
            let last = *objects.last().unwrap();
            objects.push(arena.append_member(last, (arena.alloc_str(&format!("k{i}")), Value::int(i))));
        }
        for (n, object) in objects.iter().enumerate() {
            assert_eq!(object.len(), 5 + n);
            assert_eq!(
                object[object.len() - 1].1,
                if n == 0 {
                    Value::int(4)
                } else {
                    Value::int(n as i64 - 1)
                }
            );
        }
    }

    #[test]
    fn a_reset_arena_starts_without_room() {
        let mut arena = Arena::new();
        let first = arena.append_member(&[], ("a", Value::int(1))).as_ptr() as usize;
        arena.reset();
        // after the reset the same memory holds another object, as long as the room was
        let members: Vec<Member<'_>> = (0..MIN_ROOM as i64).map(|i| ("p", Value::int(i))).collect();
        let reused = arena.alloc_slice_copy(&members);
        assert_eq!(
            reused.as_ptr() as usize,
            first,
            "the reset arena reuses its chunk from the top"
        );
        let grown = arena.append_member(&reused[..1], ("r", Value::int(3)));
        assert!(!std::ptr::eq(grown.as_ptr(), reused.as_ptr()));
        assert_eq!(reused[1], ("p", Value::int(1)));
        assert_eq!(Value::object(grown).to_json_string(), r#"{"p":0,"r":3}"#);
    }

    #[test]
    fn with_member_replaces_present_keys_and_keeps_the_bound() {
        let arena = Arena::new();
        let object = parse(&arena, r#"{"a":1,"b":"x"}"#).unwrap();
        for (key, value, expected) in [
            ("c", Value::Bool(true), r#"{"a":1,"b":"x","c":true}"#),
            ("a", Value::Null, r#"{"a":null,"b":"x"}"#),
        ] {
            let set = with_member(&arena, object, key, value);
            assert_eq!(set.to_json_string(), expected);
            let Value::Object(members, bound) = set else {
                unreachable!()
            };
            assert_eq!(bound, SizeBound::of_members(members));
        }
    }

    #[test]
    fn duplicate_keys_last_wins() {
        assert_eq!(roundtrip(r#"{"a":1,"b":2,"a":3}"#), r#"{"a":3,"b":2}"#);
    }

    #[test]
    fn equality_is_by_value() {
        let arena = Arena::new();
        let a = parse(&arena, r#"{"x":1,"y":[1.0]}"#).unwrap();
        let b = parse(&arena, r#"{"y":[1],"x":1.0}"#).unwrap();
        assert_eq!(a, b);
        assert_ne!(a, parse(&arena, r#"{"y":[1],"x":2}"#).unwrap());
    }

    #[test]
    fn json_len_matches_text() {
        let arena = Arena::new();
        for text in [
            r#"{"a":[1,2.5,"x\"y\u0001",null,true,false],"b":{}}"#,
            "[]",
            "\"\\n\"",
            "-12",
        ] {
            let v = parse(&arena, text).unwrap();
            assert_eq!(v.json_len(), v.to_json_string().len(), "{text}");
        }
    }

    #[test]
    fn short_decimals_print_as_ryu_prints_them() {
        let mut state = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut samples = vec![
            0.001,
            0.1,
            0.3,
            1.0,
            42.5,
            16.25,
            9_999_999.999_999,
            1234567.0,
            0.0015,
            2.675,
        ];
        for _ in 0..200_000 {
            let r = next();
            let decimals = (r % 7) as i32;
            let int = (next() % 10_000_000) as f64;
            samples.push((int + (next() % 1_000_000) as f64 / 1e6) / 10f64.powi(decimals));
            samples.push(f64::from_bits(0x3F50_0000_0000_0000 + r % 0x0120_0000_0000_0000));
        }
        let mut fast = 0;
        for f in samples.into_iter().filter(|f| (1e-3..1e7).contains(f)) {
            for f in [f, -f] {
                let mut out = Vec::new();
                if write_short_decimal(f, &mut out) {
                    fast += 1;
                    let mut buf = ryu::Buffer::new();
                    let text = buf.format_finite(f);
                    let expected = if text.contains('.') {
                        text.to_string()
                    } else {
                        format!("{text}.0")
                    };
                    assert_eq!(String::from_utf8(out).unwrap(), expected, "{f:e}");
                }
            }
        }
        assert!(fast > 50_000, "only {fast} samples took the short path");
    }

    #[test]
    fn small_and_large_values_print_as_serde_json_prints_them() {
        // Below and above the size written into reserved room: both writers agree with serde.
        for count in [3, 30_000] {
            let items: Vec<serde_json::Value> = (0..count)
                .map(|i| serde_json::json!({"k\u{1}": format!("v\"{i}\\é\n"), "n": i, "f": i as f64 / 8.0, "b": null}))
                .collect();
            let json = serde_json::Value::Array(items);
            let arena = Arena::new();
            let value = Value::from_serde(&arena, &json);
            assert_eq!(value.bound_u64() > 1 << 16, count > 3);
            let mut out = b"prefix".to_vec();
            value.write_json(&mut out);
            assert_eq!(&out[..6], b"prefix");
            let ours: serde_json::Value = serde_json::from_slice(&out[6..]).unwrap();
            assert_eq!(ours, json);
            assert_eq!(out.len() - 6, value.json_len());
        }
    }

    #[test]
    fn size_bound_covers_the_text_however_the_value_was_built() {
        let arena = Arena::new();
        let text = r#"{"a":[1,-2.5e-300,"x\"y\u0001",null,true,false],"b":{},"c":-9223372036854775808}"#;
        let parsed = parse(&arena, text).unwrap();
        let values = [
            parsed,
            Value::from_serde(&arena, &serde_json::from_str(text).unwrap()),
            parsed.copy_into(&arena),
            with_member(&arena, parsed, "a", Value::String("\u{1}\u{1}")),
            with_member(&arena, parsed, "new", parsed),
            arena.array(&[parsed, parsed, Value::EMPTY_OBJECT]),
            Value::EMPTY_OBJECT,
        ];
        for v in values {
            let (exact, bound) = (v.to_json_string().len() as u64, v.bound_u64());
            assert!(bound >= exact, "{bound} < {exact} for {v:?}");
            assert!(!v.json_len_exceeds(exact as usize));
            assert!(v.json_len_exceeds(exact as usize - 1));
        }
    }

    #[test]
    fn reports_position_of_bad_json() {
        let arena = Arena::new();
        let err = parse(&arena, "{\n \"a\": }").unwrap_err();
        assert_eq!((err.line, err.column), (2, 7));
    }

    #[test]
    fn with_member_replaces_or_appends() {
        let arena = Arena::new();
        let v = parse(&arena, r#"{"a":1,"b":2}"#).unwrap();
        assert_eq!(
            with_member(&arena, v, "b", Value::int(5)).to_json_string(),
            r#"{"a":1,"b":5}"#
        );
        assert_eq!(
            with_member(&arena, v, "c", Value::Null).to_json_string(),
            r#"{"a":1,"b":2,"c":null}"#
        );
    }
}
