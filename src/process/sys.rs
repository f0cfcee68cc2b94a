//! `times(2)`: the calling process's user and system CPU time in clock
//! ticks, the numbers `<pid>/stat` prints as utime and stime, at a tenth
//! of the cost. The process collector's only `unsafe`.
#![allow(unsafe_code)]

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
