//! Evaluation: every install-base item runs through the classify rules, the triggers, the factor
//! rules and the service boosts; results are written back in the caller's transaction. Items
//! are processed in chunks (bounded memory) and each chunk in parallel (rayon), then written in
//! row order so the output never depends on thread timing.

pub mod context;
pub mod diff;
mod ledger;
mod rescore;

use std::collections::BTreeMap;
use std::hash::BuildHasher;

use chrono::NaiveDate;
use rayon::prelude::*;
use rhai::Map;
use rusqlite::{Connection, params};

use crate::config::Config;
use crate::error::Result;
use crate::fxhash::{FastMap, FastSet, Fx};
use crate::model::item::{ItemRow, StoredDerived};
use crate::model::lead::{self, Factor, Lead};
use crate::recommend::{self, Catalog};
use crate::rules::{EvalContext, RuleSet};
use crate::store::load;
use context::{Accounts, int_field, str_field};

/// Items read and evaluated per chunk.
const CHUNK: usize = 8192;
/// The first chunk's size; each next one doubles up to [`CHUNK`]. The first chunk is evaluated
/// with nothing to write alongside, so a small one gets both sides going sooner (a tenth of a
/// second of a `watch` save at 100k items).
const FIRST_CHUNK: usize = 1024;
/// At most this many install-base rows are kept in memory between `watch` evaluations (about
/// 50 MB a 100k, from the rows' layout): a larger install base is read again on every save.
const CARRY_ITEMS: usize = 300_000;

/// Most distinct (lead, family) recommendation results kept; past this, new ones are computed
/// every time rather than cached, so a trigger that puts a serial number in its title cannot
/// make the cache grow with the install base.
const RECOMMEND_CACHE_LIMIT: usize = 65_536;

/// What a recommendation depends on: the `lead` map the services rules see (type, title, rule)
/// and the product family that picks the candidate services.
type RecommendKey = (String, String, String, String);

/// Recommendations already computed in this evaluation, shared by the worker threads.
///
/// The services rules are functions of `(lead, service, cfg)` only — the `lead` map holds
/// nothing but type, title and rule — so equal keys give equal results. A million items
/// produce only a few thousand distinct keys; without the cache every lead re-ran every boost
/// rule for every candidate service (tens of script calls per lead).
/// Hashed by [`recommend_hash`], so a lookup borrows the lead's strings instead of copying four
/// of them for every lead; equal hashes share a bucket.
type RecommendCache = std::sync::RwLock<FastMap<u64, Vec<(RecommendKey, Recommended)>>>;

/// Recommended services with their SKU codes flattened (see [`recommend::flatten_skus`]).
type Recommended = (lead::Services, std::sync::Arc<[String]>);

fn recommend_hash(hit: &crate::rules::TriggerHit, family: &str) -> u64 {
    Fx::default().hash_one((&hit.lead_type, &hit.title, &hit.rule, family))
}

/// The recommendations computed earlier for this lead's type, title, rule and family.
fn cached_recommendation(
    cache: &RecommendCache,
    hit: &crate::rules::TriggerHit,
    family: &str,
) -> Option<Recommended> {
    let c = cache.read().ok()?;
    let (_, recs) = c.get(&recommend_hash(hit, family))?.iter().find(|(k, _)| {
        k.0 == hit.lead_type && k.1 == hit.title && k.2 == hit.rule && k.3 == family
    })?;
    Some(recs.clone())
}

/// What an evaluation did.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct Outcome {
    /// Install-base items evaluated.
    pub items: usize,
    /// Leads triggered in this evaluation.
    pub leads: usize,
    /// Leads seen for the first time.
    pub new_leads: usize,
    /// Leads whose trigger stopped firing (kept, inactive).
    pub closed: usize,
    /// Inactive leads that fired again.
    pub reopened: usize,
    /// What changed against the leads before this evaluation, when asked for.
    #[serde(skip)]
    pub changes: Option<diff::ChangeReport>,
    /// The triggers (file stems) a partial re-evaluation ran; `None` when every rule ran.
    #[serde(skip)]
    pub only_triggers: Option<Vec<String>>,
    /// The statements that build the lead indexes left to the caller (see
    /// [`Evaluator::indexes_later`]); [`finish_indexes`] runs them.
    #[serde(skip)]
    pub pending_indexes: Vec<String>,
}

