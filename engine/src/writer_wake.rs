//! How a session wakes its websocket task when frames are queued.
//!
//! The task drains the queue at the top of its loop, then waits. A wake-up sets `woken` (it stays
//! set until the task sees it, so none is lost between draining and waiting) and wakes the task's
//! registered waker. Except while the task itself is handing a message to the application
//! ([`WriterWake::handle_inline`]): what the application queues then (an ack, an echo) is drained
//! when the handler returns, in the same turn, so waking the task would only schedule a second turn.
//! When the client waits for that answer before it sends again, the second turn finds nothing to
//! do: one scheduling, one poll of the task and one waker clone per message (callgrind, one echo
//! client: 2 polls and ~9,200 instructions per message before, 1 and ~8,400 after).
//!
//! The task looks at `woken` first ([`WriterWake::take_woken`]), then at its socket, and registers
//! its waker ([`WriterWake::poll`]) only when neither had anything: registering costs two locked
//! instructions, and the task mostly finds a message waiting.
//!
//! Invariant: a frame queued while `inline` is set is queued before the task leaves the handler,
//! and the task takes the state lock and drains after it clears `inline`; a frame queued after that
//! drain is queued under the same lock, so its wake-up sees `inline` cleared and wakes the task.

use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};

use futures_util::task::AtomicWaker;

/// The wake-up of one websocket task. Cheaper than a `Notify` for a wake-up per delivery.
#[derive(Default)]
pub(crate) struct WriterWake {
    waker: AtomicWaker,
    woken: AtomicBool,
    /// The task is running a handler: it drains the queue when the handler returns.
    inline: AtomicBool,
}

impl WriterWake {
    /// Frames were queued (or the session changed): the task must look.
    pub(crate) fn wake(&self) {
        self.woken.store(true, Ordering::Release);
        if !self.inline.load(Ordering::Acquire) {
            self.waker.wake();
        }
    }

    /// For the task, with the state lock held, before it drains the queue: wake-ups until now are
    /// for frames it is about to take.
    pub(crate) fn clear(&self) {
        self.woken.store(false, Ordering::Relaxed);
    }

    /// For the task: ready once [`WriterWake::wake`] was called since the last time this returned
    /// ready (or [`WriterWake::clear`] was called).
    pub(crate) fn poll(&self, cx: &mut Context<'_>) -> Poll<()> {
        // Registered before the look, so that a wake-up after it wakes the task.
        self.waker.register(cx.waker());
        if self.take_woken() {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    }

    /// For the task: clears `woken`, and says whether it was set, without registering a waker (for a
    /// look before the task polls something else that may be ready; it must call [`WriterWake::poll`]
    /// before it waits). Read first: the task mostly finds it clear, and a load costs no locked
    /// instruction where the swap does.
    pub(crate) fn take_woken(&self) -> bool {
        self.woken.load(Ordering::Acquire) && self.woken.swap(false, Ordering::Acquire)
    }

    /// For the task: runs `handle` (which hands a message to the application) with wake-ups that do
    /// not schedule the task. The caller must drain the queue, under the state lock, before it
    /// waits again.
    pub(crate) fn handle_inline<T>(&self, handle: impl FnOnce() -> T) -> T {
        self.inline.store(true, Ordering::Release);
        let result = handle();
        self.inline.store(false, Ordering::Release);
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::AtomicUsize;
    use std::task::{Wake, Waker};

    #[derive(Default)]
    struct CountingWaker(AtomicUsize);

    impl Wake for CountingWaker {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn waker() -> (Arc<CountingWaker>, Waker) {
        let counter = Arc::new(CountingWaker::default());
        (counter.clone(), Waker::from(counter))
    }

    fn wakes(counter: &CountingWaker) -> usize {
        counter.0.load(Ordering::SeqCst)
    }

    #[test]
    fn a_wake_up_after_waiting_wakes_the_task_once_and_is_seen_once() {
        let (counter, waker) = waker();
        let mut cx = Context::from_waker(&waker);
        let writer = WriterWake::default();
        assert!(writer.poll(&mut cx).is_pending());
        writer.wake();
        assert_eq!(wakes(&counter), 1);
        assert!(writer.poll(&mut cx).is_ready());
        assert!(writer.poll(&mut cx).is_pending());
    }

    #[test]
    fn a_wake_up_before_waiting_is_not_lost() {
        let (counter, waker) = waker();
        let writer = WriterWake::default();
        writer.wake();
        assert!(writer.poll(&mut Context::from_waker(&waker)).is_ready());
        assert_eq!(wakes(&counter), 0);
    }

    #[test]
    fn a_wake_up_inside_a_handler_is_kept_without_scheduling_the_task() {
        let (counter, waker) = waker();
        let mut cx = Context::from_waker(&waker);
        let writer = WriterWake::default();
        assert!(writer.poll(&mut cx).is_pending());
        let answer = writer.handle_inline(|| {
            writer.wake();
            42
        });
        assert_eq!(answer, 42);
        // The task drains after the handler anyway.
        assert_eq!(wakes(&counter), 0);
        // A task that did not drain still sees it.
        assert!(writer.poll(&mut cx).is_ready());
        // After the handler, wake-ups schedule the task again, with the waker still registered.
        assert!(writer.poll(&mut cx).is_pending());
        writer.wake();
        assert_eq!(wakes(&counter), 1);
    }

    #[test]
    fn a_look_takes_a_wake_up_once_and_a_poll_after_it_still_registers() {
        let (counter, waker) = waker();
        let writer = WriterWake::default();
        assert!(!writer.take_woken());
        writer.wake();
        assert!(writer.take_woken());
        assert!(!writer.take_woken());
        assert!(writer.poll(&mut Context::from_waker(&waker)).is_pending());
        writer.wake();
        assert_eq!(wakes(&counter), 1);
    }

    #[test]
    fn clearing_forgets_wake_ups_for_frames_about_to_be_drained() {
        let (_counter, waker) = waker();
        let mut cx = Context::from_waker(&waker);
        let writer = WriterWake::default();
        writer.handle_inline(|| writer.wake());
        writer.clear();
        assert!(writer.poll(&mut cx).is_pending());
    }
}
