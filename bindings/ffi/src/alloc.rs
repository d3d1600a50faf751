//! Which allocator the library's memory comes from (Linux only).
//!
//! Blocks allocated on pesakit's own threads (the tokio workers and the I/O driver
//! thread of `runtime`) come from a private copy of mimalloc; blocks allocated on any
//! other thread (the host's: Python's, the JVM's) come from the host's `malloc`, as
//! before. A block is freed by whichever allocator it came from, on any thread: mimalloc
//! knows the address ranges it owns. See
//! `docs/adr/0017-mimalloc-on-pesakit-threads-only.md` for the measurements behind it:
//! under concurrency, glibc's arenas cost pesakit's workers a seventh of their time, and
//! mimalloc on every thread cost half a megabyte or more of memory per host thread.
//!
//! mimalloc's symbols stay private to the library (`scripts/build` checks), so the host
//! process's own `malloc` is never replaced.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::ffi::c_void;

use libmimalloc_sys as mi;

thread_local! {
    /// Set on the threads pesakit starts; no destructor, so reading it never fails.
    static OWN_THREAD: Cell<bool> = const { Cell::new(false) };
}

/// Marks the calling thread as one of pesakit's own: what it allocates from now on comes
/// from mimalloc. Called first thing on every thread the library starts.
pub(crate) fn own_thread() {
    OWN_THREAD.with(|own| own.set(true));
}

/// Whether the calling thread is one of pesakit's own (see [`own_thread`]).
pub(crate) fn on_own_thread() -> bool {
    OWN_THREAD.try_with(Cell::get).unwrap_or(false)
}

fn from_mimalloc(block: *mut u8) -> bool {
    // SAFETY: a lookup in mimalloc's page map; any address may be asked about, and the
    // answer is false for every block the host's allocator returned.
    unsafe { mi::mi_is_in_heap_region(block as *const c_void) }
}

/// The library's global allocator: mimalloc on pesakit's threads, the host's `malloc`
/// elsewhere, and every block freed or resized by the allocator it came from.
pub(crate) struct SplitAllocator;

