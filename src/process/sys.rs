//! The process collector's `unsafe` calls, Linux only:
//!
//! - `times(2)`: the calling process's user and system CPU time in clock
//!   ticks, the numbers `<pid>/stat` prints as utime and stime, at a tenth
//!   of the cost;
//! - `pthread_atfork(3)`: a handler that forgets the cached pid in a forked
//!   child, so [`own_pid`] needs no `getpid` system call per scrape.
#![allow(unsafe_code)]

use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};

/// utime + stime of the calling process (all its threads), in clock ticks.
pub(super) fn own_cpu_ticks() -> u64 {
    let mut t = libc::tms {
        tms_utime: 0,
        tms_stime: 0,
        tms_cutime: 0,
        tms_cstime: 0,
    };
    // SAFETY: `times` writes one `tms` through the pointer, which points to
    // a live, properly aligned `tms` owned by this frame. It cannot fail
    // with a valid pointer.
    unsafe { libc::times(&mut t) };
    (t.tms_utime as u64).saturating_add(t.tms_stime as u64)
}

/// This process's pid with [`CACHED`] set, or 0 when not known (never
/// asked, or forgotten in a forked child).
static OWN_PID: AtomicU64 = AtomicU64::new(0);
const CACHED: u64 = 1 << 32;

/// Whether the fork handler is registered: [`UNREGISTERED`],
/// [`REGISTERING`] (by some thread, maybe one that a fork left behind) or
/// [`REGISTERED`].
static FORK_HANDLER: AtomicU8 = AtomicU8::new(UNREGISTERED);
const UNREGISTERED: u8 = 0;
const REGISTERING: u8 = 1;
const REGISTERED: u8 = 2;

/// Runs in the child of every `fork` after registration, before `fork`
/// returns there: the child has a pid of its own.
extern "C" fn forget_pid_in_child() {
    OWN_PID.store(0, Ordering::Relaxed);
}

/// This process's pid, as `getpid` returns it, without a system call once
/// known.
///
/// The pid is cached only after the fork handler is registered; the handler
/// clears the cache in every child that `fork` (glibc's, musl's; the ones
/// that run `pthread_atfork` handlers) creates from then on, so a child
/// never reports its parent's pid. A child made by a raw `clone` system
/// call that does not run fork handlers (`vfork` and `posix_spawn` children
/// run no Rust code before `exec`) would keep the parent's pid until it
/// execs: such callers can pass `pid_fn(|| Ok(std::process::id()))`.
#[inline]
pub(in crate::process) fn own_pid() -> u32 {
    // Acquire: a cached pid was stored after the handler was registered,
    // so a fork that copies it also runs the handler.
    let cached = OWN_PID.load(Ordering::Acquire);
    if cached & CACHED != 0 {
        return cached as u32;
    }
    own_pid_uncached()
}

#[cold]
fn own_pid_uncached() -> u32 {
    let pid = std::process::id();
    if fork_handler_registered() {
        OWN_PID.store(CACHED | u64::from(pid), Ordering::Release);
    }
    pid
}

/// Registers [`forget_pid_in_child`] once; whether it is registered. A
/// thread that finds another one registering (or a child forked while a
/// thread registered, whose state stays `REGISTERING`) just does not cache.
fn fork_handler_registered() -> bool {
    match FORK_HANDLER.compare_exchange(
        UNREGISTERED,
        REGISTERING,
        Ordering::Acquire,
        Ordering::Acquire,
    ) {
        Ok(_) => {
            // SAFETY: the handler is an `extern "C" fn` without arguments
            // that only stores to an atomic, which is async-signal-safe as
            // a child handler in a multithreaded process must be. It is
            // code of this object, which outlives the registration: glibc
            // removes a shared object's handlers when it is unloaded. No
            // prepare or parent handler is passed.
            let rc = unsafe { libc::pthread_atfork(None, None, Some(forget_pid_in_child)) };
            let state = if rc == 0 { REGISTERED } else { UNREGISTERED };
            FORK_HANDLER.store(state, Ordering::Release);
            rc == 0
        }
        Err(state) => state == REGISTERED,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forked_child_reports_its_own_pid() {
        let parent = own_pid();
        assert_eq!(parent, std::process::id());
        // SAFETY: until it exits, the child only calls async-signal-safe
        // functions: atomic loads and stores, `getpid` and `_exit`.
        let child = unsafe { libc::fork() };
        if child == 0 {
            // SAFETY: `getpid` has no preconditions.
            let real = unsafe { libc::getpid() } as u32;
            let ok = own_pid() == real && own_pid() == real && real != parent;
            // SAFETY: `_exit` ends the child without running the parent's
            // destructors or the test harness.
            unsafe { libc::_exit(if ok { 0 } else { 1 }) };
        }
        assert!(child > 0, "fork failed");
        let mut status = 0;
        // SAFETY: `status` is a live `c_int` owned by this frame.
        let waited = unsafe { libc::waitpid(child, &mut status, 0) };
        assert_eq!(waited, child);
        assert!(libc::WIFEXITED(status), "child status {status}");
        assert_eq!(
            libc::WEXITSTATUS(status),
            0,
            "the child saw its parent's pid"
        );
        assert_eq!(own_pid(), parent);
    }

    #[test]
    fn own_pid_is_getpid_and_cached() {
        assert_eq!(own_pid(), std::process::id());
        assert_eq!(own_pid(), std::process::id());
        assert_eq!(FORK_HANDLER.load(Ordering::Acquire), REGISTERED);
        assert_eq!(
            OWN_PID.load(Ordering::Acquire),
            CACHED | u64::from(std::process::id())
        );
    }
}
