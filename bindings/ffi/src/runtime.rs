//! Where calls run. Async calls made while other async calls are in flight run on one
//! process-wide multi-thread tokio runtime, so a foreign executor never drives I/O. A
//! blocking call made while no other one is in progress runs on a second,
//! single-threaded runtime that the calling thread drives itself: the request, the
//! connection's I/O and the answer are handled on the caller's own thread, with no
//! hand-over to a worker and back (each of which wakes a sleeping thread; see
//! `docs/adr/0006-blocking-calls-drive-their-own-io.md`). Blocking calls made while
//! another one is in progress run wholly on the workers instead, as async calls do, the
//! caller only waiting for the end, so concurrent callers keep both runtimes' threads
//! busy, do not take the runtime from one another, and allocate from the library's own
//! allocator on Linux (`docs/adr/0017-mimalloc-on-pesakit-threads-only.md`).
//!
//! An async call made while no other is in flight (a program awaiting one call after
//! another) runs on the single-threaded runtime as well, driven by the `pesakit-io`
//! thread or a blocking caller: one thread sends it and reads its answer, where the
//! multi-thread runtime woke its two workers several times per call
//! (`docs/adr/0019-a-lone-async-call-runs-on-the-io-thread.md`).
//!
//! An asyncio event loop can drive that single-threaded runtime too, while it waits for
//! its own I/O (`pesakit_loop_wait`, used by the Python package): the async calls made on
//! its thread then run there, so they are sent and answered on the loop's thread (see
//! `docs/adr/0013-python-event-loop-drives-its-calls.md`).
//!
//! A client's connections stay in one pool whichever runtime opened them. A connection
//! keeps being watched (a gateway closing it is noticed before it is reused) because a
//! driver thread runs the single-threaded runtime whenever no blocking call does: after
//! a short grace period, or at once when another call may need it.

use std::cell::Cell;
use std::future::Future;
use std::os::fd::{BorrowedFd, RawFd};
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use futures_util::future::Either;
use once_cell::sync::Lazy;
use tokio::sync::Notify;

use crate::error::PesakitError;

static RUNTIME: Lazy<tokio::runtime::Runtime> = Lazy::new(|| {
    tokio::runtime::Builder::new_multi_thread()
        .thread_name("pesakit")
        .on_thread_start(started_thread)
        .enable_all()
        .build()
        .expect("the pesakit runtime starts")
});

static BLOCKING: Lazy<Blocking> = Lazy::new(Blocking::start);

/// Runs first on every thread the library starts: what such a thread allocates comes
/// from the library's own allocator where there is one (see `crate::alloc`).
fn started_thread() {
    #[cfg(target_os = "linux")]
    crate::alloc::own_thread();
}

/// How long the driver thread leaves the single-threaded runtime to the blocking calls
/// after the last one returned: a program making blocking calls one after another keeps
/// driving its own I/O, and the driver does not have to be woken and asked to hand the
/// runtime back before every call.
const GRACE: Duration = Duration::from_millis(2);

/// The single-threaded runtime of the blocking calls, and who is driving it.
struct Blocking {
    runtime: tokio::runtime::Runtime,
    state: Mutex<Driving>,
    /// Wakes the driver thread: the runtime is left to it, or wanted at once.
    wake_driver: Condvar,
    /// Tells the driver thread to hand the runtime over to a blocking caller.
    hand_over: tokio::sync::Notify,
}

struct Driving {
    /// A blocking call is driving the runtime.
    driven_by_caller: bool,
    /// Blocking calls running on the workers because another one was driving.
    on_workers: usize,
    /// When the last driving blocking call returned.
    last_return: Instant,
    /// The driver thread is running the runtime (and must be asked to stop).
    driver_running: bool,
    /// An async call asked the driver not to wait out the grace period.
    wanted: bool,
    /// The driver thread sleeps until the driving caller leaves (and must be woken
    /// then; otherwise it wakes by itself when its grace period may be over).
    driver_waits_for_caller: bool,
}

impl Driving {
    /// Whether the driver thread should run the runtime now.
    fn driver_needed(&self) -> bool {
        !self.driven_by_caller
            && (self.wanted || self.on_workers > 0 || self.last_return.elapsed() >= GRACE)
    }
}

