//! Number formatting: `$formatNumber`, `$formatBase`, `$formatInteger`, `$parseInteger`.

use super::error::Error;
use super::eval::{Ctx, R};
use super::functions::Builtin;
use super::value::Val;

/// Runs a formatting built-in.
pub fn call<'a>(_ctx: &Ctx<'a, '_>, _b: Builtin, _args: &[Val<'a>]) -> R<'a> {
    Err(Error::new("D3130"))
}
