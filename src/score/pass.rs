//! A pass over the install base (every trigger, or only the edited ones): items read in chunks
//! (bounded memory), each chunk evaluated on both cores (rayon) while the one before is written
//! on this thread, in row order, so the output never depends on thread timing.

use rayon::prelude::*;

use super::item::{Evaluated, ItemResult, PassContext};
use super::ledger::{Claim, Ledger};
use super::{CARRY_ITEMS, Chunks, Evaluator, Outcome};
use crate::error::Result;
use crate::model::item::{Interner, ItemRow};
use crate::model::lead;
use crate::store::api::WriteTx;

/// Items read and evaluated per chunk.
const CHUNK: usize = 8192;
/// The first chunk's size; each next one doubles up to [`CHUNK`]. The first chunk is evaluated
/// with nothing to write alongside, so a small one gets both sides going sooner (a tenth of a
/// second of a `watch` save at 100k items).
const FIRST_CHUNK: usize = 1024;

/// How far a pass over the items got.
pub enum Pass {
    Done,
    /// A partial evaluation met a lead id it cannot settle alone (see [`Claim::Foreign`]).
    Abandoned,
}

/// Which items a pass evaluates and where they come from.
pub struct Items<'a> {
    /// Run only these triggers.
    pub only: Option<&'a [String]>,
    /// The rows the previous evaluation kept, instead of reading them.
    pub carried: Option<Chunks>,
    /// Keep the rows for the next evaluation.
    pub keep: bool,
}

/// What a pass did: how far it got, the rows to carry to the next evaluation (when asked to
/// keep them and there are few enough), and the seconds spent evaluating and writing.
pub struct Passed {
    pub pass: Pass,
    pub rows: Option<Chunks>,
    pub eval_secs: f64,
    pub write_secs: f64,
}

/// Where a pass gets its chunks of rows.
enum Source {
    /// From the database, in chunks that start small (the workers start sooner) and double.
    Read { size: usize, strings: Interner },
    /// As the previous evaluation read them.
    Carried(std::vec::IntoIter<Vec<ItemRow>>),
}

impl Source {
    /// The chunk after row id `after`; empty at the end.
    fn next(&mut self, tx: &mut dyn WriteTx, after: i64) -> Result<Vec<ItemRow>> {
        match self {
            Source::Read { size, strings } => {
                let rows = tx.read_items(after, *size, strings);
                *size = (*size * 2).min(CHUNK);
                rows
            }
            Source::Carried(chunks) => Ok(chunks.next().unwrap_or_default()),
        }
    }
}

impl Evaluator<'_> {
    /// Evaluates every item (with `items.only`, only those triggers) and writes the results
    /// through `ledger`.
    pub(super) fn pass(
        &self,
        tx: &mut dyn WriteTx,
        cx: &PassContext<'_>,
        ledger: &mut Ledger<'_>,
        out: &mut Outcome,
        items: Items<'_>,
        progress: &dyn Fn(u64),
    ) -> Result<Passed> {
        let Items {
            only,
            carried,
            keep,
        } = items;
        let mut pending: Option<Vec<ItemResult>> = None;
        // Where the time goes, for the timings: the two sides of the overlap.
        let (mut eval_secs, mut write_secs) = (0.0_f64, 0.0_f64);
        // Evaluating chunk k+1 (both cores, through rayon) overlaps writing chunk k (this
        // thread, which owns the transaction): writing is a third of the work and otherwise
        // left the workers idle. Chunks are still written in row order, so the first error
        // in row order is the one reported and the output never depends on thread timing.
        // The next chunk is read on this thread too, after the write: reading is a tenth of a
        // re-evaluation and ran alone while both cores waited.
        let mut source = match carried {
            Some(chunks) => Source::Carried(chunks.into_iter()),
            None => Source::Read {
                size: FIRST_CHUNK,
                strings: Interner::default(),
            },
        };
        // The chunks already evaluated, while they may still be carried.
        let mut kept: Option<Chunks> = keep.then(Vec::new);
        let mut rows = source.next(tx, 0)?;
        while let Some(last) = rows.last() {
            let after = last.id;
            let (written, next, results) = std::thread::scope(|s| {
                let worker = s.spawn(|| {
                    let t = std::time::Instant::now();
                    let r = rows
                        .par_iter()
                        .map(|row| self.evaluate_item(row, cx, only))
                        .collect::<Vec<_>>();
                    (r, t.elapsed().as_secs_f64())
                });
                let t = std::time::Instant::now();
                let written = pending.take().map_or(Ok(Pass::Done), |p| {
                    restore_derived(kept.as_mut(), &p);
                    write_chunk(tx, p, ledger, out)
                });
                write_secs += t.elapsed().as_secs_f64();
                let next = match written {
                    Ok(Pass::Done) => source.next(tx, after),
                    _ => Ok(Vec::new()),
                };
                (written, next, worker.join())
            });
            let (results, secs) = results.unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            if let Pass::Abandoned = written? {
                return Ok(Passed {
                    pass: Pass::Abandoned,
                    rows: None,
                    eval_secs,
                    write_secs,
                });
            }
            eval_secs += secs;
            pending = Some(results);
            out.items += rows.len();
            progress(out.items as u64);
            let done = std::mem::replace(&mut rows, next?);
            if out.items > CARRY_ITEMS {
                kept = None;
            }
            if let Some(k) = &mut kept {
                k.push(done);
            }
        }
        let t = std::time::Instant::now();
        let pass = match pending {
            Some(p) => {
                restore_derived(kept.as_mut(), &p);
                write_chunk(tx, p, ledger, out)?
            }
            None => Pass::Done,
        };
        write_secs += t.elapsed().as_secs_f64();
        Ok(Passed {
            pass,
            rows: kept,
            eval_secs,
            write_secs,
        })
    }
}

