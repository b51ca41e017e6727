//! What the machine can hash: bcrypt at PocketBase's OTP cost (8) and password cost (10),
//! on one thread and on every core, for 3 s each. The OTP target ("request-otp throughput
//! ≥ 0.8 of what two cores can hash") is read against the all-cores figure.
//! Run: `cargo bench --bench bcrypt`.

use std::time::{Duration, Instant};

fn rate(cost: u32, threads: usize) -> f64 {
    let window = Duration::from_secs(3);
    let start = Instant::now();
    let total: u64 = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(move || {
                    let mut done = 0u64;
                    while start.elapsed() < window {
                        let _ = bcrypt::hash("12345678", cost);
                        done += 1;
                    }
                    done
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap_or(0)).sum()
    });
    total as f64 / start.elapsed().as_secs_f64()
}

fn main() {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    for cost in [8, 10] {
        println!(
            "bcrypt cost {cost}: {:.0} hashes/s on 1 thread, {:.0} hashes/s on {cores} threads",
            rate(cost, 1),
            rate(cost, cores)
        );
    }
}
