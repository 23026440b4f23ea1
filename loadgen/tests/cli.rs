//! The `loadgen` binary end to end, on small counts: every mode reports every execution
//! once, with verified outputs and balanced counters.

use std::process::Command;

/// Runs loadgen with `args` plus `--json` and returns its one report.
fn report(args: &[&str]) -> serde_json::Value {
    let output = Command::new(env!("CARGO_BIN_EXE_loadgen"))
        .args(args)
        .arg("--json")
        .output()
        .expect("loadgen runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "loadgen {args:?} failed: {stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_str(stdout.lines().next().expect("a report line")).expect("a JSON report")
}

/// Asserts the report's balance: `count` started, all ended, outputs checked and right.
fn assert_complete(report: &serde_json::Value, count: u64, loop_mode: &str) {
    assert_eq!(report["loop"], loop_mode, "{report}");
    assert_eq!(report["started"], count, "{report}");
    assert_eq!(report["completed"], count, "{report}");
    assert_eq!(report["balanced"], true, "{report}");
    assert_eq!(report["output_ok"], true, "{report}");
    assert!(report["sampled"].as_u64().unwrap() > 0, "{report}");
    assert!(report["p99_us"].as_f64().unwrap() > 0.0, "{report}");
}

#[test]
fn closed_loop_runs_every_workload_mode() {
    for input in ["parsed", "text"] {
        let r = report(&[
            "--workload",
            "w1_order",
            "--threads",
            "2",
            "--count",
            "20000",
            "--input",
            input,
        ]);
        assert_complete(&r, 20_000, "closed");
        assert_eq!(r["input_mode"], input);
        assert_eq!(r["succeeded"], 20_000);
    }
}

#[test]
fn open_loop_through_the_queue_and_inline() {
    let queued = report(&["--threads", "2", "--rate", "200000", "--count", "20000"]);
    assert_complete(&queued, 20_000, "open");
    for input in ["parsed", "text"] {
        let inline = report(&[
            "--threads",
            "2",
            "--rate",
            "200000",
            "--count",
            "20000",
            "--inline",
            "--input",
            input,
        ]);
        assert_complete(&inline, 20_000, "open-inline");
        assert_eq!(inline["input_mode"], input);
        assert_eq!(inline["succeeded"], 20_000);
    }
}

#[test]
fn faults_fail_exactly_the_executions_they_hit() {
    for extra in [
        &[][..],
        &["--rate", "200000"][..],
        &["--rate", "200000", "--inline"][..],
    ] {
        let mut args = vec!["--threads", "2", "--count", "20000", "--faults", "100"];
        args.extend_from_slice(extra);
        let r = report(&args);
        let injected = r["faults_injected"].as_u64().unwrap();
        assert!(injected > 0, "{r}");
        assert_eq!(r["output_ok"], true, "{args:?}: {r}");
        assert_eq!(r["balanced"], true, "{r}");
    }
}

#[test]
fn handwritten_w1_runs_in_the_same_harness() {
    for input in ["parsed", "text"] {
        let r = report(&["--handwritten", "--threads", "2", "--count", "20000", "--input", input]);
        assert_complete(&r, 20_000, "closed");
        assert_eq!(
            (r["workload"].as_str(), r["input_mode"].as_str()),
            (Some("w1_handwritten"), Some(input))
        );
        // serde_json values allocate (the clone, or the parse and the writer); each thread's
        // allocations are counted.
        assert!(r["allocs_per_exec"].as_f64().unwrap() >= 10.0, "{r}");
    }
    let other = Command::new(env!("CARGO_BIN_EXE_loadgen"))
        .args(["--handwritten", "--workload", "w2_pass_chain", "--count", "10"])
        .output()
        .expect("loadgen runs");
    assert_eq!(other.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&other.stderr).contains("--handwritten runs W1 (w1_order) only"));
}

/// `--nats`: a bare consumer (both kinds) and a `quickstep worker` (the binary the workspace
/// builds beside loadgen) against a real nats-server started here (Debian's `nats-server`;
/// `.ci/run` installs it): every event acknowledged, every outcome stored and sampled right.
#[test]
fn nats_mode_measures_bare_consumers_and_workers() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    let store = std::env::temp_dir().join(format!("loadgen-nats-{}", std::process::id()));
    let mut server = Command::new("nats-server")
        .args(["-js", "-sd"])
        .arg(&store)
        .args(["-p", &port.to_string(), "-a", "127.0.0.1"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start nats-server ({e}): install it (apt-get install nats-server)"));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(std::time::Instant::now() < deadline, "nats-server did not listen");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let url = format!("nats://127.0.0.1:{port}");
    let quickstep = std::path::Path::new(env!("CARGO_BIN_EXE_loadgen")).with_file_name("quickstep");
    let runs: [&[&str]; 3] = [
        &["--bare", "ack"],
        &["--bare", "publish"],
        &[
            "--quickstep",
            quickstep.to_str().unwrap(),
            "--workers",
            "2",
            "--threads",
            "1",
        ],
    ];
    let mut reports = Vec::new();
    for extra in runs {
        let mut args = vec!["--nats", &url, "--events", "3000"];
        args.extend_from_slice(extra);
        if extra[0] == "--quickstep" {
            assert!(
                quickstep.exists(),
                "{} is missing: build the workspace (cargo test --workspace builds it)",
                quickstep.display()
            );
        }
        reports.push(report(&args));
    }
    let _ = server.kill();
    let _ = server.wait();
    let _ = std::fs::remove_dir_all(&store);
    for (report, (mode, results)) in reports
        .iter()
        .zip([("bare-ack", 0), ("bare-publish", 3000), ("worker", 3000)])
    {
        assert_eq!(report["mode"], mode, "{report}");
        assert_eq!(report["events"], 3000, "{report}");
        assert_eq!(report["results"], results, "{report}");
        assert_eq!(report["ok"], true, "{report}");
        assert!(report["exec_per_sec"].as_f64().unwrap() > 0.0, "{report}");
    }
}
