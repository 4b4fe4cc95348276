//! `changes`: what an install-base snapshot changed against the one before it — the assets that
//! arrived, left, or changed support status or coverage.

use serde::Serialize;

use super::Reader;
use crate::error::{Error, Result};
use crate::model::SheetKind;
use crate::model::snapshot::{AssetChange, Change, ChangeCounts, SnapshotInfo};

/// The `changes` JSON.
#[derive(Debug, Clone, Serialize)]
pub struct Changes {
    /// The install-base snapshot listed (`None`: no run has loaded an install base yet).
    pub snapshot: Option<SnapshotInfo>,
    /// The one it was compared with (`None`: it is the first).
    pub previous: Option<SnapshotInfo>,
    /// Its changes of the kinds asked for, by kind then asset key.
    pub changes: Vec<AssetChange>,
}

/// Which changes to list.
#[derive(Debug, Clone, Default)]
pub struct ChangeFilter {
    /// The snapshot (`None`: the latest install base).
    pub snapshot: Option<i64>,
    /// Only these kinds (all when empty).
    pub kinds: Vec<Change>,
    /// At most this many.
    pub limit: Option<usize>,
}

/// The install-base snapshots, newest first.
pub fn install_base_snapshots(reader: &mut Reader) -> Result<Vec<SnapshotInfo>> {
    reader.snapshots(SheetKind::InstallBase.key())
}

/// The changes `filter` asks for.
pub fn changes(reader: &mut Reader, filter: &ChangeFilter) -> Result<Changes> {
    let all = install_base_snapshots(reader)?;
    let at = match filter.snapshot {
        None if all.is_empty() => {
            return Ok(Changes {
                snapshot: None,
                previous: None,
                changes: Vec::new(),
            });
        }
        None => 0,
        Some(id) => all
            .iter()
            .position(|s| s.snapshot_id == id)
            .ok_or_else(|| {
                let known: Vec<String> = all.iter().map(|s| s.snapshot_id.to_string()).collect();
                Error::NotFound(format!(
                    "no install-base snapshot `{id}`; the install-base snapshots are {}",
                    if known.is_empty() {
                        "none yet (run `onelead run`)".to_string()
                    } else {
                        known.join(", ")
                    }
                ))
            })?,
    };
    let snapshot = all[at].clone();
    let previous = all
        .get(at + 1)
        .cloned()
        .filter(|_| snapshot.changes.is_some());
    let changes = reader.asset_changes(snapshot.snapshot_id, &filter.kinds, filter.limit)?;
    Ok(Changes {
        snapshot: Some(snapshot),
        previous,
        changes,
    })
}

/// The changes of the install-base snapshots for which `within` holds, added up, and how many
/// such snapshots compared with an earlier one.
pub fn changes_within(
    reader: &mut Reader,
    within: impl Fn(&SnapshotInfo) -> bool,
) -> Result<(ChangeCounts, usize)> {
    let mut total = ChangeCounts::default();
    let mut compared = 0;
    for s in install_base_snapshots(reader)?.iter().filter(|s| within(s)) {
        if let Some(c) = &s.changes {
            total.add(c);
            compared += 1;
        }
    }
    Ok((total, compared))
}
