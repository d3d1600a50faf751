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

use std::cell::Cell;
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

thread_local! {
    /// The token of the poll [`pesakit_mailbox_poll`] is making on this thread, and the
    /// code its continuation was called with during that poll, if it was.
    static POLLING: Cell<Option<(u64, Option<i8>)>> = const { Cell::new(None) };
}

/// The continuation callback to pass to `rust_future_poll`, with the token
/// `mailbox number << 32 | key` as its data: queues `key` and `poll_code` for the
/// mailbox's loop, waking the loop if nothing was queued yet. Called during a
/// [`pesakit_mailbox_poll`] of the same token, it only records the code for that call to
/// return.
#[no_mangle]
pub extern "C" fn pesakit_mailbox_post(token: u64, poll_code: i8) {
    let answered = POLLING.with(|polling| match polling.get() {
        Some((polled, None)) if polled == token => {
            polling.set(Some((token, Some(poll_code))));
            true
        }
        _ => false,
    });
    if answered {
        return;
    }
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
    if was_empty && !taken_by_waiting_loop((token >> 32) as u32) {
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

/// A UniFFI `rust_future_poll` function.
pub type PollFunction = extern "C" fn(u64, extern "C" fn(u64, i8), u64);

/// Polls the Rust future `handle` with `poll` (the generated `rust_future_poll` of its
/// result type) and [`pesakit_mailbox_post`] as the continuation for `token`. Returns the
/// poll code when the continuation was called during the poll (the future was ready, or
/// woken while polled); otherwise -1, and the continuation is posted to the mailbox when
/// it comes. This saves the event loop a round through the mailbox for every answer
/// that is already there.
#[no_mangle]
pub extern "C" fn pesakit_mailbox_poll(poll: PollFunction, handle: u64, token: u64) -> i8 {
    let outer = POLLING.with(|polling| polling.replace(Some((token, None))));
    poll(handle, pesakit_mailbox_post, token);
    let answered = POLLING.with(|polling| polling.replace(outer));
    match answered {
        Some((_, Some(code))) => code,
        _ => -1,
    }
}

thread_local! {
    /// The mailbox of the event loop waiting on this thread in [`pesakit_loop_wait`],
    /// and whether a continuation was queued to it during the wait without a write to
    /// its pipe.
    static WAITING_LOOP: Cell<Option<(u32, bool)>> = const { Cell::new(None) };
}

/// Takes a post to mailbox `id` made on this thread while its loop waits here: the wait
/// ends, and returns 2, instead of the loop being woken through its pipe.
fn taken_by_waiting_loop(id: u32) -> bool {
    let taken = WAITING_LOOP.with(|waiting| match waiting.get() {
        Some((waiting_id, _)) if waiting_id == id => {
            waiting.set(Some((id, true)));
            true
        }
        _ => false,
    });
    if taken {
        crate::runtime::end_loop_wait();
    }
    taken
}

/// Waits for the foreign event loop of mailbox `mailbox` until the loop's `epoll`
/// descriptor `fd` is readable or `timeout_us` microseconds passed (negative: no limit),
/// doing the loop's pesakit I/O on the calling thread meanwhile. Returns 2 when
/// continuations were queued to the mailbox during the wait (without a byte written to
/// its pipe: the caller takes them now), 1 when `fd` became readable, 0 on timeout, or
/// -1 at once when the loop has no call in flight or another thread drives pesakit's
/// I/O (the caller then waits on its own).
#[no_mangle]
pub extern "C" fn pesakit_loop_wait(fd: i32, mailbox: u32, timeout_us: i64) -> i32 {
    let timeout = u64::try_from(timeout_us)
        .ok()
        .map(std::time::Duration::from_micros);
    let outer = WAITING_LOOP.with(|waiting| waiting.replace(Some((mailbox, false))));
    let woke = crate::runtime::wait_for_loop(fd, timeout);
    let taken = WAITING_LOOP.with(|waiting| waiting.replace(outer));
    match taken {
        Some((_, true)) => 2,
        _ => woke,
    }
}

/// The calling thread's event loop closes: its async calls go back to pesakit's
/// worker threads.
#[no_mangle]
pub extern "C" fn pesakit_loop_leave() {
    crate::runtime::leave_loop();
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

    extern "C" fn answers_at_once(handle: u64, continuation: extern "C" fn(u64, i8), token: u64) {
        // `handle` stands for the poll code to answer with.
        continuation(token, handle as i8);
    }

    extern "C" fn answers_another_call(_: u64, continuation: extern "C" fn(u64, i8), token: u64) {
        // A continuation of another call of the same loop, made during this poll.
        continuation(token + 1, 0);
    }

    #[test]
    fn an_answer_given_during_the_poll_is_returned_not_posted() {
        let (mut reader, writer) = std::io::pipe().unwrap();
        let id = pesakit_mailbox_open(writer.as_raw_fd());
        let token = |key: u64| (u64::from(id) << 32) | key;
        assert_eq!(pesakit_mailbox_poll(answers_at_once, 0, token(1)), 0);
        assert_eq!(pesakit_mailbox_poll(answers_at_once, 1, token(2)), 1);
        assert!(take_all(id).is_empty());
        // Not answered during the poll: -1, and the other call's answer is posted.
        assert_eq!(pesakit_mailbox_poll(answers_another_call, 0, token(3)), -1);
        assert_eq!(take_all(id), vec![4 << 8]);
        let mut byte = [0u8; 8];
        assert_eq!(reader.read(&mut byte).unwrap(), 1);
        // After the poll, the same token's continuation goes to the mailbox.
        pesakit_mailbox_post(token(3), 0);
        assert_eq!(take_all(id), vec![3 << 8]);
        pesakit_mailbox_close(id);
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
