//! Mailboxes: a way for a foreign event loop to learn that async calls can make progress
//! without any pesakit thread calling into the foreign runtime.
//!
//! UniFFI's async protocol hands `rust_future_poll` a continuation callback, which is
//! called (often from a tokio worker) when the call can make progress. For Python that
//! callback is a `ctypes` function, so every continuation makes a worker thread take
//! the GIL, which it waits for while the event loop runs. `pesakit_mailbox_post` is a
//! native continuation instead: it queues the continuation in the loop's mailbox and,
//! when the mailbox was empty, writes one byte to a pipe the loop watches. The loop
//! then takes every queued continuation at once with `pesakit_mailbox_take`.
//!
//! These are plain C functions, not UniFFI exports: only the Python package uses them
//! (`pesakit/_wakeups.py`), through `ctypes`.

use std::fs::File;
use std::io::Write;
use std::mem::ManuallyDrop;
use std::os::fd::{FromRawFd, RawFd};
use std::sync::{Arc, Mutex, MutexGuard};

/// One event loop's queue of continuations.
struct Mailbox {
    /// Write end of the pipe the loop watches; non-blocking, owned by the foreign side.
    fd: RawFd,
    /// Queued continuations (`key << 8 | poll code`), and whether the mailbox is closed.
    queue: Mutex<(Vec<u64>, bool)>,
}

/// Open mailboxes by number; a closed one leaves an empty slot, reused later.
static MAILBOXES: Mutex<Vec<Option<Arc<Mailbox>>>> = Mutex::new(Vec::new());

/// These locks only guard plain pushes and swaps that a panic cannot leave half done,
/// so a poisoned lock still holds consistent data.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn mailbox(id: u32) -> Option<Arc<Mailbox>> {
    lock(&MAILBOXES)
        .get(id as usize)
        .and_then(|slot| slot.clone())
}

/// Opens a mailbox that signals by writing a byte to `fd` (the write end of a
/// non-blocking pipe, kept open by the caller until `pesakit_mailbox_close` returned).
/// Returns the mailbox's number, which is the upper 32 bits of every token posted to it.
#[no_mangle]
pub extern "C" fn pesakit_mailbox_open(fd: i32) -> u32 {
    let mailbox = Some(Arc::new(Mailbox {
        fd,
        queue: Mutex::new((Vec::new(), false)),
    }));
    let mut all = lock(&MAILBOXES);
    match all.iter().position(Option::is_none) {
        Some(free) => {
            all[free] = mailbox;
            free as u32
        }
        None => {
            all.push(mailbox);
            (all.len() - 1) as u32
        }
    }
}

/// Closes mailbox `id`: continuations posted to it later are dropped and its pipe is no
/// longer written to, so the caller may close the pipe once this returns.
#[no_mangle]
pub extern "C" fn pesakit_mailbox_close(id: u32) {
    let taken = lock(&MAILBOXES).get_mut(id as usize).and_then(Option::take);
    if let Some(mailbox) = taken {
        // Under the queue's lock, so a post in progress finishes its write first.
        let mut queue = lock(&mailbox.queue);
        queue.1 = true;
        queue.0 = Vec::new();
    }
}

/// The continuation callback to pass to `rust_future_poll`, with the token
/// `mailbox number << 32 | key` as its data: queues `key` and `poll_code` for the
/// mailbox's loop, waking the loop if nothing was queued yet.
#[no_mangle]
pub extern "C" fn pesakit_mailbox_post(token: u64, poll_code: i8) {
    let Some(mailbox) = mailbox((token >> 32) as u32) else {
        return;
    };
    let mut queue = lock(&mailbox.queue);
    if queue.1 {
        return;
    }
    let was_empty = queue.0.is_empty();
    queue
        .0
        .push(((token & 0xFFFF_FFFF) << 8) | u64::from(poll_code as u8));
    if was_empty {
        // SAFETY: the foreign side keeps the descriptor open until the mailbox is closed,
        // which cannot happen while this lock is held; ManuallyDrop leaves it open.
        let pipe = ManuallyDrop::new(unsafe { File::from_raw_fd(mailbox.fd) });
        // A full pipe already holds a wake-up byte, so a failed write loses nothing.
        let _ = (&*pipe).write(&[1]);
    }
}

/// Moves up to `capacity` queued continuations of mailbox `id` into `out`, oldest
/// first, each as `key << 8 | poll code` (the code as an unsigned byte); returns how
/// many. The caller drains its pipe before calling this, and calls again while the
/// answer equals `capacity`.
///
/// # Safety
/// `out` must point to at least `capacity` writable `u64`s.
#[no_mangle]
pub unsafe extern "C" fn pesakit_mailbox_take(id: u32, out: *mut u64, capacity: usize) -> usize {
    let Some(mailbox) = mailbox(id) else {
        return 0;
    };
    let mut queue = lock(&mailbox.queue);
    let n = queue.0.len().min(capacity);
    if n > 0 {
        // SAFETY: the caller promises `capacity` writable slots, and `n <= capacity`.
        let out = unsafe { std::slice::from_raw_parts_mut(out, n) };
        out.copy_from_slice(&queue.0[..n]);
        queue.0.drain(..n);
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;
    use std::os::fd::AsRawFd;

    fn take_all(id: u32) -> Vec<u64> {
        let mut out = [0u64; 4];
        let mut all = Vec::new();
        loop {
            // SAFETY: `out` has 4 slots.
            let n = unsafe { pesakit_mailbox_take(id, out.as_mut_ptr(), out.len()) };
            all.extend_from_slice(&out[..n]);
            if n < out.len() {
                return all;
            }
        }
    }

    #[test]
    fn posts_are_taken_in_order_and_wake_once_per_empty_queue() {
        let (mut reader, writer) = std::io::pipe().unwrap();
        let id = pesakit_mailbox_open(writer.as_raw_fd());
        let token = |key: u64| (u64::from(id) << 32) | key;
        for key in 0..6 {
            pesakit_mailbox_post(token(key), if key == 5 { -1 } else { 0 });
        }
        // One byte for the six posts: the queue was empty only before the first.
        let mut byte = [0u8; 8];
        assert_eq!(reader.read(&mut byte).unwrap(), 1);
        let taken = take_all(id);
        assert_eq!(taken.len(), 6);
        assert_eq!(taken[0], 0);
        assert_eq!(taken[4], 4 << 8);
        assert_eq!(taken[5], (5 << 8) | 0xFF);
        // Empty again: the next post writes a byte again.
        pesakit_mailbox_post(token(7), 1);
        assert_eq!(reader.read(&mut byte).unwrap(), 1);
        assert_eq!(take_all(id), vec![(7 << 8) | 1]);
        pesakit_mailbox_close(id);
        // After closing, posts are dropped and the pipe is left alone.
        pesakit_mailbox_post(token(8), 0);
        assert!(take_all(id).is_empty());
        drop(writer);
        assert_eq!(reader.read(&mut byte).unwrap(), 0);
    }

    #[test]
    fn a_closed_slot_is_reused_and_unknown_mailboxes_are_ignored() {
        let (_reader, writer) = std::io::pipe().unwrap();
        let a = pesakit_mailbox_open(writer.as_raw_fd());
        pesakit_mailbox_close(a);
        let b = pesakit_mailbox_open(writer.as_raw_fd());
        // Another test may have opened one meanwhile; the free slot is the lowest.
        assert!(b <= a);
        pesakit_mailbox_close(b);
        pesakit_mailbox_post(u64::from(u32::MAX) << 32, 0);
        assert!(take_all(u32::MAX).is_empty());
    }
}
