//! The journal: everything the server must not lose (state machines, activities, Standard
//! executions with their steps and history events, activity tasks) in an embedded SQLite
//! database.
//!
//! Writes go through one writer thread that commits whatever has queued up in one
//! transaction (group commit): a write is acknowledged only once its transaction is on disk
//! (WAL, `synchronous=FULL`), and many requests share each fsync. Reads use their own
//! connections and see what is committed.
//!
//! The engine uses the journal only through [`Journal`], so that another store (a networked
//! database, for Standard executions spread over several machines) can serve it: it needs
//! atomic batches of writes, point reads by key, ordered range reads (executions of a
//! machine by start time, events of an execution by id), and a scan of the open executions
//! at start-up.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

/// Why the journal could not do something.
#[derive(Clone, Debug, thiserror::Error)]
#[error("journal: {0}")]
pub struct JournalError(pub String);

impl From<rusqlite::Error> for JournalError {
    fn from(e: rusqlite::Error) -> JournalError {
        JournalError(e.to_string())
    }
}

/// A journal result.
pub type Result<T> = std::result::Result<T, JournalError>;

/// A state machine as the API describes it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct MachineRecord {
    /// Its ARN.
    pub arn: String,
    /// Its name.
    pub name: String,
    /// `STANDARD` or `EXPRESS`.
    pub machine_type: String,
    /// The definition, byte for byte as given.
    pub definition: String,
    /// The role ARN.
    pub role_arn: String,
    /// When it was created (epoch ms).
    pub creation_ms: i64,
    /// When its current revision was made (epoch ms).
    pub update_ms: i64,
    /// Its current revision: 0 when created, one more per update that changes something.
    pub revision: i64,
    /// The current revision's id (absent until the first real update).
    pub revision_id: Option<String>,
    /// `loggingConfiguration`, as given or defaulted.
    pub logging: serde_json::Value,
    /// `tracingConfiguration`.
    pub tracing: serde_json::Value,
    /// `encryptionConfiguration`.
    pub encryption: serde_json::Value,
    /// The highest version number published so far (0 when none): numbers are never reused.
    #[serde(default)]
    pub latest_version: i64,
}

/// A published version of a state machine: one of its revisions, frozen.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VersionRecord {
    /// The machine's (unqualified) ARN.
    pub machine_arn: String,
    /// Its number (1, 2, ...).
    pub version: i64,
    /// The machine revision it freezes.
    pub revision: i64,
    /// Its description.
    pub description: Option<String>,
    /// When it was published (epoch ms).
    pub creation_ms: i64,
}

impl VersionRecord {
    /// Its ARN: the machine's, qualified by the number.
    pub fn arn(&self) -> String {
        format!("{}:{}", self.machine_arn, self.version)
    }
}

/// An alias of a state machine: a name routing executions to one or two versions.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct AliasRecord {
    /// Its ARN (the machine's, qualified by the name).
    pub arn: String,
    /// The machine's (unqualified) ARN.
    pub machine_arn: String,
    /// Its name.
    pub name: String,
    /// Its description.
    pub description: Option<String>,
    /// Version ARNs and their weights (summing to 100).
    pub routing: Vec<(String, u32)>,
    /// When it was created (epoch ms).
    pub creation_ms: i64,
    /// When it was last updated (epoch ms).
    pub update_ms: i64,
}

/// An activity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActivityRecord {
    /// Its ARN.
    pub arn: String,
    /// Its name.
    pub name: String,
    /// When it was created (epoch ms).
    pub creation_ms: i64,
    /// `encryptionConfiguration`, as given or defaulted.
    pub encryption: serde_json::Value,
}

/// A Standard execution as the API describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExecutionRecord {
    /// The journal's number for it (also the high bits of its task tokens).
    pub id: i64,
    /// Its ARN.
    pub arn: String,
    /// Its state machine's (unqualified) ARN.
    pub machine_arn: String,
    /// Its name.
    pub name: String,
    /// The revision of the machine it runs.
    pub revision: i64,
    /// The mock test case it runs with (Step Functions Local's `arn#TestCase`), if any.
    pub test_case: Option<String>,
    /// When it started (epoch ms).
    pub start_ms: i64,
    /// Its input (JSON text).
    pub input: String,
    /// The trace header it was started with.
    pub trace_header: Option<String>,
    /// The version it runs, when started by a version or alias ARN.
    pub version_arn: Option<String>,
    /// The alias it was started through.
    pub alias_arn: Option<String>,
    /// How many times it has been redriven.
    pub redrive_count: u32,
    /// When it was last redriven (epoch ms).
    pub redrive_ms: Option<i64>,
    /// Where it stands.
    pub progress: Progress,
}

/// Where an execution stands: what each step changes in its record.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Progress {
    /// `RUNNING`, `SUCCEEDED`, `FAILED`, `TIMED_OUT` or `ABORTED`.
    pub status: String,
    /// When it ended (epoch ms).
    pub stop_ms: Option<i64>,
    /// Its output (JSON text), when it succeeded.
    pub output: Option<String>,
    /// Its error, when it failed with one.
    pub error: Option<String>,
    /// Its cause, when it failed with one.
    pub cause: Option<String>,
    /// How many history events it has.
    pub events: u32,
    /// When it must be resumed if nothing is delivered (epoch ms), while it runs.
    pub wake_ms: Option<i64>,
}

/// What moved an execution on: one entry of its driver log. Replaying an execution's steps
/// in order on its definition and input rebuilds it exactly (see [`super::standard`]).
#[derive(Clone, Debug, PartialEq)]
pub enum StepKind {
    /// It started.
    Start,
    /// Its time came (a Wait ended, a back-off or a deadline passed).
    Wake,
    /// A task answered (`SendTaskSuccess`): the output's JSON text.
    Succeed {
        /// The token of the task.
        token: u64,
        /// The output.
        output: String,
    },
    /// A task failed (`SendTaskFailure`).
    Fail {
        /// The token of the task.
        token: u64,
        /// The error.
        error: Option<String>,
        /// The cause.
        cause: Option<String>,
    },
    /// A task's worker is alive (`SendTaskHeartbeat`).
    Heartbeat {
        /// The token of the task.
        token: u64,
    },
    /// A worker took an activity task (`GetActivityTask`).
    ActivityStarted {
        /// The token of the task.
        token: u64,
        /// The worker's name, if it gave one.
        worker: Option<String>,
    },
    /// It was stopped (`StopExecution`).
    Stop {
        /// The error.
        error: Option<String>,
        /// The cause.
        cause: Option<String>,
    },
    /// It was redriven (`RedriveExecution`): it runs again from the state that did not
    /// succeed.
    Redrive,
}

