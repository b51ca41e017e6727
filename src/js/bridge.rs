//! The seam between async Rust and the JS workers, and the only module with `unsafe`
//! (see `docs/hooks-internals.md` and ../shared/reference/js-bridge-findings.md):
//!
//! - [`block_on`]: the one blocking wait used on a worker. It tolerates nesting (JS →
//!   `e.next()` → engine future → JS → `e.next()` …), which tokio's `Handle::block_on` does
//!   not: each call has its own woken flag, so an inner wait never eats an outer wake-up.
//! - The live context: a worker stays inside one `Context::with` for its whole life and
//!   publishes the raw context pointer in a thread-local; nested calls reach it through
//!   [`with_ctx`] instead of locking the runtime again (a second `with` panics).
//! - [`scoped`]: a job that borrows from the caller's stack, run on a worker while the
//!   caller waits; a guard makes the caller wait for the job even when its future is dropped.
//! - [`Continuation`]: the rest of a hook chain (`e.next()`), reachable from JS for the
//!   duration of one handler call.
#![allow(unsafe_code)]

use std::cell::Cell;
use std::future::Future;
use std::pin::pin;
use std::ptr::NonNull;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};

use rquickjs::{Ctx, qjs};

use crate::hooks::{HookResult, Next};

struct Flag {
    woken: AtomicBool,
    thread: Thread,
}

impl Wake for Flag {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::Release);
        self.thread.unpark();
    }
}

/// Drives `future` to completion on this thread. Workers hold a `Handle::enter()` guard for
/// their whole life, so tokio timers and sqlx work inside.
///
/// When the caller of the running scoped job went away (its future was dropped, e.g. at
/// shutdown) the wait is abandoned by unwinding to the job's `catch_unwind`: the caller is
/// blocked until the job ends, and the future may need the very runtime that is stopping.
pub fn block_on<F: Future>(future: F) -> F::Output {
    let flag = Arc::new(Flag {
        woken: AtomicBool::new(false),
        thread: thread::current(),
    });
    let waker = Waker::from(Arc::clone(&flag));
    let mut cx = Context::from_waker(&waker);
    let mut future = pin!(future);
    loop {
        if let Poll::Ready(value) = future.as_mut().poll(&mut cx) {
            return value;
        }
        while !flag.woken.swap(false, Ordering::Acquire) {
            if CANCELLED.with_borrow(|c| c.as_ref().is_some_and(|c| c.load(Ordering::Acquire))) {
                std::panic::resume_unwind(Box::new(Abandoned));
            }
            thread::park();
        }
    }
}

/// The panic payload of an abandoned job (see [`block_on`]).
pub struct Abandoned;

thread_local! {
    static CURRENT: Cell<Option<(NonNull<qjs::JSContext>, u64)>> = const { Cell::new(None) };
    /// The running scoped job's "caller went away" flag.
    static CANCELLED: std::cell::RefCell<Option<Arc<AtomicBool>>> = const { std::cell::RefCell::new(None) };
}

/// Marks this thread as a worker of pool `pool` whose live context is `ctx`, until the
/// returned guard drops. Called once per runtime, inside its single `Context::with`.
pub fn enter(ctx: &Ctx<'_>, pool: u64) -> Entered {
    CURRENT.set(Some((ctx.as_raw(), pool)));
    Entered(())
}

pub struct Entered(());

impl Drop for Entered {
    fn drop(&mut self) {
        CURRENT.set(None);
    }
}

/// The id of the pool this thread works for, if it is a worker.
pub fn current_pool() -> Option<u64> {
    CURRENT.get().map(|(_, pool)| pool)
}

/// Runs `f` with the worker's live context; `None` off a worker.
pub fn with_ctx<R>(f: impl for<'js> FnOnce(Ctx<'js>) -> R) -> Option<R> {
    let (raw, _) = CURRENT.get()?;
    // SAFETY: `raw` was published by `enter` from inside the worker's `Context::with`, which
    // lasts until the `Entered` guard is dropped (it clears the pointer first), and only this
    // thread reads it. `from_raw` takes its own reference on the context.
    let ctx = unsafe { Ctx::from_raw(raw) };
    Some(f(ctx))
}

/// A job for a worker: boxed, `'static`, run once (or dropped unrun).
pub type Job = Box<dyn FnOnce() + Send + 'static>;

/// What a scoped job and its caller share.
struct JobState {
    done: Mutex<bool>,
    finished: Condvar,
    /// Set when the caller stops waiting for the answer.
    cancelled: Arc<AtomicBool>,
    /// The worker running the job, to wake it when cancelled.
    worker: Mutex<Option<Thread>>,
}

/// Signals its `Waiter` when dropped, i.e. once the job that owns it ran or was dropped.
struct Done(Arc<JobState>);

impl Drop for Done {
    fn drop(&mut self) {
        CANCELLED.with_borrow_mut(|c| *c = None);
        *self.0.done.lock().unwrap_or_else(|p| p.into_inner()) = true;
        self.0.finished.notify_all();
    }
}

/// Held by the caller of a scoped job: dropping it blocks until the job is finished with
/// what it borrowed. If the job is still running then, it is cancelled first, so a wait of
/// the worker on the caller's runtime cannot hold both forever.
pub struct Waiter(Arc<JobState>);

impl Waiter {
    /// Drops the waiter once the job has finished normally.
    pub fn finished(self) {}
}

