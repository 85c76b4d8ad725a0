//! Child processes that cannot outlive the test binary.
//!
//! Three layers, because each covers a way the others miss:
//! - [`Guarded`] kills its child on drop (a test that panics mid-way);
//! - an `atexit` hook kills every child still registered and removes the
//!   scratch directories: a test binary ends with `exit()` and never drops
//!   what statics such as [`super::shared()`] hold;
//! - `PR_SET_PDEATHSIG(SIGKILL)` makes the kernel kill the child if the test
//!   binary itself is killed. The kernel ties that signal to the *thread*
//!   that forked, and every test runs on a thread that ends with it, so all
//!   children are forked by one spawner thread that lives as long as the
//!   binary.

use std::io;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus};
use std::sync::mpsc;
use std::sync::{Mutex, Once, OnceLock};
use std::time::{Duration, Instant};

type Job = Box<dyn FnOnce() + Send>;

static LIVE_PIDS: Mutex<Vec<i32>> = Mutex::new(Vec::new());
static SCRATCH_DIRS: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// A running child process, killed when dropped.
#[derive(Debug)]
pub struct Guarded {
    child: Child,
    exited: Option<ExitStatus>,
}

/// Starts `cmd` from the long-lived spawner thread, tied to this process's
/// life (see the module docs).
pub fn spawn(mut cmd: Command) -> io::Result<Guarded> {
    register_exit_hook();
    let parent = std::process::id() as libc::pid_t;
    // SAFETY: only async-signal-safe calls (prctl, getppid) between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(io::Error::last_os_error());
            }
            // The parent may have died between fork and prctl.
            if libc::getppid() != parent {
                return Err(io::Error::other("test binary exited during spawn"));
            }
            Ok(())
        });
    }
    let (reply, answer) = mpsc::channel();
    spawner()
        .send(Box::new(move || {
            let _ = reply.send(cmd.spawn());
        }))
        .expect("the spawner thread is alive");
    let child = answer.recv().expect("the spawner thread answered")?;
    LIVE_PIDS.lock().unwrap().push(child.id() as i32);
    Ok(Guarded {
        child,
        exited: None,
    })
}

/// Removes `dir` when the test binary exits (if it still exists then).
pub fn remove_at_exit(dir: &Path) {
    register_exit_hook();
    SCRATCH_DIRS.lock().unwrap().push(dir.to_path_buf());
}

impl Guarded {
    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// Sends `signal` (e.g. `libc::SIGHUP`) unless the child already exited.
    pub fn signal(&mut self, signal: i32) {
        if self.try_wait().is_none() {
            // SAFETY: plain kill(2) on our own, not yet reaped, child.
            unsafe {
                libc::kill(self.pid(), signal);
            }
        }
    }

    /// The exit status if the child has exited.
    pub fn try_wait(&mut self) -> Option<ExitStatus> {
        if self.exited.is_none() {
            if let Ok(Some(status)) = self.child.try_wait() {
                self.exited = Some(status);
                unregister(self.pid());
            }
        }
        self.exited
    }

    /// Waits up to `deadline` for the child to exit.
    pub fn wait_timeout(&mut self, deadline: Duration) -> Option<ExitStatus> {
        let start = Instant::now();
        loop {
            if let Some(status) = self.try_wait() {
                return Some(status);
            }
            if start.elapsed() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGKILL and reap.
    pub fn kill(&mut self) -> ExitStatus {
        if let Some(status) = self.try_wait() {
            return status;
        }
        let _ = self.child.kill();
        let status = self.child.wait().expect("reap a killed child");
        self.exited = Some(status);
        unregister(self.pid());
        status
    }

    /// SIGTERM, then SIGKILL if it has not exited within `grace`. Returns the
    /// status and whether the grace period was enough.
    pub fn terminate(&mut self, grace: Duration) -> (ExitStatus, bool) {
        self.signal(libc::SIGTERM);
        match self.wait_timeout(grace) {
            Some(status) => (status, true),
            None => (self.kill(), false),
        }
    }
}

impl Drop for Guarded {
    fn drop(&mut self) {
        self.kill();
    }
}

fn unregister(pid: i32) {
    if let Ok(mut pids) = LIVE_PIDS.lock() {
        pids.retain(|p| *p != pid);
    }
}

fn spawner() -> &'static mpsc::Sender<Job> {
    static SPAWNER: OnceLock<mpsc::Sender<Job>> = OnceLock::new();
    SPAWNER.get_or_init(|| {
        let (jobs, incoming) = mpsc::channel::<Job>();
        std::thread::Builder::new()
            .name("harness-spawner".into())
            .spawn(move || {
                for job in incoming {
                    job();
                }
            })
            .expect("start the spawner thread");
        jobs
    })
}

fn register_exit_hook() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        // SAFETY: registering a plain extern "C" function.
        unsafe {
            libc::atexit(at_exit);
        }
    });
}

extern "C" fn at_exit() {
    // try_lock: never block the exit on a thread that died holding a lock.
    if let Ok(pids) = LIVE_PIDS.try_lock() {
        for pid in pids.iter() {
            // SAFETY: kill + waitpid on our own children.
            unsafe {
                libc::kill(*pid, libc::SIGKILL);
                libc::waitpid(*pid, std::ptr::null_mut(), 0);
            }
        }
    }
    if let Ok(dirs) = SCRATCH_DIRS.try_lock() {
        for dir in dirs.iter() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}
