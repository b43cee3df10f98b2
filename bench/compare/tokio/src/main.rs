//! Tokio counterparts of weft's bench/workloads.
//! Usage: compare-tokio [w1_spawn|yield_ping]... (all when none)
//! Prints one line per result: <workload> <who> <metric>=<value> <unit>
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

fn line(workload: &str, who: &str, metric: &str, value: f64, unit: &str) {
    // %.4g as in the C++ and Go programs: 4 significant digits.
    println!("{workload} {who} {metric}={} {unit}", g4(value));
}

fn g4(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return format!("{v}");
    }
    let exp = v.abs().log10().floor() as i32;
    if (-4..4).contains(&exp) {
        let s = format!("{:.*}", (3 - exp).max(0) as usize, v);
        if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.').to_string() } else { s }
    } else {
        let m = format!("{:.3}", v / 10f64.powi(exp));
        let m = m.trim_end_matches('0').trim_end_matches('.');
        format!("{m}e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs())
    }
}

/// Best of `reps` runs: the machine is shared, the best run is the least disturbed one.
fn best_of(reps: usize, higher_is_better: bool, mut f: impl FnMut() -> f64) -> f64 {
    let mut best = f();
    for _ in 1..reps {
        let v = f();
        if (higher_is_better && v > best) || (!higher_is_better && v < best) {
            best = v;
        }
    }
    best
}

/// w1_spawn: 1,000,000 tokio::spawn from inside block_on, each increments an atomic; await all.
fn w1_spawn() {
    const TASKS: u64 = 1_000_000;
    for workers in [1usize, 2] {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(workers)
            .build()
            .expect("runtime");
        let rate = best_of(3, true, || {
            rt.block_on(async {
                let count = Arc::new(AtomicU64::new(0));
                let mut handles = Vec::with_capacity(TASKS as usize);
                let t0 = Instant::now();
                for _ in 0..TASKS {
                    let c = count.clone();
                    handles.push(tokio::spawn(async move {
                        c.fetch_add(1, Ordering::Relaxed);
                    }));
                }
                for h in handles {
                    h.await.expect("task panicked");
                }
                let s = t0.elapsed().as_secs_f64();
                let n = count.load(Ordering::Relaxed);
                if n != TASKS {
                    eprintln!("w1_spawn: count {n} != {TASKS}");
                    std::process::exit(1);
                }
                TASKS as f64 / s
            })
        });
        line("w1_spawn", &format!("tokio-w{workers}"), "tasks_per_s", rate, "tasks/s");
    }
}

/// yield_ping: two tasks on a current_thread runtime each call yield_now() 2,000,000 times;
/// ns per switch = elapsed / total yields (each yield hands the thread to the other task).
fn yield_ping() {
    const YIELDS: u64 = 2_000_000; // per task
    let rt = tokio::runtime::Builder::new_current_thread().build().expect("runtime");
    let ns = best_of(5, false, || {
        rt.block_on(async {
            let player = || async {
                for _ in 0..YIELDS {
                    tokio::task::yield_now().await;
                }
            };
            let t0 = Instant::now();
            let a = tokio::spawn(player());
            let b = tokio::spawn(player());
            a.await.expect("task panicked");
            b.await.expect("task panicked");
            t0.elapsed().as_nanos() as f64 / (2 * YIELDS) as f64
        })
    });
    line("yield_ping", "tokio-ct", "ns_per_switch", ns, "ns");
}

fn main() {
    let mut names: Vec<String> = std::env::args().skip(1).collect();
    if names.is_empty() {
        names = vec!["w1_spawn".into(), "yield_ping".into()];
    }
    for n in &names {
        match n.as_str() {
            "w1_spawn" => w1_spawn(),
            "yield_ping" => yield_ping(),
            _ => {
                eprintln!("compare-tokio: unknown workload '{n}'; known: w1_spawn yield_ping");
                std::process::exit(2);
            }
        }
    }
}
