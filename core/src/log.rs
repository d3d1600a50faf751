use std::fmt;
use std::sync::Arc;

/// How important a log line is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LogLevel {
    /// Something failed and the caller will see an error.
    Error,
    /// Something unexpected that pesakit worked around (a retry, a fallback).
    Warn,
    /// A notable step: a token obtained or refreshed.
    Info,
    /// Every HTTP exchange: method, path, status, duration, attempt.
    Debug,
}

impl fmt::Display for LogLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            LogLevel::Error => "error",
            LogLevel::Warn => "warn",
            LogLevel::Info => "info",
            LogLevel::Debug => "debug",
        })
    }
}

/// A sink for pesakit's log lines.
///
/// Lines never contain a secret: client secrets, access and refresh tokens and
/// webhook secrets are left out or replaced by `[redacted]` before a line is built.
/// Implementations must be cheap and must not block for long: they are called on the
/// request path.
pub trait Logger: Send + Sync {
    /// Receives one log line.
    fn log(&self, level: LogLevel, message: &str);
}

/// An optional logger shared by the parts of one client.
#[derive(Clone, Default)]
pub(crate) struct LogSink(Option<Arc<dyn Logger>>);

impl LogSink {
    pub(crate) fn new(logger: Option<Arc<dyn Logger>>) -> Self {
        LogSink(logger)
    }

    pub(crate) fn log(&self, level: LogLevel, message: impl FnOnce() -> String) {
        if let Some(logger) = &self.0 {
            logger.log(level, &message());
        }
    }
}

impl fmt::Debug for LogSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_some() {
            "Some(Logger)"
        } else {
            "None"
        })
    }
}
