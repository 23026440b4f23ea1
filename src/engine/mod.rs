//! The engine layer: executions of a compiled program. Synchronous, no I/O, and no allocation
//! per execution on the fast path.
//!
//! [`value`] is the payload (arena-allocated, `Copy`, JSON text read and written in one pass);
//! [`exec`] the resumable interpreter with its [`error`]s and [`history`] events; [`tasks`] the
//! handlers behind Task states; [`machine`] the public face (compile once, run many); [`runtime`]
//! the pool of workers that runs executions by the million; [`clock`] real or virtual time;
//! [`limits`] what one execution may build and do.

pub mod clock;
pub mod error;
pub mod exec;
pub mod history;
pub mod limits;
pub mod machine;
pub mod runtime;
pub mod tasks;
pub mod test_state;
pub mod value;
