//! The run's side: publish the items in partitions by account, wait for the workers, then
//! write their outcomes in item order, a chunk at a time, as a run on one machine writes its
//! own (`pass::write_chunk`).

use std::collections::{BinaryHeap, HashMap};
use std::time::{Duration, Instant};

use super::super::item::{Derived, Evaluated, ItemResult};
use super::super::pass::{Pass, write_chunk};
use super::super::{Eval, Evaluator, Ran};
use super::{Distribution, Setup};
use crate::error::{Error, Result};
use crate::model::account::{AccountFacts, Fact};
use crate::model::item::{Interner, ItemOutcome};
use crate::store::api::{WorkQueue, WriteTx};

/// Items published or written at a time.
const CHUNK: usize = 8192;
/// Items per partition the run aims at: enough partitions that several workers share the
/// work evenly, few enough that each is worth a claim.
const PART_ITEMS: u64 = 20_000;
/// Partitions at least (when there are items) and at most.
const MIN_PARTS: u64 = 8;
const MAX_PARTS: u64 = 512;
/// Items without an account go to partitions in blocks of this many.
const BLOCK: u64 = 1024;
/// How often the run looks at the workers' progress.
const POLL: Duration = Duration::from_millis(250);

/// Which partition each account's items go to: the largest accounts first, each to the
/// partition with the fewest items so far; items without a known account, a block at a time,
/// likewise.
struct Partitions {
    by_account: HashMap<String, u32>,
    /// (−items, partition): the least loaded on top.
    loads: BinaryHeap<(std::cmp::Reverse<u64>, std::cmp::Reverse<u32>)>,
    sizes: Vec<u64>,
    /// The partition of the current block of unaccounted items, and what is left of it.
    block: Option<(u32, u64)>,
}

impl Partitions {
    fn new(facts: &[AccountFacts], items: u64) -> Partitions {
        let n = items.div_ceil(PART_ITEMS).clamp(MIN_PARTS, MAX_PARTS);
        let n = u32::try_from(n).unwrap_or(u32::MAX);
        let mut p = Partitions {
            by_account: HashMap::with_capacity(facts.len()),
            loads: (0..n)
                .map(|i| (std::cmp::Reverse(0), std::cmp::Reverse(i)))
                .collect(),
            sizes: vec![0; n as usize],
            block: None,
        };
        let mut accounts: Vec<(u64, &str)> = facts
            .iter()
            .map(|a| {
                let size = match a.install_base_count {
                    Fact::Int(i) => u64::try_from(i).unwrap_or(0),
                    _ => 0,
                };
                (size, a.account_id.as_str())
            })
            .filter(|(size, _)| *size > 0)
            .collect();
        accounts.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(b.1)));
        for (size, id) in accounts {
            let part = p.take(size);
            p.by_account.insert(id.to_string(), part);
        }
        p
    }

    /// The least loaded partition, loaded with `size` more items.
    fn take(&mut self, size: u64) -> u32 {
        let Some((std::cmp::Reverse(load), std::cmp::Reverse(part))) = self.loads.pop() else {
            return 0;
        };
        self.loads
            .push((std::cmp::Reverse(load + size), std::cmp::Reverse(part)));
        part
    }

    /// The partition of an item of `account`.
    fn of(&mut self, account: Option<&str>) -> u32 {
        let part = match account.and_then(|a| self.by_account.get(a)) {
            Some(&p) => p,
            None => match self.block {
                Some((p, left)) if left > 0 => {
                    self.block = Some((p, left - 1));
                    p
                }
                _ => {
                    let p = self.take(BLOCK);
                    self.block = Some((p, BLOCK - 1));
                    p
                }
            },
        };
        if let Some(s) = self.sizes.get_mut(part as usize) {
            *s += 1;
        }
        part
    }
}