/// What `watch` keeps from one evaluation for the next: every lead's state and the accounts'
/// maps, which otherwise cost a read of every lead and of every account's aggregates per save
/// (0.5 s at 100k items). Valid only while nothing else writes the database: the pipeline
/// checks SQLite's `data_version`, which moves when another connection commits.
#[derive(Default)]
pub struct Carry {
    /// `PRAGMA data_version` inside the transaction that produced this.
    pub version: i64,
    states: Option<ledger::LeadStates>,
    /// Dropped by the pipeline when the accounts may have changed (ingest, rebuild).
    pub accounts: Option<std::sync::Arc<Accounts>>,
    /// What the carried leads were evaluated from. While the data stands, an edit to triggers
    /// alone re-runs only those triggers. Dropped by the pipeline when anything was ingested or
    /// the accounts were rebuilt.
    pub basis: Option<crate::rules::Basis>,
    /// The classify rules returned only the fields stored with each row, as strings, so a
    /// partial evaluation takes those instead of running them.
    pub plain_classify: bool,
    /// The install-base rows as evaluation reads them, in chunks, when there are at most
    /// [`CARRY_ITEMS`]: reading them again was an eighth of the CPU a rule edit costs. Dropped
    /// by the pipeline when anything was ingested or the accounts were rebuilt.
    pub items: Option<Chunks>,
}

/// Deletes the lead texts no lead names any more, when they have piled up (see
/// `ledger::sweep_texts`); returns how many.
pub fn sweep_texts(conn: &Connection) -> Result<usize> {
    ledger::sweep_texts(conn, ledger::SWEEP_SLACK)
}

impl Carry {
    /// Drops what was derived from the data (account maps, rows, the basis of a partial
    /// evaluation): the data or the accounts changed. The lead states stand; they are compared,
    /// not trusted.
    pub fn forget_data(&mut self) {
        self.accounts = None;
        self.basis = None;
        self.items = None;
    }

    /// True when there is nothing to reuse.
    pub fn is_empty(&self) -> bool {
        self.states.is_none() && self.accounts.is_none()
    }
}

/// Derived fields of one item, written back to `install_base` when they changed.
struct Derived {
    id: i64,
    fields: StoredDerived,
    changed: bool,
}

/// One evaluated lead: its fingerprint and, unless the worker found it unchanged, its encoded
/// columns.
struct Evaluated {
    lead: Lead,
    fingerprint: i64,
    enc: Option<ledger::Encoded>,
}

/// One evaluated item: its derived fields and leads, or the rule error it hit.
type ItemResult = Result<(Derived, Vec<Evaluated>)>;

/// How far a pass over the items got.
enum Pass {
    Done,
    /// A partial evaluation met a lead id it cannot settle alone (see [`ledger::Claim::Foreign`]).
    Abandoned,
}

/// Rounds to 6 decimals so contributions add up to the total whatever the summation order.
fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

/// Everything evaluation needs besides the connection.
pub struct Evaluator<'a> {
    /// Compiled rules.
    pub rules: &'a RuleSet,
    /// Validated config.
    pub cfg: &'a Config,
    /// Day counts are measured from this date.
    pub as_of: NaiveDate,
    /// False for `load`: classify only, no leads.
    pub make_leads: bool,
    /// Which change report to build (`watch`, `whatif`).
    pub track_changes: diff::Changes,
    /// Leave the lead indexes this evaluation drops, but the summary's, to the caller
    /// ([`Outcome::pending_indexes`]).
    pub indexes_later: bool,
}

