//! The synchronisation primitives of the epoch module and the histogram
//! state: the standard ones, or loom's when the crate is built with `--cfg promclient_loom` for the model
//! checker.

#[cfg(not(promclient_loom))]
pub(crate) use std::sync::atomic::{
    compiler_fence, fence, AtomicBool, AtomicPtr, AtomicU64, AtomicU8, AtomicUsize, Ordering,
};

#[cfg(not(promclient_loom))]
pub(crate) use parking_lot::Mutex;

#[cfg(promclient_loom)]
pub(crate) use loom::sync::atomic::{
    fence, AtomicBool, AtomicPtr, AtomicU64, AtomicU8, AtomicUsize, Ordering,
};

/// Loom has no compiler fence; under loom both sides fence fully anyway.
#[cfg(promclient_loom)]
pub(crate) fn compiler_fence(order: Ordering) {
    fence(order);
}

/// Loom's mutex with `parking_lot`'s signature.
#[cfg(promclient_loom)]
pub(crate) struct Mutex<T>(loom::sync::Mutex<T>);

#[cfg(promclient_loom)]
impl<T> Mutex<T> {
    pub(crate) fn new(value: T) -> Self {
        Self(loom::sync::Mutex::new(value))
    }

    pub(crate) fn lock(&self) -> loom::sync::MutexGuard<'_, T> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// One step of waiting for another thread: spin briefly, then yield the
/// CPU (the thread waited for may be descheduled). Under loom, a yield
/// that lets the model run the other threads.
pub(crate) fn backoff(spins: &mut u32) {
    #[cfg(not(promclient_loom))]
    {
        *spins = spins.saturating_add(1);
        if *spins < 64 {
            std::hint::spin_loop();
        } else {
            std::thread::yield_now();
        }
    }
    #[cfg(promclient_loom)]
    {
        *spins = spins.saturating_add(1);
        loom::thread::yield_now();
    }
}