impl Evaluator<'_> {
    /// [`super::super::Plan::Full`] by worker processes: publish, wait, merge.
    pub(in crate::score) fn evaluate_by_workers(
        &self,
        tx: &mut dyn WriteTx,
        eval: &mut Eval<'_, '_>,
        run_id: i64,
        d: &Distribution<'_>,
    ) -> Result<Option<Ran>> {
        let started = Instant::now();
        let mut queue = d
            .queue
            .lock()
            .map_err(|_| Error::Usage("the work queue was poisoned (a onelead bug)".into()))?;
        let queue: &mut dyn WorkQueue = &mut **queue;
        let facts = tx.account_facts()?;
        let catalog = tx.service_catalog()?;
        let setup = Setup::new(d.rules_dir, self.cfg, self.as_of, facts, catalog)?;
        queue.start(run_id, &setup.to_bytes()?)?;
        let items = u64::try_from(tx.count_items()?).unwrap_or(0);
        let sizes = publish(tx, queue, run_id, &setup.accounts, items)?;
        queue.publish(run_id, &sizes)?;
        tracing::info!(target: "timing", "evaluate-publish {:.3}s {items}", started.elapsed().as_secs_f64());
        let waited = Instant::now();
        wait(queue, run_id, sizes.len(), d, eval.progress)?;
        let eval_secs = waited.elapsed().as_secs_f64();
        let written = Instant::now();
        merge(tx, queue, run_id, eval)?;
        queue.clear(run_id)?;
        Ok(Some(Ran {
            rows: None,
            eval_secs,
            write_secs: written.elapsed().as_secs_f64(),
        }))
    }
}

/// Copies the run's items into the work, each to its account's partition; returns the
/// partitions' sizes.
fn publish(
    tx: &mut dyn WriteTx,
    queue: &mut dyn WorkQueue,
    work: i64,
    facts: &[AccountFacts],
    items: u64,
) -> Result<Vec<u64>> {
    let mut parts = Partitions::new(facts, items);
    let mut strings = Interner::default();
    let mut after = 0;
    loop {
        let rows = tx.read_items(after, CHUNK, &mut strings)?;
        let Some(last) = rows.last() else { break };
        after = last.id;
        let placed: Vec<(u32, &_)> = rows
            .iter()
            .map(|r| (parts.of(r.account_id.as_deref()), r))
            .collect();
        queue.add_items(work, &placed)?;
    }
    Ok(parts.sizes)
}

/// Waits until every partition is done, telling `supervise` how far the workers are.
fn wait(
    queue: &mut dyn WorkQueue,
    work: i64,
    parts: usize,
    d: &Distribution<'_>,
    progress: &dyn Fn(u64),
) -> Result<()> {
    loop {
        let done = queue.done(work)?;
        progress(done.items);
        (d.supervise)(work, done)?;
        if done.parts >= parts {
            return Ok(());
        }
        std::thread::sleep(POLL);
    }
}

/// Writes the staged outcomes in item order, a chunk at a time.
fn merge(
    tx: &mut dyn WriteTx,
    queue: &mut dyn WorkQueue,
    work: i64,
    eval: &mut Eval<'_, '_>,
) -> Result<()> {
    let mut chunk: Vec<ItemResult> = Vec::with_capacity(CHUNK);
    queue.outcomes(work, &mut |o| {
        chunk.push(result_of(o));
        if chunk.len() == CHUNK {
            write(tx, std::mem::take(&mut chunk), eval)?;
        }
        Ok(())
    })?;
    write(tx, chunk, eval)
}

fn write(tx: &mut dyn WriteTx, chunk: Vec<ItemResult>, eval: &mut Eval<'_, '_>) -> Result<()> {
    let n = chunk.len();
    match write_chunk(tx, chunk, &mut eval.ledger, &mut eval.out)? {
        Pass::Done => {
            eval.out.items += n;
            Ok(())
        }
        // Only a partial evaluation abandons, and workers evaluate every trigger.
        Pass::Abandoned => Err(Error::Usage(
            "a full evaluation was abandoned (a onelead bug)".into(),
        )),
    }
}

/// A worker's outcome as the run's own evaluation of the item would have been.
fn result_of(o: ItemOutcome) -> ItemResult {
    if let Some(e) = o.error {
        return Err(Error::RuleRuntime(e));
    }
    let derived = Derived {
        id: o.id,
        fields: o.derived,
        changed: o.changed,
    };
    let leads = o
        .leads
        .into_iter()
        .map(|(lead, fingerprint)| Evaluated {
            lead,
            asset: o.asset.clone(),
            fingerprint,
            enc: None,
        })
        .collect();
    Ok((derived, leads))
}
