//! Snapshots: each run's inputs are the current snapshot of every kind of sheet they contain,
//! replacing the one before whatever the files are called. The install base is compared with
//! the snapshot it replaces, asset by asset ([`AssetChange`]); what the store says about a
//! snapshot it settled is a [`SettledInstallBase`]. No behaviour here.

use serde::Serialize;

use super::SheetKind;

/// What a run records about one snapshot it formed.
#[derive(Debug, Clone, Copy)]
pub struct SnapshotRecord<'a> {
    /// The run.
    pub run_id: i64,
    /// The kind of sheet.
    pub kind: SheetKind,
    /// The files whose sheets of this kind formed it, in the order read.
    pub files: &'a [String],
    /// Rows loaded.
    pub rows: u64,
    /// Rows of the snapshot it replaced.
    pub replaced: u64,
    /// When (RFC 3339).
    pub taken_at: &'a str,
}

/// How many assets changed between two install-base snapshots, per kind of change.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct ChangeCounts {
    /// Assets in the new snapshot that the previous one did not hold.
    pub arrived: u64,
    /// Assets of the previous snapshot that the new one does not hold.
    pub left: u64,
    /// Assets in both whose support status differs.
    pub support_status: u64,
    /// Assets in both whose coverage class differs (see [`Change::Coverage`]); each is also
    /// counted in `support_status`, which the class is read from.
    pub coverage: u64,
}

impl ChangeCounts {
    /// Sets the count of the change stored under `name` ([`Change::as_str`]); other names are
    /// not changes this build counts and are ignored.
    pub fn set(&mut self, name: &str, n: u64) {
        match name {
            "arrived" => self.arrived = n,
            "left" => self.left = n,
            "support_status" => self.support_status = n,
            "coverage" => self.coverage = n,
            _ => {}
        }
    }

    /// Adds `other`'s counts.
    pub fn add(&mut self, other: &ChangeCounts) {
        self.arrived += other.arrived;
        self.left += other.left;
        self.support_status += other.support_status;
        self.coverage += other.coverage;
    }

    /// True when nothing changed.
    pub fn is_empty(&self) -> bool {
        *self == ChangeCounts::default()
    }
}

/// A kind of change of an asset between two install-base snapshots.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    /// New in this snapshot (or back after being gone).
    Arrived,
    /// In the previous snapshot, not in this one.
    Left,
    /// `Support_Status` differs.
    SupportStatus,
    /// The coverage class read from the support status differs: `covered`, `expired`,
    /// `uncovered` or `unknown`, as `onelead analytics` classes it.
    Coverage,
}

impl Change {
    /// Every kind, in the order listings show them.
    pub const ALL: [Change; 4] = [
        Change::Arrived,
        Change::Left,
        Change::SupportStatus,
        Change::Coverage,
    ];

    /// The stored and JSON name.
    pub fn as_str(self) -> &'static str {
        match self {
            Change::Arrived => "arrived",
            Change::Left => "left",
            Change::SupportStatus => "support_status",
            Change::Coverage => "coverage",
        }
    }

    /// Reads a stored name.
    pub fn parse(s: &str) -> Option<Change> {
        Change::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

/// A serial number (with its product id where serials collide) found on several rows of one
/// install-base snapshot. Every row is loaded; the later ones' leads get longer ids.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Duplicate {
    /// The asset key: the serial number, or `serial|product id` where serials collide.
    pub asset_key: String,
    /// The rows holding it, in load order.
    pub rows: Vec<RowRef>,
}

/// Where a row came from, as messages name it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RowRef {
    /// File name.
    pub file: String,
    /// Sheet name; empty for CSV.
    pub sheet: String,
    /// Row as the spreadsheet numbers it.
    pub row: i64,
}

/// What settling a new install-base snapshot found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SettledInstallBase {
    /// Distinct assets in the snapshot.
    pub assets: u64,
    /// Serial numbers that belong to more than one product in this snapshot, so their assets
    /// are told apart by `serial|product id`.
    pub colliding_serials: u64,
    /// Asset keys on more than one row: how many there are.
    pub duplicates: u64,
    /// The first few of them, by key, with their rows.
    pub duplicate_examples: Vec<Duplicate>,
    /// What changed against the previous install-base snapshot; `None` when there was none to
    /// compare with (the first one).
    pub changes: Option<ChangeCounts>,
}

/// One asset change, as `onelead changes` lists it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AssetChange {
    /// What changed.
    pub change: Change,
    /// Serial number, or `serial|product id` where serials collide.
    pub asset_key: String,
    /// Serial number.
    pub serial_number: Option<String>,
    /// Product id.
    pub product_id: Option<String>,
    /// Product name.
    pub product_name: Option<String>,
    /// Sales territory.
    pub territory_id: Option<String>,
    /// The territory's main account's name, when known.
    pub account_name: Option<String>,
    /// The value before (support status or coverage class; the support status of an asset
    /// that left).
    pub before: Option<String>,
    /// The value after (the support status of an asset that arrived).
    pub after: Option<String>,
}

/// A snapshot as recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SnapshotInfo {
    /// Its id (increasing).
    pub snapshot_id: i64,
    /// The run that formed it.
    pub run_id: i64,
    /// The kind of sheet (`install_base`, …).
    pub kind: String,
    /// The files that formed it.
    pub files: Vec<String>,
    /// Rows loaded.
    pub rows: u64,
    /// Rows of the snapshot it replaced.
    pub replaced: u64,
    /// When (RFC 3339).
    pub taken_at: String,
    /// For an install base: what changed against the previous one (`None`: the first).
    pub changes: Option<ChangeCounts>,
}