impl Evaluator<'_> {
    /// Evaluates every item; `progress` is told how many items are done so far. `carried` is
    /// what the previous evaluation kept (empty unless `watch`); with `keep`, the result
    /// includes what the next one can reuse.
    ///
    /// When only triggers changed since the carried evaluation, only those run. `None` means
    /// such a partial evaluation met a lead id it could not settle alone and stopped after
    /// writing part of its results: the caller must roll the transaction back and evaluate
    /// again without the carried state. (A savepoint would spare that, but journals every page
    /// the evaluation touches, for a case that needs two assets' ids to collide.)
    pub fn run(
        &self,
        conn: &Connection,
        run_id: i64,
        progress: &dyn Fn(u64),
        carried: Carry,
        keep: bool,
    ) -> Result<Option<(Outcome, Carry)>> {
        let setup = std::time::Instant::now();
        let plain_classify = carried.plain_classify;
        let basis = self.rules.basis(self.cfg);
        // Only triggers changed since the carried evaluation, on the same data: re-run those.
        let partial = match (&carried.basis, &carried.states) {
            (Some(old), Some(_)) if self.make_leads => basis.changed_triggers(old),
            _ => None,
        };
        // Only the weights or priority thresholds changed: no rule needs to run at all. Only
        // scoring rules changed, and the rows and their classify results are at hand: those
        // rules alone run.
        let rerate = match (&carried.basis, &carried.states, &carried.items) {
            (Some(old), Some(_), Some(_)) if self.make_leads && carried.plain_classify => {
                basis.changed_factors(old)
            }
            _ => None,
        };
        let reweigh = rerate.is_some()
            || match (&carried.basis, &carried.states) {
                (Some(old), Some(_)) => self.make_leads && basis.only_scoring_changed(old),
                _ => false,
            };
        let accounts = match carried.accounts {
            Some(a) => a,
            None => std::sync::Arc::new(context::read_accounts(conn)?),
        };
        let catalog = Catalog::read(conn, self.cfg)?;
        let now = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string();
        let states = match carried.states {
            Some(s) => s,
            None => ledger::read_states(conn)?,
        };
        let setup_secs = setup.elapsed().as_secs_f64();
        let mut deferred = if self.make_leads && states.is_empty() {
            ledger::defer_indexes(conn, &[])?
        } else {
            Vec::new()
        };
        // Same data, config and non-trigger rules as the carried evaluation: what it stored
        // with each row is what the classify rules would give again.
        let same_classify = partial.is_some();
        let ctx = PassContext {
            as_of: context::AsOf::new(self.as_of),
            classified: same_classify && plain_classify,
            plain: std::sync::atomic::AtomicBool::new(true),
            accounts: &accounts,
            catalog: &catalog,
            states: &states,
        };
        let scope: Option<FastSet<u64>> = partial
            .as_ref()
            .map(|s| s.iter().map(|r| ledger::rule_key(r)).collect())
            .filter(|scope| ledger::settles_alone(&states, scope));
        let partial = partial.filter(|_| scope.is_some());
        let mut out = Outcome::default();
        let mut ledger =
            ledger::Ledger::new(conn, &states, keep, run_id, &now, self.track_changes, scope)?;
        let (pass, items, (eval_secs, mut write_secs)) = if reweigh {
            let t = std::time::Instant::now();
            let rows = carried.items.iter().flatten().flatten();
            let rerate = rerate.as_deref().map(|only| rescore::Rerate {
                rules: self.rules,
                only,
                rows: rows.map(|r| (r.id, r)).collect(),
                as_of: &ctx.as_of,
            });
            let Some(leads) =
                rescore::rescore(conn, self.cfg, &accounts, &mut ledger, rerate.as_ref())?
            else {
                return Ok(None);
            };
            drop(rerate);
            out.leads = leads;
            out.items = conn
                .query_row("SELECT count(*) FROM install_base", [], |r| r.get(0))
                .map(|n: i64| usize::try_from(n).unwrap_or(0))?;
            progress(out.items as u64);
            (Pass::Done, carried.items, (0.0, t.elapsed().as_secs_f64()))
        } else {
            self.pass(
                conn,
                &ctx,
                &mut ledger,
                &mut out,
                Items {
                    only: partial.as_deref(),
                    carried: carried.items,
                    keep,
                },
                progress,
            )?
        };
        if let Pass::Abandoned = pass {
            return Ok(None);
        }
        if std::env::var_os("ONELEAD_TIMINGS").is_some() {
            let what = if let Some(factors) = &rerate {
                format!("none (scoring rules {})", factors.join(","))
            } else if reweigh {
                "none (weights or priority thresholds only)".into()
            } else {
                partial
                    .as_ref()
                    .map_or_else(|| "all".into(), |s| s.join(","))
            };
            eprintln!("timing: evaluate-triggers {what}");
        }
        out.only_triggers = if reweigh { Some(Vec::new()) } else { partial };
        let t = std::time::Instant::now();
        let settled = if self.make_leads {
            Some(ledger.close_untriggered(conn)?)
        } else {
            None
        };
        // A re-weighing runs no classify rule: what the carried evaluation found stands.
        let plain_classify = if reweigh {
            plain_classify
        } else {
            ctx.plain.load(std::sync::atomic::Ordering::Relaxed)
        };
        drop(ctx);
        let mut next_states = None;
        if let Some(mut settled) = settled {
            out.closed = settled.closed;
            out.leads += settled.kept;
            out.changes = settled.changes.take();
            deferred.append(&mut settled.deferred);
            next_states = settled.apply(states);
        }
        let closed_secs = t.elapsed().as_secs_f64();
        // The summary printed after a run counts leads per type and priority off its index;
        // the rest can wait for the caller's report, if it said so.
        let (now, later): (Vec<_>, Vec<_>) = deferred
            .iter()
            .partition(|d| !self.indexes_later || d.name == crate::store::SUMMARY_INDEX);
        if !now.is_empty() {
            load::build_indexes(conn, now.iter().map(|d| d.sql.as_str()))?;
        }
        out.pending_indexes = later.into_iter().map(|d| d.sql.clone()).collect();
        write_secs += t.elapsed().as_secs_f64();
        if std::env::var_os("ONELEAD_TIMINGS").is_some() {
            eprintln!(
                "timing: evaluate-setup {setup_secs:.3}s {}",
                accounts.maps.len()
            );
            eprintln!("timing: evaluate-close {closed_secs:.3}s {}", out.closed);
            eprintln!(
                "timing: evaluate-indexes {:.3}s {}",
                t.elapsed().as_secs_f64() - closed_secs,
                deferred.len()
            );
            eprintln!("timing: evaluate-rules {eval_secs:.3}s {}", out.items);
            eprintln!("timing: evaluate-write {write_secs:.3}s {}", out.leads);
        }
        let next = Carry {
            version: 0,
            plain_classify,
            basis: next_states.is_some().then_some(basis),
            states: next_states,
            accounts: keep.then_some(accounts),
            items,
        };
        Ok(Some((out, next)))
    }

    /// Evaluates every item (with `items.only`, only those triggers) and writes the results
    /// through `ledger`; returns how far it got, the rows to carry to the next evaluation (when
    /// asked to keep them and there are few enough) and the seconds spent evaluating and writing.
    fn pass(
        &self,
        conn: &Connection,
        cx: &PassContext<'_>,
        ledger: &mut ledger::Ledger<'_>,
        out: &mut Outcome,
        items: Items<'_>,
        progress: &dyn Fn(u64),
    ) -> Result<(Pass, Option<Chunks>, (f64, f64))> {
        let Items {
            only,
            carried,
            keep,
        } = items;
        let cache = RecommendCache::default();
        let mut pending: Option<Vec<ItemResult>> = None;
        // Where the time goes, for `ONELEAD_TIMINGS`: the two sides of the overlap.
        let (mut eval_secs, mut write_secs) = (0.0_f64, 0.0_f64);
        // Evaluating chunk k+1 (both cores, through rayon) overlaps writing chunk k (this
        // thread, which owns the connection): writing is a third of the work and otherwise
        // left the workers idle. Chunks are still written in row order, so the first error
        // in row order is the one reported and the output never depends on thread timing.
        // The next chunk is read on this thread too, after the write: reading is a tenth of a
        // re-evaluation and ran alone while both cores waited.
        let mut source = match carried {
            Some(chunks) => Source::Carried(chunks.into_iter()),
            None => Source::Read {
                size: FIRST_CHUNK,
                strings: context::Interner::default(),
            },
        };
        // The chunks already evaluated, while they may still be carried.
        let mut kept: Option<Chunks> = keep.then(Vec::new);
        let mut rows = source.next(conn, 0)?;
        while let Some(last) = rows.last() {
            let after = last.id;
            let (written, next, results) = std::thread::scope(|s| {
                let worker = s.spawn(|| {
                    let t = std::time::Instant::now();
                    let r = rows
                        .par_iter()
                        .map(|row| self.evaluate_item(row, cx, &cache, only))
                        .collect::<Vec<_>>();
                    (r, t.elapsed().as_secs_f64())
                });
                let t = std::time::Instant::now();
                let written = pending.take().map_or(Ok(Pass::Done), |p| {
                    restore_derived(kept.as_mut(), &p);
                    write_chunk(conn, p, ledger, out)
                });
                write_secs += t.elapsed().as_secs_f64();
                let next = match written {
                    Ok(Pass::Done) => source.next(conn, after),
                    _ => Ok(Vec::new()),
                };
                (written, next, worker.join())
            });
            let (results, secs) = results.unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            if let Pass::Abandoned = written? {
                return Ok((Pass::Abandoned, None, (eval_secs, write_secs)));
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
                write_chunk(conn, p, ledger, out)?
            }
            None => Pass::Done,
        };
        write_secs += t.elapsed().as_secs_f64();
        Ok((pass, kept, (eval_secs, write_secs)))
    }

    fn evaluate_item(
        &self,
        row: &ItemRow,
        cx: &PassContext<'_>,
        cache: &RecommendCache,
        only: Option<&[String]>,
    ) -> Result<(Derived, Vec<Evaluated>)> {
        let (accounts, catalog) = (cx.accounts, cx.catalog);
        let serial = row.text("serial_number").unwrap_or("");
        let ctx = EvalContext {
            table: "install_base",
            row: row.source_row,
            key: serial,
        };
        let mut item = context::item_map_at(row, &cx.as_of, cx.classified);
        let fields = if cx.classified {
            row.stored.clone()
        } else {
            if !self
                .rules
                .classify_into(&mut item, &ctx, context::CLASSIFIED)?
            {
                cx.plain.store(false, std::sync::atomic::Ordering::Relaxed);
            }
            StoredDerived {
                days_since_eol: int_field(&item, "days_since_eol"),
                days_since_expiry: int_field(&item, "days_since_expiry"),
                risk_level: str_field(&item, "risk_level"),
                product_family: str_field(&item, "product_family"),
            }
        };
        let derived = Derived {
            id: row.id,
            changed: fields != row.stored,
            fields,
        };
        if !self.make_leads {
            return Ok((derived, Vec::new()));
        }
        let account = accounts.shared(row.account_id.as_deref());
        // Shared once per item: the ~10 rule calls below each copy a pointer, not the map.
        let item = crate::rules::share(item);
        let mut leads = Vec::new();
        for hit in self.rules.triggers_shared(&item, account, &ctx, only)? {
            let mut lead_map = Map::new();
            lead_map.insert("lead_type".into(), hit.lead_type.clone().into());
            lead_map.insert("title".into(), hit.title.clone().into());
            lead_map.insert("rule".into(), hit.rule.clone().into());
            let mut factors = BTreeMap::new();
            let mut total = 0.0;
            let lead_shared = crate::rules::share(lead_map);
            for f in self
                .rules
                .score_shared(&item, account, &lead_shared, &ctx, None)?
            {
                let weight = self
                    .cfg
                    .scoring_weights
                    .get(&f.name)
                    .copied()
                    .unwrap_or(0.0);
                let contribution = round6(f.value * weight);
                total += contribution;
                factors.insert(
                    f.name,
                    Factor {
                        value: f.value,
                        weight,
                        contribution,
                        reasons: f.reasons,
                    },
                );
            }
            let score = round6(total);
            let family = derived.fields.product_family.as_deref().unwrap_or("");
            let (recs, skus) = if let Some(recs) = cached_recommendation(cache, &hit, family) {
                recs
            } else {
                let lead_map = lead_shared
                    .read_lock::<Map>()
                    .map(|m| m.clone())
                    .unwrap_or_default();
                let recs = recommend::recommend(
                    catalog,
                    self.rules,
                    family,
                    &lead_map,
                    self.cfg.top_services,
                    &ctx,
                )?;
                let skus = recommend::flatten_skus(&recs).into();
                let recs: Recommended = (recs.into(), skus);
                // A poisoned lock only means another thread panicked; skipping the cache is safe.
                if let Ok(mut c) = cache.write() {
                    if c.len() < RECOMMEND_CACHE_LIMIT {
                        let key = (
                            hit.lead_type.clone(),
                            hit.title.clone(),
                            hit.rule.clone(),
                            family.to_string(),
                        );
                        c.entry(recommend_hash(&hit, family))
                            .or_default()
                            .push((key, recs.clone()));
                    }
                }
                recs
            };
            let key = asset_key(row.text("serial_number"), row.id);
            let lead = Lead {
                lead_id: lead::lead_id(&key, &hit.lead_type, lead::SHORT_ID),
                priority: self.cfg.priority_thresholds.priority(score).to_string(),
                score,
                factors,
                // The factors' reasons are stored once, under `factors`; reading the lead back
                // appends them (`store::query::lead_from_row`).
                reasons: hit.reasons,
                title: hit.title,
                description: hit.description,
                recommended_action: hit.action,
                account_id: row.account_id.clone(),
                account_name: accounts.name(row.account_id.as_deref()),
                territory_id: row.text("territory_id").map(str::to_string),
                install_base_id: row.id,
                serial_number: row.text("serial_number").map(str::to_string),
                product_name: row.text("product_name").map(str::to_string),
                product_family: derived.fields.product_family.clone(),
                days_since_eol: derived.fields.days_since_eol,
                recommended_skus: skus,
                recommended_services: recs,
                extra: map_to_json(&hit.extra),
                lead_type: hit.lead_type,
                rule: hit.rule,
                status: "new".into(),
                active: true,
                created_at: String::new(),
                updated_at: String::new(),
            };
            // Most leads of a re-evaluation are as stored: those are not encoded at all.
            let fingerprint = ledger::fingerprint(&lead);
            let enc = match cx.states.get(lead.lead_id.as_str()) {
                Some(p) if p.unchanged(fingerprint) => None,
                _ => Some(ledger::Encoded::of(&lead, fingerprint)),
            };
            leads.push(Evaluated {
                lead,
                fingerprint,
                enc,
            });
        }
        context::recycle(item);
        Ok((derived, leads))
    }
}

