//! `quickstep serve`: its options, and starting the server.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;

use crate::mock::MockConfig;
use crate::tools::cli::{read, read_resources};

use super::api::{Service, ServiceConfig};
use super::journal::SqliteJournal;
use super::logs::ExecutionLog;
use super::machines::{Machines, TaskSources};
use crate::runtime::LogLevel;

/// The options of `quickstep serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The port to listen on (Step Functions Local's).
    #[arg(long, default_value_t = 8083)]
    pub port: u16,
    /// The address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// The journal: a SQLite database file, created if missing; `:memory:` keeps nothing.
    #[arg(long, default_value = "quickstep.db")]
    pub db: String,
    /// A JSON object from Task `Resource` to behaviour, as `run` takes it.
    #[arg(long, value_name = "FILE")]
    pub resources: Option<PathBuf>,
    /// A Step Functions Local mock configuration: an execution started with
    /// `stateMachineArn#TestCase` answers its Task states with that test case's mocks
    /// (default: `MockConfigFile.json` in the working directory, if there is one).
    #[arg(long, value_name = "FILE", env = "SFN_MOCK_CONFIG")]
    pub mock_config: Option<PathBuf>,
    /// The region in ARNs.
    #[arg(long, alias = "aws-region", default_value = "us-east-1", env = "AWS_DEFAULT_REGION")]
    pub region: String,
    /// The account id in ARNs.
    #[arg(long, alias = "aws-account", default_value = "123456789012", env = "AWS_ACCOUNT_ID")]
    pub account: String,
    /// Multiplies every Wait state's wait (0.5 halves it, 0 skips it), as Step Functions
    /// Local's `WAIT_TIME_SCALE` does; retry back-offs are not scaled.
    #[arg(long, value_name = "SCALE", default_value_t = 1.0, env = "WAIT_TIME_SCALE")]
    pub wait_time_scale: f64,
    /// How long GetActivityTask waits for a task, in seconds (AWS holds up to 60; 55 keeps
    /// clients whose read timeout is 60 s, boto3's and the AWS CLI's default, from timing
    /// out first).
    #[arg(long, default_value_t = 55)]
    pub activity_poll_seconds: u64,
    /// How many days finished Standard executions are kept.
    #[arg(long, default_value_t = 90)]
    pub retention_days: u64,
    /// Which execution events to log on standard error, at AWS's log levels: every event
    /// (`ALL`), failures (`ERROR`), executions' own failures (`FATAL`), or none.
    #[arg(long, value_enum, default_value = "OFF")]
    pub log_level: LogLevelArg,
    /// How log records are written: lines of text, or one JSON object per line.
    #[arg(long, value_enum, default_value = "text")]
    pub log_format: LogFormat,
    /// Hand asynchronous Express executions (`StartExecution` of an EXPRESS machine) to the
    /// NATS JetStream server at this URL, for `quickstep worker`s to run, instead of running
    /// them here.
    #[cfg(feature = "nats")]
    #[arg(long, value_name = "URL")]
    pub nats: Option<String>,
    /// With `--nats`: executions of machine M go to the subject `PREFIX.M`.
    #[cfg(feature = "nats")]
    #[arg(long, value_name = "PREFIX", default_value = "quickstep.executions")]
    pub nats_subject_prefix: String,
}

/// AWS's execution log levels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
#[value(rename_all = "UPPER")]
pub enum LogLevelArg {
    /// Every event.
    All,
    /// Failures of tasks, states and the execution.
    Error,
    /// The execution's own failure.
    Fatal,
    /// Nothing.
    Off,
}

/// How log records are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Lines of text.
    Text,
    /// One JSON object per line.
    Json,
}

/// Runs the server until SIGINT or SIGTERM.
pub fn serve(args: ServeArgs) -> Result<(), String> {
    let resources = read_resources(args.resources.as_deref())?;
    // Step Functions Local reads `MockConfigFile.json` from the working directory.
    let default_mocks = PathBuf::from("MockConfigFile.json");
    let mock_config = args
        .mock_config
        .clone()
        .or_else(|| default_mocks.is_file().then_some(default_mocks));
    if !(args.wait_time_scale.is_finite() && args.wait_time_scale >= 0.0) {
        return Err(format!(
            "--wait-time-scale must be a number 0 or above, not {}",
            args.wait_time_scale
        ));
    }
    let mocks = match &mock_config {
        Some(path) => Some(MockConfig::parse(&read(path)?).map_err(|e| format!("{}: {e}", path.display()))?),
        None => None,
    };
    let journal = SqliteJournal::open(&args.db).map_err(|e| format!("{}: {e}", args.db))?;
    let config = ServiceConfig {
        region: args.region.clone(),
        account: args.account.clone(),
        activity_poll: Duration::from_secs(args.activity_poll_seconds),
        retention: Duration::from_secs(args.retention_days.saturating_mul(24 * 3600)),
        log: ExecutionLog::new(match args.log_level {
            LogLevelArg::All => LogLevel::All,
            LogLevelArg::Error => LogLevel::Error,
            LogLevelArg::Fatal => LogLevel::Fatal,
            LogLevelArg::Off => LogLevel::Off,
        }),
        ..ServiceConfig::default()
    };
    if args.log_level != LogLevelArg::Off {
        let logs = tracing_subscriber::fmt()
            .with_writer(std::io::stderr)
            .with_target(false);
        match args.log_format {
            LogFormat::Json => logs.json().init(),
            LogFormat::Text => logs.init(),
        }
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let machines = Machines::new(TaskSources { resources, mocks }).with_wait_time_scale(args.wait_time_scale);
    // The tasks nothing else answers call their services, on the server's runtime.
    #[cfg(feature = "integrations")]
    let integrations = super::integrations::Integrations::on(runtime.handle().clone());
    #[cfg(feature = "integrations")]
    let machines = machines.with_integrations(integrations.clone());
    // `states:startExecution` Tasks start the server's own machines (held here: the
    // integrations hold them weakly).
    #[cfg(feature = "integrations")]
    let nested = Arc::new(super::nested::ServiceExecutions::new());
    #[cfg(feature = "integrations")]
    integrations.set_executions(&(nested.clone() as Arc<dyn super::integrations::states::Executions>));
    let service = Service::new(config, journal, machines).map_err(|e| e.to_string())?;
    #[cfg(feature = "nats")]
    let service = match &args.nats {
        Some(url) => service
            .with_nats_handoff(runtime.block_on(super::handoff::NatsHandoff::connect(url, &args.nats_subject_prefix))?),
        None => service,
    };
    runtime.block_on(async move {
        let address = format!("{}:{}", args.host, args.port);
        let listener = tokio::net::TcpListener::bind(&address)
            .await
            .map_err(|e| format!("cannot listen on {address}: {e}"))?;
        let local = listener.local_addr().map_err(|e| e.to_string())?;
        eprintln!("quickstep serve: listening on http://{local} (journal: {})", args.db);
        let service = Arc::new(service);
        #[cfg(feature = "integrations")]
        nested.serve(&service);
        super::http::serve(listener, service, shutdown_signal())
            .await
            .map_err(|e| e.to_string())
    })
}

/// Completes on SIGINT or SIGTERM.
async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(signal) => signal,
            Err(_) => return interrupt.await.unwrap_or(()),
        };
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    interrupt.await.unwrap_or(());
}
