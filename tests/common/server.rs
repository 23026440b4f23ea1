//! The server tests' helpers: `quickstep serve` as its own process (the built binary, on a
//! free port), an `aws-sdk-sfn` client for it, and raw HTTP requests.

#![allow(dead_code)] // each test file uses its own part

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_sdk_sfn::config::interceptors::BeforeTransmitInterceptorContextMut;
use aws_sdk_sfn::config::{ConfigBag, Credentials, Intercept, Region, RuntimeComponents};
use aws_sdk_sfn::types::{ExecutionStatus, StateMachineType};
use aws_sdk_sfn::Client;

/// The role ARN the tests give.
pub const ROLE: &str = "arn:aws:iam::123456789012:role/test";
/// The account the server puts in ARNs.
pub const ACCOUNT: &str = "123456789012";

/// A running server process, killed (SIGKILL) when dropped.
pub struct Server {
    child: Child,
    /// What it has written on standard error since it said where it listens.
    pub stderr: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    /// The port it listens on.
    pub port: u16,
}

impl Server {
    /// Starts the server on the journal `db`, with `extra` arguments.
    pub fn start(db: &Path, extra: &[&str]) -> Server {
        Server::start_with_env(db, extra, &[])
    }

    /// Starts the server on the journal `db`, with `extra` arguments and the environment
    /// variables `env` (Step Functions Local's variables that the server reads are removed
    /// from the tests' own environment first).
    pub fn start_with_env(db: &Path, extra: &[&str], env: &[(&str, &str)]) -> Server {
        let mut command = Command::new(env!("CARGO_BIN_EXE_quickstep"));
        for variable in [
            "AWS_ACCOUNT_ID",
            "AWS_DEFAULT_REGION",
            "SFN_MOCK_CONFIG",
            "WAIT_TIME_SCALE",
        ] {
            command.env_remove(variable);
        }
        let mut child = command
            .args(["serve", "--port", "0", "--activity-poll-seconds", "1", "--db"])
            .arg(db)
            .args(extra)
            .envs(env.iter().copied())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the quickstep binary starts");
        let mut stderr = BufReader::new(child.stderr.take().expect("stderr is piped"));
        let mut line = String::new();
        stderr.read_line(&mut line).expect("the server says where it listens");
        let port = line
            .split("http://127.0.0.1:")
            .nth(1)
            .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("no port in {line:?}"));
        // Keep draining stderr so the server never blocks on it.
        let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let kept = lines.clone();
        std::thread::spawn(move || {
            for line in stderr.lines().map_while(Result::ok) {
                kept.lock().unwrap().push(line);
            }
        });
        Server {
            child,
            port,
            stderr: lines,
        }
    }

    /// Kills it with SIGKILL.
    pub fn kill(mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reaped");
    }

    /// A client for it.
    pub fn client(&self) -> Client {
        let config = aws_sdk_sfn::Config::builder()
            .behavior_version(aws_sdk_sfn::config::BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new("test", "test", None, None, "static"))
            .endpoint_url(format!("http://127.0.0.1:{}", self.port))
            .http_client(aws_smithy_http_client::Builder::new().build_http())
            .interceptor(NoSyncPrefix)
            .build();
        Client::from_conf(config)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The SDK sends StartSyncExecution to `sync-<host>`, which does not resolve for an IP
/// address: this puts the host back, as the README tells SDK users to.
#[derive(Debug)]
struct NoSyncPrefix;

impl Intercept for NoSyncPrefix {
    fn name(&self) -> &'static str {
        "NoSyncPrefix"
    }

    fn modify_before_transmit(
        &self,
        context: &mut BeforeTransmitInterceptorContextMut<'_>,
        _components: &RuntimeComponents,
        _config: &mut ConfigBag,
    ) -> Result<(), aws_sdk_sfn::error::BoxError> {
        let request = context.request_mut();
        if let Some(rest) = request.uri().strip_prefix("http://sync-") {
            let uri = format!("http://{rest}");
            request.set_uri(uri)?;
        }
        Ok(())
    }
}

/// A fresh journal path in a scratch folder named after `name`.
pub fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("quickstep-server-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir.join("journal.db")
}

/// A tokio runtime for a test.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// Creates a state machine; returns its ARN.
pub async fn create(client: &Client, name: &str, definition: &str, ty: StateMachineType) -> String {
    client
        .create_state_machine()
        .name(name)
        .definition(definition)
        .role_arn(ROLE)
        .r#type(ty)
        .send()
        .await
        .unwrap_or_else(|e| panic!("create {name}: {e:?}"))
        .state_machine_arn
}

/// Waits until the execution has closed; returns its description.
pub async fn closed(client: &Client, arn: &str) -> aws_sdk_sfn::operation::describe_execution::DescribeExecutionOutput {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let described = client.describe_execution().execution_arn(arn).send().await.unwrap();
        if described.status != ExecutionStatus::Running {
            return described;
        }
        assert!(Instant::now() < deadline, "{arn} still running");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Sends one raw HTTP/1.1 request; returns the status and body.
pub fn raw(port: u16, target: Option<&str>, body: &str) -> (u16, serde_json::Value) {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    let target = target.map(|t| format!("X-Amz-Target: {t}\r\n")).unwrap_or_default();
    write!(
        stream,
        "POST / HTTP/1.1\r\nHost: sync-localhost\r\n{target}Content-Type: application/x-amz-json-1.0\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let status = response[9..12].parse().unwrap();
    let body = response.split("\r\n\r\n").nth(1).unwrap_or_default();
    (status, serde_json::from_str(body).unwrap_or(serde_json::Value::Null))
}
