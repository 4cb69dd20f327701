//! For async adapters: the runtime a subject owns, and blocking on one task or on many at once.

use std::sync::Arc;

use tokio::runtime::Runtime;

/// A multi-thread runtime of two workers (CI has two cores), for one subject.
pub fn runtime() -> Arc<Runtime> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build();
    Arc::new(runtime.expect("a runtime"))
}

/// Runs `task` on a worker of `runtime` and waits for it; a panic in it is a panic here.
pub fn run<T: Send + 'static>(
    runtime: &Runtime,
    task: impl Future<Output = T> + Send + 'static,
) -> T {
    let joined = runtime.block_on(runtime.spawn(task));
    joined.unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
}

/// Spawns every task at once on `runtime` and waits for all; answers in order. A panic in one is a
/// panic here.
pub fn run_all<T, F>(runtime: &Runtime, tasks: impl IntoIterator<Item = F>) -> Vec<T>
where
    T: Send + 'static,
    F: Future<Output = T> + Send + 'static,
{
    let handles: Vec<_> = tasks.into_iter().map(|t| runtime.spawn(t)).collect();
    runtime.block_on(async move {
        let mut answers = Vec::with_capacity(handles.len());
        for handle in handles {
            answers.push(
                handle
                    .await
                    .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic())),
            );
        }
        answers
    })
}
