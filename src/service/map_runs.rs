//! Map runs of Distributed Maps: `DescribeMapRun`, `ListMapRuns` and `UpdateMapRun`.
//!
//! A map run is read from its execution's journaled history: `MapRunStarted` (its ARN and
//! start), `MapRunSucceeded` / `MapRunFailed` (its end), and the iterations' events between
//! them (the item counts). Its settings are the Map state's literal `MaxConcurrency`,
//! `ToleratedFailureCount` and `ToleratedFailurePercentage`, as `UpdateMapRun` last changed
//! them while it ran.

use std::collections::HashMap;
use std::sync::Mutex;

use serde_json::{json, Value as Json};

use super::api::{internal, Service};
use super::journal::ExecutionRecord;
use super::protocol::{page_key, page_token, timestamp, ApiError, Arn, Members};

/// How many executions of a machine `DescribeMapRun` looks through for a map run it has not
/// seen yet.
const SEARCHED_EXECUTIONS: usize = 10_000;

/// What the server remembers of map runs: where each one it has seen runs, and the settings
/// `UpdateMapRun` gave.
#[derive(Default)]
pub struct MapRuns {
    /// Map run ARN -> its execution's id.
    executions: Mutex<HashMap<String, i64>>,
    /// Map run ARN -> its settings changed by `UpdateMapRun`.
    updates: Mutex<HashMap<String, Settings>>,
}

/// A map run's settings.
#[derive(Clone, Copy, Debug, Default)]
struct Settings {
    max_concurrency: i64,
    tolerated_failure_percentage: f64,
    tolerated_failure_count: i64,
}

/// A map run as its execution's history tells it.
#[derive(Debug)]
struct MapRun {
    arn: String,
    /// The Map state's name.
    state: String,
    start_ms: i64,
    /// `MapRunSucceeded` / `MapRunFailed`: the status and when.
    ended: Option<(&'static str, i64)>,
    /// The id of that event (`u64::MAX` before it).
    end_id: u64,
    started: i64,
    succeeded: i64,
    failed: i64,
    aborted: i64,
}

/// An event's id, previous id, type and time (epoch ms).
fn event_parts(event: &Json) -> (u64, u64, &str, i64) {
    (
        event["id"].as_u64().unwrap_or(0),
        event["previousEventId"].as_u64().unwrap_or(0),
        event["type"].as_str().unwrap_or(""),
        (event["timestamp"].as_f64().unwrap_or(0.0) * 1000.0).round() as i64,
    )
}

/// The map runs of a history, in the order they started.
fn map_runs(events: &[Json]) -> Vec<MapRun> {
    let by_id: HashMap<u64, &Json> = events.iter().map(|e| (event_parts(e).0, e)).collect();
    let mut runs: Vec<(u64, MapRun)> = Vec::new();
    for event in events {
        let (id, previous, kind, ms) = event_parts(event);
        if kind != "MapRunStarted" {
            continue;
        }
        let arn = event["mapRunStartedEventDetails"]["mapRunArn"].as_str().unwrap_or("");
        // MapRunStarted follows MapStateStarted, which follows MapStateEntered (its name).
        let entered = by_id
            .get(&previous)
            .map(|started| event_parts(started).1)
            .and_then(|id| by_id.get(&id));
        let state = entered
            .and_then(|e| e["stateEnteredEventDetails"]["name"].as_str())
            .unwrap_or("")
            .to_string();
        runs.push((
            id,
            MapRun {
                arn: arn.to_string(),
                state,
                start_ms: ms,
                ended: None,
                end_id: u64::MAX,
                started: 0,
                succeeded: 0,
                failed: 0,
                aborted: 0,
            },
        ));
    }
    // A run's end goes back (through previousEventId) to its MapRunStarted, past the runs
    // nested in its iterations.
    for event in events {
        let (end_id, previous, kind, ms) = event_parts(event);
        let status = match kind {
            "MapRunSucceeded" => "SUCCEEDED",
            "MapRunFailed" => "FAILED",
            _ => continue,
        };
        let (mut at, mut depth) = (previous, 0);
        while let Some(e) = by_id.get(&at) {
            let (id, previous, kind, _) = event_parts(e);
            match kind {
                "MapRunSucceeded" | "MapRunFailed" => depth += 1,
                "MapRunStarted" if depth > 0 => depth -= 1,
                "MapRunStarted" => {
                    if let Some((_, run)) = runs.iter_mut().find(|(start, _)| *start == id) {
                        run.ended = Some((status, ms));
                        run.end_id = end_id;
                    }
                    break;
                }
                _ => {}
            }
            at = previous;
        }
    }
    // The iterations of a run are its Map state's between its start and its end.
    for (start, run) in &mut runs {
        let end = run.end_id;
        for event in events {
            let (id, _, kind, _) = event_parts(event);
            if id <= *start || id >= end || !kind.starts_with("MapIteration") {
                continue;
            }
            let details = kind.replacen("MapIteration", "mapIteration", 1) + "EventDetails";
            if event[details.as_str()]["name"].as_str() != Some(run.state.as_str()) {
                continue;
            }
            match kind {
                "MapIterationStarted" => run.started += 1,
                "MapIterationSucceeded" => run.succeeded += 1,
                "MapIterationFailed" => run.failed += 1,
                "MapIterationAborted" => run.aborted += 1,
                _ => {}
            }
        }
    }
    runs.into_iter().map(|(_, run)| run).collect()
}

/// The Map state named `state` in `definition`, at any depth.
fn map_state(definition: &str, state: &str) -> Option<Json> {
    fn find<'j>(states: &'j Json, name: &str) -> Option<&'j Json> {
        for (state_name, state) in states.as_object()? {
            if state_name == name {
                return Some(state);
            }
            let graphs = [&state["ItemProcessor"]["States"], &state["Iterator"]["States"]];
            let branches = state["Branches"].as_array().into_iter().flatten().map(|b| &b["States"]);
            if let Some(found) = graphs.into_iter().chain(branches).find_map(|g| find(g, name)) {
                return Some(found);
            }
        }
        None
    }
    let definition = serde_json::from_str::<Json>(definition).ok()?;
    find(&definition["States"], state).cloned()
}

