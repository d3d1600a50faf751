//! The two runtimes behind the FFI methods (`src/runtime.rs`): blocking calls drive
//! their own I/O on the calling thread, async calls made while others are in flight run
//! on the worker runtime, and a client's one connection pool serves both. Every test
//! talks to the emulator over HTTP. (A lone async call is tested in `lone_async.rs`, a
//! process of its own: the tests here run side by side, so no call of theirs is alone.)
//!
//! The receive timeouts only turn a hang (a runtime nobody drives) into a failure;
//! nothing depends on how long a call takes.

mod common;

use std::sync::Arc;
use std::thread;
use std::time::Duration;

use common::{
    awaited, cash, client, client_with, emulator, on_thread, HeldStore, ThreadNames, HANG,
};
use pesakit_ffi::Logger;

#[test]
fn an_async_call_reuses_a_connection_a_blocking_call_opened() {
    let emulator = emulator();
    let c = client(&emulator);
    let blocking = Arc::clone(&c);
    let created = on_thread(move || blocking.cashin_blocking(cash(100)).unwrap());
    // Right after it, while that connection belongs to the blocking runtime, which no
    // blocking call is driving any more.
    let asynchronous = Arc::clone(&c);
    let reference = created.reference.clone();
    let found = awaited(async move { asynchronous.find(reference).await });
    // Not settled: the emulator answers 404 for a pending transaction, over HTTP.
    assert!(matches!(
        found,
        Err(pesakit_ffi::PesakitError::NotFound { .. })
    ));
    let again = on_thread(move || c.cashin_blocking(cash(101)).unwrap());
    assert_ne!(again.reference, created.reference);
}

#[test]
fn blocking_and_async_calls_at_once_on_one_client() {
    let emulator = emulator();
    let c = client(&emulator);
    let mut threads = Vec::new();
    for t in 0..8u32 {
        let c = Arc::clone(&c);
        threads.push(thread::spawn(move || {
            (0..25u32)
                .map(|i| {
                    c.cashin_blocking(cash(100 + t * 100 + i))
                        .unwrap()
                        .reference
                })
                .collect::<Vec<_>>()
        }));
    }
    let asynchronous = Arc::clone(&c);
    let from_async = awaited(async move {
        let mut refs = Vec::new();
        for i in 0..50u32 {
            refs.push(asynchronous.cashin(cash(5000 + i)).await.unwrap().reference);
        }
        refs
    });
    let mut all: Vec<String> = from_async;
    for t in threads {
        all.extend(t.join().unwrap());
    }
    assert_eq!(all.len(), 250);
    all.sort();
    all.dedup();
    assert_eq!(all.len(), 250, "every cash-in created once");
}

#[test]
fn a_blocking_call_takes_the_runtime_back_from_the_driver_thread() {
    let emulator = emulator();
    let c = client(&emulator);
    for round in 0..5u32 {
        let blocking = Arc::clone(&c);
        let tx = on_thread(move || blocking.cashin_blocking(cash(100 + round)).unwrap());
        assert_eq!(tx.amount.to_string(), (100 + round).to_string());
        // Long enough for the driver thread to take the idle runtime over, so the next
        // blocking call has to ask for it back. (Either way the call must succeed.)
        thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_pager_mixes_items_and_batches_each_item_once() {
    let emulator = emulator();
    let client = client(&emulator);
    let mut refs: Vec<String> = (0..5)
        .map(|i| client.cashin_blocking(cash(100 + i)).unwrap().reference)
        .collect();
    refs.reverse(); // newest first, as the gateway lists them
    let pager = client
        .transactions(pesakit_ffi::TransactionFilter {
            limit: Some(2),
            ..Default::default()
        })
        .unwrap();
    let references = |batch: Vec<pesakit_ffi::Transaction>| -> Vec<String> {
        batch.into_iter().map(|t| t.reference).collect()
    };
    // Pages of 2, 2 and 1: an item, the rest of its page, a whole page, an item.
    assert_eq!(pager.next_blocking().unwrap().unwrap().reference, refs[0]);
    assert_eq!(references(pager.next_batch_blocking().unwrap()), refs[1..2]);
    assert_eq!(references(pager.next_batch_blocking().unwrap()), refs[2..4]);
    assert_eq!(pager.next_blocking().unwrap().unwrap().reference, refs[4]);
    assert!(pager.next_batch_blocking().unwrap().is_empty());
    assert!(pager.next_blocking().unwrap().is_none());
}

#[test]
fn a_blocking_call_made_while_another_is_in_progress_runs_on_the_workers() {
    let emulator = emulator();
    let (store, entered_rx, release_tx) = HeldStore::new();
    let held = client_with(&emulator, Some(store), None);
    let first = thread::Builder::new()
        .name("first-caller".to_owned())
        .spawn(move || {
            held.cashin_blocking(cash(100))
                .expect("the first call succeeds")
        })
        .unwrap();
    entered_rx
        .recv_timeout(HANG)
        .expect("the first call reached its token store");

    // The first call is in progress (waiting in its store): this one must not take the
    // single-threaded runtime, and runs wholly on a worker.
    let names = Arc::new(ThreadNames::default());
    let other = client_with(&emulator, None, Some(Arc::clone(&names) as Arc<dyn Logger>));
    let second = thread::Builder::new()
        .name("second-caller".to_owned())
        .spawn(move || {
            other
                .cashin_blocking(cash(200))
                .expect("the second call succeeds")
        })
        .unwrap()
        .join()
        .unwrap();
    assert_eq!(second.amount.to_string(), "200");
    let names = names.0.lock().unwrap().clone();
    // At least its token request and its cash-in were logged, all on pesakit's workers.
    assert!(names.len() >= 2, "log lines: {names:?}");
    assert!(names.iter().all(|n| n == "pesakit"), "threads: {names:?}");

    release_tx.send(()).unwrap();
    let first = first.join().unwrap();
    assert_eq!(first.amount.to_string(), "100");
}
