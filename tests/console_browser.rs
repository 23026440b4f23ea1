//! The web console of `quickstep serve` in headless Chromium, driven over the DevTools
//! protocol (the `headless_chrome` crate, with Debian's `chromium`): the pages a user opens,
//! checked from the DOM. Chromium is `$QUICKSTEP_CHROMIUM`, `$CHROME`, or `chromium` on the
//! PATH; without it these tests fail (scripts/test installs it). Screenshots of each page go
//! to target/console-screenshots/.

#[path = "common/server.rs"]
mod server;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use aws_sdk_sfn::types::StateMachineType;
use headless_chrome::protocol::cdp::Page::CaptureScreenshotFormatOption;
use headless_chrome::{Browser, LaunchOptions, Tab};
use serde_json::Value as Json;
use server::{closed, create, runtime, scratch, Server};

const CHARGE: &str = "arn:aws:lambda:us-east-1:123456789012:function:Charge";

/// A Task that fails, caught, then a Pass and a Succeed.
const CAUGHT: &str = r#"{"StartAt": "Charge", "States": {
    "Charge": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:Charge",
        "Catch": [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Recover"}], "Next": "Ship"},
    "Ship": {"Type": "Pass", "End": true},
    "Recover": {"Type": "Pass", "Next": "Done"},
    "Done": {"Type": "Succeed"}}}"#;

/// A Pass, then a Task that fails with nothing to catch it.
const FAILING: &str = r#"{"StartAt": "Prepare", "States": {
    "Prepare": {"Type": "Pass", "Next": "Charge"},
    "Charge": {"Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:Charge", "Next": "Ship"},
    "Ship": {"Type": "Pass", "End": true}}}"#;

/// A Wait of a few seconds, then a Pass.
const WAITING: &str = r#"{"StartAt": "Hold", "States": {
    "Hold": {"Type": "Wait", "Seconds": 5, "Next": "Finish"},
    "Finish": {"Type": "Pass", "End": true}}}"#;

/// The server, with the Charge Lambda failing through `--resources`.
fn start(name: &str) -> Server {
    let db = scratch(name);
    let resources = db.with_file_name("resources.json");
    std::fs::write(
        &resources,
        format!(r#"{{"{CHARGE}": {{"Throw": {{"Error": "Payment.Declined", "Cause": "card expired"}}}}}}"#),
    )
    .unwrap();
    Server::start(&db, &["--resources", resources.to_str().unwrap()])
}

/// Debian's Chromium: `$QUICKSTEP_CHROMIUM`, `$CHROME`, else `chromium` (or
/// `chromium-browser`) on the PATH. Panics, never skips, when there is none.
fn chromium() -> PathBuf {
    for variable in ["QUICKSTEP_CHROMIUM", "CHROME"] {
        if let Some(path) = std::env::var_os(variable).filter(|p| !p.is_empty()) {
            return PathBuf::from(path);
        }
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        for name in ["chromium", "chromium-browser"] {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return candidate;
            }
        }
    }
    panic!(
        "these tests need Chromium: install Debian's package (apt-get install -y chromium; \
         scripts/test does) or set QUICKSTEP_CHROMIUM to its path"
    )
}

/// A headless Chromium.
fn browser() -> Browser {
    let options = LaunchOptions::default_builder()
        .path(Some(chromium()))
        .headless(true)
        .sandbox(false)
        .window_size(Some((1400, 1100)))
        .idle_browser_timeout(Duration::from_secs(120))
        .args(vec![
            std::ffi::OsStr::new("--disable-gpu"),
            std::ffi::OsStr::new("--disable-dev-shm-usage"),
        ])
        .build()
        .expect("launch options");
    Browser::new(options).unwrap_or_else(|e| panic!("Chromium does not start: {e}"))
}

/// The value of the JavaScript expression `js` (made JSON in the page).
fn eval(tab: &Tab, js: &str) -> Json {
    let wrapped = format!("(async () => JSON.stringify(await ({js})))()");
    let result = tab
        .evaluate(&wrapped, true)
        .unwrap_or_else(|e| panic!("evaluating {js}: {e}"));
    match result.value {
        Some(Json::String(text)) => serde_json::from_str(&text).unwrap_or(Json::Null),
        _ => Json::Null,
    }
}

