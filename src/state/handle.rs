//! The store's own thread. SQLite calls block (a commit waits for the disk,
//! a prune deletes thousands of rows); on a Tokio worker they would stall
//! every task scheduled there, the HTTP server and other rollouts included.
//! So the daemon's async code never calls the [`Store`] directly: it sends a
//! closure to one thread that owns the store and awaits the answer, as the
//! rusqlite documentation and many Tokio services do. One thread is also
//! what SQLite wants: one writer, no lock contention.
//!
//! Sync code (CLI verbs, work already on a blocking thread) uses the store
//! through [`StoreHandle::blocking`].

use std::panic::AssertUnwindSafe;
use std::sync::mpsc;
use std::sync::Arc;

use tokio::sync::oneshot;

use super::{Result, Store, StoreError};

type Job = Box<dyn FnOnce(&Store) + Send>;

#[derive(Clone)]
pub struct StoreHandle {
    store: Arc<Store>,
    /// `None`: run jobs in the caller (tests on a paused clock, where an
    /// answer from another thread would let Tokio's clock jump ahead).
    jobs: Option<mpsc::Sender<Job>>,
}

impl StoreHandle {
    /// Starts the store's thread; it ends when the last handle is dropped.
    pub fn spawn(store: Store) -> std::io::Result<StoreHandle> {
        let store = Arc::new(store);
        let (jobs, inbox) = mpsc::channel::<Job>();
        let owned = store.clone();
        std::thread::Builder::new()
            .name("sena-store".into())
            .spawn(move || {
                while let Ok(job) = inbox.recv() {
                    job(&owned);
                }
            })?;
        Ok(StoreHandle {
            store,
            jobs: Some(jobs),
        })
    }

    /// Runs every job in the calling task, for tests with a paused clock.
    pub fn inline(store: Arc<Store>) -> StoreHandle {
        StoreHandle { store, jobs: None }
    }

    /// Runs `f` on the store's thread and waits for its answer. A panic in
    /// `f` is an error for this caller, not a dead store thread.
    pub async fn call<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Store) -> Result<T> + Send + 'static,
    ) -> Result<T> {
        let Some(jobs) = &self.jobs else {
            return guarded(f, &self.store);
        };
        let (reply, answer) = oneshot::channel();
        let job: Job = Box::new(move |store| {
            let _ = reply.send(guarded(f, store));
        });
        jobs.send(job).map_err(|_| StoreError::Stopped)?;
        answer.await.map_err(|_| StoreError::Stopped)?
    }

    /// The store itself, for code that already runs on a blocking thread.
    pub fn blocking(&self) -> &Store {
        &self.store
    }
}

fn guarded<T>(f: impl FnOnce(&Store) -> Result<T>, store: &Store) -> Result<T> {
    std::panic::catch_unwind(AssertUnwindSafe(|| f(store)))
        .unwrap_or_else(|_| Err(StoreError::Corrupt("a state store call panicked".into())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn calls_run_on_the_store_thread_and_survive_a_panic() {
        let dir = tempfile::tempdir().unwrap();
        let handle = StoreHandle::spawn(Store::open(dir.path()).unwrap()).unwrap();
        let name = handle
            .call(|_| Ok(std::thread::current().name().map(String::from)))
            .await
            .unwrap();
        assert_eq!(name.as_deref(), Some("sena-store"));
        let panicked = handle.call(|_| -> Result<()> { panic!("boom") }).await;
        assert!(panicked.is_err());
        let id = handle.call(|s| s.next_incident_id(0)).await.unwrap();
        assert_eq!(id, 1, "the thread still serves after a panic");
    }
}
