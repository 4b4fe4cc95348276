//! `onelead changes`: the assets an install-base snapshot changed against the one before it,
//! as a table, CSV or JSON.

use std::io::Write;

use crate::cli::ChangesArgs;
use crate::error::Result;
use crate::model::snapshot::{AssetChange, SnapshotInfo};
use crate::report::{self, Format, Style, Table};
use crate::views::{self, ChangeFilter, Changes};

/// Runs `onelead changes`.
pub fn run(args: &ChangesArgs) -> Result<()> {
    let (_, mut reader) = super::open_view(&args.db)?;
    let filter = ChangeFilter {
        snapshot: args.snapshot,
        kinds: args.change.iter().map(|c| (*c).into()).collect(),
        limit: args.limit,
    };
    let c = views::changes(&mut reader, &filter)?;
    let format = args.format.get();
    super::print(|out| {
        if format == Format::Table {
            let Some(s) = &c.snapshot else {
                report::line(out, "no install base loaded yet; run `onelead run`")?;
                return Ok(());
            };
            writeln!(out, "{}", heading(s, c.previous.as_ref()))?;
        }
        let t = if format == Format::Csv {
            csv_table(&c)
        } else {
            terminal_table(&c)
        };
        report::emit(out, format, &t, &c, Style::detect())
    })
}

/// `install base snapshot 2 (run 3, …): 1 arrived, 5 left, …`.
fn heading(s: &SnapshotInfo, previous: Option<&SnapshotInfo>) -> String {
    let this = format!(
        "install base snapshot {} (run {}, {}, {})",
        s.snapshot_id,
        s.run_id,
        s.files.join(", "),
        report::plural(s.rows, "row", "rows")
    );
    match (previous, &s.changes) {
        (Some(p), Some(c)) => format!(
            "{this} against snapshot {}: {}",
            p.snapshot_id,
            report::snapshots::change_summary(c)
        ),
        _ => format!("{this}: the first install base, nothing to compare it with"),
    }
}

/// One row per change, the asset as the other views show it.
fn terminal_table(c: &Changes) -> Table {
    let mut t = Table::new(&[
        "change",
        "asset",
        "product",
        "territory",
        "account",
        "before",
        "after",
    ]);
    let o = |v: &Option<String>| v.clone().unwrap_or_default();
    for a in &c.changes {
        t.push(vec![
            a.change.as_str().replace('_', " "),
            a.asset_key.clone(),
            o(&a.product_name),
            o(&a.territory_id),
            o(&a.account_name),
            o(&a.before),
            o(&a.after),
        ]);
    }
    t
}

/// One row per change with every field of the JSON.
fn csv_table(c: &Changes) -> Table {
    let mut t = Table::new(&[
        "change",
        "asset_key",
        "serial_number",
        "product_id",
        "product_name",
        "territory_id",
        "account_name",
        "before",
        "after",
    ]);
    for a in &c.changes {
        t.push(row(a));
    }
    t
}

fn row(a: &AssetChange) -> Vec<String> {
    let o = |v: &Option<String>| v.clone().unwrap_or_default();
    vec![
        a.change.as_str().to_string(),
        a.asset_key.clone(),
        o(&a.serial_number),
        o(&a.product_id),
        o(&a.product_name),
        o(&a.territory_id),
        o(&a.account_name),
        o(&a.before),
        o(&a.after),
    ]
}