/// A kept chunk holds the derived fields as read; the evaluation of it (`results`, in the same
/// order) may have changed them, and the next evaluation compares against what is stored.
fn restore_derived(kept: Option<&mut Chunks>, results: &[ItemResult]) {
    let Some(chunk) = kept.and_then(|k| k.last_mut()) else {
        return;
    };
    for (row, r) in chunk.iter_mut().zip(results) {
        if let Ok((d, _)) = r {
            if d.changed {
                row.stored.clone_from(&d.fields);
            }
        }
    }
}

/// Gives a lead whose short id is taken a longer one: two assets whose ids collide, or two rows
/// of one asset (a serial twice in one snapshot). The first longer id is the short one
/// extended; each further row of the same asset counts on. True when the id was stored before.
fn longer_id(tx: &mut dyn WriteTx, ledger: &mut Ledger, e: &mut Evaluated) -> Result<bool> {
    let mut n = 1;
    loop {
        let key = if n == 1 {
            e.asset.clone()
        } else {
            format!("{}\u{1f}{n}", e.asset)
        };
        e.lead.lead_id = lead::lead_id(&key, &e.lead.lead_type, lead::LONG_ID);
        match ledger.claim(tx, &e.lead.lead_id)? {
            Claim::Taken => n += 1,
            claim => return Ok(claim == Claim::Stored),
        }
    }
}

/// Writes one evaluated chunk: derived fields, then the leads. Ids are claimed in row order, so
/// which of two colliding assets keeps the short id never depends on anything else. New leads
/// are then inserted grouped by trigger, so that one trigger's rows share pages: an edit to one
/// trigger then rewrites the pages of its leads, not nearly every page of the table.
pub(super) fn write_chunk(
    tx: &mut dyn WriteTx,
    results: Vec<ItemResult>,
    ledger: &mut Ledger,
    out: &mut Outcome,
) -> Result<Pass> {
    let mut batch = Vec::with_capacity(results.len() * 2);
    let mut derived = Vec::new();
    for r in results {
        let (d, leads) = r?;
        if d.changed {
            derived.push(d);
        }
        for mut e in leads {
            let stored = match ledger.claim(tx, &e.lead.lead_id)? {
                Claim::Stored => true,
                Claim::New => false,
                Claim::Foreign => return Ok(Pass::Abandoned),
                Claim::Taken if ledger.is_partial() => return Ok(Pass::Abandoned),
                Claim::Taken => longer_id(tx, ledger, &mut e)?,
            };
            batch.push((stored, e));
        }
    }
    let fields: Vec<_> = derived.iter().map(|d| (d.id, &d.fields)).collect();
    tx.write_derived(&fields)?;
    // New leads go last, grouped by trigger; stored ones keep row order, whose locality the
    // index updates of a full rewrite like (grouping them too made those 10% slower). The order
    // is sorted, not the leads: moving them about cost more than the sort saved.
    let mut order: Vec<usize> = (0..batch.len()).collect();
    order.sort_by_key(|&i| {
        let (stored, e) = &batch[i];
        (!stored).then_some(e.lead.rule.as_str())
    });
    let mut decided = Vec::with_capacity(batch.len());
    // `order` is a permutation: each lead is decided once.
    for i in order {
        if let Some((_, e)) = batch.get_mut(i) {
            if let Some(d) = ledger.decide(&e.lead, e.fingerprint, e.enc.take(), out)? {
                decided.push((i, d));
            }
            out.leads += 1;
        }
    }
    let writes: Vec<_> = decided
        .iter()
        .filter_map(|(i, d)| batch.get(*i).map(|(_, e)| d.write(&e.lead)))
        .collect();
    tx.write_leads(&writes)?;
    ledger.written();
    drop(writes);
    // A lead is a score of small allocations made by the worker that evaluated it. Freeing them
    // there is a local free; here it was a twelfth of the writer's time, and the writer is
    // the busier thread.
    rayon::spawn(move || drop((batch, decided)));
    Ok(Pass::Done)
}
