//! Checking outputs: the verification pass's size, the sampling during the timed run and
//! the checks themselves.

use quickstep::exec::RawOutcome;
use quickstep::runtime::workloads::{Faults, Workload};
use quickstep::Status;

use crate::alloc::uncounted;

/// One output in this many is checked during the timed run (a power of two).
pub(crate) const SAMPLE_EVERY: usize = 1024;
const _: () = assert!(SAMPLE_EVERY.is_power_of_two());

/// Whether output `i` is one of the sampled ones.
pub(crate) fn is_sample(i: usize) -> bool {
    i & (SAMPLE_EVERY - 1) == 0
}

/// Executions in the verification pass.
pub(crate) const VERIFY: usize = 2_000;

/// The open loops' check of arrival `n`: every failure is checked (it must be an injected
/// fault), successes one in [`SAMPLE_EVERY`]. Whether it was a sampled success, and whether
/// it is right.
pub(crate) fn check_arrival(workload: &Workload, raw: &RawOutcome<'_>, n: u64, faulty: bool) -> (bool, bool) {
    match raw.status {
        Status::Succeeded if !is_sample(n as usize) => (false, true),
        Status::Succeeded => (true, check(workload, raw, faulty)),
        _ => (false, check(workload, raw, faulty)),
    }
}

/// Whether an outcome is the expected success (or, with faults, a failure they cause).
pub(crate) fn check(workload: &Workload, raw: &RawOutcome<'_>, faulty: bool) -> bool {
    uncounted(|| match (raw.status, raw.output) {
        (Status::Succeeded, Some(o)) => workload.output_ok(&o.to_json_string()),
        (Status::Failed, None) => faulty && Faults::caused(raw.error.as_deref()),
        _ => false,
    })
}