/// One step of an execution's driver log.
#[derive(Clone, Debug, PartialEq)]
pub struct Step {
    /// When it happened (epoch ms).
    pub now_ms: i64,
    /// What happened.
    pub kind: StepKind,
}

impl Step {
    fn columns(&self) -> (i64, Option<i64>, Option<&str>, Option<&str>, Option<&str>) {
        let token = |t: &u64| Some(*t as i64);
        match &self.kind {
            StepKind::Start => (0, None, None, None, None),
            StepKind::Wake => (1, None, None, None, None),
            StepKind::Succeed { token: t, output } => (2, token(t), Some(output), None, None),
            StepKind::Fail { token: t, error, cause } => (3, token(t), None, error.as_deref(), cause.as_deref()),
            StepKind::Heartbeat { token: t } => (4, token(t), None, None, None),
            StepKind::ActivityStarted { token: t, worker } => (5, token(t), worker.as_deref(), None, None),
            StepKind::Stop { error, cause } => (6, None, None, error.as_deref(), cause.as_deref()),
            StepKind::Redrive => (7, None, None, None, None),
        }
    }

    fn from_columns(
        now_ms: i64,
        kind: i64,
        token: Option<i64>,
        body: Option<String>,
        error: Option<String>,
        cause: Option<String>,
    ) -> Result<Step> {
        let token = token.unwrap_or_default() as u64;
        let kind = match kind {
            0 => StepKind::Start,
            1 => StepKind::Wake,
            2 => StepKind::Succeed {
                token,
                output: body.unwrap_or_default(),
            },
            3 => StepKind::Fail { token, error, cause },
            4 => StepKind::Heartbeat { token },
            5 => StepKind::ActivityStarted { token, worker: body },
            6 => StepKind::Stop { error, cause },
            7 => StepKind::Redrive,
            other => return Err(JournalError(format!("unknown step kind {other}"))),
        };
        Ok(Step { now_ms, kind })
    }
}

/// An activity task that has not been answered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ActivityTask {
    /// Its task token's number.
    pub token: u64,
    /// The activity's ARN.
    pub activity_arn: String,
    /// The execution that awaits it.
    pub execution_id: i64,
    /// Its input (JSON text).
    pub input: String,
    /// Whether a worker has taken it (its `ActivityStarted` is in the history).
    pub started: bool,
}

/// One change to the journal; a batch of them is committed atomically.
#[derive(Clone, Debug)]
pub enum Write {
    /// Creates or replaces a state machine (and records its current revision).
    PutMachine(Box<MachineRecord>),
    /// Deletes a state machine with its versions, aliases and tags (its revisions stay while
    /// executions use them).
    DeleteMachine(String),
    /// Records a published version.
    PutVersion(VersionRecord),
    /// Deletes a version: (machine ARN, number).
    DeleteVersion(String, i64),
    /// Creates or replaces an alias.
    PutAlias(Box<AliasRecord>),
    /// Deletes an alias by ARN.
    DeleteAlias(String),
    /// Sets a resource's tags (a JSON array of `{key, value}`, in insertion order).
    PutTags(String, serde_json::Value),
    /// Creates an activity.
    PutActivity(ActivityRecord),
    /// Deletes an activity (and its tags).
    DeleteActivity(String),
    /// Records a new execution.
    NewExecution(Box<ExecutionRecord>),
    /// Updates an execution after a step: its id and where it stands now.
    UpdateExecution(i64, Box<Progress>),
    /// Appends a step to an execution's driver log.
    AppendStep {
        /// The execution.
        execution_id: i64,
        /// The step's number (0 for the start).
        seq: u32,
        /// The step.
        step: Step,
    },
    /// Appends the history events of one step: ids `first..=last`, as the JSON text of an
    /// array of AWS-shaped events (with their data), compressed with LZ4 (events repeat one
    /// another's data: an output is the next state's input).
    AppendEvents {
        /// The execution.
        execution_id: i64,
        /// The first event's id.
        first: u32,
        /// The last event's id.
        last: u32,
        /// The events: [`compress_events`] of the JSON text.
        events: Vec<u8>,
    },
    /// An activity task waits for a worker.
    PutActivityTask(ActivityTask),
    /// A worker took an activity task.
    ActivityTaskStarted(u64),
    /// An activity task was answered.
    DeleteActivityTask(u64),
    /// An execution ended: its activity tasks are no longer needed, nor its steps unless
    /// it can be redriven (the `bool`: it failed, timed out or was aborted).
    Closed(i64, bool),
    /// An execution was redriven: its id, redrive count and redrive time (epoch ms).
    Redriven(i64, u32, i64),
    /// A finished execution past its retention period goes, with its history.
    Forget(i64),
}

/// How [`Write::AppendEvents`] stores the JSON text of a step's events.
pub fn compress_events(json: &[u8]) -> Vec<u8> {
    lz4_flex::compress_prepend_size(json)
}

/// A page of executions is read from after this point: (start ms, id) of the last one seen.
pub type ExecutionCursor = (i64, i64);