/// The literal settings of the Map state named `state` in `definition` (0 for what it does
/// not set, or sets with a path).
fn settings_of(definition: &str, state: &str) -> Settings {
    let Some(map) = map_state(definition, state) else {
        return Settings::default();
    };
    Settings {
        max_concurrency: map["MaxConcurrency"].as_i64().unwrap_or(0),
        tolerated_failure_percentage: map["ToleratedFailurePercentage"].as_f64().unwrap_or(0.0),
        tolerated_failure_count: map["ToleratedFailureCount"].as_i64().unwrap_or(0),
    }
}

impl Service {
    /// The whole history of an execution.
    fn history(&self, record: &ExecutionRecord) -> Result<Vec<Json>, ApiError> {
        Ok(self
            .journal
            .events(record.id, None, usize::MAX, false)
            .map_err(internal)?
            .into_iter()
            .map(|(_, event)| event)
            .collect())
    }

    /// The map run `arn`, read from its execution's history, and that execution, or
    /// `ResourceNotFound`.
    fn map_run(&self, arn: &str) -> Result<(ExecutionRecord, MapRun), ApiError> {
        let parsed = Arn::parse(arn)?;
        if parsed.resource_type != "mapRun" {
            return Err(ApiError::wrong_resource_type(parsed.resource_type));
        }
        let not_found = || ApiError::resource_not_found(arn);
        let known = self
            .map_runs
            .executions
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(arn)
            .copied();
        if let Some(id) = known {
            let record = self
                .journal
                .execution_by_id(id)
                .map_err(internal)?
                .ok_or_else(not_found)?;
            let run = map_runs(&self.history(&record)?)
                .into_iter()
                .find(|run| run.arn == arn)
                .ok_or_else(not_found)?;
            return Ok((record, run));
        }
        // `mapRun:MACHINE/LABEL:ID`: look through the machine's executions.
        let machine = parsed
            .parts
            .first()
            .and_then(|p| p.split('/').next())
            .ok_or_else(not_found)?;
        let machine_arn = self.arn("stateMachine", machine);
        let executions = self
            .journal
            .executions(&machine_arn, None, None, None, None, SEARCHED_EXECUTIONS)
            .map_err(internal)?;
        for record in executions {
            let history = self.history(&record)?;
            let runs = map_runs(&history);
            let mut index = self.map_runs.executions.lock().unwrap_or_else(|e| e.into_inner());
            for run in &runs {
                index.insert(run.arn.clone(), record.id);
            }
            drop(index);
            if let Some(run) = runs.into_iter().find(|run| run.arn == arn) {
                return Ok((record, run));
            }
        }
        Err(not_found())
    }