/// Waits until `js` is true in the page; panics with the page's text after 15 s.
fn wait_for(tab: &Tab, js: &str) {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if eval(tab, &format!("!!({js})")) == Json::Bool(true) {
            return;
        }
        if Instant::now() > deadline {
            let text = eval(tab, "document.body.innerText");
            panic!("timed out waiting for {js}; the page shows:\n{text}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Loads `url` afresh (a new document even when only the fragment differs).
fn open(tab: &Tab, url: &str) {
    for url in ["about:blank", url] {
        tab.navigate_to(url).unwrap();
        tab.wait_until_navigated().unwrap();
    }
}

fn screenshot(tab: &Tab, name: &str) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/console-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    let png = tab
        .capture_screenshot(CaptureScreenshotFormatOption::Png, None, None, true)
        .unwrap();
    std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
}

/// The `data-status` of each state of the graph, and the computed fill of its shape.
fn node(tab: &Tab, state: &str) -> (String, String) {
    let found = eval(
        tab,
        &format!(
            r#"(() => {{ const g = document.querySelector('#graph g.state[data-state="{state}"]');
                if (!g) return null;
                const shape = g.querySelector(':scope > .shape');
                return [g.dataset.status, shape ? getComputedStyle(shape).fill : ''];
            }})()"#
        ),
    );
    let pair = found
        .as_array()
        .unwrap_or_else(|| panic!("no node for {state} in the graph"));
    (
        pair[0].as_str().unwrap_or_default().to_string(),
        pair[1].as_str().unwrap_or_default().to_string(),
    )
}

/// The types of the events table's rows, in order.
fn event_rows(tab: &Tab) -> Vec<String> {
    let types = eval(
        tab,
        "[...document.querySelectorAll('#events tr.event-row')].map(r => r.dataset.type)",
    );
    serde_json::from_value(types).unwrap()
}

