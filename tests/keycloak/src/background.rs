//! A tokio runtime on its own thread, so that the proxy and the resource server can be started and
//! dropped from blocking tests and from async tests alike.

use std::future::Future;
use std::sync::mpsc;
use std::thread::JoinHandle;

use tokio::runtime::Handle;
use tokio::sync::oneshot;

/// The runtime's handle; dropping this stops the runtime and joins its thread.
pub struct Background {
    handle: Handle,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Background {
    /// A two-worker runtime on a thread named `name`.
    pub fn start(name: &str) -> Background {
        let (handle_tx, handle_rx) = mpsc::channel();
        let (stop, stopped) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name(name.to_owned())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .expect("runtime");
                handle_tx.send(runtime.handle().clone()).expect("handle");
                let _ = runtime.block_on(stopped);
                runtime.shutdown_background();
            })
            .expect("thread");
        Background {
            handle: handle_rx.recv().expect("runtime started"),
            stop: Some(stop),
            thread: Some(thread),
        }
    }

    /// Spawns a task on the runtime.
    pub fn spawn<F>(&self, future: F)
    where
        F: Future<Output = ()> + Send + 'static,
    {
        self.handle.spawn(future);
    }

    /// Runs `future` on the runtime and waits for it from any thread that is not one of the
    /// runtime's own (a blocking test, or an async test's thread: the wait is a plain channel).
    pub fn run<F>(&self, future: F) -> F::Output
    where
        F: Future + Send + 'static,
        F::Output: Send + 'static,
    {
        let (tx, rx) = mpsc::channel();
        self.handle.spawn(async move {
            let _ = tx.send(future.await);
        });
        rx.recv().expect("the task finished")
    }
}

impl Drop for Background {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
