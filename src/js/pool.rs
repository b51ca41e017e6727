//! The JS worker pool: dedicated threads, each owning one QuickJS runtime and context with
//! the prelude, the host functions and every handler compiled (`--hooksPool` of them).
//!
//! Jobs arrive over a bounded queue (a full queue is an immediate 503, never a wait), run
//! under a deadline enforced by the runtime's interrupt handler, and are isolated from each
//! other: a panic is caught, an out-of-memory runtime is rebuilt. A worker stays inside a
//! single `Context::with` (see `bridge`), so everything nested runs inline on it.

use std::cell::{Cell, RefCell};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use axum::http::StatusCode;
use rquickjs::{Context, Ctx, Runtime};

use crate::error::ApiError;
use crate::hooks::{BoxFuture, Executor, HookResult};
use crate::js::bridge::{self, Job};

/// The runtime limits of every worker.
#[derive(Debug, Clone)]
pub struct Limits {
    pub workers: usize,
    /// Jobs waiting for a worker before new ones are refused.
    pub queue: usize,
    /// How long one job may run JS.
    pub timeout: Duration,
    /// The QuickJS heap limit per runtime, in bytes.
    pub memory: usize,
}

impl Default for Limits {
    fn default() -> Self {
        let cores = thread::available_parallelism().map_or(2, |n| n.get());
        Limits {
            workers: 2 * cores,
            queue: 1024,
            timeout: Duration::from_secs(30),
            memory: 64 << 20,
        }
    }
}

/// QuickJS's own stack limit, and the thread stack around it (debug builds use several times
/// more native stack per nesting level, so the margin is generous).
const JS_STACK: usize = 4 << 20;
const GC_THRESHOLD: usize = 8 << 20;
const THREAD_STACK: usize = 32 << 20;

/// Builds a worker's context: installs globals and compiles handlers. Runs again whenever a
/// runtime is rebuilt. An error leaves the worker unusable (reported by `Pool::start`).
pub type Setup = Arc<dyn for<'js> Fn(&Ctx<'js>) -> Result<(), String> + Send + Sync>;

/// A running pool; clones share it, and the workers stop when the last clone is dropped.
#[derive(Clone)]
pub struct Pool {
    inner: Arc<Inner>,
}

struct Inner {
    id: u64,
    queue: SyncSender<Job>,
    timeout: Duration,
}

/// See [`Pool::downgrade`].
#[derive(Clone)]
pub struct WeakPool(std::sync::Weak<Inner>);

impl WeakPool {
    pub fn upgrade(&self) -> Option<Pool> {
        self.0.upgrade().map(|inner| Pool { inner })
    }
}

static POOL_IDS: AtomicU64 = AtomicU64::new(1);

thread_local! {
    /// When the current top-level job must stop running JS.
    static DEADLINE: Cell<Option<Instant>> = const { Cell::new(None) };
    /// Set by the interrupt handler when it stopped a job.
    static INTERRUPTED: Cell<bool> = const { Cell::new(false) };
    /// Set when the runtime ran out of memory: rebuild it after the job.
    static POISONED: Cell<bool> = const { Cell::new(false) };
}

/// Why a job did not run to completion.
#[derive(Debug)]
pub enum PoolError {
    /// The queue is full.
    Busy,
    /// The workers are gone (shutdown or a failed setup).
    Stopped,
    /// The job panicked.
    Panicked,
}

impl From<PoolError> for ApiError {
    fn from(err: PoolError) -> Self {
        match err {
            PoolError::Busy => ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "The server is busy running hooks, please try again later.",
            ),
            PoolError::Stopped => ApiError::internal("the JS workers stopped"),
            PoolError::Panicked => ApiError::internal("a JS job panicked"),
        }
    }
}

impl Pool {
    /// Starts the workers and waits until each ran `setup`; the first setup error is
    /// returned (and the workers stop).
    pub fn start(limits: &Limits, setup: Setup) -> Result<Pool, String> {
        let id = POOL_IDS.fetch_add(1, Ordering::Relaxed);
        let (queue, jobs) = mpsc::sync_channel::<Job>(limits.queue);
        let jobs = Arc::new(Mutex::new(jobs));
        let handle = tokio::runtime::Handle::try_current().map_err(|e| e.to_string())?;
        let (ready_tx, ready_rx) = mpsc::channel::<Result<(), String>>();
        for n in 0..limits.workers.max(1) {
            let worker = Worker {
                pool: id,
                jobs: Arc::clone(&jobs),
                setup: Arc::clone(&setup),
                memory: limits.memory,
            };
            let handle = handle.clone();
            let ready = ready_tx.clone();
            thread::Builder::new()
                .name(format!("js-{id}-{n}"))
                .stack_size(THREAD_STACK)
                .spawn(move || {
                    let _enter = handle.enter();
                    worker.run(ready);
                })
                .map_err(|e| format!("failed to start a JS worker: {e}"))?;
        }
        drop(ready_tx);
        for _ in 0..limits.workers.max(1) {
            match ready_rx.recv() {
                Ok(Ok(())) => {}
                Ok(Err(err)) => return Err(err),
                Err(_) => return Err("a JS worker stopped while starting".into()),
            }
        }
        Ok(Pool {
            inner: Arc::new(Inner {
                id,
                queue,
                timeout: limits.timeout,
            }),
        })
    }

    pub fn id(&self) -> u64 {
        self.inner.id
    }

    /// A handle that does not keep the workers alive (for the workers' own host functions:
    /// a strong one would be a cycle, and the pool would never stop).
    pub fn downgrade(&self) -> WeakPool {
        WeakPool(Arc::downgrade(&self.inner))
    }

    /// Whether this thread is one of this pool's workers.
    pub fn is_current(&self) -> bool {
        bridge::current_pool() == Some(self.inner.id)
    }