/// The types of the execution's events, through the API.
fn history_types(rt: &tokio::runtime::Runtime, client: &aws_sdk_sfn::Client, arn: &str) -> Vec<String> {
    let history = rt
        .block_on(
            client
                .get_execution_history()
                .execution_arn(arn)
                .max_results(1000)
                .send(),
        )
        .unwrap();
    history
        .events()
        .iter()
        .map(|e| e.r#type().as_str().to_string())
        .collect()
}

#[test]
fn the_state_machines_list_and_a_state_machine_page() {
    let server = start("console-list");
    let rt = runtime();
    let client = server.client();
    let arn = rt.block_on(create(&client, "orders", CAUGHT, StateMachineType::Standard));
    let express = rt.block_on(create(&client, "quick", WAITING, StateMachineType::Express));
    rt.block_on(client.publish_state_machine_version().state_machine_arn(&arn).send())
        .unwrap();
    let base = format!("http://127.0.0.1:{}", server.port);
    let browser = browser();
    let tab = browser.new_tab().unwrap();

    // The list: both machines, their types, the version.
    open(&tab, &format!("{base}/"));
    wait_for(
        &tab,
        "document.querySelectorAll('#state-machines tbody tr[data-arn]').length == 2",
    );
    let rows = eval(
        &tab,
        "[...document.querySelectorAll('#state-machines tbody tr[data-arn]')].map(r => [r.dataset.arn, r.querySelector('.sm-name').textContent, r.querySelector('.sm-type').textContent])",
    );
    assert_eq!(
        rows,
        serde_json::json!([[arn, "orders", "Standard"], [express, "quick", "Express"]])
    );
    wait_for(
        &tab,
        "document.querySelector('#state-machines tr[data-arn] .sm-versions').textContent == '1'",
    );
    screenshot(&tab, "state-machines");

    // A state machine: its graph, its highlighted definition, no executions yet.
    eval(&tab, "document.querySelector('#state-machines .sm-name').click()");
    wait_for(&tab, "document.querySelector('#graph g.state[data-state=\"Charge\"]')");
    let states = eval(
        &tab,
        "[...document.querySelectorAll('#graph g.state')].map(g => g.dataset.state).sort()",
    );
    assert_eq!(states, serde_json::json!(["Charge", "Done", "Recover", "Ship"]));
    let keys = eval(
        &tab,
        "[...document.querySelectorAll('#definition .j-key')].map(k => k.textContent).slice(0, 3)",
    );
    assert_eq!(keys, serde_json::json!(["\"StartAt\"", "\"States\"", "\"Charge\""]));
    wait_for(
        &tab,
        "document.querySelector('#executions tbody').textContent.includes('No executions')",
    );

    // Start execution with input that is not JSON: AWS's message.
    eval(&tab, "document.querySelector('#start').click()");
    assert_eq!(
        eval(&tab, "document.querySelector('#execution-input').value"),
        Json::from("{\n  \"Comment\": \"Insert your JSON here\"\n}")
    );
    eval(&tab, "(document.querySelector('#execution-input').value = '{\"a\": ', document.querySelector('#start-submit').click())");
    wait_for(&tab, "document.querySelector('#start-error .alert')");
    let message = eval(&tab, "document.querySelector('#start-error').textContent");
    let expected = rt
        .block_on(
            client
                .start_execution()
                .state_machine_arn(&arn)
                .input("{\"a\": ")
                .send(),
        )
        .unwrap_err()
        .into_service_error();
    assert!(
        message.as_str().unwrap().starts_with("InvalidExecutionInput: ")
            && message.as_str().unwrap().contains(expected.meta().message().unwrap()),
        "{message} / {expected:?}"
    );
    screenshot(&tab, "start-execution-error");

    // Start execution with JSON input: the execution's page, and the execution exists.
    eval(
        &tab,
        "(document.querySelector('#execution-name').value = 'from-the-page', document.querySelector('#execution-input').value = '{\"order\": 7}', document.querySelector('#start-submit').click())",
    );
    wait_for(&tab, "location.hash.startsWith('#/execution/')");
    let listed = rt
        .block_on(client.list_executions().state_machine_arn(&arn).send())
        .unwrap();
    assert_eq!(listed.executions().len(), 1);
    let started = &listed.executions()[0];
    assert_eq!(started.name(), "from-the-page");
    let closed = rt.block_on(closed(&client, started.execution_arn()));
    assert_eq!(closed.input(), Some("{\"order\": 7}"));
    wait_for(
        &tab,
        "document.querySelector('#execution-status [data-status=\"SUCCEEDED\"]')",
    );

    // Back on the machine's page: the execution, and the status filter on the server.
    open(&tab, &format!("{base}/#/state-machine/{}", urlencode(&arn)));
    wait_for(
        &tab,
        "document.querySelectorAll('#executions tbody tr[data-arn]').length == 1",
    );
    eval(
        &tab,
        "(s => (s.value = 'FAILED', s.dispatchEvent(new Event('change'))))(document.querySelector('#status-filter'))",
    );
    wait_for(
        &tab,
        "document.querySelector('#executions tbody').textContent.includes('No executions')",
    );
    eval(&tab, "(s => (s.value = 'SUCCEEDED', s.dispatchEvent(new Event('change'))))(document.querySelector('#status-filter'))");
    wait_for(
        &tab,
        "document.querySelectorAll('#executions tbody tr[data-arn]').length == 1",
    );
    screenshot(&tab, "state-machine");

    // Edit: an invalid definition's diagnostics at their line; nothing is updated.
    eval(&tab, "document.querySelector('#edit').click()");
    let broken =
        "{\n  \"StartAt\": \"A\",\n  \"States\": {\n    \"A\": {\"Type\": \"Pass\", \"Next\": \"Nowhere\"}\n  }\n}";
    eval(
        &tab,
        &format!(
            "(document.querySelector('#definition-editor').value = {}, document.querySelector('#edit-save').click())",
            serde_json::to_string(broken).unwrap()
        ),
    );
    wait_for(&tab, "document.querySelector('#edit-error li.diagnostic')");
    let diagnostic = eval(
        &tab,
        "(li => [li.dataset.line, li.textContent])(document.querySelector('#edit-error li.diagnostic'))",
    );
    assert_eq!(diagnostic[0], "4", "{diagnostic}");
    assert!(
        diagnostic[1].as_str().unwrap().contains("MISSING_TRANSITION_TARGET"),
        "{diagnostic}"
    );
    let marked = eval(
        &tab,
        "[...document.querySelectorAll('#editor-preview .error-line')].map(l => l.dataset.line)",
    );
    assert_eq!(marked, serde_json::json!(["4"]));
    screenshot(&tab, "edit-invalid");
    let described = rt
        .block_on(client.describe_state_machine().state_machine_arn(&arn).send())
        .unwrap();
    assert_eq!(described.definition(), CAUGHT);

    // A valid edit is saved with UpdateStateMachine.
    let fixed = broken.replace("\"Next\": \"Nowhere\"", "\"End\": true");
    eval(
        &tab,
        &format!(
            "(document.querySelector('#definition-editor').value = {}, document.querySelector('#edit-save').click())",
            serde_json::to_string(&fixed).unwrap()
        ),
    );
    wait_for(&tab, "document.querySelectorAll('#graph g.state').length == 1");
    let described = rt
        .block_on(client.describe_state_machine().state_machine_arn(&arn).send())
        .unwrap();
    assert_eq!(described.definition(), fixed);
}

#[test]
fn execution_pages_colour_the_path_and_list_the_events() {
    let server = start("console-paths");
    let rt = runtime();
    let client = server.client();
    let caught = rt.block_on(create(&client, "caught", CAUGHT, StateMachineType::Standard));
    let failing = rt.block_on(create(&client, "failing", FAILING, StateMachineType::Standard));
    let run = |machine: &str| {
        let arn = rt
            .block_on(client.start_execution().state_machine_arn(machine).input("{}").send())
            .unwrap()
            .execution_arn;
        rt.block_on(closed(&client, &arn));
        arn
    };
    let caught_run = run(&caught);
    let failed_run = run(&failing);
    let base = format!("http://127.0.0.1:{}", server.port);
    let browser = browser();
    let tab = browser.new_tab().unwrap();

    // Caught in a Catch: the Task is a caught error, the recovery path succeeded.
    open(&tab, &format!("{base}/#/execution/{}", urlencode(&caught_run)));
    wait_for(&tab, "document.querySelector('#graph g.state[data-state=\"Done\"]')");
    wait_for(&tab, "document.querySelectorAll('#events tr.event-row').length > 0");
    let charge = node(&tab, "Charge");
    let recover = node(&tab, "Recover");
    let done = node(&tab, "Done");
    let ship = node(&tab, "Ship");
    assert_eq!(charge.0, "caught-error");
    assert_eq!(recover.0, "succeeded");
    assert_eq!(done.0, "succeeded");
    assert_eq!(ship.0, "not-started");
    assert_eq!(recover.1, done.1, "succeeded states share a colour");
    for (a, b) in [(&charge, &recover), (&charge, &ship), (&recover, &ship)] {
        assert_ne!(a.1, b.1, "{a:?} and {b:?} look the same");
    }
    assert_eq!(
        eval(
            &tab,
            "document.querySelector('#execution-status [data-status]').dataset.status"
        ),
        Json::from("SUCCEEDED")
    );
    let types = event_rows(&tab);
    assert_eq!(types, history_types(&rt, &client, &caught_run));
    assert_eq!(types.first().map(String::as_str), Some("ExecutionStarted"));
    assert_eq!(types.last().map(String::as_str), Some("ExecutionSucceeded"));
    assert!(types.iter().any(|t| t == "LambdaFunctionFailed"), "{types:?}");
    // The step column names each event's state.
    let steps = eval(
        &tab,
        "[...document.querySelectorAll('#events tr.event-row')].map(r => r.querySelector('.event-step').textContent)",
    );
    assert_eq!(steps[1], "Charge");
    assert_eq!(steps[types.len() - 1], "Done");
    // A row opens to the event's details.
    eval(
        &tab,
        "document.querySelector('#events tr.event-row[data-type=\"LambdaFunctionFailed\"]').click()",
    );
    wait_for(&tab, "document.querySelector('#events tr.event-detail')");
    let detail = eval(&tab, "document.querySelector('#events tr.event-detail').textContent");
    assert!(detail.as_str().unwrap().contains("Payment.Declined"), "{detail}");
    assert!(detail.as_str().unwrap().contains("card expired"), "{detail}");
    // Its input and output.
    let output = eval(&tab, "document.querySelector('#output-code').textContent");
    assert!(output.as_str().unwrap().contains("Payment.Declined"), "{output}");
    screenshot(&tab, "execution-caught");

    // Failed: the Task is failed, the Pass before it succeeded, the rest not started.
    open(&tab, &format!("{base}/#/execution/{}", urlencode(&failed_run)));
    wait_for(
        &tab,
        "document.querySelector('#graph g.state[data-state=\"Charge\"]') && document.querySelector('#d-error')",
    );
    let charge = node(&tab, "Charge");
    let prepare = node(&tab, "Prepare");
    let ship_failed = node(&tab, "Ship");
    assert_eq!(charge.0, "failed");
    assert_eq!(prepare.0, "succeeded");
    assert_eq!(ship_failed.0, "not-started");
    assert_eq!(prepare.1, recover.1, "succeeded looks the same on every page");
    assert_ne!(charge.1, prepare.1);
    assert_eq!(
        eval(&tab, "document.querySelector('#d-error').textContent"),
        Json::from("Payment.Declined")
    );
    assert_eq!(
        eval(&tab, "document.querySelector('#d-cause').textContent"),
        Json::from("card expired")
    );
    wait_for(&tab, "document.querySelectorAll('#events tr.event-row').length > 0");
    let types = event_rows(&tab);
    assert_eq!(types, history_types(&rt, &client, &failed_run));
    assert_eq!(types.last().map(String::as_str), Some("ExecutionFailed"));
    // A failed execution can be redriven, and is not running.
    assert_eq!(
        eval(&tab, "document.querySelector('#redrive').hidden"),
        Json::Bool(false)
    );
    assert_eq!(eval(&tab, "document.querySelector('#stop').hidden"), Json::Bool(true));
    screenshot(&tab, "execution-failed");

    // Redrive: the execution runs again from the failed Task (which fails again).
    eval(&tab, "document.querySelector('#redrive').click()");
    wait_for(&tab, "document.querySelector('#d-redrives').textContent == '1'");
    let redriven = rt.block_on(closed(&client, &failed_run));
    assert_eq!(redriven.redrive_count(), Some(1));
    wait_for(
        &tab,
        "document.querySelector('#execution-status [data-status=\"FAILED\"]')",
    );
    wait_for(
        &tab,
        "[...document.querySelectorAll('#events tr.event-row')].some(r => r.dataset.type == 'ExecutionRedriven')",
    );
}

#[test]
fn a_running_execution_is_updated_live() {
    let server = start("console-live");
    let rt = runtime();
    let client = server.client();
    let waiting = rt.block_on(create(&client, "waiting", WAITING, StateMachineType::Standard));
    let browser = browser();
    let tab = browser.new_tab().unwrap();
    let arn = rt
        .block_on(client.start_execution().state_machine_arn(&waiting).send())
        .unwrap()
        .execution_arn;
    open(
        &tab,
        &format!("http://127.0.0.1:{}/#/execution/{}", server.port, urlencode(&arn)),
    );
    wait_for(&tab, "document.querySelector('#graph g.state[data-state=\"Hold\"]')");
    let hold = node(&tab, "Hold");
    assert_eq!(hold.0, "in-progress");
    assert_eq!(node(&tab, "Finish").0, "not-started");
    assert_eq!(eval(&tab, "document.querySelector('#stop').hidden"), Json::Bool(false));
    assert_eq!(
        eval(
            &tab,
            "document.querySelector('#execution-status [data-status]').dataset.status"
        ),
        Json::from("RUNNING")
    );
    screenshot(&tab, "execution-running");
    // Marks the document: a reload would lose the mark.
    eval(&tab, "(window.__sameDocument = true)");
    wait_for(
        &tab,
        "document.querySelector('#graph g.state[data-state=\"Finish\"][data-status=\"succeeded\"]')",
    );
    assert_eq!(eval(&tab, "window.__sameDocument === true"), Json::Bool(true));
    let hold_after = node(&tab, "Hold");
    assert_eq!(hold_after.0, "succeeded");
    assert_ne!(hold_after.1, hold.1, "in progress and succeeded look different");
    wait_for(
        &tab,
        "document.querySelector('#execution-status [data-status=\"SUCCEEDED\"]')",
    );
    wait_for(
        &tab,
        "[...document.querySelectorAll('#events tr.event-row')].some(r => r.dataset.type == 'ExecutionSucceeded')",
    );
    assert_eq!(event_rows(&tab), history_types(&rt, &client, &arn));
    assert_eq!(eval(&tab, "document.querySelector('#stop').hidden"), Json::Bool(true));
    screenshot(&tab, "execution-succeeded");

    // Stop: a second waiting execution, stopped from its page.
    let stopped = rt
        .block_on(client.start_execution().state_machine_arn(&waiting).send())
        .unwrap()
        .execution_arn;
    open(
        &tab,
        &format!("http://127.0.0.1:{}/#/execution/{}", server.port, urlencode(&stopped)),
    );
    wait_for(
        &tab,
        "document.querySelector('#graph g.state[data-state=\"Hold\"][data-status=\"in-progress\"]')",
    );
    eval(&tab, "document.querySelector('#stop').click()");
    wait_for(
        &tab,
        "document.querySelector('#execution-status [data-status=\"ABORTED\"]')",
    );
    let described = rt.block_on(closed(&client, &stopped));
    assert_eq!(described.status().as_str(), "ABORTED");
    wait_for(
        &tab,
        "document.querySelector('#graph g.state[data-state=\"Hold\"][data-status=\"cancelled\"]')",
    );
    assert_eq!(eval(&tab, "document.querySelector('#stop').hidden"), Json::Bool(true));
    screenshot(&tab, "execution-stopped");
}

/// `GET path` on the server: the status, the content type and the body.
fn get(port: u16, path: &str) -> (u16, String, String) {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    let content_type = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-type: ")
                .map(str::to_string)
        })
        .unwrap_or_default();
    (head[9..12].parse().unwrap(), content_type, body.to_string())
}

