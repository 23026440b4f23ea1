//! STUB (replaced by the expression layer): ISO-8601 timestamps.
/// Parses a timestamp to epoch nanoseconds.
pub fn parse_timestamp(text: &str) -> Option<i128> {
    chrono::DateTime::parse_from_rfc3339(text)
        .ok()
        .map(|t| t.timestamp_nanos_opt().unwrap_or(0) as i128)
}
