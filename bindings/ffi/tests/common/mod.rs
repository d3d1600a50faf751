//! What the FFI crate's integration tests share: the emulator on a runtime of its own, a
//! client of it, and ways to make and watch calls the way a foreign program would.
#![allow(dead_code)] // each test binary uses its own part of this module

use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use pesakit_ffi::{
    AmountText, CashRequest, LogLevel, Logger, PaypackClient, PaypackOptions, PesakitError,
    TokenSet, TokenStore,
};
use pesakit_sandbox::{Sandbox, SandboxConfig};

/// Only turns a hang (a runtime nobody drives) into a failure; nothing depends on how
/// long a call takes.
pub const HANG: Duration = Duration::from_secs(30);

/// The emulator on a runtime of its own, as a separate process would be.
pub struct Emulator {
    pub base: String,
    _runtime: tokio::runtime::Runtime,
    _sandbox: Sandbox,
}

pub fn emulator() -> Emulator {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let sandbox = runtime
        .block_on(Sandbox::start(SandboxConfig {
            settle_after: None,
            ..SandboxConfig::default()
        }))
        .expect("the emulator starts");
    Emulator {
        base: sandbox.base_url(),
        _runtime: runtime,
        _sandbox: sandbox,
    }
}

pub fn client(emulator: &Emulator) -> Arc<PaypackClient> {
    client_with(emulator, None, None)
}

/// A client of the emulator with the given token store and logger.
pub fn client_with(
    emulator: &Emulator,
    store: Option<Arc<dyn TokenStore>>,
    logger: Option<Arc<dyn Logger>>,
) -> Arc<PaypackClient> {
    let options = PaypackOptions {
        base_url: format!("{}/paypack/api", emulator.base),
        allow_insecure_loopback: true,
        ..PaypackOptions::default()
    };
    PaypackClient::new(
        pesakit_sandbox::DEFAULT_CLIENT_ID.to_owned(),
        pesakit_sandbox::DEFAULT_CLIENT_SECRET.to_owned(),
        Some(options),
        store,
        logger,
    )
    .unwrap()
}

pub fn cash(amount: u32) -> CashRequest {
    CashRequest {
        amount: AmountText(amount.to_string()),
        number: "0788123456".to_owned(),
        idempotency_key: None,
        webhook_mode: None,
        validate: true,
    }
}

/// Runs `f` on a new thread and returns its result, failing if it never comes.
pub fn on_thread<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(HANG).expect("the call finished")
}

/// An async call awaited by an executor that is not pesakit's (as asyncio or Kotlin
/// coroutines would be).
pub fn awaited<T: Send + 'static>(f: impl std::future::Future<Output = T> + Send + 'static) -> T {
    on_thread(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(f)
    })
}

/// A token store whose first `load` waits until the test lets it go, so the blocking
/// call that made it stays in progress for as long as the test needs.
pub struct HeldStore {
    entered: Mutex<Option<mpsc::Sender<()>>>,
    release: Mutex<mpsc::Receiver<()>>,
}

impl HeldStore {
    /// The store; a receiver that hears when its first `load` is waiting; and the sender
    /// that lets it go.
    pub fn new() -> (Arc<HeldStore>, mpsc::Receiver<()>, mpsc::Sender<()>) {
        let (entered_tx, entered_rx) = mpsc::channel();
        let (release_tx, release_rx) = mpsc::channel();
        let store = Arc::new(HeldStore {
            entered: Mutex::new(Some(entered_tx)),
            release: Mutex::new(release_rx),
        });
        (store, entered_rx, release_tx)
    }
}

impl TokenStore for HeldStore {
    fn load(&self, _key: String) -> Result<Option<Arc<TokenSet>>, PesakitError> {
        if let Some(entered) = self.entered.lock().unwrap().take() {
            entered.send(()).unwrap();
            self.release
                .lock()
                .unwrap()
                .recv_timeout(HANG)
                .expect("the test releases the store");
        }
        Ok(None)
    }

    fn save(&self, _key: String, _tokens: Arc<TokenSet>) -> Result<(), PesakitError> {
        Ok(())
    }

    fn clear(&self, _key: String) -> Result<(), PesakitError> {
        Ok(())
    }
}

/// Records the name of the thread each log line was written on.
#[derive(Default)]
pub struct ThreadNames(pub Mutex<Vec<String>>);

impl Logger for ThreadNames {
    fn log(&self, _level: LogLevel, _message: String) -> Result<(), PesakitError> {
        let name = thread::current().name().unwrap_or("unnamed").to_owned();
        self.0.lock().unwrap().push(name);
        Ok(())
    }
}
