//! Definitions as people write them: Amazon States Language in JSON or YAML files, `${Name}`
//! placeholders filled from substitutions (as SAM's and CloudFormation's
//! `DefinitionSubstitutions`, CDK and Terraform's `templatefile` fill them at deploy time), and
//! state machines read straight out of SAM or CloudFormation templates.
//!
//! Every problem is located in the file as written: diagnostics of a YAML definition or of a
//! template's `Definition` point at their line and column there, and filling placeholders moves
//! nothing.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde_json::{Map, Value as Json};

use crate::diagnostic::{codes, line_col, location_of, repeated_keys_under, Diagnostic};
use crate::machine::{check_definition, check_definition_value, DefinitionError};
use crate::model::{MachineType, StateMachine};
use crate::program::Program;

use super::yaml;

/// Values for `${Name}` placeholders, by name.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Substitutions(pub BTreeMap<String, String>);

impl Substitutions {
    /// Reads a JSON or YAML object of name to value (strings, numbers and booleans, used as
    /// their text).
    pub fn parse(text: &str) -> Result<Substitutions, String> {
        let value = match serde_json::from_str::<Json>(text) {
            Ok(value) => value,
            Err(_) => yaml::parse(text).map_err(|e| e.to_string())?.value,
        };
        let Json::Object(members) = value else {
            return Err("expected an object of placeholder names to values".to_string());
        };
        let mut map = BTreeMap::new();
        for (name, value) in members {
            let Some(text) = scalar_text(&value) else {
                return Err(format!("/{name}: expected a string, number or boolean"));
            };
            map.insert(name, text);
        }
        Ok(Substitutions(map))
    }

    /// Reads a substitutions file.
    pub fn read(path: &Path) -> Result<Substitutions, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        Substitutions::parse(&text).map_err(|e| format!("{}: {e}", path.display()))
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }
}

/// The text a scalar stands for in a substitution.
fn scalar_text(value: &Json) -> Option<String> {
    match value {
        Json::String(s) => Some(s.clone()),
        Json::Number(n) => Some(n.to_string()),
        Json::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A problem with a definition's source, located in a file when it can be.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceProblem {
    /// The file it is in.
    pub file: PathBuf,
    /// 1-based line and column, when known.
    pub position: Option<(usize, usize)>,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for SourceProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.position {
            Some((line, column)) => write!(f, "{}:{line}:{column}: {}", self.file.display(), self.message),
            None => write!(f, "{}: {}", self.file.display(), self.message),
        }
    }
}

/// Where the nodes of a definition are in its file.
#[derive(Debug, Clone)]
enum Positions {
    /// The file is JSON text: a location is found in it, after `prefix` (the definition's
    /// place in a template).
    JsonText { prefix: String },
    /// Positions read with the YAML document, after `prefix`.
    Map {
        prefix: String,
        map: HashMap<String, (usize, usize)>,
    },
    /// The definition is text inside one string of the file (a template's
    /// `DefinitionString`): everything is reported at that string.
    At((usize, usize)),
}

/// A definition read from its file, placeholders filled.
#[derive(Debug, Clone)]
pub struct Source {
    /// The file diagnostics refer to (the template, for a template's state machine).
    pub file: PathBuf,
    /// That file's text.
    pub text: String,
    /// The definition, when it is not exactly `text` as JSON.
    value: Option<Json>,
    /// The workflow type the template declares.
    pub machine_type: Option<MachineType>,
    /// The state machine's logical id in its template.
    pub logical_id: Option<String>,
    positions: Positions,
}

/// Whether `path` names a YAML file (`.yaml`, `.yml`, `.asl.yaml`).
pub fn is_yaml(path: &Path) -> bool {
    matches!(
        path.extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref(),
        Some("yaml" | "yml")
    )
}

fn read_file(path: &Path) -> Result<String, Vec<SourceProblem>> {
    std::fs::read_to_string(path).map_err(|e| vec![problem(path, None, e.to_string())])
}

fn problem(file: &Path, position: Option<(usize, usize)>, message: String) -> SourceProblem {
    SourceProblem {
        file: file.to_path_buf(),
        position,
        message,
    }
}