impl Blocking {
    fn start() -> Blocking {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("the pesakit blocking runtime starts");
        let blocking = Blocking {
            runtime,
            state: Mutex::new(Driving {
                driven_by_caller: false,
                on_workers: 0,
                last_return: Instant::now(),
                driver_running: false,
                wanted: false,
                driver_waits_for_caller: false,
            }),
            wake_driver: Condvar::new(),
            hand_over: tokio::sync::Notify::new(),
        };
        std::thread::Builder::new()
            .name("pesakit-io".to_owned())
            .spawn(|| {
                started_thread();
                BLOCKING.drive()
            })
            .expect("the pesakit I/O thread starts");
        blocking
    }

    fn lock(&self) -> MutexGuard<'_, Driving> {
        // The state is a few flags and counters updated in single statements: a panic
        // elsewhere cannot leave it half-written, so a poisoned lock is still right.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The driver thread: runs the runtime whenever no blocking call does (see
    /// [`Driving::driver_needed`]), until a blocking caller asks for it back.
    fn drive(&self) {
        loop {
            let mut state = self.lock();
            while !state.driver_needed() {
                state = if state.driven_by_caller {
                    state.driver_waits_for_caller = true;
                    let mut state = self
                        .wake_driver
                        .wait(state)
                        .unwrap_or_else(|e| e.into_inner());
                    state.driver_waits_for_caller = false;
                    state
                } else {
                    let left = GRACE.saturating_sub(state.last_return.elapsed());
                    self.wake_driver
                        .wait_timeout(state, left)
                        .unwrap_or_else(|e| e.into_inner())
                        .0
                };
            }
            state.driver_running = true;
            state.wanted = false;
            drop(state);
            self.runtime.block_on(self.hand_over.notified());
            self.lock().driver_running = false;
        }
    }

    /// Runs `task` to completion while the calling thread waits: on that thread, driving
    /// the single-threaded runtime, when no other blocking call is in progress (asking
    /// the driver thread to hand it over if it runs it), else as a task on the
    /// multi-thread runtime's workers. A panic of the task unwinds into the caller; a
    /// task that ended otherwise without finishing (the runtime shut down) is returned.
    /// Under concurrency a caller that finishes does not take the runtime back from the
    /// driver thread while others are still on the workers: each such take-over cost a
    /// hand-over and a wake-up of the driver for nothing.
    fn block_on(&self, task: Task) -> Option<tokio::task::JoinError> {
        let drive = {
            let mut state = self.lock();
            if state.driven_by_caller || state.on_workers > 0 {
                state.on_workers += 1;
                // Connections opened on the single-threaded runtime must keep being
                // driven: by the driver thread, woken now rather than after its grace.
                if !state.driven_by_caller && !state.driver_running {
                    self.wake_driver.notify_one();
                }
                false
            } else {
                state.driven_by_caller = true;
                if state.driver_running {
                    self.hand_over.notify_one();
                }
                true
            }
        };
        let _leave = Leave {
            blocking: self,
            drove: drive,
            by_loop: false,
        };
        if drive {
            self.runtime.block_on(task);
            return None;
        }
        // The whole call runs on a worker (its allocations with them: ADR 0017); the
        // caller only waits for its end.
        match RUNTIME.block_on(RUNTIME.spawn(task)) {
            Ok(()) => None,
            Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
            Err(e) => Some(e),
        }
    }

    /// Drives the runtime on the calling thread until `task` finishes, if no other
    /// thread drives it; returns `false` at once (without running `task`) otherwise.
    /// `by_loop`: the caller is an event loop waiting (see [`wait_for_loop`]).
    fn try_block_on(&self, task: Pin<Box<dyn Future<Output = ()> + '_>>, by_loop: bool) -> bool {
        {
            let mut state = self.lock();
            if state.driven_by_caller {
                return false;
            }
            state.driven_by_caller = true;
            if state.driver_running {
                self.hand_over.notify_one();
            }
        }
        let _leave = Leave {
            blocking: self,
            drove: true,
            by_loop,
        };
        self.runtime.block_on(task);
        true
    }

    /// Asks the driver thread to run the runtime now if nobody does: an async call may
    /// use a connection a blocking call opened.
    fn want_driven(&self) {
        let mut state = self.lock();
        if !state.driven_by_caller && !state.driver_running && !state.wanted {
            state.wanted = true;
            self.wake_driver.notify_one();
        }
    }
}

