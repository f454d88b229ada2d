//! Plugin runtime benchmark: JIT compile, load from the on-disk cache,
//! instantiate, and per-call overhead. Prints a table; asserts nothing.
//!
//!     ./scripts/bench runtime

use portagent::plugin::api::{Action, ActionKind};
use portagent::plugin::{Capability, Grants, Runtime};
use std::time::{Duration, Instant};

fn config(dir: &std::path::Path) -> portagent::config::Config {
    portagent::config::Config::parse(&format!("state_dir = {:?}", dir.join("state"))).unwrap()
}

/// Median of `n` timed runs of `f`.
fn median(n: usize, mut f: impl FnMut()) -> Duration {
    let mut times: Vec<Duration> = (0..n)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed()
        })
        .collect();
    times.sort();
    times[n / 2]
}

fn row(what: &str, d: Duration, note: &str) {
    println!("{what:<44} {:>12.3} us   {note}", d.as_secs_f64() * 1e6);
}

fn main() {
    let wasm = std::fs::read(env!("PORTAGENT_GUEST_PROBE")).unwrap();
    println!("probe component: {} bytes", wasm.len());

    let compile = median(3, || {
        let dir = tempfile::tempdir().unwrap();
        Runtime::from_config(&config(dir.path())).unwrap().compile(&wasm).unwrap();
    });
    row("JIT compile (cold, writes the cache)", compile, "median of 3");

    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path());
    Runtime::from_config(&cfg).unwrap().compile(&wasm).unwrap();
    let load = median(20, || {
        Runtime::from_config(&cfg).unwrap().compile(&wasm).unwrap();
    });
    row("engine + load from on-disk cache", load, "median of 20, new Runtime each");

    let rt = Runtime::from_config(&cfg).unwrap();
    let compiled = rt.compile(&wasm).unwrap();
    let memory_hit = median(1000, || {
        rt.compile(&wasm).unwrap();
    });
    row("compile() hit in memory (sha256 of the file)", memory_hit, "median of 1000");

    let instantiate_and_call = median(200, || {
        let mut p = rt.load("probe", &compiled, Grants::default()).unwrap();
        p.query().unwrap();
    });
    let mut p = rt.load("probe", &compiled, Grants::default()).unwrap();
    p.query().unwrap();
    let call = median(10_000, || {
        p.query().unwrap();
    });
    row("instantiate + first call", instantiate_and_call, "median of 200");
    row("instantiate (the above minus one call)", instantiate_and_call.saturating_sub(call), "");
    row("export call on a live instance (query)", call, "median of 10000");

    let grants = Grants::of(&[(Capability::LOG, &[])]);
    let mut p = rt.load("probe", &compiled, grants).unwrap();
    let log = vec![Action { kind: ActionKind::Modify, resource: "log".into(), body: "null".into() }];
    log::set_max_level(log::LevelFilter::Off);
    p.apply(&log).unwrap();
    let cap = median(10_000, || {
        p.apply(&log).unwrap();
    });
    row("export call + one capability call (log)", cap, "median of 10000");
}