impl Source {
    /// Reads a definition file (JSON, or YAML by its extension), filling its placeholders from
    /// `substitutions` when given (each one must then have a value).
    pub fn read(path: &Path, substitutions: Option<&Substitutions>) -> Result<Source, Vec<SourceProblem>> {
        let text = read_file(path)?;
        Source::from_text(path, text, substitutions)
    }

    /// A definition from its file's `text` (see [`Source::read`]).
    pub fn from_text(
        path: &Path,
        text: String,
        substitutions: Option<&Substitutions>,
    ) -> Result<Source, Vec<SourceProblem>> {
        let mut source = if is_yaml(path) {
            let document = yaml::parse(&text).map_err(|e| vec![yaml_problem(path, e)])?;
            Source {
                file: path.to_path_buf(),
                text,
                value: Some(document.value),
                machine_type: None,
                logical_id: None,
                positions: Positions::Map {
                    prefix: String::new(),
                    map: document.positions,
                },
            }
        } else {
            Source {
                file: path.to_path_buf(),
                text,
                value: None,
                machine_type: None,
                logical_id: None,
                positions: Positions::JsonText { prefix: String::new() },
            }
        };
        if let Some(substitutions) = substitutions {
            source.fill(&Placeholders::new(substitutions))?;
        }
        Ok(source)
    }