/// A driving or queued blocking call, counted out when it ends (even by a panic), so the
/// driver thread takes over again.
struct Leave<'a> {
    blocking: &'a Blocking,
    /// The call drove the single-threaded runtime (else it ran on the workers).
    drove: bool,
    /// An event loop waiting for its calls (see [`wait_for_loop`]), not a blocking call.
    by_loop: bool,
}

impl Drop for Leave<'_> {
    fn drop(&mut self) {
        let mut state = self.blocking.lock();
        if self.drove {
            state.driven_by_caller = false;
            state.last_return = Instant::now();
            // A blocking call leaves while event loops have calls on the runtime, or
            // anyone leaves while lone async calls are on it: the driver takes over at
            // once (a loop that waits takes the runtime back for its own calls).
            if (!self.by_loop && LOOP_CALLS.load(Ordering::Acquire) > 0)
                || LONE_CALLS.load(Ordering::Acquire) > 0
            {
                state.wanted = true;
            }
            // Woken from its untimed sleep, or at once when calls on the workers or
            // async calls on the runtime may need it. A driver already counting
            // down its grace period finds the new time by itself, so a program making
            // one blocking call after another does not wake it every time.
            if state.driver_waits_for_caller || state.on_workers > 0 || state.wanted {
                self.blocking.wake_driver.notify_one();
            }
        } else {
            state.on_workers -= 1;
        }
    }
}

/// The work of one call. Boxed, and its result handed over through a slot, so the
/// runtime's task and blocking machinery is compiled once for the whole library instead
/// of once per operation and entry point (about an eighth of the shipped library). The
/// cost is two small allocations per call, next to an HTTP exchange.
pub(crate) type Call<T> = Pin<Box<dyn Future<Output = Result<T, PesakitError>> + Send + 'static>>;

/// A call with its result type erased: what the runtime actually runs.
type Task = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// Aborts the spawned task when the foreign caller drops (cancels) the call.
struct AbortOnDrop(tokio::task::AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Runs `future` on a runtime and awaits it from any executor (asyncio, Kotlin
/// coroutines, Swift concurrency). Cancelling the foreign call cancels the work. A call
/// made on the thread of an event loop that waits through [`wait_for_loop`] runs on
/// the single-threaded runtime, which that thread drives while its loop waits; so does
/// a call made while no other async call is in flight (ADR 0019); the others run on the
/// workers.
pub(crate) async fn run<T: Send + 'static>(future: Call<T>) -> Result<T, PesakitError> {
    let (sender, receiver) = tokio::sync::oneshot::channel();
    let loop_call = LoopCalls::join();
    let on_loop = loop_call.is_some();
    // Any other call's (an event loop's calls are counted by `loop_call`).
    let counted = (!on_loop).then(AsyncCall::join);
    let lone = counted.as_ref().is_some_and(|call| call.0);
    let task: Task = Box::pin(async move {
        // Counted while the task exists, if it is an event loop's call.
        let _loop_call = loop_call;
        let result = future.await;
        // Counted out before the caller hears of the result, so a caller making one
        // call after another finds its next call lone.
        drop(counted);
        // The receiver is gone only when the caller cancelled, and then nobody wants it.
        let _ = sender.send(result);
    });
    let mut handle = if on_loop {
        BLOCKING.runtime.spawn(task)
    } else if lone {
        let blocking = &*BLOCKING;
        blocking.want_driven();
        blocking.runtime.spawn(task)
    } else {
        if let Some(blocking) = Lazy::get(&BLOCKING) {
            blocking.want_driven();
        }
        spawn(task)
    };
    let _guard = AbortOnDrop(handle.abort_handle());
    match receiver.await {
        Ok(result) => result,
        // The task ended without a result: it panicked or the runtime shut down.
        Err(_) => Err(not_completed((&mut handle).await.err())),
    }
}

/// Async calls in flight that are not an event loop's.
static ASYNC_CALLS: AtomicUsize = AtomicUsize::new(0);

/// Lone async calls (see [`AsyncCall`]) in flight, on the single-threaded runtime.
static LONE_CALLS: AtomicUsize = AtomicUsize::new(0);

/// An async call that is not an event loop's, counted in [`ASYNC_CALLS`] until dropped.
/// A lone one (no other in flight when it started) runs on the single-threaded runtime
/// and is also counted in [`LONE_CALLS`], so whoever drove that runtime hands it to the
/// driver thread at once when it leaves.
struct AsyncCall(bool);

impl AsyncCall {
    fn join() -> AsyncCall {
        let lone = ASYNC_CALLS.fetch_add(1, Ordering::AcqRel) == 0;
        if lone {
            LONE_CALLS.fetch_add(1, Ordering::AcqRel);
        }
        AsyncCall(lone)
    }
}

impl Drop for AsyncCall {
    fn drop(&mut self) {
        ASYNC_CALLS.fetch_sub(1, Ordering::AcqRel);
        if self.0 {
            LONE_CALLS.fetch_sub(1, Ordering::AcqRel);
        }
    }
}

fn spawn(task: Task) -> tokio::task::JoinHandle<()> {
    RUNTIME.spawn(task)
}

/// Runs `f` on one of the multi-thread runtime's workers and returns its result (for the
/// allocator's tests).
#[cfg(all(test, target_os = "linux"))]
pub(crate) fn on_worker<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    RUNTIME
        .block_on(RUNTIME.spawn(async move { f() }))
        .expect("the task ran")
}

