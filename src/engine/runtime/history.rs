//! Execution history for the runtime: AWS's log levels over the interpreter's history hook.
//!
//! With history off (the default) no sink is attached and the interpreter only counts
//! events, so there is no cost. With it on, each execution gets a small filter, allocated
//! in the execution's own arena (so it moves with the execution when it suspends and costs
//! no heap allocation), that forwards the events its level keeps to the embedder's
//! [`EventSink`], tagged with the execution's id.

use std::sync::Arc;

use crate::history::{EventData, HistoryEvent, HistorySink};

/// AWS's execution log levels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum LogLevel {
    /// No history (the default).
    #[default]
    Off,
    /// Every event.
    All,
    /// Error events (failures of tasks, states and the execution).
    Error,
    /// Only the events that end an execution with a failure.
    Fatal,
}

/// Where the runtime delivers history events. Called on worker threads (and on the calling
/// thread for `run*`), concurrently: keep it cheap and thread-safe.
pub trait EventSink: Send + Sync {
    /// One event of execution `execution` (the id `submit` returned; for `run*` and
    /// `run_batch*`, a number from the same sequence).
    fn event(&self, execution: u64, event: &HistoryEvent<'_>);
}

impl<F: Fn(u64, &HistoryEvent<'_>) + Send + Sync> EventSink for F {
    fn event(&self, execution: u64, event: &HistoryEvent<'_>) {
        self(execution, event)
    }
}

/// The runtime's history settings.
#[derive(Clone)]
pub(crate) struct HistoryConfig {
    pub(crate) level: LogLevel,
    pub(crate) include_data: bool,
    pub(crate) sink: Arc<dyn EventSink>,
}

/// One execution's filter: the level, then the sink.
pub(crate) struct Filter<'s> {
    level: LogLevel,
    include_data: bool,
    sink: &'s dyn EventSink,
    execution: u64,
}

impl HistoryConfig {
    /// The filter for one execution (`None` when the level is `Off`).
    pub(crate) fn filter(&self, execution: u64) -> Option<Filter<'_>> {
        (self.level != LogLevel::Off).then(|| Filter {
            level: self.level,
            include_data: self.include_data,
            sink: &*self.sink,
            execution,
        })
    }
}

impl HistorySink for Filter<'_> {
    fn record(&mut self, event: &HistoryEvent<'_>) {
        let keep = match self.level {
            LogLevel::Off => false,
            LogLevel::All => true,
            LogLevel::Error => event.is_error(),
            LogLevel::Fatal => event.is_fatal(),
        };
        if !keep {
            return;
        }
        if self.include_data || !matches!(event.data, EventData::Input(_) | EventData::Output(_)) {
            self.sink.event(self.execution, event);
        } else {
            let mut event = *event;
            event.data = EventData::None;
            self.sink.event(self.execution, &event);
        }
    }
}