// SAFETY: each method hands the request to one of two allocators that uphold
// `GlobalAlloc`'s contract themselves (mimalloc's aligned entry points honour any
// power-of-two alignment); a block is only ever freed or resized by the allocator that
// returned it, which `mi_is_in_heap_region` tells apart. A block a host thread resizes
// is copied into a new one of the host's (its layout's alignment is kept; the caller
// guarantees that the new size rounded up to it does not overflow).
unsafe impl GlobalAlloc for SplitAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if on_own_thread() {
            mi::mi_malloc_aligned(layout.size(), layout.align()).cast()
        } else {
            System.alloc(layout)
        }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if on_own_thread() {
            mi::mi_zalloc_aligned(layout.size(), layout.align()).cast()
        } else {
            System.alloc_zeroed(layout)
        }
    }

    unsafe fn dealloc(&self, block: *mut u8, layout: Layout) {
        if from_mimalloc(block) {
            mi::mi_free(block.cast())
        } else {
            System.dealloc(block, layout)
        }
    }

    unsafe fn realloc(&self, block: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if !from_mimalloc(block) {
            return System.realloc(block, layout, new_size);
        }
        if on_own_thread() {
            return mi::mi_realloc_aligned(block.cast(), new_size, layout.align()).cast();
        }
        // A host thread resizes a block made on one of pesakit's threads: the new block
        // comes from the host's allocator, so that no host thread ever gets a mimalloc
        // heap of its own (which is what cost the memory; see the ADR).
        let new_layout = Layout::from_size_align_unchecked(new_size, layout.align());
        let moved = System.alloc(new_layout);
        if !moved.is_null() {
            moved.copy_from_nonoverlapping(block, layout.size().min(new_size));
            mi::mi_free(block.cast());
        }
        moved
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Allocates, grows and frees through the split allocator on the current thread,
    /// reporting whether the block came from mimalloc and whether its bytes survived.
    fn round_trip() -> (bool, bool) {
        let layout = Layout::from_size_align(40, 8).expect("a valid layout");
        // SAFETY: the block is written within its size, grown once, read within its new
        // size and freed once with the layout it has then.
        unsafe {
            let block = SplitAllocator.alloc(layout);
            assert!(!block.is_null());
            let mimalloc = from_mimalloc(block);
            block.copy_from_nonoverlapping(b"pesakit".as_ptr(), 7);
            let grown = SplitAllocator.realloc(block, layout, 4096);
            assert!(!grown.is_null());
            let kept = std::slice::from_raw_parts(grown, 7) == b"pesakit";
            assert_eq!(
                from_mimalloc(grown),
                mimalloc,
                "a block stays with its allocator"
            );
            SplitAllocator.dealloc(grown, Layout::from_size_align(4096, 8).unwrap());
            (mimalloc, kept)
        }
    }

    #[test]
    fn the_runtime_workers_are_pesakit_threads() {
        let on_worker = crate::runtime::on_worker(on_own_thread);
        assert!(on_worker);
        assert!(!on_own_thread(), "the test's own thread is a host thread");
    }

    #[test]
    fn host_threads_use_the_host_allocator() {
        let (mimalloc, kept) = std::thread::spawn(round_trip).join().unwrap();
        assert!(!mimalloc);
        assert!(kept);
    }

    #[test]
    fn own_threads_use_mimalloc() {
        let (mimalloc, kept) = std::thread::spawn(|| {
            own_thread();
            round_trip()
        })
        .join()
        .unwrap();
        assert!(mimalloc);
        assert!(kept);
    }

    #[test]
    fn a_host_thread_moves_a_block_it_resizes_to_the_host_allocator() {
        let layout = Layout::from_size_align(32, 8).expect("a valid layout");
        let own = std::thread::spawn(move || {
            own_thread();
            // SAFETY: filled within its 32 bytes; resized and freed below, once.
            unsafe {
                let block = SplitAllocator.alloc(layout);
                block.write_bytes(7, 32);
                block as usize
            }
        })
        .join()
        .unwrap() as *mut u8;
        assert!(from_mimalloc(own));
        // SAFETY: `own` is live with `layout`; the grown block is read within the 32
        // bytes copied and freed once with its new layout.
        unsafe {
            let grown = SplitAllocator.realloc(own, layout, 1000);
            assert!(!grown.is_null());
            assert!(!from_mimalloc(grown), "a host thread's block is the host's");
            assert!(std::slice::from_raw_parts(grown, 32)
                .iter()
                .all(|b| *b == 7));
            SplitAllocator.dealloc(grown, Layout::from_size_align(1000, 8).unwrap());
        }
    }

    #[test]
    fn blocks_are_freed_by_their_allocator_on_any_thread() {
        let layout = Layout::from_size_align(64, 16).expect("a valid layout");
        let own = std::thread::spawn(move || {
            own_thread();
            // SAFETY: freed below, once, with the same layout.
            unsafe { SplitAllocator.alloc_zeroed(layout) as usize }
        })
        .join()
        .unwrap() as *mut u8;
        // SAFETY: a host-thread allocation, freed below, once, with the same layout.
        let host = unsafe { SplitAllocator.alloc(layout) };
        assert!(from_mimalloc(own));
        assert!(!from_mimalloc(host));
        assert_eq!(own as usize % 16, 0);
        // SAFETY: zeroed by `alloc_zeroed`, 64 bytes long.
        assert!(unsafe { std::slice::from_raw_parts(own, 64) }
            .iter()
            .all(|b| *b == 0));
        // SAFETY: each block is freed once, on a thread other than the one that
        // allocated the first of them, with its own layout.
        unsafe {
            SplitAllocator.dealloc(own, layout);
            SplitAllocator.dealloc(host, layout);
        }
    }
}