/// What the engine and the API need from a store. See the module's documentation.
pub trait Journal: Send + Sync + 'static {
    /// Commits `writes` atomically, then calls `done` (from another thread).
    fn commit(&self, writes: Vec<Write>, done: Box<dyn FnOnce(Result<()>) + Send>);
    /// A state machine by ARN.
    fn machine(&self, arn: &str) -> Result<Option<MachineRecord>>;
    /// State machines in name order, after `after`, at most `limit`.
    fn machines(&self, after: Option<&str>, limit: usize) -> Result<Vec<MachineRecord>>;
    /// The definition of a machine's revision.
    fn revision(&self, machine_arn: &str, revision: i64) -> Result<Option<MachineRecord>>;
    /// A version of a machine by number.
    fn version(&self, machine_arn: &str, version: i64) -> Result<Option<VersionRecord>>;
    /// A machine's versions, newest first, below number `before`, at most `limit`.
    fn versions(&self, machine_arn: &str, before: Option<i64>, limit: usize) -> Result<Vec<VersionRecord>>;
    /// An alias by ARN.
    fn alias(&self, arn: &str) -> Result<Option<AliasRecord>>;
    /// A machine's aliases in name order (every one: at most 100 per machine).
    fn aliases(&self, machine_arn: &str) -> Result<Vec<AliasRecord>>;
    /// A resource's tags (a JSON array of `{key, value}`), `None` when it has none.
    fn tags(&self, arn: &str) -> Result<Option<serde_json::Value>>;
    /// An activity by ARN.
    fn activity(&self, arn: &str) -> Result<Option<ActivityRecord>>;
    /// Activities in name order, after `after`, at most `limit`.
    fn activities(&self, after: Option<&str>, limit: usize) -> Result<Vec<ActivityRecord>>;
    /// An execution by ARN.
    fn execution(&self, arn: &str) -> Result<Option<ExecutionRecord>>;
    /// An execution by id.
    fn execution_by_id(&self, id: i64) -> Result<Option<ExecutionRecord>>;
    /// A machine's executions, newest first, optionally of one status, optionally only those
    /// of a version or alias (`via`: its ARN), optionally only those redriven (or not), after
    /// `after`.
    #[allow(clippy::too_many_arguments)]
    fn executions(
        &self,
        machine_arn: &str,
        status: Option<&str>,
        via: Option<&str>,
        redriven: Option<bool>,
        after: Option<ExecutionCursor>,
        limit: usize,
    ) -> Result<Vec<ExecutionRecord>>;
    /// An execution's history events with ids after `after` (before it when `reverse`), at
    /// most `limit`, in id order (reversed when `reverse`).
    fn events(
        &self,
        execution_id: i64,
        after: Option<u32>,
        limit: usize,
        reverse: bool,
    ) -> Result<Vec<(u32, serde_json::Value)>>;
    /// An execution's driver log.
    fn steps(&self, execution_id: i64) -> Result<Vec<Step>>;
    /// The running executions: (id, ARN, wake time).
    fn open_executions(&self) -> Result<Vec<(i64, String, Option<i64>)>>;
    /// The activity tasks not answered yet (taken by a worker or not).
    fn activity_tasks(&self) -> Result<Vec<ActivityTask>>;
    /// Executions that ended before `stop_ms` (for retention), at most `limit`.
    fn ended_before(&self, stop_ms: i64, limit: usize) -> Result<Vec<i64>>;
    /// The largest execution id used so far (0 when none).
    fn max_execution_id(&self) -> Result<i64>;
    /// Its counters, in Prometheus' text format (`/metrics`).
    fn metrics(&self) -> String;
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS state_machines (arn TEXT PRIMARY KEY, name TEXT NOT NULL, body TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS state_machines_by_name ON state_machines(name);
CREATE TABLE IF NOT EXISTS revisions (machine_arn TEXT NOT NULL, revision INTEGER NOT NULL, body TEXT NOT NULL,
    PRIMARY KEY (machine_arn, revision)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS activities (arn TEXT PRIMARY KEY, name TEXT NOT NULL, creation_ms INTEGER NOT NULL,
    encryption TEXT);
CREATE TABLE IF NOT EXISTS executions (id INTEGER PRIMARY KEY, arn TEXT NOT NULL UNIQUE, machine_arn TEXT NOT NULL,
    name TEXT NOT NULL, revision INTEGER NOT NULL, test_case TEXT, status TEXT NOT NULL, start_ms INTEGER NOT NULL,
    stop_ms INTEGER, input TEXT NOT NULL, output TEXT, error TEXT, cause TEXT, trace_header TEXT,
    events INTEGER NOT NULL, wake_ms INTEGER, version_arn TEXT, alias_arn TEXT,
    redrive_count INTEGER NOT NULL DEFAULT 0, redrive_ms INTEGER);
CREATE INDEX IF NOT EXISTS executions_by_machine ON executions(machine_arn, start_ms DESC, id DESC);
CREATE INDEX IF NOT EXISTS executions_by_machine_status ON executions(machine_arn, status, start_ms DESC, id DESC);
CREATE INDEX IF NOT EXISTS executions_open ON executions(id) WHERE status = 'RUNNING';
CREATE INDEX IF NOT EXISTS executions_by_stop ON executions(stop_ms) WHERE stop_ms IS NOT NULL;
CREATE TABLE IF NOT EXISTS steps (execution_id INTEGER NOT NULL, seq INTEGER NOT NULL, kind INTEGER NOT NULL,
    now_ms INTEGER NOT NULL, token INTEGER, body TEXT, error TEXT, cause TEXT,
    PRIMARY KEY (execution_id, seq)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS events (execution_id INTEGER NOT NULL, first_id INTEGER NOT NULL, last_id INTEGER NOT NULL,
    body BLOB NOT NULL, PRIMARY KEY (execution_id, first_id)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS activity_tasks (token INTEGER PRIMARY KEY, activity_arn TEXT NOT NULL,
    execution_id INTEGER NOT NULL, input TEXT NOT NULL, started INTEGER NOT NULL DEFAULT 0);
CREATE INDEX IF NOT EXISTS activity_tasks_by_execution ON activity_tasks(execution_id);
CREATE TABLE IF NOT EXISTS versions (machine_arn TEXT NOT NULL, version INTEGER NOT NULL, revision INTEGER NOT NULL,
    description TEXT, creation_ms INTEGER NOT NULL, PRIMARY KEY (machine_arn, version)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS aliases (arn TEXT PRIMARY KEY, machine_arn TEXT NOT NULL, name TEXT NOT NULL,
    body TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS aliases_by_machine ON aliases(machine_arn, name);
CREATE TABLE IF NOT EXISTS tags (arn TEXT PRIMARY KEY, body TEXT NOT NULL);
";

/// The journal's schema version (SQLite's `user_version`). Version 1 added versions, aliases
/// and tags, the executions' `version_arn`, `alias_arn`, `redrive_count` and `redrive_ms`
/// columns and the activities' `encryption`. Version 2 added the index of executions by
/// state machine, status and start (ListExecutions' `statusFilter`). An older journal is
/// upgraded in place when opened.
const SCHEMA_VERSION: i64 = 2;

/// Creates the tables, or upgrades a journal written by an older quickstep; refuses one
/// written by a newer one.
fn migrate(conn: &Connection) -> Result<()> {
    let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if version > SCHEMA_VERSION {
        return Err(JournalError(format!(
            "the journal has schema version {version}, newer than this quickstep's ({SCHEMA_VERSION}): use a newer quickstep"
        )));
    }
    conn.execute_batch(SCHEMA)?;
    let columns: Vec<String> = conn
        .prepare("SELECT name FROM pragma_table_info('executions')")?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    for (column, definition) in [
        ("version_arn", "TEXT"),
        ("alias_arn", "TEXT"),
        ("redrive_count", "INTEGER NOT NULL DEFAULT 0"),
        ("redrive_ms", "INTEGER"),
    ] {
        if !columns.iter().any(|c| c == column) {
            conn.execute_batch(&format!("ALTER TABLE executions ADD COLUMN {column} {definition}"))?;
        }
    }
    let has_encryption: bool = conn.query_row(
        "SELECT COUNT(*) > 0 FROM pragma_table_info('activities') WHERE name = 'encryption'",
        [],
        |r| r.get(0),
    )?;
    if !has_encryption {
        conn.execute_batch("ALTER TABLE activities ADD COLUMN encryption TEXT")?;
    }
    conn.pragma_update(None, "user_version", SCHEMA_VERSION)?;
    Ok(())
}

/// The executions' columns, in [`execution_of`]'s order (a macro, for `concat!`).
macro_rules! execution_columns {
    () => {
        "id, arn, machine_arn, name, revision, test_case, status, start_ms, stop_ms, input, output, error, cause, \
         trace_header, events, wake_ms, version_arn, alias_arn, redrive_count, redrive_ms"
    };
}

const EXECUTION_COLUMNS: &str = execution_columns!();

/// ListExecutions' page without a status filter (`?2` is NULL): newest first, after the
/// cursor (`?3`, `?4`), on the `executions_by_machine` index.
const LIST_EXECUTIONS: &str = concat!(
    "SELECT ",
    execution_columns!(),
    " FROM executions WHERE machine_arn = ?1 AND ?2 IS NULL \
     AND (?6 IS NULL OR version_arn = ?6 OR alias_arn = ?6) AND (?7 IS NULL OR (redrive_count > 0) = ?7) \
     AND (start_ms < ?3 OR (start_ms = ?3 AND id < ?4)) ORDER BY start_ms DESC, id DESC LIMIT ?5"
);

/// ListExecutions' page of one status (`?2`), on the `executions_by_machine_status` index.
const LIST_EXECUTIONS_BY_STATUS: &str = concat!(
    "SELECT ",
    execution_columns!(),
    " FROM executions WHERE machine_arn = ?1 AND status = ?2 \
     AND (?6 IS NULL OR version_arn = ?6 OR alias_arn = ?6) AND (?7 IS NULL OR (redrive_count > 0) = ?7) \
     AND (start_ms < ?3 OR (start_ms = ?3 AND id < ?4)) ORDER BY start_ms DESC, id DESC LIMIT ?5"
);

fn execution_of(row: &rusqlite::Row<'_>) -> rusqlite::Result<ExecutionRecord> {
    Ok(ExecutionRecord {
        id: row.get(0)?,
        arn: row.get(1)?,
        machine_arn: row.get(2)?,
        name: row.get(3)?,
        revision: row.get(4)?,
        test_case: row.get(5)?,
        start_ms: row.get(7)?,
        input: row.get(9)?,
        trace_header: row.get(13)?,
        version_arn: row.get(16)?,
        alias_arn: row.get(17)?,
        redrive_count: row.get(18)?,
        redrive_ms: row.get(19)?,
        progress: Progress {
            status: row.get(6)?,
            stop_ms: row.get(8)?,
            output: row.get(10)?,
            error: row.get(11)?,
            cause: row.get(12)?,
            events: row.get(14)?,
            wake_ms: row.get(15)?,
        },
    })
}

fn machine_of(body: String) -> rusqlite::Result<MachineRecord> {
    json_of(body)
}

/// A record kept as JSON text.
fn json_of<T: serde::de::DeserializeOwned>(body: String) -> rusqlite::Result<T> {
    serde_json::from_str(&body)
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e)))
}

fn activity_of(row: &rusqlite::Row<'_>) -> rusqlite::Result<ActivityRecord> {
    let encryption: Option<String> = row.get(3)?;
    Ok(ActivityRecord {
        arn: row.get(0)?,
        name: row.get(1)?,
        creation_ms: row.get(2)?,
        encryption: encryption
            .and_then(|text| serde_json::from_str(&text).ok())
            .unwrap_or_else(|| serde_json::json!({"type": "AWS_OWNED_KEY"})),
    })
}

fn version_of(row: &rusqlite::Row<'_>) -> rusqlite::Result<VersionRecord> {
    Ok(VersionRecord {
        machine_arn: row.get(0)?,
        version: row.get(1)?,
        revision: row.get(2)?,
        description: row.get(3)?,
        creation_ms: row.get(4)?,
    })
}

/// A batch on its way to the writer.
type Submission = (Vec<Write>, Box<dyn FnOnce(Result<()>) + Send>);

/// What the writer has done since the journal opened.
#[derive(Debug, Default)]
pub struct JournalCounters {
    /// Transactions committed.
    pub commits: std::sync::atomic::AtomicU64,
    /// Writes committed (rows or groups of rows: a step, its events, ...).
    pub writes: std::sync::atomic::AtomicU64,
    /// History events committed.
    pub events: std::sync::atomic::AtomicU64,
    /// Steps (transitions of Standard executions) committed.
    pub steps: std::sync::atomic::AtomicU64,
    /// Transactions that failed (their requests were answered with an error).
    pub failures: std::sync::atomic::AtomicU64,
}

/// The journal in a SQLite database file.
pub struct SqliteJournal {
    writer: crossbeam_channel::Sender<Submission>,
    /// What the writer has done.
    pub counters: Arc<JournalCounters>,
    readers: Mutex<Vec<Connection>>,
    path: PathBuf,
    /// A `:memory:` journal lives in a temporary file, removed when the journal goes.
    temporary: bool,
}

impl std::fmt::Debug for SqliteJournal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteJournal").field("path", &self.path).finish()
    }
}

fn open(path: &Path, durable: bool) -> Result<Connection> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", if durable { "FULL" } else { "OFF" })?;
    Ok(conn)
}

