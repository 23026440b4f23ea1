//! Mock configurations: `MockConfig::parse`, every test case bound to a fixed definition
//! (`Machine::with_mocks`) and run once under a virtual clock. Structured inputs are
//! generated configurations (`quickstep_fuzz::mock`); text inputs are configurations as
//! written.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use quickstep::mock::MockConfig;
use quickstep::Machine;
use quickstep_fuzz::{harness, mock, Mode, G};

fn machine() -> &'static Machine {
    static MACHINE: OnceLock<Machine> = OnceLock::new();
    MACHINE.get_or_init(|| {
        Machine::new(mock::DEFINITION, harness::registry()).unwrap_or_else(|e| panic!("the fixed definition: {e}"))
    })
}

fuzz_target!(|data: &[u8]| quickstep_fuzz::on_worker_stack(|| run(data)));

fn run(data: &[u8]) {
    let text = match quickstep_fuzz::mode(data, 64 * 1024) {
        None => return,
        Some(Mode::Raw(text)) => text.to_string(),
        Some(Mode::Structured(bytes)) => mock::config(&mut G::new(bytes)),
    };
    quickstep_fuzz::show("mock configuration", &text);
    let Ok(config) = MockConfig::parse(&text) else {
        return;
    };
    // test case names, as the file has them
    let json: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
    let machines: Vec<String> = config.state_machines().map(str::to_string).collect();
    for name in &machines {
        let mut cases: Vec<String> = json["StateMachines"][name.as_str()]["TestCases"]
            .as_object()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default();
        cases.push("NoSuchCase".into());
        for case in cases.iter().take(4) {
            let Ok(mocks) = config.test_case(name, case) else {
                continue;
            };
            let _ = mocks.states().count();
            if let Ok(mocked) = machine().with_mocks(&mocks) {
                let _ = harness::run_once(&mocked, r#"{"items":[1,{"a":2},"x"],"a":1}"#);
            }
        }
    }
    let _ = config.test_case("NoSuchMachine", "A");
}
