//! How a list of leads looks as a table or CSV. The JSON form is the [`Lead`] struct itself.

use super::{Table, score};
use crate::model::lead::Lead;

/// Columns of the lead queue (the CSV has every JSON field flattened; see [`csv_table`]). On
/// a narrow terminal ids, serials and numbers stay whole and the text columns are shortened.
pub fn queue_table(leads: &[Lead]) -> Table {
    let mut t = Table::new(&[
        "lead_id",
        "priority",
        "score",
        "status",
        "type",
        "account",
        "territory",
        "product",
        "serial",
        "top skus",
    ]);
    for l in leads {
        t.push(vec![
            l.lead_id.clone(),
            l.priority.clone(),
            score(l.score),
            l.status.clone(),
            l.lead_type.clone(),
            l.account_name.clone().unwrap_or_default(),
            l.territory_id.clone().unwrap_or_default(),
            l.product_name.clone().unwrap_or_default(),
            l.serial_number.clone().unwrap_or_default(),
            l.recommended_skus
                .iter()
                .take(3)
                .cloned()
                .collect::<Vec<_>>()
                .join(" "),
        ]);
    }
    t.keep_whole(&[
        "lead_id",
        "priority",
        "score",
        "status",
        "territory",
        "serial",
        "aging",
    ])
}

/// The columns of [`csv_table`]: every field of the JSON form.
pub const CSV_COLUMNS: [&str; 26] = [
    "lead_id",
    "lead_type",
    "rule",
    "priority",
    "score",
    "factors",
    "reasons",
    "title",
    "description",
    "recommended_action",
    "account_id",
    "account_name",
    "territory_id",
    "install_base_id",
    "serial_number",
    "product_name",
    "product_family",
    "days_since_eol",
    "recommended_services",
    "recommended_skus",
    "extra",
    "status",
    "owner",
    "active",
    "created_at",
    "updated_at",
];

/// Every field of the JSON form, one column each; nested values as compact JSON text, so a
/// CSV parsed back holds exactly what the JSON holds.
pub fn csv_table(leads: &[Lead]) -> Table {
    let mut t = Table::new(&CSV_COLUMNS);
    for l in leads {
        t.push(csv_row(l));
    }
    t
}

/// One lead as a row of [`csv_table`].
pub fn csv_row(l: &Lead) -> Vec<String> {
    vec![
        l.lead_id.clone(),
        l.lead_type.clone(),
        l.rule.clone(),
        l.priority.clone(),
        l.score.to_string(),
        j(&l.factors),
        j(&l.reasons),
        l.title.clone(),
        l.description.clone(),
        l.recommended_action.clone(),
        l.account_id.clone().unwrap_or_default(),
        l.account_name.clone().unwrap_or_default(),
        l.territory_id.clone().unwrap_or_default(),
        l.install_base_id.to_string(),
        l.serial_number.clone().unwrap_or_default(),
        l.product_name.clone().unwrap_or_default(),
        l.product_family.clone().unwrap_or_default(),
        l.days_since_eol.map(|d| d.to_string()).unwrap_or_default(),
        j(&l.recommended_services),
        l.recommended_skus.join(" "),
        j(&l.extra),
        l.status.clone(),
        l.owner.clone().unwrap_or_default(),
        l.active.to_string(),
        l.created_at.clone(),
        l.updated_at.clone(),
    ]
}

/// Compact JSON of a nested field.
fn j<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_string(v).unwrap_or_default()
}

/// Leads per type × priority, with totals: the summary `run` and `dashboard` print.
pub fn summary_table(counts: &[(String, String, i64)]) -> Table {
    const PRIORITIES: [&str; 4] = ["CRITICAL", "HIGH", "MEDIUM", "LOW"];
    let mut t = Table::new(&["lead type", "CRITICAL", "HIGH", "MEDIUM", "LOW", "total"]);
    let mut types: Vec<&str> = counts.iter().map(|c| c.0.as_str()).collect();
    types.dedup();
    let mut col_totals = [0_i64; 5];
    for ty in types {
        let mut row = vec![ty.to_string()];
        let mut total = 0;
        for (i, p) in PRIORITIES.iter().enumerate() {
            let n: i64 = counts
                .iter()
                .filter(|c| c.0 == ty && c.1 == *p)
                .map(|c| c.2)
                .sum();
            total += n;
            col_totals[i] += n;
            row.push(n.to_string());
        }
        col_totals[4] += total;
        row.push(total.to_string());
        t.push(row);
    }
    let mut last = vec!["total".to_string()];
    last.extend(col_totals.iter().map(ToString::to_string));
    t.push(last);
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{Style, table};

    /// The real queue's widest row (issue 20): at 100 columns every id, serial, score and
    /// status is printed whole, on one line.
    #[test]
    fn the_queue_fits_100_columns_with_ids_and_serials_whole() {
        let lead = Lead {
            lead_id: "2Y4AKB2V".into(),
            lead_type: "Hardware Refresh - EOL Equipment".into(),
            rule: "hardware_refresh".into(),
            priority: "CRITICAL".into(),
            score: 73.5,
            factors: std::collections::BTreeMap::new(),
            reasons: Vec::new(),
            title: String::new(),
            description: String::new(),
            recommended_action: String::new(),
            account_id: None,
            account_name: Some("Baltimore City Public School Systems (inc)".into()),
            territory_id: Some("56769".into()),
            install_base_id: 1,
            serial_number: Some("EDYPD02HY7W4TK".into()),
            product_name: Some("HPE DL380 Gen9 E5-2630Lv3 FIO Kit".into()),
            product_family: None,
            days_since_eol: None,
            owner: None,
            recommended_services: Vec::new().into(),
            recommended_skus: vec!["HL997A1".to_string(), "H9Q53AC".to_string()].into(),
            extra: serde_json::Map::new(),
            status: "contacted".into(),
            active: true,
            created_at: String::new(),
            updated_at: String::new(),
        };
        let mut out = Vec::new();
        let style = Style {
            width: Some(100),
            color: false,
        };
        table::write(&mut out, &queue_table(&[lead]), style).unwrap();
        let s = String::from_utf8(out).unwrap();
        assert!(s.lines().all(|l| l.chars().count() <= 100), "{s}");
        assert_eq!(s.lines().count(), 5, "{s}");
        for whole in [
            "2Y4AKB2V",
            "CRITICAL",
            "73.50",
            "contacted",
            "56769",
            "EDYPD02HY7W4TK",
        ] {
            assert!(s.contains(whole), "{whole}:\n{s}");
        }
    }
}