    /// Runs `f` on a worker (inline when already on one) and returns its result. `f` may
    /// borrow from the caller: the caller waits for it even if this future is dropped.
    pub async fn run<'a, R: Send + 'static>(
        &self,
        f: impl FnOnce() -> R + Send + 'a,
    ) -> Result<R, PoolError> {
        if self.is_current() {
            return Ok(f());
        }
        let (tx, rx) = tokio::sync::oneshot::channel();
        let timeout = self.inner.timeout;
        let (job, waiter) = bridge::scoped(move || {
            let outcome = top_level(timeout, f);
            let _ = tx.send(outcome);
        });
        match self.inner.queue.try_send(job) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => return Err(PoolError::Busy),
            Err(TrySendError::Disconnected(_)) => return Err(PoolError::Stopped),
        }
        let outcome = rx.await;
        waiter.finished();
        outcome.map_err(|_| PoolError::Stopped)?
    }

    /// Runs `f` on a worker without waiting (crons); errors are logged.
    pub fn spawn(&self, f: impl FnOnce() + Send + 'static) {
        let timeout = self.inner.timeout;
        let job: Job = Box::new(move || {
            if top_level(timeout, f).is_err() {
                tracing::error!("a background JS job panicked");
            }
        });
        if self.inner.queue.try_send(job).is_err() {
            tracing::error!("the JS workers are busy: a background job was dropped");
        }
    }
}

/// Runs a job that is not nested in another: it gets a fresh deadline and its panics are
/// caught (rquickjs resumes a panic from a host function once JS returns).
fn top_level<R>(timeout: Duration, f: impl FnOnce() -> R) -> Result<R, PoolError> {
    DEADLINE.set(Some(Instant::now() + timeout));
    INTERRUPTED.set(false);
    let outcome = catch_unwind(AssertUnwindSafe(f)).map_err(|_| {
        // Unwinding through JS frames leaves the runtime suspect: rebuild it.
        poison();
        PoolError::Panicked
    });
    DEADLINE.set(None);
    outcome
}

/// Whether the running job was stopped by its deadline (its JS frames all fail then).
pub fn interrupted() -> bool {
    INTERRUPTED.get()
}

/// Marks the runtime as out of memory, to be rebuilt once the job ends.
pub fn poison() {
    POISONED.set(true);
}

impl Executor for Pool {
    fn is_current(&self) -> bool {
        Pool::is_current(self)
    }

    fn run<'a>(&'a self, chain: BoxFuture<'a, HookResult>) -> BoxFuture<'a, HookResult> {
        Box::pin(async move {
            match Pool::run(self, move || bridge::block_on(chain)).await {
                Ok(result) => result,
                Err(err) => Err(err.into()),
            }
        })
    }
}

struct Worker {
    pool: u64,
    jobs: Arc<Mutex<Receiver<Job>>>,
    setup: Setup,
    memory: usize,
}

impl Worker {
    /// Builds a runtime, serves jobs until the queue closes, and rebuilds the runtime after
    /// an out-of-memory job.
    fn run(self, ready: mpsc::Sender<Result<(), String>>) {
        let mut ready = Some(ready);
        loop {
            let runtime = match self.runtime() {
                Ok(runtime) => runtime,
                Err(err) => {
                    if let Some(ready) = ready.take() {
                        let _ = ready.send(Err(err));
                    }
                    return;
                }
            };
            let Ok(context) = Context::full(&runtime) else {
                return;
            };
            let more = context.with(|ctx| {
                let _entered = bridge::enter(&ctx, self.pool);
                let setup = (self.setup)(&ctx);
                let failed = setup.is_err();
                if let Some(ready) = ready.take() {
                    let _ = ready.send(setup);
                }
                let more = !failed && self.serve();
                clear_worker_values();
                more
            });
            if !more {
                return;
            }
            tracing::warn!("a JS worker ran out of memory; its runtime was rebuilt");
        }
    }

    fn runtime(&self) -> Result<Runtime, String> {
        let runtime = Runtime::new().map_err(|e| e.to_string())?;
        runtime.set_memory_limit(self.memory);
        runtime.set_max_stack_size(JS_STACK);
        // Most request garbage is freed by reference counting; collect cycles less often
        // than QuickJS's 256 KiB default (profiling showed the collector in every request).
        runtime.set_gc_threshold(GC_THRESHOLD);
        runtime.set_interrupt_handler(Some(Box::new(|| {
            let late = DEADLINE.get().is_some_and(|d| Instant::now() >= d);
            if late {
                INTERRUPTED.set(true);
            }
            late
        })));
        Ok(runtime)
    }

    /// Serves jobs; `true` when the runtime must be rebuilt, `false` when the pool stopped.
    fn serve(&self) -> bool {
        POISONED.set(false);
        loop {
            let job = {
                let jobs = self.jobs.lock().unwrap_or_else(|p| p.into_inner());
                jobs.recv()
            };
            let Ok(job) = job else {
                return false;
            };
            job();
            if POISONED.get() {
                return true;
            }
        }
    }
}

thread_local! {
    /// Worker-local JS values kept between jobs, cleared (inside the context) before the
    /// runtime is dropped: QuickJS aborts the process if any value outlives its runtime.
    static CLEARERS: RefCell<Vec<fn()>> = const { RefCell::new(Vec::new()) };
}

/// Registers a function that drops a worker-local store of JS values.
pub fn on_teardown(clear: fn()) {
    CLEARERS.with_borrow_mut(|c| {
        if !c.contains(&clear) {
            c.push(clear);
        }
    });
}

fn clear_worker_values() {
    let clearers = CLEARERS.with_borrow(|c| c.clone());
    for clear in clearers {
        clear();
    }
}
