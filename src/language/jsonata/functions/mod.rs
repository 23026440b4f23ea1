//! The standard library: the table of built-in functions (name, signature, JavaScript
//! arity) and the dispatcher that validates arguments and runs them.

mod array;
mod hof;
mod numeric;
mod object;
mod sfn;
mod string;

use std::sync::OnceLock;

use super::error::Error;
use super::eval::{Args, Ctx, R};
use super::signature::Signature;
use super::value::{Env, Func, Val};
use crate::value::Arena;

pub use object::merge;
pub use string::{regex_match_object, to_string};

macro_rules! builtins {
    ($($variant:ident $name:literal $sig:literal $arity:literal,)*) => {
        /// A built-in function.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Builtin {
            $(
                #[doc = concat!("`$", $name, "`")]
                $variant,
            )*
        }

        const ALL: &[Builtin] = &[$(Builtin::$variant,)*];

        impl Builtin {
            /// The function's name (without `$`).
            pub fn name(self) -> &'static str {
                match self { $(Builtin::$variant => $name,)* }
            }
            /// The signature text.
            pub fn signature_text(self) -> &'static str {
                match self { $(Builtin::$variant => $sig,)* }
            }
            /// The arity of the jsonata-js implementation (what higher-order functions see).
            pub fn arity(self) -> usize {
                match self { $(Builtin::$variant => $arity,)* }
            }
            /// The built-in with this name.
            pub fn by_name(name: &str) -> Option<Builtin> {
                match name { $($name => Some(Builtin::$variant),)* _ => None }
            }
        }
    };
}

builtins! {
    Sum "sum" "<a<n>:n>" 1,
    Count "count" "<a:n>" 1,
    Max "max" "<a<n>:n>" 1,
    Min "min" "<a<n>:n>" 1,
    Average "average" "<a<n>:n>" 1,
    String "string" "<x-b?:s>" 1,
    Substring "substring" "<s-nn?:s>" 3,
    SubstringBefore "substringBefore" "<s-s:s>" 2,
    SubstringAfter "substringAfter" "<s-s:s>" 2,
    Lowercase "lowercase" "<s-:s>" 1,
    Uppercase "uppercase" "<s-:s>" 1,
    Length "length" "<s-:n>" 1,
    Trim "trim" "<s-:s>" 1,
    Pad "pad" "<s-ns?:s>" 3,
    Match "match" "<s-f<s:o>n?:a<o>>" 3,
    Contains "contains" "<s-(sf):b>" 2,
    Replace "replace" "<s-(sf)(sf)n?:s>" 4,
    Split "split" "<s-(sf)n?:a<s>>" 3,
    Join "join" "<a<s>s?:s>" 2,
    FormatNumber "formatNumber" "<n-so?:s>" 3,
    FormatBase "formatBase" "<n-n?:s>" 2,
    FormatInteger "formatInteger" "<n-s:s>" 2,
    ParseInteger "parseInteger" "<s-s:n>" 2,
    Number "number" "<(nsb)-:n>" 1,
    Floor "floor" "<n-:n>" 1,
    Ceil "ceil" "<n-:n>" 1,
    Round "round" "<n-n?:n>" 2,
    Abs "abs" "<n-:n>" 1,
    Sqrt "sqrt" "<n-:n>" 1,
    Power "power" "<n-n:n>" 2,
    Random "random" "<n?:n>" 0,
    Boolean "boolean" "<x-:b>" 1,
    Not "not" "<x-:b>" 1,
    Map "map" "<af>" 2,
    Zip "zip" "<a+>" 0,
    Filter "filter" "<af>" 2,
    Single "single" "<af?>" 2,
    Reduce "reduce" "<afj?:j>" 3,
    Sift "sift" "<o-f?:o>" 2,
    Keys "keys" "<x-:a<s>>" 1,
    Lookup "lookup" "<x-s:x>" 2,
    Append "append" "<xx:a>" 2,
    Exists "exists" "<x:b>" 1,
    Spread "spread" "<x-:a<o>>" 1,
    Merge "merge" "<a<o>:o>" 1,
    Reverse "reverse" "<a:a>" 1,
    Each "each" "<o-f:a>" 2,
    Error "error" "<s?:x>" 1,
    Assert "assert" "<bs?:x>" 2,
    Type "type" "<x:s>" 1,
    Sort "sort" "<af?:a>" 2,
    Shuffle "shuffle" "<a:a>" 1,
    Distinct "distinct" "<x:x>" 1,
    Base64Encode "base64encode" "<s-:s>" 1,
    Base64Decode "base64decode" "<s-:s>" 1,
    EncodeUrlComponent "encodeUrlComponent" "<s-:s>" 1,
    EncodeUrl "encodeUrl" "<s-:s>" 1,
    DecodeUrlComponent "decodeUrlComponent" "<s-:s>" 1,
    DecodeUrl "decodeUrl" "<s-:s>" 1,
    Eval "eval" "<sx?:x>" 2,
    ToMillis "toMillis" "<s-s?:n>" 2,
    FromMillis "fromMillis" "<n-s?s?:s>" 3,
    Clone "clone" "<(oa)-:o>" 1,
    Now "now" "<s?s?:s>" 2,
    Millis "millis" "<:n>" 0,
    Partition "partition" "<an:a>" 2,
    Range "range" "<nnn?:a>" 3,
    Hash "hash" "<ss?:s>" 2,
    Uuid "uuid" "<:s>" 0,
    Parse "parse" "<s:x>" 1,
}