    /// `DescribeMapRun`.
    pub(super) fn describe_map_run(&self, mut m: Members<'_>) -> Result<Json, ApiError> {
        let arn = m.string("mapRunArn", true, 1, 2000)?.unwrap_or("");
        m.finish()?;
        let (record, run) = self.map_run(arn)?;
        let settings = self.settings(&record, &run)?;
        let (status, stop_ms) = match run.ended {
            Some((status, ms)) => (status, Some(ms)),
            // The execution ended with the run unfinished: it was aborted.
            None if record.progress.status != "RUNNING" => ("ABORTED", record.progress.stop_ms),
            None => ("RUNNING", None),
        };
        let running = (run.started - run.succeeded - run.failed - run.aborted).max(0);
        let aborted = match status {
            "ABORTED" => run.aborted + running,
            _ => run.aborted,
        };
        let running = if status == "ABORTED" { 0 } else { running };
        let written = if status == "SUCCEEDED" && has_writer(&self.definition(&record)?, &run.state) {
            run.succeeded + run.failed
        } else {
            0
        };
        let counts = json!({
            "pending": 0,
            "running": running,
            "succeeded": run.succeeded,
            "failed": run.failed,
            "timedOut": 0,
            "aborted": aborted,
            "total": run.started,
            "resultsWritten": written,
            "failuresNotRedrivable": 0,
            "pendingRedrive": 0,
        });
        let mut out = json!({
            "mapRunArn": run.arn,
            "executionArn": record.arn,
            "status": status,
            "startDate": timestamp(run.start_ms),
            "maxConcurrency": settings.max_concurrency,
            "toleratedFailurePercentage": settings.tolerated_failure_percentage,
            "toleratedFailureCount": settings.tolerated_failure_count,
            "itemCounts": counts,
            "executionCounts": counts,
            "redriveCount": 0,
        });
        if let Some(ms) = stop_ms {
            out["stopDate"] = timestamp(ms);
        }
        Ok(out)
    }

    /// `ListMapRuns`: an execution's map runs, in the order they started.
    pub(super) fn list_map_runs(&self, mut m: Members<'_>) -> Result<Json, ApiError> {
        let arn = m.string("executionArn", true, 1, 256)?.unwrap_or("");
        let limit = m.max_results()?;
        let token = m.string("nextToken", false, 1, 1024)?;
        m.finish()?;
        let record = self.execution(arn)?;
        let scope = format!("ListMapRuns {}", record.arn);
        let skip = match token {
            Some(token) => page_key(&scope, token)?
                .parse::<usize>()
                .map_err(|_| ApiError::invalid_token())?,
            None => 0,
        };
        let runs = map_runs(&self.history(&record)?);
        {
            let mut index = self.map_runs.executions.lock().unwrap_or_else(|e| e.into_inner());
            for run in &runs {
                index.insert(run.arn.clone(), record.id);
            }
        }
        let total = runs.len();
        let items: Vec<Json> = runs
            .into_iter()
            .skip(skip)
            .take(limit)
            .map(|run| {
                // `arn:...:mapRun:MACHINE/LABEL:ID` runs `arn:...:stateMachine:MACHINE/LABEL`.
                let machine = run.arn.rsplit_once(':').map_or(String::new(), |(head, _)| {
                    head.replacen(":mapRun:", ":stateMachine:", 1)
                });
                let mut item = json!({
                    "executionArn": record.arn,
                    "mapRunArn": run.arn,
                    "stateMachineArn": machine,
                    "startDate": timestamp(run.start_ms),
                });
                if let Some((_, ms)) = run.ended {
                    item["stopDate"] = timestamp(ms);
                }
                item
            })
            .collect();
        let mut out = json!({ "mapRuns": items });
        if skip + limit < total {
            out["nextToken"] = json!(page_token(&scope, &(skip + limit).to_string()));
        }
        Ok(out)
    }

    /// `UpdateMapRun`: a running map run's settings (reported by `DescribeMapRun`).
    pub(super) fn update_map_run(&self, mut m: Members<'_>) -> Result<Json, ApiError> {
        let arn = m.string("mapRunArn", true, 1, 2000)?.unwrap_or("");
        let max_concurrency = m.integer("maxConcurrency", 0, i64::from(i32::MAX))?;
        let percentage = match m.json("toleratedFailurePercentage") {
            None | Some(Json::Null) => None,
            Some(value) => match value.as_f64() {
                Some(p) if (0.0..=100.0).contains(&p) => Some(p),
                _ => {
                    return Err(ApiError::validation(&[format!(
                        "Value '{value}' at 'toleratedFailurePercentage' failed to satisfy constraint: Member must have value less than or equal to 100"
                    )]))
                }
            },
        };
        let count = m.integer("toleratedFailureCount", 0, i64::MAX)?;
        m.finish()?;
        let (record, run) = self.map_run(arn)?;
        if run.ended.is_some() || record.progress.status != "RUNNING" {
            return Err(ApiError::new(
                "ValidationException",
                "Map Run is not in a valid status to be updated: CANNOT_UPDATE_COMPLETED_MAP_RUN",
            ));
        }
        let mut settings = self.settings(&record, &run)?;
        if let Some(n) = max_concurrency {
            settings.max_concurrency = n;
        }
        if let Some(p) = percentage {
            settings.tolerated_failure_percentage = p;
        }
        if let Some(n) = count {
            settings.tolerated_failure_count = n;
        }
        self.map_runs
            .updates
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(arn.to_string(), settings);
        Ok(json!({}))
    }