impl SqliteJournal {
    /// Opens (creating it if needed) the journal at `path`; `:memory:` keeps nothing (a
    /// temporary file, removed when the journal is dropped).
    pub fn open(path: &str) -> Result<Arc<SqliteJournal>> {
        let (path, temporary) = if path == ":memory:" {
            let file = std::env::temp_dir().join(format!(
                "quickstep-{}-{}.db",
                std::process::id(),
                crate::intrinsics::uuid_v4_string()
            ));
            (file, true)
        } else {
            (PathBuf::from(path), false)
        };
        let conn = open(&path, !temporary)?;
        migrate(&conn)?;
        // The writer: a 64 MiB page cache, and a checkpoint of the WAL every 16k pages rather
        // than 1k. A checkpoint stalls the commits behind it: measured side by side under W1
        // load, every 4k pages put those stalls into the 99th percentile (29-33 ms), every
        // 16k pages kept them out of it (11-15 ms) at the cost of a rarer, longer one.
        conn.pragma_update(None, "cache_size", -65_536)?;
        conn.pragma_update(None, "wal_autocheckpoint", 16_384)?;
        let (sender, receiver) = crossbeam_channel::unbounded::<Submission>();
        let counters = Arc::new(JournalCounters::default());
        let written = counters.clone();
        std::thread::Builder::new()
            .name("quickstep-journal".into())
            .spawn(move || write_loop(conn, receiver, &written))
            .map_err(|e| JournalError(e.to_string()))?;
        Ok(Arc::new(SqliteJournal {
            writer: sender,
            counters,
            readers: Mutex::new(Vec::new()),
            path,
            temporary,
        }))
    }