fn signatures() -> &'static [Signature] {
    static SIGS: OnceLock<Vec<Signature>> = OnceLock::new();
    SIGS.get_or_init(|| {
        ALL.iter()
            .map(|b| {
                Signature::parse(b.signature_text(), 0)
                    .unwrap_or_else(|_| Signature::parse("<x*>", 0).expect("fallback signature parses"))
            })
            .collect()
    })
}

/// A function value for a built-in.
pub fn builtin_value<'a>(arena: &'a Arena, b: Builtin) -> &'a Func<'a> {
    arena.alloc(Func::Builtin(b))
}

/// The arity a higher-order function sees for a function value.
pub fn arity(f: Val<'_>) -> usize {
    match f {
        Val::Func(Func::Lambda { def, .. }) => def.params.len(),
        Val::Func(Func::Builtin(b)) => b.arity(),
        Val::Func(Func::Partial { args, .. }) => args.iter().filter(|a| a.is_none()).count(),
        Val::Func(Func::Regex(_)) => 2,
        Val::Func(Func::Transform { .. }) | Val::Func(Func::Chain { .. }) => 1,
        _ => 0,
    }
}

/// Validates the arguments of built-in `b` and runs it.
pub fn call<'a>(ctx: &Ctx<'a, '_>, b: Builtin, args: &[Val<'a>], input: Val<'a>, env: &'a Env<'a>) -> R<'a> {
    let args: Args<'a> = match (b, args) {
        // `$merge` of an array of objects, what signature validation would accept as is
        (Builtin::Merge, [list]) if list.is_array() && list.iter().all(|o| o.is_object()) => Args::from_slice(args),
        _ => ctx.validate(&signatures()[b as usize], args, input)?,
    };
    let a = |i: usize| args.get(i).copied().unwrap_or(Val::Undef);
    use Builtin as B;
    match b {
        B::Sum | B::Max | B::Min | B::Average => numeric::aggregate(b, a(0)),
        B::Count => Ok(Val::Num(match a(0) {
            Val::Undef => 0.0,
            v if v.is_array() => v.len() as f64,
            _ => 1.0,
        })),
        B::String
        | B::Substring
        | B::SubstringBefore
        | B::SubstringAfter
        | B::Lowercase
        | B::Uppercase
        | B::Length
        | B::Trim
        | B::Pad
        | B::Join
        | B::Base64Encode
        | B::Base64Decode
        | B::EncodeUrlComponent
        | B::EncodeUrl
        | B::DecodeUrlComponent
        | B::DecodeUrl => string::call(ctx, b, &args),
        B::Match | B::Contains | B::Replace | B::Split => string::call_matcher(ctx, b, &args, env),
        B::FormatNumber | B::FormatBase | B::FormatInteger | B::ParseInteger => super::format::call(ctx, b, &args),
        B::Number | B::Floor | B::Ceil | B::Round | B::Abs | B::Sqrt | B::Power | B::Random => numeric::call(b, &args),
        B::Boolean => Ok(super::value::truthy(a(0)).map(Val::Bool).unwrap_or(Val::Undef)),
        B::Not => Ok(super::value::truthy(a(0)).map(|v| Val::Bool(!v)).unwrap_or(Val::Undef)),
        B::Exists => Ok(Val::Bool(!a(0).is_undef())),
        B::Map | B::Filter | B::Single | B::Reduce | B::Sift | B::Each | B::Sort => hof::call(ctx, b, &args, env),
        B::Zip | B::Append | B::Reverse | B::Shuffle | B::Distinct | B::Partition | B::Range => {
            array::call(ctx, b, &args)
        }
        B::Keys | B::Lookup | B::Spread | B::Merge | B::Type | B::Clone => object::call(ctx, b, &args),
        B::Error => Err(Error::new("D3137").message(match a(0) {
            Val::Str(s) => s.to_string(),
            _ => "$error() function evaluated".to_string(),
        })),
        B::Assert => {
            if super::value::truthy(a(0)) == Some(true) {
                Ok(Val::Undef)
            } else {
                Err(Error::new("D3141").message(match a(1) {
                    Val::Str(s) => s.to_string(),
                    _ => "$assert() statement failed".to_string(),
                }))
            }
        }
        B::Eval => eval_function(ctx, a(0), a(1), input, env),
        B::ToMillis | B::FromMillis | B::Now | B::Millis => super::datetime::call(ctx, b, &args),
        B::Hash | B::Uuid | B::Parse => sfn::call(ctx, b, &args),
    }
}

