//! The processes the benchmark starts, and what /proc says about them.
//!
//! Every child is started from the main thread with
//! `PR_SET_PDEATHSIG(SIGKILL)`: the kernel ties that signal to the thread
//! that forked, and the main thread lives as long as the harness, so a
//! harness killed with SIGKILL still takes Prometheus, Sena and vmalert with
//! it. A [`Proc`] also stops its child on drop (the normal and the panic
//! path), and `scripts/bench.sh` traps EXIT/INT/TERM as a third layer.

use std::fs::File;
use std::io;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

pub struct Proc {
    pub name: &'static str,
    child: Child,
    exited: Option<ExitStatus>,
}

/// Starts `cmd` with stdout and stderr appended to `log`.
pub fn spawn(name: &'static str, mut cmd: Command, log: &Path) -> io::Result<Proc> {
    let out = File::create(log)?;
    let err = out.try_clone()?;
    cmd.stdin(Stdio::null()).stdout(out).stderr(err);
    let parent = std::process::id() as libc::pid_t;
    // SAFETY: only async-signal-safe calls (prctl, getppid) between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(io::Error::last_os_error());
            }
            if libc::getppid() != parent {
                return Err(io::Error::other("the harness exited during spawn"));
            }
            Ok(())
        });
    }
    let child = cmd.spawn()?;
    Ok(Proc {
        name,
        child,
        exited: None,
    })
}

impl Proc {
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `Some` once the child has exited (and was reaped).
    pub fn exited(&mut self) -> Option<ExitStatus> {
        if self.exited.is_none() {
            self.exited = self.child.try_wait().ok().flatten();
        }
        self.exited
    }

    /// SIGTERM, then SIGKILL after `grace`. Returns how long the child took
    /// to exit and its status (`None`: it had to be killed).
    pub fn stop(&mut self, grace: Duration) -> (Duration, Option<ExitStatus>) {
        let started = Instant::now();
        if let Some(status) = self.exited() {
            return (Duration::ZERO, Some(status));
        }
        // SAFETY: kill(2) on our own child, not yet reaped.
        unsafe { libc::kill(self.pid() as libc::pid_t, libc::SIGTERM) };
        while started.elapsed() < grace {
            if let Some(status) = self.exited() {
                return (started.elapsed(), Some(status));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        self.exited = self.child.wait().ok();
        (started.elapsed(), None)
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if self.exited().is_none() {
            self.stop(Duration::from_secs(5));
        }
    }
}

/// CPU time and memory of one process at one instant.
#[derive(Clone, Copy, Debug, Default)]
pub struct Usage {
    /// utime + stime, seconds.
    pub cpu_seconds: f64,
    /// VmHWM: peak resident set since the process started, bytes.
    pub peak_rss: u64,
    /// VmRSS now, bytes.
    pub rss: u64,
}

pub fn usage(pid: u32) -> io::Result<Usage> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // The command name may hold spaces and parentheses: fields start after the last ')'.
    let rest = &stat[stat
        .rfind(')')
        .ok_or_else(|| io::Error::other("odd /proc stat"))?
        + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After the name: state is field 3, utime 14, stime 15 (1-based in proc(5)).
    let ticks = |i: usize| {
        fields
            .get(i - 3)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    let cpu_seconds = (ticks(14) + ticks(15)) as f64 / hz;

    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let kib = |key: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
            * 1024
    };
    Ok(Usage {
        cpu_seconds,
        peak_rss: kib("VmHWM:"),
        rss: kib("VmRSS:"),
    })
}

/// The whole machine's CPU time since boot, from the `cpu` line of /proc/stat.
#[derive(Clone, Copy, Debug, Default)]
pub struct MachineCpu {
    /// Every non-idle state (user, nice, system, irq, softirq, steal), seconds.
    pub busy: f64,
    /// Of `busy`, time in niced processes (other people's `nice cargo build`).
    pub nice: f64,
    /// Time the hypervisor gave to other guests.
    pub steal: f64,
}

pub fn machine_cpu() -> MachineCpu {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let f: Vec<f64> = stat
        .lines()
        .next()
        .unwrap_or("")
        .split_whitespace()
        .skip(1)
        .map(|v| v.parse().unwrap_or(0.0))
        .collect();
    let at = |i: usize| f.get(i).copied().unwrap_or(0.0);
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    // user nice system idle iowait irq softirq steal (guest time is inside user).
    let busy = at(0) + at(1) + at(2) + at(5) + at(6) + at(7);
    MachineCpu {
        busy: busy / hz,
        nice: at(1) / hz,
        steal: at(7) / hz,
    }
}
