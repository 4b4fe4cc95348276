//! The SQLite schema. Table names follow the original design so users' own queries keep working;
//! every source row keeps `source_file`, `source_sheet`, `source_row`. The lead tables, the
//! `leads` view and its triggers are made from the declared lead columns
//! ([`crate::store::columns::LEAD_COLUMNS`]).

use std::fmt::Write as _;

use crate::store::columns::{LEAD_COLUMNS, LeadColumn, Stored};

/// Bumped when the schema changes incompatibly; stored in `PRAGMA user_version`.
/// 2: `leads.estimated_value` and the rollup indexes. 3: `leads.fingerprint`, `meta`, and the
/// views' indexes (`leads_mix`, `leads_account_score`, `opp_account_id`, `accounts_territory`).
/// 4: `leads.reasons` holds the trigger's own reasons only (the factors' are in `factors`).
/// 5: `leads` is a view over `lead_rows` and `lead_texts` (see [`lead_tables`]).
/// 6: `lead_rows.owner` (and the view's `owner`), with the `leads_owner` index.
/// 7: `install_base.asset_key` (the `ib_asset` index replaces `ib_serial`), and the snapshot
/// tables `snapshots`, `assets` and `asset_changes`.
/// A view on an older database brings it up to date first (once: the `CREATE` batch below,
/// seconds at a million rows); without `leads_mix` a 1M-row dashboard falls back to reading
/// every lead row (12 s).
pub const SCHEMA_VERSION: i64 = 7;

/// The names of the indexes [`create`] makes.
pub fn index_names() -> impl Iterator<Item = &'static str> {
    create()
        .split("CREATE INDEX IF NOT EXISTS ")
        .skip(1)
        .filter_map(|rest| rest.split_whitespace().next())
}

/// The index `query::counts_by_type_priority` (the summary every run prints) walks. It holds no
/// score, so a change of weights leaves it standing (see `score::ledger::defer_indexes`); and it
/// is built before that summary even when the caller builds the other lead indexes after its
/// report.
pub const SUMMARY_INDEX: &str = "leads_kind";

