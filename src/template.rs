//! STUB (replaced by the expression layer): payload templates.
use crate::consts::Constants;
use crate::error::EvalError;
use crate::path::Path;
use crate::scope::Scope;
use crate::value::{Arena, Value};

/// A compiled payload template.
#[derive(Debug)]
pub struct Template {
    value: Value<'static>,
}
/// A template compile error.
#[derive(Debug, Clone)]
pub struct TemplateError {
    /// Message.
    pub message: String,
}
impl Template {
    /// Compiles a template.
    pub fn compile(
        json: &serde_json::Value,
        consts: &mut Constants,
    ) -> Result<Template, TemplateError> {
        Ok(Template {
            value: consts.json(json),
        })
    }
    /// Evaluates.
    pub fn eval<'a>(
        &'a self,
        _arena: &'a Arena,
        _scope: &Scope<'a>,
    ) -> Result<Value<'a>, EvalError> {
        Ok(self.value)
    }
}
/// A reference path or an intrinsic call.
#[derive(Debug)]
pub enum PathOrCall {
    /// A path.
    Path(Path),
}
impl PathOrCall {
    /// Parses.
    pub fn parse(text: &str, _consts: &mut Constants) -> Result<PathOrCall, TemplateError> {
        Path::parse(text)
            .map(PathOrCall::Path)
            .map_err(|e| TemplateError { message: e.message })
    }
    /// Evaluates.
    pub fn eval<'a>(&'a self, arena: &'a Arena, scope: &Scope<'a>) -> Result<Value<'a>, EvalError> {
        match self {
            PathOrCall::Path(p) => Ok(p.eval(arena, scope)?),
        }
    }
}