/// Builds the lead indexes an evaluation left to its caller ([`Outcome::pending_indexes`]).
/// Each is built only if it is missing: another command that opened the database in between
/// may have built the schema's own already.
pub fn finish_indexes(conn: &Connection, sqls: &[String]) -> Result<()> {
    let sqls: Vec<String> = sqls.iter().map(|s| if_not_exists(s)).collect();
    load::build_indexes(conn, sqls.iter().map(String::as_str))
}

/// `CREATE [UNIQUE] INDEX name …` as `sqlite_master` keeps it (its `IF NOT EXISTS`, if it had
/// one, removed) with `IF NOT EXISTS` put back.
fn if_not_exists(sql: &str) -> String {
    match sql.find("INDEX ") {
        Some(at) => format!("{}INDEX IF NOT EXISTS {}", &sql[..at], &sql[at + 6..]),
        None => sql.to_string(),
    }
}

/// Install-base rows in the chunks evaluation read them in.
type Chunks = Vec<Vec<ItemRow>>;

/// Which items a pass evaluates and where they come from.
struct Items<'a> {
    /// Run only these triggers.
    only: Option<&'a [String]>,
    /// The rows the previous evaluation kept, instead of reading them.
    carried: Option<Chunks>,
    /// Keep the rows for the next evaluation.
    keep: bool,
}