/// Async calls of event loops that wait through [`wait_for_loop`], in flight, all loops
/// together: the driver thread takes the single-threaded runtime over at once, rather
/// than after [`GRACE`], when a blocking call that drove it returns while some are.
static LOOP_CALLS: AtomicUsize = AtomicUsize::new(0);

/// The calls in flight of the event loop running on this thread.
struct LoopCalls {
    /// The loop waits through [`wait_for_loop`] (set by its first wait, cleared when it
    /// closes).
    attached: Cell<bool>,
    /// Its calls in flight (decremented by their tasks, wherever they end).
    in_flight: Arc<AtomicUsize>,
}

thread_local! {
    static THIS_LOOP: LoopCalls = LoopCalls {
        attached: Cell::new(false),
        in_flight: Arc::new(AtomicUsize::new(0)),
    };
}

/// One async call of an event loop, counted while its task exists.
struct LoopCall(Arc<AtomicUsize>);

impl LoopCalls {
    /// Counts a new call of this thread's loop, if the thread runs one that waits
    /// through [`wait_for_loop`].
    fn join() -> Option<LoopCall> {
        THIS_LOOP
            .with(|calls| calls.attached.get().then(|| calls.in_flight.clone()))
            .map(|in_flight| {
                in_flight.fetch_add(1, Ordering::AcqRel);
                LOOP_CALLS.fetch_add(1, Ordering::AcqRel);
                LoopCall(in_flight)
            })
    }
}

