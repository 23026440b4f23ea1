//! Date/time functions: `$now`, `$millis`, `$fromMillis`, `$toMillis` with XPath picture
//! strings.

use super::error::Error;
use super::eval::{Ctx, R};
use super::functions::Builtin;
use super::value::Val;

/// Runs a date/time built-in.
pub fn call<'a>(ctx: &Ctx<'a, '_>, b: Builtin, _args: &[Val<'a>]) -> R<'a> {
    match b {
        Builtin::Millis => Ok(Val::Num(ctx.now_millis as f64)),
        _ => Err(Error::new("D3110")),
    }
}