/// Where a pass gets its chunks of rows.
enum Source {
    /// From the database, in chunks that start small (the workers start sooner) and double.
    Read {
        size: usize,
        strings: context::Interner,
    },
    /// As the previous evaluation read them.
    Carried(std::vec::IntoIter<Vec<ItemRow>>),
}

impl Source {
    /// The chunk after row id `after`; empty at the end.
    fn next(&mut self, conn: &Connection, after: i64) -> Result<Vec<ItemRow>> {
        match self {
            Source::Read { size, strings } => {
                let rows = context::read_items_with(conn, after, *size, strings);
                *size = (*size * 2).min(CHUNK);
                rows
            }
            Source::Carried(chunks) => Ok(chunks.next().unwrap_or_default()),
        }
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

/// What every pass of one evaluation shares with the workers.
struct PassContext<'a> {
    as_of: context::AsOf,
    /// Take the classify results stored with each row instead of running the rules: when the
    /// data and classify rules are those the stored results came from, and those rules return
    /// only what is stored (see [`Carry::plain_classify`]).
    classified: bool,
    /// Cleared when a classify rule returns more than what is stored.
    plain: std::sync::atomic::AtomicBool,
    accounts: &'a Accounts,
    catalog: &'a Catalog,
    states: &'a ledger::LeadStates,
}

/// Writes one evaluated chunk: derived fields, then the leads. Ids are claimed in row order, so
/// which of two colliding assets keeps the short id never depends on anything else. New leads
/// are then inserted grouped by trigger, so that one trigger's rows share pages: an edit to one
/// trigger then rewrites the pages of its leads, not nearly every page of the table.
fn write_chunk(
    conn: &Connection,
    results: Vec<ItemResult>,
    ledger: &mut ledger::Ledger,
    out: &mut Outcome,
) -> Result<Pass> {
    let mut batch = Vec::with_capacity(results.len() * 2);
    for r in results {
        let (derived, leads) = r?;
        if derived.changed {
            write_derived(conn, &derived)?;
        }
        for mut e in leads {
            let stored = match ledger.claim(conn, &e.lead.lead_id)? {
                ledger::Claim::Stored => true,
                ledger::Claim::New => false,
                ledger::Claim::Foreign => return Ok(Pass::Abandoned),
                ledger::Claim::Taken if ledger.is_partial() => return Ok(Pass::Abandoned),
                ledger::Claim::Taken => {
                    // Two assets hashed to the same short id: the later one gets a longer id.
                    let key = asset_key(e.lead.serial_number.as_deref(), e.lead.install_base_id);
                    e.lead.lead_id = lead::lead_id(&key, &e.lead.lead_type, lead::LONG_ID);
                    ledger.claim(conn, &e.lead.lead_id)? == ledger::Claim::Stored
                }
            };
            batch.push((stored, e));
        }
    }
    // New leads go last, grouped by trigger; stored ones keep row order, whose locality the
    // index updates of a full rewrite like (grouping them too made those 10% slower). The order
    // is sorted, not the leads: moving them about cost more than the sort saved.
    let mut order: Vec<usize> = (0..batch.len()).collect();
    order.sort_by_key(|&i| {
        let (stored, e) = &batch[i];
        (!stored).then_some(e.lead.rule.as_str())
    });
    // `order` is a permutation: each lead is written once.
    for i in order {
        if let Some((_, e)) = batch.get_mut(i) {
            ledger.write(conn, &e.lead, e.fingerprint, e.enc.take(), out)?;
            out.leads += 1;
        }
    }
    // A lead is a score of small allocations made by the worker that evaluated it. Freeing them
    // there is a local free; here it was a twelfth of the writer's time, and the writer is
    // the busier thread.
    rayon::spawn(move || drop(batch));
    Ok(Pass::Done)
}

/// The identity of an asset across runs: its serial number, or its row when it has none.
fn asset_key(serial: Option<&str>, id: i64) -> String {
    serial.map_or_else(|| format!("row:{id}"), str::to_string)
}

fn map_to_json(m: &Map) -> serde_json::Map<String, serde_json::Value> {
    m.iter()
        .filter_map(|(k, v)| {
            let json = serde_json::to_value(v).ok()?;
            Some((k.to_string(), json))
        })
        .collect()
}

fn write_derived(conn: &Connection, d: &Derived) -> Result<()> {
    conn.prepare_cached(
        "UPDATE install_base SET days_since_eol = ?1, days_since_expiry = ?2, risk_level = ?3,
         product_family = ?4 WHERE id = ?5",
    )?
    .execute(params![
        d.fields.days_since_eol,
        d.fields.days_since_expiry,
        d.fields.risk_level,
        d.fields.product_family,
        d.id
    ])?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_makes_reference_scores_exact() {
        // 80·0.35 + 50·0.30 + 40·0.20 + 60·0.15 is 60.0 in the reference; any order must agree.
        let parts = [80.0 * 0.35, 50.0 * 0.30, 40.0 * 0.20, 60.0 * 0.15].map(round6);
        let fwd = round6(parts.iter().sum());
        let rev = round6(parts.iter().rev().sum());
        assert_eq!(fwd, 60.0);
        assert_eq!(rev, 60.0);
    }

    #[test]
    fn asset_key_falls_back_to_the_row() {
        assert_eq!(asset_key(Some("SN1"), 4), "SN1");
        assert_eq!(asset_key(None, 4), "row:4");
    }
}
