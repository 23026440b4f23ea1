//! Definition text through parse, validate (STANDARD and EXPRESS), compile and, when valid,
//! one execution with a small input under a virtual clock. Structured inputs are definitions
//! generated from the model (`quickstep_fuzz::asl`); text inputs are definitions as written.
#![no_main]

use libfuzzer_sys::fuzz_target;
use quickstep::model::MachineType;
use quickstep::{validate_text, Machine};
use quickstep_fuzz::{asl, harness, json, Mode, G};

fuzz_target!(|data: &[u8]| quickstep_fuzz::on_worker_stack(|| run(data)));

fn run(data: &[u8]) {
    let (text, input) = match quickstep_fuzz::mode(data, 64 * 1024) {
        None => return,
        Some(Mode::Raw(text)) => (text.to_string(), r#"{"a":1,"items":[1,"x",{"a":2}],"n":3}"#.to_string()),
        Some(Mode::Structured(bytes)) => {
            let mut g = G::new(bytes);
            // executions have no evaluation time limit a target can set: keep loops short
            g.max_loop = 1000;
            let text = asl::definition(&mut g);
            let input = json::input(&mut g).to_string();
            (text, input)
        }
    };
    quickstep_fuzz::show("definition", &text);
    quickstep_fuzz::show("input", &input);
    for ty in [MachineType::Standard, MachineType::Express] {
        if let Err(diagnostics) = validate_text(&text, ty) {
            assert!(!diagnostics.is_empty(), "rejected without a diagnostic");
            for d in &diagnostics {
                let _ = d.to_string();
                if let Some(location) = d.location.as_deref() {
                    let _ = quickstep::diagnostic::line_col(&text, location);
                }
            }
        }
    }
    match Machine::new(&text, harness::registry()) {
        Ok(machine) => {
            let outcome = harness::run_once(&machine, &input);
            quickstep_fuzz::show("outcome", &format!("{outcome:?}"));
        }
        Err(e) => {
            quickstep_fuzz::show("invalid", &e.to_string());
            assert!(!e.diagnostics.is_empty(), "Machine::new failed without a diagnostic");
            let _ = e.to_string();
        }
    }
}