    /// Runs `f` on a read connection from the pool.
    fn read<T>(&self, f: impl FnOnce(&Connection) -> rusqlite::Result<T>) -> Result<T> {
        let conn = self.readers.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let conn = match conn {
            Some(conn) => conn,
            None => open(&self.path, !self.temporary)?,
        };
        let result = f(&conn);
        self.readers.lock().unwrap_or_else(|e| e.into_inner()).push(conn);
        Ok(result?)
    }
}

impl Drop for SqliteJournal {
    fn drop(&mut self) {
        if self.temporary {
            self.readers.lock().unwrap_or_else(|e| e.into_inner()).clear();
            for suffix in ["", "-wal", "-shm"] {
                let mut file = self.path.clone().into_os_string();
                file.push(suffix);
                let _ = std::fs::remove_file(file);
            }
        }
    }
}

/// The writer thread: takes every batch that has queued up, commits them in one
/// transaction, then tells each submitter.
fn write_loop(mut conn: Connection, receiver: crossbeam_channel::Receiver<Submission>, counters: &JournalCounters) {
    use std::sync::atomic::Ordering::Relaxed;
    while let Ok(first) = receiver.recv() {
        let mut batch = vec![first];
        while batch.len() < 4096 {
            match receiver.try_recv() {
                Ok(next) => batch.push(next),
                Err(_) => break,
            }
        }
        let result = apply(&mut conn, batch.iter().flat_map(|(writes, _)| writes.iter()));
        if result.is_ok() {
            counters.commits.fetch_add(1, Relaxed);
            for write in batch.iter().flat_map(|(writes, _)| writes.iter()) {
                counters.writes.fetch_add(1, Relaxed);
                match write {
                    Write::AppendEvents { first, last, .. } => {
                        counters.events.fetch_add(u64::from(last - first + 1), Relaxed);
                    }
                    Write::AppendStep { .. } => {
                        counters.steps.fetch_add(1, Relaxed);
                    }
                    _ => {}
                }
            }
        } else {
            counters.failures.fetch_add(1, Relaxed);
        }
        for (_, done) in batch {
            done(result.clone());
        }
    }
}

fn apply<'w>(conn: &mut Connection, writes: impl Iterator<Item = &'w Write>) -> Result<()> {
    let tx = conn.transaction()?;
    for write in writes {
        apply_one(&tx, write)?;
    }
    tx.commit()?;
    Ok(())
}