impl Drop for Waiter {
    fn drop(&mut self) {
        let state = &self.0;
        if *state.done.lock().unwrap_or_else(|p| p.into_inner()) {
            return;
        }
        state.cancelled.store(true, Ordering::Release);
        let worker = state
            .worker
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        if let Some(worker) = worker {
            worker.unpark();
        }
        let wait = || {
            let mut done = state.done.lock().unwrap_or_else(|p| p.into_inner());
            while !*done {
                done = state.finished.wait(done).unwrap_or_else(|p| p.into_inner());
            }
        };
        // The jobs ahead of this one may need the runtime (sqlx hands connections back on a
        // task): on a multi-threaded runtime, let it move its work off this thread while we
        // wait, instead of starving it (every worker thread could end up waiting here).
        let multi_thread = tokio::runtime::Handle::try_current()
            .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
        if multi_thread
            && std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                tokio::task::block_in_place(wait)
            }))
            .is_ok()
        {
            return;
        }
        wait();
    }
}

/// Turns `f`, which may borrow from the caller, into a [`Job`]. The caller must keep the
/// returned [`Waiter`] alive until it no longer needs `f`'s borrows to be valid; since the
/// waiter blocks on drop until the job has run (or was dropped), the borrows outlive the job.
pub fn scoped<'a>(f: impl FnOnce() + Send + 'a) -> (Job, Waiter) {
    let state = Arc::new(JobState {
        done: Mutex::new(false),
        finished: Condvar::new(),
        cancelled: Arc::new(AtomicBool::new(false)),
        worker: Mutex::new(None),
    });
    let done = Done(Arc::clone(&state));
    let job: Box<dyn FnOnce() + Send + 'a> = Box::new(move || {
        let state = Arc::clone(&done.0);
        *state.worker.lock().unwrap_or_else(|p| p.into_inner()) = Some(thread::current());
        CANCELLED.with_borrow_mut(|c| *c = Some(Arc::clone(&state.cancelled)));
        let _done = done;
        if !state.cancelled.load(Ordering::Acquire) {
            f();
        }
    });
    // SAFETY: only the lifetime is changed. The job's borrows stay valid while it can run:
    // the `Waiter` (which the caller holds across its wait, in the same scope as the
    // borrowed data) does not return from drop before `Done` is dropped, which happens when
    // the job has finished or was dropped without running.
    let job: Job = unsafe { std::mem::transmute::<Box<dyn FnOnce() + Send + 'a>, Job>(job) };
    (job, Waiter(state))
}

struct ChainState<E: 'static> {
    event: *mut E,
    next: *mut Option<Next<'static, E>>,
    alive: Cell<bool>,
    busy: Cell<bool>,
}

/// One handler call's view of its event and the rest of its chain, shareable with JS
/// closures (`e.next()`) that may outlive the call: once the call ends they see nothing.
pub struct Continuation<E: 'static> {
    state: Rc<ChainState<E>>,
}

impl<E: 'static> Clone for Continuation<E> {
    fn clone(&self) -> Self {
        Continuation {
            state: Rc::clone(&self.state),
        }
    }
}

/// Ends a [`Continuation`] when the handler call returns.
pub struct CallScope<E: 'static>(Continuation<E>);

impl<E: 'static> Drop for CallScope<E> {
    fn drop(&mut self) {
        self.0.state.alive.set(false);
    }
}

impl<E: Send + 'static> Continuation<E> {
    /// Runs `f` with a continuation over `event` and `next`, valid until `f` returns.
    pub fn scope<R>(event: &mut E, next: Next<'_, E>, f: impl FnOnce(Continuation<E>) -> R) -> R {
        let mut next = Some(next);
        let state = Rc::new(ChainState {
            event: event as *mut E,
            // SAFETY (of the cast): the lifetime is erased here and the pointer is only
            // dereferenced while `alive`, i.e. while this frame (which owns `next`) runs.
            next: (&mut next as *mut Option<Next<'_, E>>).cast::<Option<Next<'static, E>>>(),
            alive: Cell::new(true),
            busy: Cell::new(false),
        });
        let scope = CallScope(Continuation { state });
        f(scope.0.clone())
    }

    /// Runs `f` on the event; `None` once the call ended or while the chain's rest runs.
    pub fn with_event<R>(&self, f: impl FnOnce(&mut E) -> R) -> Option<R> {
        let state = &self.state;
        if !state.alive.get() || state.busy.get() {
            return None;
        }
        state.busy.set(true);
        // SAFETY: `alive` means the frame of `scope` that lent `event` is still running,
        // and `busy` guarantees no other reference made here exists at the same time.
        let out = f(unsafe { &mut *state.event });
        state.busy.set(false);
        Some(out)
    }

    /// Runs the rest of the chain (once; later calls do nothing), blocking this worker.
    /// `None` once the call ended or while already running.
    pub fn run_next(&self) -> Option<HookResult> {
        let state = &self.state;
        if !state.alive.get() || state.busy.get() {
            return None;
        }
        // SAFETY: as in `with_event`; the `Option<Next>` lives in `scope`'s frame.
        let next = unsafe { (*state.next).take() };
        let Some(next) = next else {
            return Some(Ok(()));
        };
        state.busy.set(true);
        // SAFETY: as in `with_event`.
        let result = block_on(next.run(unsafe { &mut *state.event }));
        state.busy.set(false);
        Some(result)
    }
}
