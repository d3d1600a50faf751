//! An async call made while no other async call is in flight runs on the single-threaded
//! runtime, driven by the `pesakit-io` thread, so one call after another does not wake
//! the workers (`src/runtime.rs`); one made while another is in flight runs on the
//! workers. A process of its own: whether a call is alone depends on every other call
//! in the process.

mod common;

use std::sync::mpsc;
use std::sync::Arc;
use std::thread;

use common::{awaited, cash, client_with, emulator, HeldStore, ThreadNames, HANG};
use pesakit_ffi::{Logger, TokenStore};

#[test]
fn a_lone_async_call_runs_on_the_io_thread_and_one_made_meanwhile_on_the_workers() {
    let emulator = emulator();
    let new_client = |store: Option<Arc<HeldStore>>, logger: &Arc<ThreadNames>| {
        client_with(
            &emulator,
            store.map(|s| s as Arc<dyn TokenStore>),
            Some(Arc::clone(logger) as Arc<dyn Logger>),
        )
    };

    // Calls one after another: each is alone when it starts.
    let names = Arc::new(ThreadNames::default());
    let sequential = new_client(None, &names);
    let amounts = awaited(async move {
        let mut amounts = Vec::new();
        for i in 0..5u32 {
            amounts.push(
                sequential
                    .cashin(cash(100 + i))
                    .await
                    .unwrap()
                    .amount
                    .to_string(),
            );
        }
        amounts
    });
    assert_eq!(amounts, ["100", "101", "102", "103", "104"]);
    let lines = names.0.lock().unwrap().clone();
    // A token request and five cash-ins at least, every one on the I/O thread.
    assert!(lines.len() >= 6, "log lines: {lines:?}");
    assert!(
        lines.iter().all(|n| n == "pesakit-io"),
        "threads: {lines:?}"
    );

    // A lone call held in its token store (on the I/O thread), and a second call made
    // meanwhile: the second runs on the workers and finishes while the first waits.
    let (store, entered_rx, release_tx) = HeldStore::new();
    let first_names = Arc::new(ThreadNames::default());
    let held = new_client(Some(store), &first_names);
    let (first_tx, first_rx) = mpsc::channel();
    thread::spawn(move || {
        let result = awaited(async move { held.cashin(cash(300)).await });
        let _ = first_tx.send(result);
    });
    entered_rx
        .recv_timeout(HANG)
        .expect("the first call reached its token store");
    let second_names = Arc::new(ThreadNames::default());
    let other = new_client(None, &second_names);
    let second = awaited(async move { other.cashin(cash(400)).await.unwrap() });
    assert_eq!(second.amount.to_string(), "400");
    let lines = second_names.0.lock().unwrap().clone();
    assert!(lines.len() >= 2, "log lines: {lines:?}");
    assert!(lines.iter().all(|n| n == "pesakit"), "threads: {lines:?}");

    release_tx.send(()).unwrap();
    let first = first_rx
        .recv_timeout(HANG)
        .expect("the first call finished")
        .expect("the first call succeeds");
    assert_eq!(first.amount.to_string(), "300");
    let lines = first_names.0.lock().unwrap().clone();
    assert!(
        lines.iter().all(|n| n == "pesakit-io"),
        "threads: {lines:?}"
    );
}