fn apply_one(tx: &rusqlite::Transaction<'_>, write: &Write) -> Result<()> {
    match write {
        Write::PutMachine(machine) => {
            let body = serde_json::to_string(machine).map_err(|e| JournalError(e.to_string()))?;
            tx.prepare_cached("INSERT OR REPLACE INTO state_machines (arn, name, body) VALUES (?1, ?2, ?3)")?
                .execute(params![machine.arn, machine.name, body])?;
            tx.prepare_cached("INSERT OR REPLACE INTO revisions (machine_arn, revision, body) VALUES (?1, ?2, ?3)")?
                .execute(params![machine.arn, machine.revision, body])?;
        }
        Write::DeleteMachine(arn) => {
            for table in [
                "state_machines WHERE arn",
                "versions WHERE machine_arn",
                "aliases WHERE machine_arn",
                "tags WHERE arn",
            ] {
                tx.prepare_cached(&format!("DELETE FROM {table} = ?1"))?
                    .execute([arn])?;
            }
        }
        Write::PutVersion(v) => {
            tx.prepare_cached(
                "INSERT OR REPLACE INTO versions (machine_arn, version, revision, description, creation_ms) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![v.machine_arn, v.version, v.revision, v.description, v.creation_ms])?;
        }
        Write::DeleteVersion(machine_arn, version) => {
            tx.prepare_cached("DELETE FROM versions WHERE machine_arn = ?1 AND version = ?2")?
                .execute(params![machine_arn, version])?;
        }
        Write::PutAlias(alias) => {
            let body = serde_json::to_string(alias).map_err(|e| JournalError(e.to_string()))?;
            tx.prepare_cached("INSERT OR REPLACE INTO aliases (arn, machine_arn, name, body) VALUES (?1, ?2, ?3, ?4)")?
                .execute(params![alias.arn, alias.machine_arn, alias.name, body])?;
        }
        Write::DeleteAlias(arn) => {
            tx.prepare_cached("DELETE FROM aliases WHERE arn = ?1")?
                .execute([arn])?;
        }
        Write::PutTags(arn, tags) => {
            tx.prepare_cached("INSERT OR REPLACE INTO tags (arn, body) VALUES (?1, ?2)")?
                .execute(params![arn, tags.to_string()])?;
        }
        Write::PutActivity(activity) => {
            tx.prepare_cached(
                "INSERT OR REPLACE INTO activities (arn, name, creation_ms, encryption) VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![
                activity.arn,
                activity.name,
                activity.creation_ms,
                activity.encryption.to_string()
            ])?;
        }
        Write::DeleteActivity(arn) => {
            tx.prepare_cached("DELETE FROM activities WHERE arn = ?1")?
                .execute([arn])?;
            tx.prepare_cached("DELETE FROM tags WHERE arn = ?1")?.execute([arn])?;
        }
        Write::NewExecution(e) => {
            tx.prepare_cached(&format!(
                "INSERT INTO executions ({EXECUTION_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20)"
            ))?
            .execute(params![
                e.id,
                e.arn,
                e.machine_arn,
                e.name,
                e.revision,
                e.test_case,
                e.progress.status,
                e.start_ms,
                e.progress.stop_ms,
                e.input,
                e.progress.output,
                e.progress.error,
                e.progress.cause,
                e.trace_header,
                e.progress.events,
                e.progress.wake_ms,
                e.version_arn,
                e.alias_arn,
                e.redrive_count,
                e.redrive_ms
            ])?;
        }
        Write::UpdateExecution(id, u) => {
            tx.prepare_cached(
                "UPDATE executions SET status = ?2, stop_ms = ?3, output = ?4, error = ?5, cause = ?6, events = ?7, wake_ms = ?8 WHERE id = ?1",
            )?
            .execute(params![id, u.status, u.stop_ms, u.output, u.error, u.cause, u.events, u.wake_ms])?;
        }
        Write::AppendStep {
            execution_id,
            seq,
            step,
        } => {
            let (kind, token, body, error, cause) = step.columns();
            tx.prepare_cached(
                "INSERT INTO steps (execution_id, seq, kind, now_ms, token, body, error, cause) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?
            .execute(params![execution_id, seq, kind, step.now_ms, token, body, error, cause])?;
        }
        Write::AppendEvents {
            execution_id,
            first,
            last,
            events,
        } => {
            tx.prepare_cached("INSERT INTO events (execution_id, first_id, last_id, body) VALUES (?1, ?2, ?3, ?4)")?
                .execute(params![execution_id, first, last, events])?;
        }
        Write::PutActivityTask(task) => {
            tx.prepare_cached(
                "INSERT OR REPLACE INTO activity_tasks (token, activity_arn, execution_id, input, started) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![task.token as i64, task.activity_arn, task.execution_id, task.input, task.started])?;
        }
        Write::ActivityTaskStarted(token) => {
            tx.prepare_cached("UPDATE activity_tasks SET started = 1 WHERE token = ?1")?
                .execute([*token as i64])?;
        }
        Write::DeleteActivityTask(token) => {
            tx.prepare_cached("DELETE FROM activity_tasks WHERE token = ?1")?
                .execute([*token as i64])?;
        }
        Write::Closed(id, keep_log) => {
            if !keep_log {
                tx.prepare_cached("DELETE FROM steps WHERE execution_id = ?1")?
                    .execute([id])?;
            }
            tx.prepare_cached("DELETE FROM activity_tasks WHERE execution_id = ?1")?
                .execute([id])?;
        }
        Write::Redriven(id, count, ms) => {
            tx.prepare_cached("UPDATE executions SET redrive_count = ?2, redrive_ms = ?3 WHERE id = ?1")?
                .execute(params![id, count, ms])?;
        }
        Write::Forget(id) => {
            for table in [
                "steps WHERE execution_id",
                "events WHERE execution_id",
                "executions WHERE id",
            ] {
                tx.prepare_cached(&format!("DELETE FROM {table} = ?1"))?.execute([id])?;
            }
        }
    }
    Ok(())
}

impl Journal for SqliteJournal {
    fn commit(&self, writes: Vec<Write>, done: Box<dyn FnOnce(Result<()>) + Send>) {
        if let Err(crossbeam_channel::SendError((_, done))) = self.writer.send((writes, done)) {
            done(Err(JournalError("the journal's writer has stopped".into())));
        }
    }

    fn machine(&self, arn: &str) -> Result<Option<MachineRecord>> {
        self.read(|c| {
            c.prepare_cached("SELECT body FROM state_machines WHERE arn = ?1")?
                .query_row([arn], |r| machine_of(r.get(0)?))
                .optional()
        })
    }

    fn machines(&self, after: Option<&str>, limit: usize) -> Result<Vec<MachineRecord>> {
        self.read(|c| {
            c.prepare_cached("SELECT body FROM state_machines WHERE name > ?1 ORDER BY name LIMIT ?2")?
                .query_map(params![after.unwrap_or(""), limit as i64], |r| machine_of(r.get(0)?))?
                .collect()
        })
    }

    fn revision(&self, machine_arn: &str, revision: i64) -> Result<Option<MachineRecord>> {
        self.read(|c| {
            c.prepare_cached("SELECT body FROM revisions WHERE machine_arn = ?1 AND revision = ?2")?
                .query_row(params![machine_arn, revision], |r| machine_of(r.get(0)?))
                .optional()
        })
    }

    fn version(&self, machine_arn: &str, version: i64) -> Result<Option<VersionRecord>> {
        self.read(|c| {
            c.prepare_cached(
                "SELECT machine_arn, version, revision, description, creation_ms FROM versions WHERE machine_arn = ?1 AND version = ?2",
            )?
            .query_row(params![machine_arn, version], version_of)
            .optional()
        })
    }

    fn versions(&self, machine_arn: &str, before: Option<i64>, limit: usize) -> Result<Vec<VersionRecord>> {
        self.read(|c| {
            c.prepare_cached(
                "SELECT machine_arn, version, revision, description, creation_ms FROM versions \
                 WHERE machine_arn = ?1 AND version < ?2 ORDER BY version DESC LIMIT ?3",
            )?
            .query_map(
                params![machine_arn, before.unwrap_or(i64::MAX), limit as i64],
                version_of,
            )?
            .collect()
        })
    }

    fn alias(&self, arn: &str) -> Result<Option<AliasRecord>> {
        self.read(|c| {
            c.prepare_cached("SELECT body FROM aliases WHERE arn = ?1")?
                .query_row([arn], |r| json_of(r.get(0)?))
                .optional()
        })
    }

    fn aliases(&self, machine_arn: &str) -> Result<Vec<AliasRecord>> {
        self.read(|c| {
            c.prepare_cached("SELECT body FROM aliases WHERE machine_arn = ?1 ORDER BY name")?
                .query_map([machine_arn], |r| json_of(r.get(0)?))?
                .collect()
        })
    }

    fn tags(&self, arn: &str) -> Result<Option<serde_json::Value>> {
        self.read(|c| {
            c.prepare_cached("SELECT body FROM tags WHERE arn = ?1")?
                .query_row([arn], |r| json_of(r.get(0)?))
                .optional()
        })
    }

    fn activity(&self, arn: &str) -> Result<Option<ActivityRecord>> {
        self.read(|c| {
            c.prepare_cached("SELECT arn, name, creation_ms, encryption FROM activities WHERE arn = ?1")?
                .query_row([arn], activity_of)
                .optional()
        })
    }

    fn activities(&self, after: Option<&str>, limit: usize) -> Result<Vec<ActivityRecord>> {
        self.read(|c| {
            c.prepare_cached(
                "SELECT arn, name, creation_ms, encryption FROM activities WHERE name > ?1 ORDER BY name LIMIT ?2",
            )?
            .query_map(params![after.unwrap_or(""), limit as i64], activity_of)?
            .collect()
        })
    }

    fn execution(&self, arn: &str) -> Result<Option<ExecutionRecord>> {
        self.read(|c| {
            c.prepare_cached(&format!("SELECT {EXECUTION_COLUMNS} FROM executions WHERE arn = ?1"))?
                .query_row([arn], execution_of)
                .optional()
        })
    }

    fn execution_by_id(&self, id: i64) -> Result<Option<ExecutionRecord>> {
        self.read(|c| {
            c.prepare_cached(&format!("SELECT {EXECUTION_COLUMNS} FROM executions WHERE id = ?1"))?
                .query_row([id], execution_of)
                .optional()
        })
    }

    fn executions(
        &self,
        machine_arn: &str,
        status: Option<&str>,
        via: Option<&str>,
        redriven: Option<bool>,
        after: Option<ExecutionCursor>,
        limit: usize,
    ) -> Result<Vec<ExecutionRecord>> {
        let (after_ms, after_id) = after.unwrap_or((i64::MAX, i64::MAX));
        // Two statements, so that a status filter walks the (machine, status, start) index.
        let sql = if status.is_some() {
            LIST_EXECUTIONS_BY_STATUS
        } else {
            LIST_EXECUTIONS
        };
        self.read(|c| {
            c.prepare_cached(sql)?
                .query_map(
                    params![machine_arn, status, after_ms, after_id, limit as i64, via, redriven],
                    execution_of,
                )?
                .collect()
        })
    }

    fn events(
        &self,
        execution_id: i64,
        after: Option<u32>,
        limit: usize,
        reverse: bool,
    ) -> Result<Vec<(u32, serde_json::Value)>> {
        let mut out = Vec::new();
        let mut bound = after.map_or(if reverse { i64::MAX } else { 0 }, i64::from);
        // Each row holds one step's events: read rows until `limit` events are found.
        while out.len() < limit {
            let rows: Vec<Vec<u8>> = self.read(|c| {
                let sql = if reverse {
                    "SELECT body FROM events WHERE execution_id = ?1 AND first_id < ?2 ORDER BY first_id DESC LIMIT 16"
                } else {
                    "SELECT body FROM events WHERE execution_id = ?1 AND last_id > ?2 ORDER BY first_id LIMIT 16"
                };
                c.prepare_cached(sql)?
                    .query_map(params![execution_id, bound], |r| r.get(0))?
                    .collect()
            })?;
            if rows.is_empty() {
                break;
            }
            // Fewer rows than asked for: they are the last ones.
            let last_rows = rows.len() < 16;
            for body in rows {
                let text = lz4_flex::decompress_size_prepended(&body).map_err(|e| JournalError(e.to_string()))?;
                let events: Vec<serde_json::Value> =
                    serde_json::from_slice(&text).map_err(|e| JournalError(e.to_string()))?;
                let mut events: Vec<(u32, serde_json::Value)> = events
                    .into_iter()
                    .map(|e| (e["id"].as_u64().unwrap_or_default() as u32, e))
                    .collect();
                if reverse {
                    events.reverse();
                }
                for (id, event) in events {
                    let wanted = if reverse {
                        i64::from(id) < bound
                    } else {
                        i64::from(id) > bound
                    };
                    if wanted && out.len() < limit {
                        out.push((id, event));
                    }
                }
                if let Some((id, _)) = out.last() {
                    bound = i64::from(*id);
                }
                if out.len() >= limit {
                    break;
                }
            }
            if last_rows {
                break;
            }
        }
        Ok(out)
    }

    fn steps(&self, execution_id: i64) -> Result<Vec<Step>> {
        self.read(|c| {
            c.prepare_cached(
                "SELECT now_ms, kind, token, body, error, cause FROM steps WHERE execution_id = ?1 ORDER BY seq",
            )?
            .query_map([execution_id], |r| {
                Step::from_columns(r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?).map_err(|e| {
                    rusqlite::Error::FromSqlConversionFailure(1, rusqlite::types::Type::Integer, Box::new(e))
                })
            })?
            .collect()
        })
    }

    fn open_executions(&self) -> Result<Vec<(i64, String, Option<i64>)>> {
        self.read(|c| {
            c.prepare("SELECT id, arn, wake_ms FROM executions WHERE status = 'RUNNING'")?
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                .collect()
        })
    }

    fn activity_tasks(&self) -> Result<Vec<ActivityTask>> {
        self.read(|c| {
            c.prepare("SELECT token, activity_arn, execution_id, input, started FROM activity_tasks ORDER BY token")?
                .query_map([], |r| {
                    Ok(ActivityTask {
                        token: r.get::<_, i64>(0)? as u64,
                        activity_arn: r.get(1)?,
                        execution_id: r.get(2)?,
                        input: r.get(3)?,
                        started: r.get(4)?,
                    })
                })?
                .collect()
        })
    }

    fn ended_before(&self, stop_ms: i64, limit: usize) -> Result<Vec<i64>> {
        self.read(|c| {
            c.prepare_cached("SELECT id FROM executions WHERE stop_ms IS NOT NULL AND stop_ms < ?1 LIMIT ?2")?
                .query_map(params![stop_ms, limit as i64], |r| r.get(0))?
                .collect()
        })
    }

    fn max_execution_id(&self) -> Result<i64> {
        self.read(|c| c.query_row("SELECT COALESCE(MAX(id), 0) FROM executions", [], |r| r.get(0)))
    }

    fn metrics(&self) -> String {
        use std::sync::atomic::Ordering::Relaxed;
        let c = &self.counters;
        let mut text = String::new();
        for (name, help, value) in [
            (
                "quickstep_journal_commits_total",
                "Journal transactions committed.",
                &c.commits,
            ),
            ("quickstep_journal_writes_total", "Journal writes committed.", &c.writes),
            ("quickstep_journal_events_total", "History events committed.", &c.events),
            (
                "quickstep_journal_transitions_total",
                "Steps of Standard executions committed.",
                &c.steps,
            ),
            (
                "quickstep_journal_failures_total",
                "Journal transactions that failed.",
                &c.failures,
            ),
        ] {
            text.push_str(&format!(
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}\n",
                value.load(Relaxed)
            ));
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_journal_of_schema_0_is_upgraded_and_a_newer_one_refused() {
        let conn = Connection::open_in_memory().unwrap();
        // The tables as schema 0 had them.
        conn.execute_batch(
            "CREATE TABLE activities (arn TEXT PRIMARY KEY, name TEXT NOT NULL, creation_ms INTEGER NOT NULL);
             CREATE TABLE executions (id INTEGER PRIMARY KEY, arn TEXT NOT NULL UNIQUE, machine_arn TEXT NOT NULL,
                name TEXT NOT NULL, revision INTEGER NOT NULL, test_case TEXT, status TEXT NOT NULL,
                start_ms INTEGER NOT NULL, stop_ms INTEGER, input TEXT NOT NULL, output TEXT, error TEXT, cause TEXT,
                trace_header TEXT, events INTEGER NOT NULL, wake_ms INTEGER);
             INSERT INTO activities VALUES ('arn:aws:states:us-east-1:1:activity:a', 'a', 5);",
        )
        .unwrap();
        migrate(&conn).unwrap();
        let activity = conn
            .query_row(
                "SELECT arn, name, creation_ms, encryption FROM activities",
                [],
                activity_of,
            )
            .unwrap();
        assert_eq!(activity.encryption, serde_json::json!({"type": "AWS_OWNED_KEY"}));
        conn.execute_batch(&format!("SELECT {EXECUTION_COLUMNS} FROM executions"))
            .unwrap();
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
        assert_eq!(version, SCHEMA_VERSION);
        // Opening it again changes nothing.
        migrate(&conn).unwrap();
        conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1).unwrap();
        let error = migrate(&conn).unwrap_err();
        assert!(error.0.contains("newer than this quickstep's"), "{error}");
    }

    /// The plan SQLite picks for `sql`, one line per step.
    fn plan(conn: &Connection, sql: &str) -> String {
        let mut statement = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
        let bound = [
            &"arn" as &dyn rusqlite::ToSql,
            &"RUNNING",
            &i64::MAX,
            &i64::MAX,
            &100,
            &rusqlite::types::Null,
            &rusqlite::types::Null,
        ];
        let rows: Vec<String> = statement
            .query_map(&bound[..], |r| r.get::<_, String>(3))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        rows.join("\n")
    }

    #[test]
    fn list_executions_walks_an_index_without_sorting() {
        let conn = Connection::open_in_memory().unwrap();
        migrate(&conn).unwrap();
        let by_status = plan(&conn, LIST_EXECUTIONS_BY_STATUS);
        assert!(by_status.contains("executions_by_machine_status"), "{by_status}");
        assert!(!by_status.contains("TEMP B-TREE"), "{by_status}");
        let all = plan(&conn, LIST_EXECUTIONS);
        assert!(all.contains("executions_by_machine "), "{all}");
        assert!(!all.contains("TEMP B-TREE"), "{all}");
    }
}