    /// The definition an execution runs.
    fn definition(&self, record: &ExecutionRecord) -> Result<String, ApiError> {
        Ok(self
            .journal
            .revision(&record.machine_arn, record.revision)
            .map_err(internal)?
            .map(|machine| machine.definition)
            .unwrap_or_default())
    }

    /// A map run's settings: as `UpdateMapRun` last gave them, else its Map state's.
    fn settings(&self, record: &ExecutionRecord, run: &MapRun) -> Result<Settings, ApiError> {
        if let Some(settings) = self
            .map_runs
            .updates
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&run.arn)
        {
            return Ok(*settings);
        }
        Ok(settings_of(&self.definition(record)?, &run.state))
    }
}

/// Whether the Map state named `state` in `definition` has a `ResultWriter`.
fn has_writer(definition: &str, state: &str) -> bool {
    map_state(definition, state).is_some_and(|map| map.get("ResultWriter").is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(id: u64, previous: u64, kind: &str, details: Json) -> Json {
        let mut event = json!({"id": id, "previousEventId": previous, "timestamp": id as f64, "type": kind});
        if let Json::Object(members) = details {
            for (k, v) in members {
                event[k] = v;
            }
        }
        event
    }

    #[test]
    fn map_runs_are_read_from_a_history() {
        let arn = "arn:aws:states:us-east-1:123456789012:mapRun:m/M:1";
        let iteration = |id, previous, kind: &str, index: u64| {
            let details = kind.replacen("MapIteration", "mapIteration", 1) + "EventDetails";
            event(id, previous, kind, json!({ details: {"name": "M", "index": index} }))
        };
        let history = vec![
            event(1, 0, "ExecutionStarted", json!({})),
            event(
                2,
                0,
                "MapStateEntered",
                json!({"stateEnteredEventDetails": {"name": "M"}}),
            ),
            event(
                3,
                2,
                "MapStateStarted",
                json!({"mapStateStartedEventDetails": {"length": 2}}),
            ),
            event(
                4,
                3,
                "MapRunStarted",
                json!({"mapRunStartedEventDetails": {"mapRunArn": arn}}),
            ),
            iteration(5, 4, "MapIterationStarted", 0),
            iteration(6, 5, "MapIterationSucceeded", 0),
            iteration(7, 5, "MapIterationStarted", 1),
            iteration(8, 7, "MapIterationFailed", 1),
            event(9, 8, "MapRunSucceeded", json!({})),
            event(10, 9, "MapStateSucceeded", json!({})),
        ];
        let runs = map_runs(&history);
        assert_eq!(runs.len(), 1);
        let run = &runs[0];
        assert_eq!((run.arn.as_str(), run.state.as_str()), (arn, "M"));
        assert_eq!(run.ended, Some(("SUCCEEDED", 9000)));
        assert_eq!((run.started, run.succeeded, run.failed), (2, 1, 1));
        // Unfinished: no end yet.
        let runs = map_runs(&history[..7]);
        assert_eq!(runs[0].ended, None);
        assert_eq!(runs[0].started, 2);
    }

    #[test]
    fn settings_come_from_the_map_state() {
        let definition = r#"{"StartAt":"P","States":{"P":{"Type":"Parallel","Branches":[{"StartAt":"M","States":{
            "M":{"Type":"Map","MaxConcurrency":5,"ToleratedFailurePercentage":12.5,"ItemProcessor":{"StartAt":"x","States":{}},"End":true}}}],"End":true}}}"#;
        let settings = settings_of(definition, "M");
        assert_eq!(settings.max_concurrency, 5);
        assert_eq!(settings.tolerated_failure_percentage, 12.5);
        assert_eq!(settings.tolerated_failure_count, 0);
    }
}