#[test]
fn the_console_routes_answer_over_http() {
    let server = start("console-routes");
    // The page and its assets, from the binary.
    let (status, content_type, body) = get(server.port, "/");
    assert_eq!((status, content_type.as_str()), (200, "text/html; charset=utf-8"));
    assert!(body.contains("<script src=\"/console/app.js\"></script>"), "{body}");
    let (status, content_type, body) = get(server.port, "/console/app.js");
    assert_eq!((status, content_type.as_str()), (200, "text/javascript; charset=utf-8"));
    assert!(body.contains("AWSStepFunctions."), "{body}");
    let (status, content_type, _) = get(server.port, "/console/app.css");
    assert_eq!((status, content_type.as_str()), (200, "text/css; charset=utf-8"));
    // The API is still POST / (any path).
    let (status, body) = server::raw(server.port, Some("AWSStepFunctions.ListStateMachines"), "{}");
    assert_eq!((status, body), (200, serde_json::json!({"stateMachines": []})));

    // The drawing: the API's errors for unknown or missing ARNs.
    let execution = "arn:aws:states:us-east-1:123456789012:execution:nope:x";
    let (status, content_type, body) = get(server.port, &format!("/console/graph.svg?executionArn={execution}"));
    let body: Json = serde_json::from_str(&body).unwrap();
    assert_eq!((status, content_type.as_str()), (400, "application/json"));
    assert_eq!(
        body["__type"], "com.amazonaws.swf.service.v2.model#ExecutionDoesNotExist",
        "{body}"
    );
    let (status, _, body) = get(server.port, "/console/graph.svg");
    let body: Json = serde_json::from_str(&body).unwrap();
    assert_eq!(status, 400);
    assert_eq!(
        body["message"],
        "Exactly one of stateMachineArn and executionArn must be given"
    );

    // A state machine's drawing.
    let rt = runtime();
    let arn = rt.block_on(create(&server.client(), "drawn", FAILING, StateMachineType::Standard));
    let (status, content_type, body) = get(server.port, &format!("/console/graph.svg?stateMachineArn={arn}"));
    assert_eq!((status, content_type.as_str()), (200, "image/svg+xml"), "{body}");
    assert!(
        body.contains(r#"data-state="Prepare""#) && body.contains(r#"data-state="Charge""#),
        "{body}"
    );

    // Positions of diagnostics' locations.
    use std::io::{Read, Write};
    let positions = |body: &str| {
        let mut stream = std::net::TcpStream::connect(("127.0.0.1", server.port)).unwrap();
        write!(
            stream,
            "POST /console/positions HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        let (head, body) = response.split_once("\r\n\r\n").unwrap();
        (
            head[9..12].parse::<u16>().unwrap(),
            serde_json::from_str::<Json>(body).unwrap(),
        )
    };
    let definition =
        "{\n  \"StartAt\": \"A\",\n  \"States\": {\n    \"A\": {\"Type\": \"Pass\", \"Next\": \"B\"}\n  }\n}";
    let request = serde_json::json!({"definition": definition, "locations": ["/States/A/Next", null, "/States/Nope"]});
    let (status, answer) = positions(&request.to_string());
    assert_eq!(status, 200);
    assert_eq!(
        answer,
        serde_json::json!({"positions": [{"line": 4, "column": 27}, null, null]})
    );
    let (status, answer) = positions("{\"definition\": 1}");
    assert_eq!(status, 400);
    assert_eq!(answer["__type"], "SerializationException", "{answer}");
}

/// `text` percent-encoded for a URL's fragment, as the console's links are.
fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
