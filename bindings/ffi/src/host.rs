//! Calls into the host language's code (a foreign `TokenStore` or `Logger`), counted, and
//! refused once the host has said it is closing.
//!
//! CPython kills a thread that takes the interpreter lock after the interpreter started
//! to finalize (`pthread_exit` in 3.11–3.13). On a thread that is inside pesakit, that
//! unwinds through Rust frames, which aborts the whole process ("FATAL: exception not
//! rethrown"). A daemon thread in the middle of a blocking call, or a pesakit worker
//! carrying one, would do exactly that at exit when the call logs a line or reads its
//! token store. So the Python package calls [`pesakit_host_closing`] from an `atexit`
//! hook, which runs before finalization begins: from then on no new call enters the
//! host, and the hook waits (bounded) for the calls already inside it to come back.
//!
//! The same holds for the continuation callback of UniFFI's async protocol when it is a
//! Python function (the generated async helper, used with `PESAKIT_PYTHON_SPEEDUPS=0`):
//! a worker calls it to resume a coroutine. [`pesakit_host_continuation`] is a native
//! continuation that calls the host's through the gate.
//!
//! Plain C functions, not UniFFI exports: only the Python package uses them
//! (`pesakit/_shutdown.py`), through `ctypes`. Other hosts never close the gate, and a
//! call through it costs two atomic operations.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::time::{Duration, Instant};

/// Whether the host still takes calls, and how many are inside it now.
pub(crate) struct Gate {
    closing: AtomicBool,
    inside: AtomicUsize,
}

/// The process's gate: there is one host runtime per process.
pub(crate) static HOST: Gate = Gate::new();

/// A call inside the host; dropping it marks the call as returned.
pub(crate) struct Entered<'a>(&'a Gate);

impl Drop for Entered<'_> {
    fn drop(&mut self) {
        self.0.inside.fetch_sub(1, SeqCst);
    }
}

impl Gate {
    pub(crate) const fn new() -> Self {
        Gate {
            closing: AtomicBool::new(false),
            inside: AtomicUsize::new(0),
        }
    }

    /// Permission to call into the host until the result is dropped, or `None` once the
    /// host is closing. Counting before looking at the flag (both sequentially
    /// consistent) means [`Gate::close`] either sees this call or this call sees the flag.
    pub(crate) fn enter(&self) -> Option<Entered<'_>> {
        self.inside.fetch_add(1, SeqCst);
        if self.closing.load(SeqCst) {
            self.inside.fetch_sub(1, SeqCst);
            return None;
        }
        Some(Entered(self))
    }

    /// Refuses new calls, then waits up to `limit` for the calls inside the host to
    /// return. Returns whether they all did.
    pub(crate) fn close(&self, limit: Duration) -> bool {
        self.closing.store(true, SeqCst);
        let deadline = Instant::now() + limit;
        while self.inside.load(SeqCst) != 0 {
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        true
    }
}

/// Tells pesakit that the host is about to shut down: no token store or logger is
/// called any more (log lines are dropped, store methods fail with a `TokenStore`
/// error), and the calls already inside one get up to `timeout_ms` milliseconds to
/// return. Returns whether they did. Call it with the host's lock released (for Python,
/// a `ctypes.CFUNCTYPE` function), or the calls it waits for cannot finish.
#[no_mangle]
pub extern "C" fn pesakit_host_closing(timeout_ms: u32) -> bool {
    HOST.close(Duration::from_millis(u64::from(timeout_ms)))
}

/// A UniFFI continuation callback: the future's data, and the poll code.
pub type Continuation = extern "C" fn(u64, i8);

/// The host's continuation, as an address (0: none set).
static CONTINUATION: AtomicUsize = AtomicUsize::new(0);

/// Sets the host continuation that [`pesakit_host_continuation`] calls. The function
/// must stay callable for as long as the process runs.
#[no_mangle]
pub extern "C" fn pesakit_host_continuation_set(continuation: Continuation) {
    CONTINUATION.store(continuation as usize, SeqCst);
}

/// A continuation callback to pass to `rust_future_poll`: calls the one set with
/// [`pesakit_host_continuation_set`], unless the host is closing, in which case the
/// continuation is dropped (the program is ending; nothing will await the call).
#[no_mangle]
pub extern "C" fn pesakit_host_continuation(data: u64, poll_code: i8) {
    let Some(_inside) = HOST.enter() else {
        return;
    };
    let address = CONTINUATION.load(SeqCst);
    if address != 0 {
        // SAFETY: a non-zero value was stored from a `Continuation` by
        // `pesakit_host_continuation_set`, whose caller keeps the function alive.
        let continuation: Continuation = unsafe { std::mem::transmute(address) };
        continuation(data, poll_code);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    #[test]
    fn closing_waits_for_the_calls_inside_and_refuses_new_ones() {
        static GATE: Gate = Gate::new();
        let inside = GATE.enter().expect("open gate");
        let (closed_tx, closed_rx) = mpsc::channel();
        let closer = std::thread::spawn(move || {
            let all_returned = GATE.close(Duration::from_secs(30));
            closed_tx.send(all_returned).unwrap();
        });
        while !GATE.closing.load(SeqCst) {
            std::thread::yield_now();
        }
        assert!(GATE.enter().is_none(), "a new call after closing");
        // The closer cannot have finished: a call is still inside.
        assert!(closed_rx.try_recv().is_err());
        drop(inside);
        assert!(closed_rx.recv().unwrap(), "close saw every call return");
        closer.join().unwrap();
        assert_eq!(GATE.inside.load(SeqCst), 0);
    }

    #[test]
    fn closing_gives_up_after_its_limit() {
        static GATE: Gate = Gate::new();
        let inside = GATE.enter().expect("open gate");
        assert!(!GATE.close(Duration::from_millis(5)));
        drop(inside);
        assert!(GATE.close(Duration::ZERO));
    }
}
