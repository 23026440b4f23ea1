//! `quickstep serve` as its own process (the built binary), and an `aws-sdk-sfn` client for
//! it: what the server tests share.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use aws_sdk_sfn::config::interceptors::BeforeTransmitInterceptorContextMut;
use aws_sdk_sfn::config::{ConfigBag, Credentials, Intercept, Region, RuntimeComponents};
use aws_sdk_sfn::Client;

/// A running server process, killed (SIGKILL) when dropped.
pub struct Server {
    child: Child,
    /// The port it listens on.
    pub port: u16,
}

impl Server {
    /// Starts `quickstep serve` on journal `db` with `extra` flags; waits until it listens.
    pub fn start(db: &Path, extra: &[&str]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_quickstep"))
            .args(["serve", "--port", "0", "--activity-poll-seconds", "1", "--db"])
            .arg(db)
            .args(extra)
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
        std::thread::spawn(move || for _ in stderr.lines() {});
        Server { child, port }
    }

    /// Kills the server with SIGKILL.
    pub fn kill(mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reaped");
    }

    /// An SDK client for the server: an endpoint override and dummy credentials.
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

/// A fresh journal path in a scratch folder named after `name` and this process.
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