    /// Reads the state machine `logical_id` (or the template's only one) out of a SAM or
    /// CloudFormation template: its `Definition`, `DefinitionUri` (a local file) or
    /// `DefinitionString`, filled from its `DefinitionSubstitutions` and `substitutions`
    /// (which win), with the type it declares.
    pub fn from_template(
        path: &Path,
        logical_id: Option<&str>,
        substitutions: Option<&Substitutions>,
    ) -> Result<Source, Vec<SourceProblem>> {
        let text = read_file(path)?;
        let (template, positions) = if is_yaml(path) || serde_json::from_str::<Json>(&text).is_err() {
            let document = yaml::parse(&text).map_err(|e| vec![yaml_problem(path, e)])?;
            (document.value, Some(document.positions))
        } else {
            (serde_json::from_str::<Json>(&text).unwrap_or(Json::Null), None)
        };
        let at = |location: &str| -> Option<(usize, usize)> {
            if location == "/" {
                return None;
            }
            match &positions {
                Some(map) => map.get(location).copied(),
                None => line_col(&text, location),
            }
        };
        let fail = |location: &str, message: String| vec![problem(path, at(location), message)];

        let machines: Vec<(&String, &Json)> = template
            .get("Resources")
            .and_then(Json::as_object)
            .map(|resources| {
                resources
                    .iter()
                    .filter(|(_, r)| {
                        matches!(
                            r.get("Type").and_then(Json::as_str),
                            Some("AWS::Serverless::StateMachine" | "AWS::StepFunctions::StateMachine")
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        let names = || machines.iter().map(|(n, _)| n.as_str()).collect::<Vec<_>>().join(", ");
        let (id, resource) = match logical_id {
            Some(id) => match machines.iter().find(|(n, _)| n.as_str() == id) {
                Some(found) => *found,
                None if machines.is_empty() => return Err(fail("/", "the template has no state machine".into())),
                None => {
                    return Err(fail(
                        "/",
                        format!(
                            "the template has no state machine {id}; its state machines: {}",
                            names()
                        ),
                    ))
                }
            },
            None => match machines.as_slice() {
                [one] => *one,
                [] => return Err(fail("/", "the template has no state machine".into())),
                _ => {
                    return Err(fail(
                        "/",
                        format!(
                            "the template has {} state machines: choose one with --state-machine ({})",
                            machines.len(),
                            names()
                        ),
                    ))
                }
            },
        };
        let base = format!("/Resources/{id}/Properties");
        let empty = Map::new();
        let properties = resource.get("Properties").and_then(Json::as_object).unwrap_or(&empty);
        let is_sam = resource.get("Type").and_then(Json::as_str) == Some("AWS::Serverless::StateMachine");
        let type_field = if is_sam { "Type" } else { "StateMachineType" };
        let machine_type = match properties.get(type_field) {
            None => MachineType::Standard,
            Some(Json::String(t)) if t == "STANDARD" => MachineType::Standard,
            Some(Json::String(t)) if t == "EXPRESS" => MachineType::Express,
            Some(other) => {
                return Err(fail(
                    &format!("{base}/{type_field}"),
                    format!("{type_field} is {other}; expected STANDARD or EXPRESS"),
                ))
            }
        };

        // The template's substitutions: its literal values, and for values that are intrinsic
        // functions, the value --substitutions gives (else an error, when a placeholder uses it).
        let mut values = BTreeMap::new();
        let mut unresolved = BTreeMap::new();
        if let Some(Json::Object(given)) = properties.get("DefinitionSubstitutions") {
            for (name, value) in given {
                match scalar_text(value) {
                    Some(text) => {
                        values.insert(name.clone(), text);
                    }
                    None => {
                        unresolved.insert(name.clone(), describe_intrinsic(value));
                    }
                }
            }
        }
        if let Some(extra) = substitutions {
            for (name, value) in &extra.0 {
                values.insert(name.clone(), value.clone());
                unresolved.remove(name);
            }
        }
        let given = Substitutions(values);
        let placeholders = Placeholders {
            values: &given,
            unresolved: &unresolved,
        };
        // `value` (at `location`) with the intrinsic functions resolved, or every one that cannot be
        let resolve = |value: &Json, location: &str| -> Result<Json, Vec<SourceProblem>> {
            let mut problems = Vec::new();
            let resolved = resolve_intrinsics(value, location, &given, &mut |location, message| {
                problems.push(problem(path, at(location), message))
            });
            if problems.is_empty() {
                Ok(resolved)
            } else {
                Err(problems)
            }
        };

        let mut filled = false;
        let mut source = if let Some(definition) = properties.get("Definition") {
            let location = format!("{base}/Definition");
            let definition = resolve(definition, &location)?;
            Source {
                file: path.to_path_buf(),
                text: text.clone(),
                value: Some(definition),
                machine_type: Some(machine_type),
                logical_id: Some(id.clone()),
                positions: match positions {
                    Some(map) => Positions::Map { prefix: location, map },
                    None => Positions::JsonText { prefix: location },
                },
            }
        } else if let Some(uri) = properties.get("DefinitionUri") {
            let location = format!("{base}/DefinitionUri");
            let Json::String(uri) = uri else {
                return Err(fail(
                    &location,
                    "DefinitionUri is an S3 location; quickstep reads a local file: give its path".into(),
                ));
            };
            let file = path.parent().unwrap_or(Path::new(".")).join(uri);
            let mut source = Source::read(&file, None)?;
            source.machine_type = Some(machine_type);
            source.logical_id = Some(id.clone());
            source
        } else if let Some(string) = properties.get("DefinitionString") {
            let location = format!("{base}/DefinitionString");
            // `!Sub` has filled every placeholder already (and left `${!Literal}` as `${Literal}`)
            filled = string.get("Fn::Sub").is_some();
            let Json::String(definition_text) = resolve(string, &location)? else {
                return Err(fail(&location, "DefinitionString must be a string".into()));
            };
            let value = serde_json::from_str::<Json>(&definition_text).map_err(|e| {
                fail(
                    &location,
                    format!("DefinitionString is not JSON: {e} (line and column in the string)"),
                )
            })?;
            Source {
                file: path.to_path_buf(),
                text: text.clone(),
                value: Some(value),
                machine_type: Some(machine_type),
                logical_id: Some(id.clone()),
                positions: Positions::At(at(&location).unwrap_or((1, 1))),
            }
        } else if properties.contains_key("DefinitionS3Location") {
            return Err(fail(
                &format!("{base}/DefinitionS3Location"),
                "the definition is in S3 (DefinitionS3Location); quickstep reads local files: give it with a DefinitionUri or as the definition file".into(),
            ));
        } else {
            return Err(fail(
                &base,
                format!("the state machine {id} has no Definition, DefinitionUri or DefinitionString"),
            ));
        };
        if !filled {
            source.fill(&placeholders)?;
        }
        Ok(source)
    }

    /// Fills every `${Name}` placeholder in the definition's strings (keys too).
    fn fill(&mut self, placeholders: &Placeholders<'_>) -> Result<(), Vec<SourceProblem>> {
        let mut value = match self.value.take() {
            Some(value) => value,
            None => match serde_json::from_str::<Json>(&self.text) {
                Ok(value) => value,
                // not JSON: left for the definition check, which says where
                Err(_) => return Ok(()),
            },
        };
        let mut missing = Vec::new();
        fill_value(&mut value, String::new(), placeholders, &mut missing);
        self.value = Some(value);
        if missing.is_empty() {
            return Ok(());
        }
        Err(missing
            .into_iter()
            .map(|(location, message)| problem(&self.file, self.position(&location), message))
            .collect())
    }

    /// The definition as JSON (parsed from the file's text when that is the definition).
    pub fn definition(&self) -> Result<Json, String> {
        match &self.value {
            Some(value) => Ok(value.clone()),
            None => serde_json::from_str(&self.text).map_err(|e| e.to_string()),
        }
    }

    /// Parses, validates and compiles the definition with `ty`'s rules.
    pub fn check(&self, ty: MachineType) -> Result<(StateMachine, Program), DefinitionError> {
        let Some(value) = &self.value else {
            return check_definition(&self.text, ty);
        };
        let checked = check_definition_value(value, ty);
        // State names given twice in a JSON file (the parsed value keeps the last one).
        if let Positions::JsonText { prefix } = &self.positions {
            let repeated: Vec<Diagnostic> = repeated_keys_under(&self.text, "States")
                .into_iter()
                .filter_map(|(location, name)| {
                    let inner = location.strip_prefix(prefix.as_str())?;
                    Some(Diagnostic::error(
                        codes::DUPLICATE_STATE_NAME,
                        format!("Duplicate State name: {name}"),
                        Some(location_of(inner)),
                    ))
                })
                .collect();
            if !repeated.is_empty() {
                let mut diagnostics = checked.err().map(|e| e.diagnostics).unwrap_or_default();
                diagnostics.extend(repeated);
                return Err(DefinitionError { diagnostics });
            }
        }
        checked
    }

    /// The 1-based line and column in [`Source::file`] of a diagnostic's location (`/States/A`).
    pub fn position(&self, location: &str) -> Option<(usize, usize)> {
        let joined = |prefix: &str| {
            if prefix.is_empty() {
                location.to_string()
            } else if location == "/" || location.is_empty() {
                prefix.to_string()
            } else {
                format!("{prefix}{location}")
            }
        };
        match &self.positions {
            Positions::JsonText { prefix } => line_col(&self.text, &joined(prefix)),
            Positions::Map { prefix, map } => {
                // the nearest enclosing node that has a position
                let mut at = joined(prefix);
                loop {
                    if let Some(position) = map.get(&at) {
                        return Some(*position);
                    }
                    let cut = at.rfind(['/', '['])?;
                    at.truncate(cut);
                    if at.is_empty() {
                        return map.get("/").copied();
                    }
                }
            }
            Positions::At(position) => Some(*position),
        }
    }
}

/// A YAML syntax error as a located problem.
fn yaml_problem(file: &Path, e: yaml::YamlError) -> SourceProblem {
    problem(file, Some((e.line, e.column)), e.message)
}

/// The values placeholders take, and the names whose value is an intrinsic function that
/// cannot be resolved here (with its description).
struct Placeholders<'a> {
    values: &'a Substitutions,
    unresolved: &'a BTreeMap<String, String>,
}

impl<'a> Placeholders<'a> {
    fn new(values: &'a Substitutions) -> Placeholders<'a> {
        static NONE: BTreeMap<String, String> = BTreeMap::new();
        Placeholders {
            values,
            unresolved: &NONE,
        }
    }

    /// `text` with its placeholders filled, or why one cannot be.
    fn fill(&self, text: &str) -> Result<String, String> {
        substitute(text, |name| {
            match self.values.get(name) {
            Some(value) => Ok(value.to_string()),
            None => Err(match self.unresolved.get(name) {
                Some(what) => format!(
                    "the placeholder ${{{name}}} is {what} in the template's DefinitionSubstitutions, which cannot be resolved here: give {name} a value with --substitutions"
                ),
                None => format!("the placeholder ${{{name}}} has no value: give it one with --substitutions"),
            }),
        }
        })
    }
}

/// `text` with each `${name}` replaced by `value(name)`; the first error stops it.
fn substitute(text: &str, mut value: impl FnMut(&str) -> Result<String, String>) -> Result<String, String> {
    if !text.contains("${") {
        return Ok(text.to_string());
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        let Some(len) = rest[start + 2..].find('}') else {
            break;
        };
        out.push_str(&rest[..start]);
        let name = &rest[start + 2..start + 2 + len];
        out.push_str(&value(name.trim())?);
        rest = &rest[start + 2 + len + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Fills the placeholders of every string and key in `value` (at `location`), collecting
/// `(location, message)` for those that have no value.
fn fill_value(
    value: &mut Json,
    location: String,
    placeholders: &Placeholders<'_>,
    missing: &mut Vec<(String, String)>,
) {
    match value {
        Json::String(s) => match placeholders.fill(s) {
            Ok(filled) => *s = filled,
            Err(message) => missing.push((location_of(&location), message)),
        },
        Json::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                fill_value(item, format!("{location}[{i}]"), placeholders, missing);
            }
        }
        Json::Object(members) => {
            let old = std::mem::take(members);
            for (key, mut member) in old {
                let key = match placeholders.fill(&key) {
                    Ok(filled) => filled,
                    Err(message) => {
                        missing.push((format!("{location}/{key}"), message));
                        key
                    }
                };
                fill_value(&mut member, format!("{location}/{key}"), placeholders, missing);
                members.insert(key, member);
            }
        }
        _ => {}
    }
}

/// `!GetAtt Fn.Arn`-style description of an intrinsic function value.
fn describe_intrinsic(value: &Json) -> String {
    match value.as_object().and_then(|m| m.iter().next().filter(|_| m.len() == 1)) {
        Some((name, argument)) => {
            let short = name.strip_prefix("Fn::").unwrap_or(name);
            let argument = match argument {
                Json::String(s) => s.clone(),
                Json::Array(parts) if name == "Fn::GetAtt" => parts
                    .iter()
                    .map(|p| p.as_str().unwrap_or("?").to_string())
                    .collect::<Vec<_>>()
                    .join("."),
                other => other.to_string(),
            };
            format!("!{short} {argument}")
        }
        None => value.to_string(),
    }
}

/// CloudFormation's pseudo parameters, as quickstep's ARNs use them.
fn pseudo_parameter(name: &str) -> Option<&'static str> {
    Some(match name {
        "AWS::Region" => "us-east-1",
        "AWS::AccountId" => "123456789012",
        "AWS::Partition" => "aws",
        "AWS::URLSuffix" => "amazonaws.com",
        _ => return None,
    })
}

/// `value` with the CloudFormation intrinsic functions that can be resolved here resolved:
/// `Ref` and `Fn::GetAtt` to a value `given` names (`Name`, `Resource.Attribute`) or a pseudo
/// parameter, `Fn::Sub` (placeholders from its own map, `given` and pseudo parameters), and
/// `Fn::Join` of resolved parts. Any other reports a problem at its location.
fn resolve_intrinsics(
    value: &Json,
    location: &str,
    given: &Substitutions,
    report: &mut dyn FnMut(&str, String),
) -> Json {
    match value {
        Json::Array(items) => Json::Array(
            items
                .iter()
                .enumerate()
                .map(|(i, item)| resolve_intrinsics(item, &format!("{location}[{i}]"), given, report))
                .collect(),
        ),
        Json::Object(members) => {
            if members.len() == 1 {
                let (name, argument) = members.iter().next().expect("one member");
                if name == "Ref" || name.starts_with("Fn::") {
                    return resolve_function(name, argument, location, given, report);
                }
            }
            Json::Object(
                members
                    .iter()
                    .map(|(k, v)| {
                        (
                            k.clone(),
                            resolve_intrinsics(v, &format!("{location}/{k}"), given, report),
                        )
                    })
                    .collect(),
            )
        }
        other => other.clone(),
    }
}

fn resolve_function(
    name: &str,
    argument: &Json,
    location: &str,
    given: &Substitutions,
    report: &mut dyn FnMut(&str, String),
) -> Json {
    let lookup = |key: &str| {
        given
            .get(key)
            .map(str::to_string)
            .or_else(|| pseudo_parameter(key).map(str::to_string))
    };
    let unresolvable =
        |what: String, key: &str| format!("{what} cannot be resolved here: give {key} a value with --substitutions");
    match (name, argument) {
        ("Ref", Json::String(target)) => match lookup(target) {
            Some(value) => Json::String(value),
            None => {
                report(location, unresolvable(format!("!Ref {target}"), target));
                Json::Null
            }
        },
        ("Fn::GetAtt", Json::Array(parts)) if parts.len() == 2 => {
            let key = parts
                .iter()
                .map(|p| p.as_str().unwrap_or("?"))
                .collect::<Vec<_>>()
                .join(".");
            match lookup(&key) {
                Some(value) => Json::String(value),
                None => {
                    report(location, unresolvable(format!("!GetAtt {key}"), &key));
                    Json::Null
                }
            }
        }
        ("Fn::Sub", Json::String(text)) => sub(text, &Map::new(), location, given, report),
        ("Fn::Sub", Json::Array(parts)) if parts.len() == 2 => match (&parts[0], &parts[1]) {
            (Json::String(text), Json::Object(variables)) => {
                let mut own = Map::new();
                for (k, v) in variables {
                    own.insert(
                        k.clone(),
                        resolve_intrinsics(v, &format!("{location}[1]/{k}"), given, report),
                    );
                }
                sub(text, &own, location, given, report)
            }
            _ => {
                report(
                    location,
                    "!Sub takes a string, or a string and a map of variables".to_string(),
                );
                Json::Null
            }
        },
        ("Fn::Join", Json::Array(parts)) if parts.len() == 2 => {
            let separator = parts[0].as_str().unwrap_or_default();
            let Json::Array(items) = resolve_intrinsics(&parts[1], &format!("{location}[1]"), given, report) else {
                report(location, "!Join takes a separator and a list".to_string());
                return Json::Null;
            };
            let texts: Vec<String> = items.iter().filter_map(scalar_text).collect();
            Json::String(texts.join(separator))
        }
        _ => {
            report(
                location,
                format!(
                    "{} cannot be resolved here: give the definition with its value filled in",
                    describe_intrinsic(&Json::Object(Map::from_iter([(name.to_string(), argument.clone())])))
                ),
            );
            Json::Null
        }
    }
}

/// `Fn::Sub`'s string with its variables (its own map first, then `given`, then pseudo
/// parameters) filled; `${!Literal}` stays as `${Literal}`.
fn sub(
    text: &str,
    own: &Map<String, Json>,
    location: &str,
    given: &Substitutions,
    report: &mut dyn FnMut(&str, String),
) -> Json {
    let result = substitute(text, |name| {
        if let Some(literal) = name.strip_prefix('!') {
            return Ok(format!("${{{literal}}}"));
        }
        if let Some(value) = own.get(name).and_then(scalar_text) {
            return Ok(value);
        }
        if let Some(value) = given.get(name) {
            return Ok(value.to_string());
        }
        if let Some(value) = pseudo_parameter(name) {
            return Ok(value.to_string());
        }
        Err(format!(
            "!Sub's ${{{name}}} cannot be resolved here: give {name} a value with --substitutions"
        ))
    });
    match result {
        Ok(text) => Json::String(text),
        Err(message) => {
            report(location, message);
            Json::Null
        }
    }
}