impl Drop for LoopCall {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
        LOOP_CALLS.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Waits, for a foreign event loop with async calls in flight, until `fd` (the loop's
/// own `epoll` descriptor) is readable or `timeout` passed (`None`: no limit), driving
/// the single-threaded runtime meanwhile: the loop's calls do their I/O on the loop's
/// own thread, and their answers reach it without a hand-over from another thread.
/// Returns 1 when `fd` became readable or an answer for the loop ended the wait (see
/// [`end_loop_wait`]), 0 on timeout, and -1 at once when the loop has no call in flight
/// or another thread drives the runtime: the loop then waits on its own (and a loop
/// without calls leaves the runtime to blocking callers).
pub(crate) fn wait_for_loop(fd: RawFd, timeout: Option<Duration>) -> i32 {
    let in_flight = THIS_LOOP.with(|calls| {
        calls.attached.set(true);
        calls.in_flight.load(Ordering::Acquire)
    });
    if in_flight == 0 || tokio::runtime::Handle::try_current().is_ok() {
        return -1;
    }
    let mut outcome = 0;
    let drove = BLOCKING.try_block_on(
        Box::pin(async {
            if timeout == Some(Duration::ZERO) {
                // The loop has work of its own: run what is ready, take in the I/O that
                // arrived, run what it woke, and give the thread back.
                tokio::task::yield_now().await;
                tokio::task::yield_now().await;
                return;
            }
            // SAFETY: the loop calls this from its selector, which keeps `fd` open until
            // the call returns, and `watched` (holding the borrowed descriptor) is dropped
            // and deregistered before that.
            let registered = unsafe {
                tokio::io::unix::AsyncFd::register_with_interest(
                    BorrowedFd::borrow_raw(fd),
                    tokio::io::Interest::READABLE,
                )
            };
            let Ok(watched) = registered else {
                // Not a descriptor epoll can watch: the loop waits on its own.
                outcome = -1;
                return;
            };
            let end = LOOP_WAIT_ENDED.with(Arc::clone);
            let readable = pin!(watched.readable());
            let ended = pin!(end.notified());
            let woken = futures_util::future::select(readable, ended);
            let ready = match timeout {
                None => woken.await,
                Some(limit) => match tokio::time::timeout(limit, woken).await {
                    Ok(woken) => woken,
                    Err(_) => return,
                },
            };
            // Readable, or ended by an answer (which the mailbox reports itself).
            outcome = i32::from(matches!(ready, Either::Left((Ok(_), _)) | Either::Right(_)));
        }),
        true,
    );
    if drove {
        outcome
    } else {
        -1
    }
}

thread_local! {
    /// Ends the wait of the event loop on this thread (see [`end_loop_wait`]).
    static LOOP_WAIT_ENDED: Arc<Notify> = Arc::new(Notify::new());
}

/// Ends the [`wait_for_loop`] in progress on this thread, from inside it (the loop's
/// mailbox received an answer there, without waking the loop through its pipe).
pub(crate) fn end_loop_wait() {
    LOOP_WAIT_ENDED.with(|end| end.notify_waiters());
}

/// The event loop on the calling thread closes: the thread's later async calls run on
/// the multi-thread runtime again.
pub(crate) fn leave_loop() {
    THIS_LOOP.with(|calls| calls.attached.set(false));
}

fn not_completed(error: Option<tokio::task::JoinError>) -> PesakitError {
    match error {
        Some(e) => PesakitError::internal(format!("the call did not complete: {e}")),
        None => PesakitError::internal("the call did not complete".to_owned()),
    }
}

/// Runs `future` to completion, blocking the calling thread (for the blocking APIs).
/// Refused on a thread that is itself driving the runtime, where blocking would
/// deadlock.
pub(crate) fn block<T: Send + 'static>(future: Call<T>) -> Result<T, PesakitError> {
    if tokio::runtime::Handle::try_current().is_ok() {
        return Err(PesakitError::internal(
            "a blocking pesakit call was made from inside pesakit's own async context (for example from a TokenStore or Logger callback); use the async API there"
                .to_owned(),
        ));
    }
    let (sender, mut receiver) = tokio::sync::oneshot::channel();
    let ended = BLOCKING.block_on(Box::pin(async move {
        let _ = sender.send(future.await);
    }));
    // `block_on` returns only once the task has ended (a panic unwinds through it).
    receiver
        .try_recv()
        .unwrap_or_else(|_| Err(not_completed(ended)))
}

/// Defines each operation of a client object once, then exports it twice: `async` (for asyncio, Kotlin
/// coroutines and Swift concurrency) and `_blocking` (for synchronous code).
macro_rules! export_operations {
    ($client:ident; $(
        $(#[$doc:meta])*
        fn [$op:ident, $name:ident, $blocking:ident] ($($arg:ident : $ty:ty),*) -> $ret:ty => |$c:ident| $body:block
    )*) => {
        impl $client {
            $(
                fn $op(&self, $($arg: $ty),*) -> $crate::runtime::Call<$ret> {
                    let $c = self.inner.clone();
                    Box::pin(async move $body)
                }
            )*
        }

        #[uniffi::export]
        impl $client {
            $(
                $(#[$doc])*
                pub async fn $name(&self, $($arg: $ty),*) -> Result<$ret, PesakitError> {
                    $crate::runtime::run(self.$op($($arg),*)).await
                }

                $(#[$doc])*
                ///
                /// Blocks the calling thread until done.
                pub fn $blocking(&self, $($arg: $ty),*) -> Result<$ret, PesakitError> {
                    $crate::runtime::block(self.$op($($arg),*))
                }
            )*
        }
    };
}
