//! One process-wide tokio runtime runs every call, async or blocking, so a client's
//! connection pool and token renewal live on one set of worker threads.

use std::future::Future;

use once_cell::sync::Lazy;

use crate::error::PesakitError;

static RUNTIME: Lazy<tokio::runtime::Runtime> = Lazy::new(|| {
    tokio::runtime::Builder::new_multi_thread()
        .thread_name("pesakit")
        .enable_all()
        .build()
        .expect("the pesakit runtime starts")
});

/// Aborts the spawned task when the foreign caller drops (cancels) the call.
struct AbortOnDrop(tokio::task::AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Runs `future` on the runtime and awaits it from any executor (asyncio, Kotlin
/// coroutines, Swift concurrency). Cancelling the foreign call cancels the work.
pub(crate) async fn run<F, T>(future: F) -> Result<T, PesakitError>
where
    F: Future<Output = Result<T, PesakitError>> + Send + 'static,
    T: Send + 'static,
{
    let handle = RUNTIME.spawn(future);
    let _guard = AbortOnDrop(handle.abort_handle());
    match handle.await {
        Ok(result) => result,
        Err(e) => Err(PesakitError::internal(format!(
            "the call did not complete: {e}"
        ))),
    }
}

/// Runs `future` to completion, blocking the calling thread (for the blocking APIs).
/// Refused on a thread that is itself driving the runtime, where blocking would
/// deadlock.
pub(crate) fn block<F, T>(future: F) -> Result<T, PesakitError>
where
    F: Future<Output = Result<T, PesakitError>> + Send + 'static,
    T: Send + 'static,
{
    if tokio::runtime::Handle::try_current().is_ok() {
        return Err(PesakitError::internal(
            "a blocking pesakit call was made from inside pesakit's own async context (for example from a TokenStore or Logger callback); use the async API there"
                .to_owned(),
        ));
    }
    RUNTIME.block_on(future)
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
                fn $op(&self, $($arg: $ty),*) -> impl std::future::Future<Output = Result<$ret, PesakitError>> + Send + 'static {
                    let $c = self.inner.clone();
                    async move $body
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
