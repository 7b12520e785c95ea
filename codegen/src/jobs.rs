//! Independent pieces of the generator's work spread over the machine's cores.

use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A piece of work that can run on any thread.
pub(crate) type Job<'a, T> = Box<dyn FnOnce() -> T + Send + 'a>;

/// Runs `jobs` (each with a weight) on as many threads as the machine has cores, heaviest
/// first; the results come back in the order of `jobs`, `None` for a job that panicked.
pub(crate) fn run<T: Send>(jobs: Vec<(usize, Job<'_, T>)>) -> Vec<Option<T>> {
    let count = jobs.len();
    let mut order: Vec<usize> = (0..count).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(jobs[i].0));
    let slots: Vec<Mutex<Option<Job<'_, T>>>> = jobs
        .into_iter()
        .map(|(_, job)| Mutex::new(Some(job)))
        .collect();
    let results: Vec<Mutex<Option<T>>> = (0..count).map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(count.max(1));
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                while let Some(&index) = order.get(next.fetch_add(1, Ordering::Relaxed)) {
                    let job = slots[index].lock().ok().and_then(|mut slot| slot.take());
                    if let Some(job) = job {
                        let out = job();
                        if let Ok(mut slot) = results[index].lock() {
                            *slot = Some(out);
                        }
                    }
                }
            });
        }
    });
    results
        .into_iter()
        .map(|slot| slot.into_inner().ok().flatten())
        .collect()
}