/// Every table and index but the lead tables, as they come before them.
const DATA_TABLES_SQL: &str = r"
CREATE TABLE IF NOT EXISTS accounts (
    account_id       TEXT PRIMARY KEY,
    name             TEXT NOT NULL,
    normalized_name  TEXT NOT NULL,
    territory_id     TEXT,
    territory_name   TEXT,
    name_source      TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS account_aliases (
    alias            TEXT NOT NULL,
    normalized       TEXT NOT NULL,
    account_id       TEXT NOT NULL REFERENCES accounts(account_id),
    method           TEXT NOT NULL,
    similarity       REAL NOT NULL,
    source_table     TEXT NOT NULL,
    occurrences      INTEGER NOT NULL,
    PRIMARY KEY (alias, account_id, source_table)
);
CREATE INDEX IF NOT EXISTS alias_account ON account_aliases(account_id);
-- `territories` counts accounts per territory by walking this instead of sorting the table.
CREATE INDEX IF NOT EXISTS accounts_territory ON accounts(territory_id, territory_name);
CREATE TABLE IF NOT EXISTS install_base (
    id                   INTEGER PRIMARY KEY,
    serial_number        TEXT,
    product_id           TEXT,
    product_name         TEXT,
    product_line         TEXT,
    platform             TEXT,
    business_area        TEXT,
    territory_id         TEXT,
    account_name         TEXT,
    business_unit        TEXT,
    eol_date             TEXT,
    eosl_date            TEXT,
    service_start        TEXT,
    service_end          TEXT,
    service_source       TEXT,
    support_status       TEXT,
    service_agreement_id TEXT,
    -- The serial number; `serial|product id` where a serial belongs to several products.
    asset_key            TEXT,
    account_id           TEXT,
    days_since_eol       INTEGER,
    days_since_expiry    INTEGER,
    risk_level           TEXT,
    product_family       TEXT,
    source_file          TEXT NOT NULL,
    source_sheet         TEXT NOT NULL,
    source_row           INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS ib_account ON install_base(account_id);
-- Assets in key order, with the product that tells colliding serials apart.
CREATE INDEX IF NOT EXISTS ib_asset ON install_base(asset_key, product_id);
CREATE TABLE IF NOT EXISTS opportunities (
    id               INTEGER PRIMARY KEY,
    opportunity_id   TEXT,
    name             TEXT,
    territory_id     TEXT,
    account_name     TEXT,
    product_line     TEXT,
    account_id       TEXT,
    source_file      TEXT NOT NULL,
    source_sheet     TEXT NOT NULL,
    source_row       INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS opp_account_id ON opportunities(account_id, opportunity_id);
CREATE TABLE IF NOT EXISTS projects (
    id                   INTEGER PRIMARY KEY,
    project_id           TEXT NOT NULL,
    raw_project_id       TEXT,
    project_number       TEXT,
    description          TEXT,
    customer             TEXT,
    customer_id          TEXT,
    territory_id         TEXT,
    st_name              TEXT,
    practice             TEXT,
    status               TEXT,
    system_status        TEXT,
    size_category        TEXT,
    start_date           TEXT,
    end_date             TEXT,
    country              TEXT,
    business_area        TEXT,
    third_party_svc_cost REAL,
    third_party_mat_cost REAL,
    labor_cost           REAL,
    account_id           TEXT,
    source_file          TEXT NOT NULL,
    source_sheet         TEXT NOT NULL,
    source_row           INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS prj_account ON projects(account_id);
CREATE TABLE IF NOT EXISTS services (
    id               INTEGER PRIMARY KEY,
    practice         TEXT,
    sub_practice     TEXT,
    service          TEXT,
    source_file      TEXT NOT NULL,
    source_sheet     TEXT NOT NULL,
    source_row       INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS service_credits (
    id                       INTEGER PRIMARY KEY,
    project_id               TEXT,
    project_name             TEXT,
    customer                 TEXT,
    country_code             TEXT,
    practice                 TEXT,
    purchased                INTEGER,
    converted                INTEGER,
    delivered                INTEGER,
    converted_not_delivered  INTEGER,
    active                   INTEGER,
    expiry_bucket            TEXT,
    contract_end             TEXT,
    account_id               TEXT,
    source_file              TEXT NOT NULL,
    source_sheet             TEXT NOT NULL,
    source_row               INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS sc_account ON service_credits(account_id);
CREATE TABLE IF NOT EXISTS service_catalog (
    id               INTEGER PRIMARY KEY,
    product_family   TEXT,
    category         TEXT,
    service          TEXT NOT NULL,
    skus             TEXT,
    source_file      TEXT NOT NULL,
    source_sheet     TEXT NOT NULL,
    source_row       INTEGER NOT NULL,
    source_column    TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS service_sku_mappings (
    id               INTEGER PRIMARY KEY,
    catalog_id       INTEGER NOT NULL REFERENCES service_catalog(id),
    product_family   TEXT,
    category         TEXT,
    service          TEXT NOT NULL,
    sku              TEXT NOT NULL,
    source_file      TEXT NOT NULL,
    source_sheet     TEXT NOT NULL,
    source_row       INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS sku_family ON service_sku_mappings(product_family);
CREATE TABLE IF NOT EXISTS runs (
    run_id           INTEGER PRIMARY KEY,
    started_at       TEXT NOT NULL,
    finished_at      TEXT NOT NULL,
    command          TEXT NOT NULL,
    as_of            TEXT NOT NULL,
    inputs           TEXT NOT NULL,
    rules_hash       TEXT,
    config_hash      TEXT,
    counts           TEXT NOT NULL
);
";

/// The lead indexes and the tables after them.
const AFTER_LEADS: &str = r"
-- The queue's order (score, then id) without a sort: with the id in the index a page stops
-- at its 50th lead, and a deep page's cursor is one seek, however many leads share its score.
CREATE INDEX IF NOT EXISTS leads_score_id ON lead_rows(active, score DESC, lead_id);
-- One priority's best leads: the critical ones fill the top of `leads_score_id`, so a page of
-- high (or lower) leads walked it through every critical lead first.
CREATE INDEX IF NOT EXISTS leads_priority_score
    ON lead_rows(active, priority, score DESC, lead_id);
-- An account's best leads without reading (or sorting) the rest of them.
CREATE INDEX IF NOT EXISTS leads_account_score ON lead_rows(account_id, active, score DESC, lead_id);
-- A territory's best leads, a page at a time: most territories hold a handful of a million
-- leads, and walking `leads_score_id` for them reads every active lead.
CREATE INDEX IF NOT EXISTS leads_territory_score
    ON lead_rows(territory_id, active, score DESC, lead_id);
-- One type's best leads (a `type` filter that names one type): a type whose best leads rank
-- below another type's walked `leads_score_id` through thousands of those first.
CREATE INDEX IF NOT EXISTS leads_type_score
    ON lead_rows(active, lead_type, score DESC, lead_id);
-- Covering indexes for the rollups: the views aggregate these narrow indexes instead of
-- reading every lead row.
CREATE INDEX IF NOT EXISTS leads_rollup
    ON lead_rows(active, territory_id, priority, score, estimated_value);
-- One ordered walk of this gives the type × priority counts, the priority totals, the
-- pipeline, the score histogram and the family mix (`views::lead_mix`).
CREATE INDEX IF NOT EXISTS leads_mix
    ON lead_rows(active, lead_type, priority, product_family, score, estimated_value);
-- The summary's counts per type and priority (`SUMMARY_INDEX`).
CREATE INDEX IF NOT EXISTS leads_kind ON lead_rows(active, lead_type, priority);
CREATE INDEX IF NOT EXISTS ib_territory ON install_base(territory_id);
CREATE INDEX IF NOT EXISTS ib_family ON install_base(product_family);
CREATE INDEX IF NOT EXISTS ib_status ON install_base(support_status);
-- Small facts about the database itself, such as what the accounts were last derived from.
CREATE TABLE IF NOT EXISTS meta (
    key              TEXT PRIMARY KEY,
    value            TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS lead_events (
    id               INTEGER PRIMARY KEY,
    lead_id          TEXT NOT NULL,
    at               TEXT NOT NULL,
    kind             TEXT NOT NULL,
    from_status      TEXT,
    to_status        TEXT,
    note             TEXT,
    by               TEXT,
    opportunity_id   TEXT,
    run_id           INTEGER
);
CREATE INDEX IF NOT EXISTS events_lead ON lead_events(lead_id);
-- The snapshot each run formed of each kind of sheet: a later one of a kind replaces the rows
-- of the earlier.
CREATE TABLE IF NOT EXISTS snapshots (
    snapshot_id      INTEGER PRIMARY KEY,
    run_id           INTEGER NOT NULL,
    kind             TEXT NOT NULL,
    files            TEXT NOT NULL,
    rows             INTEGER NOT NULL,
    replaced         INTEGER NOT NULL,
    taken_at         TEXT NOT NULL,
    -- install base: the change counts against the previous one (JSON; NULL for the first)
    changes          TEXT
);
-- Every asset any install-base snapshot held, as the latest one that held it had it.
CREATE TABLE IF NOT EXISTS assets (
    asset_key        TEXT PRIMARY KEY,
    serial_number    TEXT,
    product_id       TEXT,
    product_name     TEXT,
    territory_id     TEXT,
    support_status   TEXT,
    coverage         TEXT NOT NULL,
    present          INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS assets_present ON assets(present);
-- What changed for each asset between an install-base snapshot and the one before it.
CREATE TABLE IF NOT EXISTS asset_changes (
    id               INTEGER PRIMARY KEY,
    snapshot_id      INTEGER NOT NULL,
    change           TEXT NOT NULL,
    asset_key        TEXT NOT NULL,
    serial_number    TEXT,
    product_id       TEXT,
    product_name     TEXT,
    territory_id     TEXT,
    before           TEXT,
    after            TEXT
);
CREATE INDEX IF NOT EXISTS asset_changes_snapshot ON asset_changes(snapshot_id, change);
";

/// "My leads" and an owner's queue, best first, without reading anyone else's. Partial: leads
/// nobody owns take no room in it.
const OWNER_INDEX: &str = "
CREATE INDEX IF NOT EXISTS leads_owner ON lead_rows(owner, active, score DESC, lead_id)
    WHERE owner IS NOT NULL;
";

/// The digest e-mails sent (`onelead digest --send`): a retry skips what a server accepted.
/// New tables need no version: every writing open runs this batch.
const MAIL_TABLE: &str = "
CREATE TABLE IF NOT EXISTS mail_sent (
    key              TEXT NOT NULL,
    recipient        TEXT NOT NULL,
    subject          TEXT NOT NULL,
    message_id       TEXT NOT NULL,
    lead_ids         TEXT NOT NULL,
    sent_at          TEXT NOT NULL,
    PRIMARY KEY (key, recipient)
);
";

/// Indexes the ones above replaced, each a prefix of its replacement.
const DROPPED: &str = r"
-- Indexes the ones above replaced, each a prefix of its replacement (leads_family is folded
-- into leads_mix); a database made before them loses them on its next write.
DROP INDEX IF EXISTS opp_account;
DROP INDEX IF EXISTS leads_account;
DROP INDEX IF EXISTS leads_type;
DROP INDEX IF EXISTS leads_family;
DROP INDEX IF EXISTS leads_score;
DROP INDEX IF EXISTS ib_serial;
-- Loads replaced the rows of a file by its name; snapshots replace whole tables.
DROP INDEX IF EXISTS ib_source;
DROP INDEX IF EXISTS opp_source;
DROP INDEX IF EXISTS prj_source;
";

/// The statements that create every table, view and index that does not exist yet.
pub fn create() -> &'static str {
    static CREATE: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        [
            DATA_TABLES_SQL,
            &lead_tables(LEAD_COLUMNS),
            AFTER_LEADS,
            OWNER_INDEX,
            &lead_view(LEAD_COLUMNS),
            DROPPED,
            MAIL_TABLE,
        ]
        .concat()
    });
    &CREATE
}

/// The lead tables. `lead_rows` holds one narrow row per lead; `lead_texts` holds each distinct
/// text once (a title, an action, the trigger's reasons, the services, one factor's outcome), and
/// a row names them by `text_id`. A million leads share a few tens of thousands of such texts, so
/// a row is a third of the size it would be with its text inline: writing the leads, building
/// their indexes and rewriting every score after a weight change all scale with that size.
pub fn lead_tables(columns: &[LeadColumn]) -> String {
    let mut sql = String::from(
        "
CREATE TABLE IF NOT EXISTS lead_texts (
    text_id          INTEGER PRIMARY KEY,
    body             TEXT NOT NULL UNIQUE
);
CREATE TABLE IF NOT EXISTS lead_rows (
",
    );
    let defs: Vec<String> = columns
        .iter()
        .map(|c| {
            let default = c
                .default
                .map(|d| format!(" DEFAULT {d}"))
                .unwrap_or_default();
            format!("    {:<20} {}{default}", c.stored_name(), c.sql)
        })
        .collect();
    sql.push_str(&defs.join(",\n"));
    sql.push_str("\n);\n");
    sql
}

/// `leads`: the lead table as users and the views know it (the columns of schema version 4, in
/// their order), composed from `lead_rows` and `lead_texts`. A text is looked up only when its
/// column is selected, so the rollups still read `lead_rows`' covering indexes alone. Writes to
/// the view (`INSERT`, `UPDATE`, `DELETE`, from a user's own SQL) go to the tables through the
/// triggers; onelead itself writes `lead_rows`.
pub fn lead_view(columns: &[LeadColumn]) -> String {
    let select: Vec<String> = columns
        .iter()
        .map(|c| match c.stored {
            Stored::Plain => c.name.to_string(),
            Stored::Text(id) => {
                format!(
                    "(SELECT body FROM lead_texts WHERE text_id = {id}) AS {}",
                    c.name
                )
            }
            Stored::Factors(ids) => format!(
                "(SELECT json_group_object(f.key, json(t.body))
       FROM json_each({ids}) f JOIN lead_texts t ON t.text_id = f.value) AS {}",
                c.name
            ),
        })
        .collect();
    let stored: Vec<&str> = columns.iter().map(LeadColumn::stored_name).collect();
    let values: Vec<String> = columns.iter().map(|c| new_value(c, true)).collect();
    let sets: Vec<String> = columns
        .iter()
        .map(|c| format!("{} = {}", c.stored_name(), new_value(c, false)))
        .collect();
    let texts = new_texts(columns);
    format!(
        "
CREATE VIEW IF NOT EXISTS leads AS SELECT {select}
  FROM lead_rows;
CREATE TRIGGER IF NOT EXISTS leads_insert INSTEAD OF INSERT ON leads BEGIN
  {texts}
  INSERT INTO lead_rows ({stored}) VALUES ({values});
END;
CREATE TRIGGER IF NOT EXISTS leads_update INSTEAD OF UPDATE ON leads BEGIN
  {texts}
  UPDATE lead_rows SET {sets} WHERE lead_id = OLD.lead_id;
END;
CREATE TRIGGER IF NOT EXISTS leads_delete INSTEAD OF DELETE ON leads BEGIN
  DELETE FROM lead_rows WHERE lead_id = OLD.lead_id;
END;
",
        select = select.join(",\n    "),
        stored = stored.join(", "),
        values = values.join(",\n      "),
        sets = sets.join(",\n      "),
    )
}

/// What a trigger writes to a `lead_rows` column from the `NEW` row of the view: the text's id
/// for a stored text, the ids of the factor outcomes, the column's default for a NULL
/// (`with_default`, as an insert into a table would).
fn new_value(c: &LeadColumn, with_default: bool) -> String {
    let name = c.name;
    match (c.stored, c.default) {
        (Stored::Text(_), _) => format!("(SELECT text_id FROM lead_texts WHERE body = NEW.{name})"),
        (Stored::Factors(_), _) => format!(
            "(SELECT json_group_object(f.key, (SELECT text_id FROM lead_texts WHERE body = f.value))
         FROM json_each(NEW.{name}) f)"
        ),
        (Stored::Plain, Some(default)) if with_default => {
            format!("coalesce(NEW.{name}, {default})")
        }
        (Stored::Plain, _) => format!("NEW.{name}"),
    }
}

/// The statement that stores the texts of the `NEW` row of the view not stored yet.
fn new_texts(columns: &[LeadColumn]) -> String {
    let mut selects: Vec<String> = columns
        .iter()
        .filter(|c| matches!(c.stored, Stored::Text(_)))
        .map(|c| format!("SELECT NEW.{}", c.name))
        .collect();
    selects.extend(
        columns
            .iter()
            .filter(|c| matches!(c.stored, Stored::Factors(_)))
            .map(|c| format!("SELECT value FROM json_each(NEW.{})", c.name)),
    );
    format!(
        "INSERT OR IGNORE INTO lead_texts (body)\n    {};",
        selects.join(" UNION ALL ")
    )
}

/// The lead tables as schema version 5 made them: what the version 4 migration creates, kept as
/// it was (a column declared since is added by [`migrations`]).
macro_rules! v5_lead_tables {
    () => {
        r"
CREATE TABLE IF NOT EXISTS lead_texts (
    text_id          INTEGER PRIMARY KEY,
    body             TEXT NOT NULL UNIQUE
);
CREATE TABLE IF NOT EXISTS lead_rows (
    lead_id              TEXT PRIMARY KEY,
    lead_type            TEXT NOT NULL,
    rule                 TEXT NOT NULL,
    install_base_id      INTEGER,
    serial_number        TEXT,
    product_name         TEXT,
    product_family       TEXT,
    account_id           TEXT,
    territory_id         TEXT,
    title_id             INTEGER NOT NULL,
    description          TEXT NOT NULL,
    action_id            INTEGER NOT NULL,
    score                REAL NOT NULL,
    priority             TEXT NOT NULL,
    -- {factor name: text_id of its {value, weight, contribution, reasons}}
    factor_ids           TEXT NOT NULL,
    reasons_id           INTEGER NOT NULL,
    services_id          INTEGER NOT NULL,
    recommended_skus     TEXT NOT NULL,
    days_since_eol       INTEGER,
    extra                TEXT NOT NULL,
    estimated_value      REAL,
    fingerprint          INTEGER,
    status               TEXT NOT NULL DEFAULT 'new',
    active               INTEGER NOT NULL DEFAULT 1,
    closed_reason        TEXT,
    created_at           TEXT NOT NULL,
    updated_at           TEXT NOT NULL,
    run_id               INTEGER NOT NULL
);
"
    };
}

/// Steps that bring an older database up to [`SCHEMA_VERSION`], by the version they start from.
pub const MIGRATIONS: &[(i64, &str)] = &[
    (1, "ALTER TABLE leads ADD COLUMN estimated_value REAL;"),
    // A hash of a lead's evaluated columns: re-evaluation rewrites only the leads it changed.
    (2, "ALTER TABLE leads ADD COLUMN fingerprint INTEGER;"),
    // `reasons` repeated every factor reason after the trigger's (a third of a lead row); keep
    // the trigger's, the first `len − Σ factor reasons`. The fingerprint no longer matches, so
    // the next evaluation rewrites each lead once.
    (
        3,
        "UPDATE leads SET reasons = (
           SELECT json_group_array(r.value) FROM (
             SELECT value FROM json_each(leads.reasons)
             WHERE key < json_array_length(leads.reasons) - (
               SELECT coalesce(sum(json_array_length(f.value, '$.reasons')), 0)
               FROM json_each(leads.factors) f)
             ORDER BY key) r),
           fingerprint = NULL
         WHERE json_valid(reasons) AND json_valid(factors);",
    ),
    // The lead table splits into `lead_rows` and `lead_texts`; the `CREATE` batch then adds the
    // view and the indexes. The leads read back the same. Fingerprints are hashed in parts since
    // (see `score::ledger::fingerprint`): the old ones are cleared, so the next evaluation
    // rewrites each lead once and counts none as reworded.
    (
        4,
        concat!(
            "DROP INDEX IF EXISTS leads_score; DROP INDEX IF EXISTS leads_account_score;
             DROP INDEX IF EXISTS leads_territory; DROP INDEX IF EXISTS leads_rollup;
             DROP INDEX IF EXISTS leads_mix;
             ALTER TABLE leads RENAME TO leads_v4;",
            v5_lead_tables!(),
            "INSERT OR IGNORE INTO lead_texts (body)
               SELECT title FROM leads_v4 UNION ALL SELECT recommended_action FROM leads_v4
               UNION ALL SELECT reasons FROM leads_v4
               UNION ALL SELECT recommended_services FROM leads_v4
               UNION ALL SELECT f.value FROM leads_v4, json_each(leads_v4.factors) f;
             INSERT INTO lead_rows (lead_id, lead_type, rule, install_base_id, serial_number,
                 product_name, product_family, account_id, territory_id, title_id, description,
                 action_id, score, priority, factor_ids, reasons_id, services_id,
                 recommended_skus, days_since_eol, extra, estimated_value, fingerprint, status,
                 active, closed_reason, created_at, updated_at, run_id)
               SELECT lead_id, lead_type, rule, install_base_id, serial_number, product_name,
                 product_family, account_id, territory_id,
                 (SELECT text_id FROM lead_texts WHERE body = l.title), description,
                 (SELECT text_id FROM lead_texts WHERE body = l.recommended_action), score,
                 priority,
                 (SELECT json_group_object(f.key,
                     (SELECT text_id FROM lead_texts WHERE body = f.value))
                    FROM json_each(l.factors) f),
                 (SELECT text_id FROM lead_texts WHERE body = l.reasons),
                 (SELECT text_id FROM lead_texts WHERE body = l.recommended_services),
                 recommended_skus, days_since_eol, extra, estimated_value, NULL, status,
                 active, closed_reason, created_at, updated_at, run_id
               FROM leads_v4 l ORDER BY l.rowid;
             DROP TABLE leads_v4;"
        ),
    ),
    // Assets are keyed by serial number; the first settled snapshot tells colliding ones apart.
    (
        6,
        "ALTER TABLE install_base ADD COLUMN asset_key TEXT;
         UPDATE install_base SET asset_key = serial_number;",
    ),
];

/// What brings a database at schema `version` (1 or more) up to [`SCHEMA_VERSION`]: the
/// [`MIGRATIONS`] from that version on, each lead column declared since added to `lead_rows`,
/// and, when it is older, the `leads` view and its triggers dropped (dropping the view drops
/// them), so that [`create`] makes them again with every column.
pub fn migrations(version: i64) -> String {
    migrations_for(version, LEAD_COLUMNS)
}

/// [`migrations`] for these lead columns.
fn migrations_for(version: i64, columns: &[LeadColumn]) -> String {
    let mut sql: String = MIGRATIONS
        .iter()
        .filter(|(from, _)| version <= *from)
        .map(|(_, step)| *step)
        .collect();
    // Versions before 5 had no `lead_rows`; their migration makes it as version 5 had it.
    for c in columns.iter().filter(|c| c.since > version.max(5)) {
        let default = c
            .default
            .map(|d| format!(" DEFAULT {d}"))
            .unwrap_or_default();
        // Writing to a String cannot fail.
        let _ = write!(
            sql,
            "\nALTER TABLE lead_rows ADD COLUMN {} {}{default};",
            c.stored_name(),
            c.sql
        );
    }
    if version < SCHEMA_VERSION {
        sql.push_str("\nDROP VIEW IF EXISTS leads;");
    }
    sql
}

/// The `CREATE` batch as schema version 4 had it (`leads` a table), for the migration tests.
#[cfg(test)]
pub fn v4_create() -> String {
    let v4 = create()
        .replace(&lead_tables(LEAD_COLUMNS), V4_LEADS)
        .replace(&lead_view(LEAD_COLUMNS), "")
        .replace(OWNER_INDEX, "")
        .replace("ON lead_rows(", "ON leads(");
    before_asset_keys(&v4)
}

/// The `CREATE` batch as schema version 5 had it (no `owner`), for the migration tests.
#[cfg(test)]
pub fn v5_create() -> String {
    let v5: Vec<LeadColumn> = LEAD_COLUMNS
        .iter()
        .filter(|c| c.since <= 5)
        .copied()
        .collect();
    let v5 = create()
        .replace(&lead_tables(LEAD_COLUMNS), &lead_tables(&v5))
        .replace(&lead_view(LEAD_COLUMNS), &lead_view(&v5))
        .replace(OWNER_INDEX, "");
    before_asset_keys(&v5)
}

/// `sql` with the install base as versions before 7 had it: no `asset_key`, and `ib_serial`
/// where `ib_asset` is.
#[cfg(test)]
fn before_asset_keys(sql: &str) -> String {
    sql.replace("    asset_key            TEXT,\n", "").replace(
        "ib_asset ON install_base(asset_key, product_id)",
        "ib_serial ON install_base(serial_number)",
    )
}

/// Version 4's `leads` table.
#[cfg(test)]
const V4_LEADS: &str = r"
CREATE TABLE IF NOT EXISTS leads (
    lead_id              TEXT PRIMARY KEY,
    lead_type            TEXT NOT NULL,
    rule                 TEXT NOT NULL,
    install_base_id      INTEGER,
    serial_number        TEXT,
    product_name         TEXT,
    product_family       TEXT,
    account_id           TEXT,
    territory_id         TEXT,
    title                TEXT NOT NULL,
    description          TEXT NOT NULL,
    recommended_action   TEXT NOT NULL,
    score                REAL NOT NULL,
    priority             TEXT NOT NULL,
    factors              TEXT NOT NULL,
    reasons              TEXT NOT NULL,
    recommended_services TEXT NOT NULL,
    recommended_skus     TEXT NOT NULL,
    days_since_eol       INTEGER,
    extra                TEXT NOT NULL,
    estimated_value      REAL,
    fingerprint          INTEGER,
    status               TEXT NOT NULL DEFAULT 'new',
    active               INTEGER NOT NULL DEFAULT 1,
    closed_reason        TEXT,
    created_at           TEXT NOT NULL,
    updated_at           TEXT NOT NULL,
    run_id               INTEGER NOT NULL
);
";

/// Indexes of the data tables that a load into an empty table builds once, after the rows are
/// in, instead of updating row by row: sorting a million keys once is far cheaper than a
/// million B-tree inserts at random places. Indexes whose inserts land in a few places stay
/// (`ib_status`; `ib_family` is empty until evaluation): they cost less kept up as rows arrive
/// than built afterwards. A table a new snapshot replaces is emptied first, so it is loaded the
/// same way.
pub const DEFERRED_INDEXES: &[(&str, &str)] = &[
    ("install_base", "ib_account"),
    ("install_base", "ib_asset"),
    ("install_base", "ib_territory"),
    ("opportunities", "opp_account_id"),
    ("projects", "prj_account"),
    ("service_credits", "sc_account"),
];

#[cfg(test)]
mod tests {
    use super::*;

    /// A deferred index the schema does not make is never dropped, so the load it was meant to
    /// speed up updates it row by row after all (as `opp_account` did once `opp_account_id`
    /// replaced it).
    #[test]
    fn every_deferred_index_is_one_the_schema_makes_on_its_table() {
        for (table, index) in DEFERRED_INDEXES {
            let made = create()
                .split("CREATE INDEX IF NOT EXISTS ")
                .skip(1)
                .find(|rest| rest.split_whitespace().next() == Some(*index));
            let Some(statement) = made else {
                panic!("deferred index `{index}` is not in the schema");
            };
            assert!(
                statement.contains(&format!("ON {table}(")),
                "`{index}` is not on `{table}`: {statement}"
            );
            let data = crate::model::SheetKind::ALL
                .iter()
                .any(|k| crate::store::kind_tables(*k).contains(table));
            assert!(data, "{table}");
        }
    }
}

#[cfg(test)]
pub(super) mod lead_column_tests {
    use rusqlite::Connection;

    use super::*;
    use crate::store::columns::{Moves, Written, placement};

    /// The declared lead columns with one more, as a new feature would add it: a column
    /// evaluation writes, taken from the trigger's `extra` fields.
    pub fn with_segment() -> Vec<LeadColumn> {
        let mut columns = LEAD_COLUMNS.to_vec();
        let at = columns.iter().position(|c| c.name == "extra").unwrap() + 1;
        columns.insert(
            at,
            LeadColumn {
                name: "segment",
                sql: "TEXT",
                default: None,
                stored: Stored::Plain,
                written: Written::Evaluated(Moves::Content),
                value: Some(|l, _| {
                    crate::store::columns::Value::OptText(
                        l.extra.get("segment").and_then(|v| v.as_str()),
                    )
                }),
                fingerprint: None,
                read: None,
                since: SCHEMA_VERSION + 1,
            },
        );
        columns
    }

    /// Adding a column is one entry in the declaration: the table gets it, the `leads` view
    /// shows it, the view's own insert writes it, and an older database gets it added.
    #[test]
    fn one_declared_column_reaches_the_table_the_view_its_triggers_and_the_migration() {
        let columns = with_segment();
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(&lead_tables(&columns)).unwrap();
        conn.execute_batch(&lead_view(&columns)).unwrap();
        conn.execute_batch(
            r"INSERT INTO leads (lead_id, lead_type, rule, title, description,
                 recommended_action, score, priority, factors, reasons, recommended_services,
                 recommended_skus, extra, segment, created_at, updated_at, run_id)
               VALUES ('L1', 'T', 'r', 't', 'd', 'a', 50, 'HIGH', '{}', '[]', '[]', '', '{}',
                 'mid-market', 'x', 'x', 1);
               UPDATE leads SET segment = 'enterprise' WHERE lead_id = 'L1';",
        )
        .unwrap();
        let (segment, status): (String, String) = conn
            .query_row("SELECT segment, status FROM leads", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        assert_eq!((segment.as_str(), status.as_str()), ("enterprise", "new"));
        // A database of this version, made without it, gets it added.
        let old = Connection::open_in_memory().unwrap();
        old.execute_batch(&lead_tables(LEAD_COLUMNS)).unwrap();
        assert!(
            !migrations(SCHEMA_VERSION).contains("ADD COLUMN"),
            "the shipped columns are in this version"
        );
        old.execute_batch(&migrations_for(SCHEMA_VERSION, &columns))
            .unwrap();
        old.execute_batch(&lead_view(&columns)).unwrap();
        let n: i64 = old
            .query_row(
                "SELECT count(*) FROM pragma_table_info('leads') WHERE name = 'segment'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(n, 1);
    }

    /// An update that moves only a lead's content names no indexed column (so SQLite leaves
    /// the indexes alone), and each column evaluation can move is in an index that needs it.
    #[test]
    fn the_columns_an_update_leaves_alone_are_those_no_index_holds() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(create()).unwrap();
        let mut stmt = conn
            .prepare(
                "SELECT DISTINCT i.name FROM sqlite_master m, pragma_index_info(m.name) i
                 WHERE m.type = 'index' AND m.tbl_name = 'lead_rows' AND m.sql IS NOT NULL",
            )
            .unwrap();
        let indexed: Vec<String> = stmt
            .query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect();
        // The key is never updated; it breaks ties in an index. A workflow column (the owner's
        // index) is in no update evaluation makes.
        for c in LEAD_COLUMNS {
            if matches!(c.written, Written::Key | Written::Workflow(_)) {
                assert!(!c.updated_by(Moves::Placement), "{}", c.name);
                continue;
            }
            let in_index = indexed.iter().any(|i| i == c.stored_name());
            let moves_index = matches!(
                c.written,
                Written::Evaluated(Moves::Score | Moves::Placement)
                    | Written::Reset(Moves::Placement, _)
            );
            assert_eq!(in_index, moves_index, "{}", c.name);
        }
        assert_eq!(placement(LEAD_COLUMNS).count(), 5);
    }
}
