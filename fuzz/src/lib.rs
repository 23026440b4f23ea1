//! Shared pieces of quickstep's fuzz targets: structure generators that turn fuzzer bytes
//! into definitions, paths, intrinsic calls, JSONata expressions, JSON texts and mock
//! configurations, and the harness that runs a definition once under a virtual clock.
//!
//! Every generator reads its choices from an [`arbitrary::Unstructured`] (through [`G`]):
//! the fuzzer's mutations of the bytes become mutations of the structure. Once the bytes
//! run out every choice is its first option, so generation always ends, and each generator
//! carries a depth or size budget.

pub mod asl;
pub mod harness;
pub mod json;
pub mod jsonata;
pub mod mock;
pub mod path;

use arbitrary::Unstructured;

/// The bytes left decide every choice.
pub struct G<'a> {
    pub u: Unstructured<'a>,
    /// The largest loop count a generated JSONata loop may have (targets whose evaluations
    /// have no time limit keep it small).
    pub max_loop: usize,
}

impl<'a> G<'a> {
    pub fn new(data: &'a [u8]) -> G<'a> {
        G {
            u: Unstructured::new(data),
            max_loop: 100_000,
        }
    }

    /// A number in `0..n` (0 when the bytes have run out).
    pub fn below(&mut self, n: usize) -> usize {
        if n <= 1 {
            return 0;
        }
        self.u.int_in_range(0..=n - 1).unwrap_or(0)
    }

    /// True with probability about `num/den`.
    pub fn chance(&mut self, num: u8, den: u8) -> bool {
        // out of bytes: no (the plainest structure)
        !self.u.is_empty() && self.u.int_in_range(0..=den - 1).unwrap_or(den) < num
    }

    pub fn bool(&mut self) -> bool {
        self.chance(1, 2)
    }

    pub fn pick<T: Copy>(&mut self, options: &[T]) -> T {
        options[self.below(options.len())]
    }

    pub fn i64(&mut self) -> i64 {
        self.u.arbitrary().unwrap_or(0)
    }

    pub fn f64(&mut self) -> f64 {
        self.u.arbitrary().unwrap_or(0.0)
    }

    pub fn is_empty(&self) -> bool {
        self.u.is_empty()
    }

    /// A short arbitrary string (at most `max` chars).
    pub fn string(&mut self, max: usize) -> String {
        let s: String = self.u.arbitrary().unwrap_or_default();
        s.chars().take(max).collect()
    }

    /// An interesting integer: small, edges of i32/i64, powers of two.
    pub fn int(&mut self) -> i64 {
        match self.below(6) {
            0 | 1 => self.below(12) as i64 - 2,
            2 => self.pick(&[
                0,
                -1,
                255,
                256,
                1000,
                65535,
                100_000,
                i32::MAX as i64,
                i32::MIN as i64,
                i64::MAX,
                i64::MIN,
                1 << 53,
                (1 << 53) + 1,
                -(1 << 62),
                1 << 62,
            ]),
            3 => 1i64 << self.below(63),
            4 => -(self.below(64) as i64),
            _ => self.i64(),
        }
    }

    /// An interesting number's JSON text.
    pub fn number_text(&mut self) -> String {
        match self.below(5) {
            0 | 1 => self.int().to_string(),
            2 => self
                .pick(&[
                    "0.5",
                    "-0",
                    "-0.0",
                    "1e2",
                    "1E-2",
                    "2.5e+3",
                    "1e308",
                    "1.7976931348623157e308",
                    "5e-324",
                    "1e-400",
                    "0.1",
                    "1.0",
                    "10.0",
                    "123456789012345678901234567890",
                    "18446744073709551615",
                    "9223372036854775808",
                    "-9223372036854775809",
                    "1e21",
                    "1e22",
                    "0.000001",
                    "1e-7",
                    "3.14159",
                    "1e7",
                    "9999999.999",
                    "1.0E7",
                    "100",
                ])
                .to_string(),
            _ => {
                let f = self.f64();
                if f.is_finite() {
                    serde_json::Number::from_f64(f)
                        .map(|n| n.to_string())
                        .unwrap_or_else(|| "1.5".into())
                } else {
                    "1.5".into()
                }
            }
        }
    }
}

/// Escapes `s` as a JSON string literal (with quotes).
pub fn json_string(s: &str) -> String {
    serde_json::Value::String(s.to_string()).to_string()
}

/// How a target reads its bytes.
pub enum Mode<'a> {
    /// The bytes are the text under test (the seeds from the corpora are such texts).
    Raw(&'a str),
    /// The bytes drive a structure generator.
    Structured(&'a [u8]),
}

/// Bytes that begin with printable ASCII or whitespace are text (at most `max_len` bytes, and
/// UTF-8, else nothing); any other first byte selects the structure generator, which reads
/// the bytes after it.
pub fn mode(data: &[u8], max_len: usize) -> Option<Mode<'_>> {
    let first = *data.first()?;
    if first == b'\t' || first == b'\n' || first == b'\r' || (0x20..0x7f).contains(&first) {
        if data.len() > max_len {
            return None;
        }
        std::str::from_utf8(data).ok().map(Mode::Raw)
    } else {
        Some(Mode::Structured(&data[1..]))
    }
}

/// With `FUZZ_SHOW` set in the environment, prints what a target tests (the generated text
/// of a structured input): `FUZZ_SHOW=1 target/.../definition artifacts/definition/crash-...`.
pub fn show(what: &str, text: &str) {
    if std::env::var_os("FUZZ_SHOW").is_some() {
        eprintln!("--- {what}\n{text}");
    }
}

/// The stack a Rust thread gets by default, and so a `Runtime` worker: targets run the code
/// under test on a thread of this size, as an embedding program would (libFuzzer's main thread
/// has 8 MiB, which hides recursion that overflows a worker).
pub const WORKER_STACK: usize = 2 << 20;

/// Runs `f` on a thread with [`WORKER_STACK`] bytes of stack; a panic in it panics here.
pub fn on_worker_stack<F: FnOnce() + Send>(f: F) {
    std::thread::scope(|scope| {
        let handle = std::thread::Builder::new()
            .stack_size(WORKER_STACK)
            .spawn_scoped(scope, f)
            .expect("spawn a worker thread");
        if let Err(panic) = handle.join() {
            std::panic::resume_unwind(panic);
        }
    });
}
