//! A small load client for `benches/serve.sh`: N clients send the requests of a plan file to
//! `onelead serve` on 127.0.0.1 for a fixed time, then the latency percentiles and the errors
//! are printed per kind of request. Bounded in count and time; loopback only.
//!
//! ```text
//! cargo run --release --example loadgen -- PORT PLAN CLIENTS SECONDS
//! ```
//!
//! Each plan line is `KIND METHOD PATH [BODY]`, with `KIND` a label for the report; a line
//! `header NAME: VALUE` adds a header to every request of the kinds that follow (a session
//! cookie, a bearer token) until the next `header` line of the same name. Every client picks
//! plan lines at random. Any answer but 2xx (or a failed connection) is an error.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

// The integration tests' client; the load client reads only the status of each answer.
#[allow(dead_code)]
#[path = "../tests/cli/http.rs"]
mod http;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

struct Line {
    kind: String,
    method: String,
    path: String,
    body: Option<String>,
    headers: Vec<(String, String)>,
}

fn plan(text: &str) -> Vec<Line> {
    let mut headers: Vec<(String, String)> = Vec::new();
    let mut out = Vec::new();
    for l in text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        if let Some(h) = l.strip_prefix("header ") {
            let (k, v) = h.split_once(':').expect("header NAME: VALUE");
            headers.retain(|(n, _)| !n.eq_ignore_ascii_case(k.trim()));
            headers.push((k.trim().to_string(), v.trim().to_string()));
            continue;
        }
        let mut parts = l.splitn(4, ' ');
        let kind = parts.next().unwrap().to_string();
        let method = parts.next().expect("METHOD").to_string();
        let path = parts.next().expect("PATH").to_string();
        out.push(Line {
            kind,
            method,
            path,
            body: parts.next().map(str::to_string),
            headers: headers.clone(),
        });
    }
    assert!(!out.is_empty(), "the plan has no requests");
    out
}

fn percentile(sorted: &[u64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i] as f64 / 1000.0
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, port, plan_file, clients, seconds] = args.as_slice() else {
        panic!("usage: loadgen PORT PLAN CLIENTS SECONDS");
    };
    let port: u16 = port.parse().expect("PORT");
    let clients: usize = clients.parse().expect("CLIENTS");
    let seconds: u64 = seconds.parse().expect("SECONDS");
    assert!(
        clients <= 256 && seconds <= 600,
        "bounded: at most 256 clients for 600 s"
    );
    let lines = Arc::new(plan(
        &std::fs::read_to_string(plan_file).expect("read the plan"),
    ));
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let workers: Vec<_> = (0..clients)
        .map(|c| {
            let lines = Arc::clone(&lines);
            std::thread::spawn(move || {
                // A per-client xorshift: reproducible, no dependency.
                let mut x: u64 = 0x9E37_79B9_7F4A_7C15 ^ ((c as u64 + 1) * 0x2545_F491_4F6C_DD1D);
                let mut seen: Vec<(usize, u64, bool)> = Vec::new();
                while Instant::now() < deadline {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    let i = (x % lines.len() as u64) as usize;
                    let l = &lines[i];
                    let headers: Vec<(&str, &str)> = l
                        .headers
                        .iter()
                        .map(|(k, v)| (k.as_str(), v.as_str()))
                        .collect();
                    let t = Instant::now();
                    let ok = http::request(port, &l.method, &l.path, &headers, l.body.as_deref())
                        .is_ok_and(|a| (200..300).contains(&a.status));
                    seen.push((i, t.elapsed().as_micros() as u64, ok));
                }
                seen
            })
        })
        .collect();
    let mut by_kind: BTreeMap<&str, (Vec<u64>, usize)> = BTreeMap::new();
    let mut all: Vec<u64> = Vec::new();
    let mut errors = 0;
    for w in workers {
        for (i, us, ok) in w.join().unwrap() {
            let e = by_kind.entry(lines[i].kind.as_str()).or_default();
            e.0.push(us);
            all.push(us);
            if !ok {
                e.1 += 1;
                errors += 1;
            }
        }
    }
    println!("kind\trequests\terrors\tp50_ms\tp95_ms\tp99_ms\tmax_ms");
    let row = |kind: &str, v: &mut Vec<u64>, err: usize| {
        v.sort_unstable();
        println!(
            "{kind}\t{}\t{err}\t{:.1}\t{:.1}\t{:.1}\t{:.1}",
            v.len(),
            percentile(v, 0.50),
            percentile(v, 0.95),
            percentile(v, 0.99),
            percentile(v, 1.0)
        );
    };
    for (kind, (v, err)) in &mut by_kind {
        row(kind, v, *err);
    }
    row("all", &mut all, errors);
    println!(
        "throughput\t{:.0} requests/s over {seconds} s with {clients} clients",
        all.len() as f64 / seconds as f64
    );
}