/// `$eval(expr, focus)`.
fn eval_function<'a>(ctx: &Ctx<'a, '_>, expr: Val<'a>, focus: Val<'a>, input: Val<'a>, env: &'a Env<'a>) -> R<'a> {
    let Val::Str(text) = expr else {
        return Ok(Val::Undef);
    };
    let mut input = input;
    if !focus.is_undef() {
        input = focus;
        input = super::value::wrap_document(ctx.arena, input);
    }
    let node = super::parser::parse(text).map_err(|e| {
        let msg = e.clone().into_public().message;
        Error::new("D3120").value(super::error::json_quote(&msg))
    })?;
    let boxed = Box::new(node);
    let ptr: *const super::ast::Node = &*boxed;
    ctx.evals.borrow_mut().push(boxed);
    // SAFETY: the node is owned by `ctx.evals`, which is neither shrunk nor dropped before
    // the evaluation that `ctx` belongs to ends; the boxed node never moves. Values that
    // borrow from it are deep-copied into the arena before `evaluate` returns.
    let node: &'a super::ast::Node = unsafe { &*ptr };
    ctx.eval(node, input, env).map_err(|e| {
        let msg = e.clone().into_public().message;
        Error::new("D3121").value(super::error::json_quote(&msg))
    })
}

/// Calls a function value with `args` trimmed to its arity (jsonata-js `hofFuncArgs`).
pub fn call_hof<'a>(ctx: &Ctx<'a, '_>, f: Val<'a>, args: &[Val<'a>], env: &'a Env<'a>) -> R<'a> {
    let n = arity(f).max(1).min(args.len());
    let list: Args<'a> = args[..n].iter().copied().collect();
    ctx.apply(f, list, Val::Undef, env)
}

/// jsonata-js `$round` (half to even at a decimal precision).
pub fn numeric_round(x: f64, precision: Option<f64>) -> f64 {
    numeric::round(x, precision)
}

/// `$round(x)` to an integer, half to even.
pub fn round_half_even(x: f64) -> f64 {
    numeric::round(x, None)
}
