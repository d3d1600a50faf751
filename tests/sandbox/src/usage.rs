//! The CPU time of the process the emulator runs in, for benchmarks that want to know
//! what a request cost the server as well as the client (`GET /_sandbox/usage`).

/// CPU time a process has used since it started, all of its threads together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CpuTime {
    /// Microseconds spent running the process's own code.
    pub user_us: u64,
    /// Microseconds the kernel spent on the process's behalf (system calls: sockets,
    /// waits, wake-ups).
    pub system_us: u64,
}

impl CpuTime {
    /// User and system time together, in microseconds.
    pub fn total_us(self) -> u64 {
        self.user_us + self.system_us
    }
}

/// The CPU time this process has used so far (`getrusage(RUSAGE_SELF)`), or `None` where
/// the platform has no such call or it fails.
pub fn process_cpu_time() -> Option<CpuTime> {
    #[cfg(unix)]
    {
        let mut usage = std::mem::MaybeUninit::<libc::rusage>::uninit();
        // SAFETY: `getrusage` fills the whole `rusage` it is pointed at, which is valid
        // for writes, and reads nothing from it.
        if unsafe { libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr()) } != 0 {
            return None;
        }
        // SAFETY: the call succeeded, so the struct is initialised.
        let usage = unsafe { usage.assume_init() };
        let micros = |t: libc::timeval| {
            u64::try_from(t.tv_sec).unwrap_or(0) * 1_000_000 + u64::try_from(t.tv_usec).unwrap_or(0)
        };
        Some(CpuTime {
            user_us: micros(usage.ru_utime),
            system_us: micros(usage.ru_stime),
        })
    }
    #[cfg(not(unix))]
    {
        None
    }
}
