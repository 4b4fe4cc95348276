//! The lead filters of a URL query, by the command line's names (`type`, `priority`,
//! `min-score`, `territory`, `account`, `family`, `status`, `sort`, `limit`, `new-since`,
//! `older-than`), so a view is bookmarked and shared as its URL and means what `onelead leads`
//! means. Values become bound SQL parameters (`store::query`); anything malformed is a 400 that
//! names the field, with "did you mean" for a misspelt one.

use chrono::NaiveDate;
use clap::ValueEnum;

use super::AppError;
use crate::cli::{PriorityArg, SortArg, StatusFilterArg};
use crate::store::keyset::Cursor;
use crate::views::{LeadFilter, LeadSort, Statuses};

/// How the queue page groups its rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Group {
    /// One row per lead.
    #[default]
    None,
    /// A heading per account (the queue sorted by account).
    Account,
    /// One row per asset, its leads side by side.
    Asset,
}

/// A parsed queue query.
#[derive(Debug, Clone, Default)]
pub struct QueueQuery {
    /// The filters, sort, limit and cursor.
    pub filter: LeadFilter,
    /// Page grouping (pages only).
    pub group: Group,
    /// Only the requesting user's leads.
    pub mine: bool,
}

/// The names a query may use; `_` is read as `-`.
const NAMES: &[&str] = &[
    "type",
    "priority",
    "min-score",
    "territory",
    "account",
    "family",
    "status",
    "sort",
    "limit",
    "new-since",
    "older-than",
    "after",
    "group",
    "mine",
    "owner",
];

/// The longest text a filter takes.
const MAX_TEXT: usize = 200;

fn text(field: &str, v: &str) -> Result<Option<String>, AppError> {
    let v = v.trim();
    if v.chars().count() > MAX_TEXT {
        return Err(AppError::bad(
            field,
            format!("longer than {MAX_TEXT} characters"),
        ));
    }
    Ok((!v.is_empty()).then(|| v.to_string()))
}

fn enum_value<T: ValueEnum>(field: &str, v: &str) -> Result<T, AppError> {
    T::from_str(v.trim(), true).map_err(|_| {
        let names: Vec<String> = T::value_variants()
            .iter()
            .filter_map(|x| x.to_possible_value().map(|p| p.get_name().to_string()))
            .collect();
        AppError::bad(field, format!("`{v}` is not one of {}", names.join(", ")))
    })
}

/// Parses `query` (the raw URL query) for `user` (whose leads `mine=1` asks for); `max_limit`
/// caps `limit` (pages show at most that many).
pub fn parse_for(
    query: Option<&str>,
    max_limit: Option<usize>,
    user: &str,
) -> Result<QueueQuery, AppError> {
    let mut q = parse(query, max_limit)?;
    if q.mine {
        q.filter.owner = Some(user.to_string());
    }
    Ok(q)
}

/// Parses `query` (the raw URL query); `max_limit` caps `limit` (pages show at most that many).
pub fn parse(query: Option<&str>, max_limit: Option<usize>) -> Result<QueueQuery, AppError> {
    let mut q = QueueQuery::default();
    let mut after: Option<String> = None;
    let mut statuses = Vec::new();
    for (key, value) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
        let key = key.replace('_', "-");
        let v = value.as_ref();
        match key.as_str() {
            "type" => q.filter.lead_type = text(&key, v)?,
            "priority" => {
                for p in v.split(',').map(str::trim).filter(|p| !p.is_empty()) {
                    let p: PriorityArg = enum_value(&key, p)?;
                    q.filter.priorities.push(p.as_str().to_string());
                }
            }
            "min-score" if !v.trim().is_empty() => {
                let n: f64 = v
                    .trim()
                    .parse()
                    .ok()
                    .filter(|n: &f64| n.is_finite())
                    .ok_or_else(|| AppError::bad(&key, format!("`{v}` is not a number")))?;
                q.filter.min_score = Some(n);
            }
            "territory" => q.filter.territory = text(&key, v)?,
            "account" => q.filter.account = text(&key, v)?,
            "family" => q.filter.family = text(&key, v)?,
            // As on the command line: comma lists and repeats; none, open work.
            "status" => {
                for s in v.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                    statuses.push(enum_value::<StatusFilterArg>(&key, s)?);
                }
            }
            "sort" if !v.trim().is_empty() => {
                q.filter.sort = enum_value::<SortArg>(&key, v)?.into();
            }
            "limit" if !v.trim().is_empty() => {
                let n: usize = v.trim().parse().ok().filter(|n| *n > 0).ok_or_else(|| {
                    AppError::bad(&key, format!("`{v}` is not a whole number above 0"))
                })?;
                q.filter.limit = Some(max_limit.map_or(n, |m| n.min(m)));
            }
            "new-since" if !v.trim().is_empty() => {
                let d = NaiveDate::parse_from_str(v.trim(), "%Y-%m-%d").map_err(|_| {
                    AppError::bad(&key, format!("`{v}` is not a date (YYYY-MM-DD)"))
                })?;
                q.filter.new_since = Some(d);
            }
            "older-than" if !v.trim().is_empty() => {
                let n: u32 = v
                    .trim()
                    .parse()
                    .map_err(|_| AppError::bad(&key, format!("`{v}` is not a number of days")))?;
                q.filter.older_than_days = Some(i64::from(n));
            }
            "after" => after = text(&key, v)?,
            "group" if !v.trim().is_empty() => {
                q.group = match v.trim() {
                    "none" => Group::None,
                    "account" => Group::Account,
                    "asset" => Group::Asset,
                    _ => {
                        return Err(AppError::bad(
                            &key,
                            format!("`{v}` is not one of none, account, asset"),
                        ));
                    }
                }
            }
            "mine" => q.mine = matches!(v.trim(), "1" | "true" | "yes" | "on"),
            "owner" => q.filter.owner = text(&key, v)?,
            known if NAMES.contains(&known) => {}
            unknown => return Err(unknown_field(unknown)),
        }
    }
    q.filter.priorities.sort_unstable();
    q.filter.priorities.dedup();
    q.filter.statuses = StatusFilterArg::statuses(&statuses);
    if q.group == Group::Account {
        q.filter.sort = LeadSort::Account;
    }
    if let Some(a) = after {
        q.filter.after = Some(Cursor::decode(&a, q.filter.sort).ok_or_else(|| {
            AppError::bad(
                "after",
                "not a page cursor of this sort (use the link the previous page gave)",
            )
        })?);
    }
    Ok(q)
}

/// The name of a sort, as the command line spells it.
pub fn sort_name(sort: LeadSort) -> String {
    SortArg::value_variants()
        .iter()
        .find(|a| LeadSort::from(**a) == sort)
        .and_then(ValueEnum::to_possible_value)
        .map_or_else(|| "score".to_string(), |p| p.get_name().to_string())
}

fn unknown_field(name: &str) -> AppError {
    let hint = NAMES
        .iter()
        .map(|n| (strsim::jaro_winkler(n, name), n))
        .filter(|(s, _)| *s > 0.75)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, n)| format!("; did you mean `{n}`?"))
        .unwrap_or_default();
    AppError::bad(name, format!("unknown filter{hint}"))
}

/// The query string of `q` without its cursor (or with another): the URL of a page of the
/// same view.
pub fn query_string(q: &QueueQuery, after: Option<&Cursor>) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    let f = &q.filter;
    let mut put = |k: &str, v: Option<String>| {
        if let Some(v) = v {
            s.append_pair(k, &v);
        }
    };
    put("type", f.lead_type.clone());
    put(
        "priority",
        (!f.priorities.is_empty()).then(|| f.priorities.join(",").to_lowercase()),
    );
    put("min-score", f.min_score.map(|n| n.to_string()));
    put("territory", f.territory.clone());
    put("account", f.account.clone());
    put("family", f.family.clone());
    put(
        "status",
        match &f.statuses {
            Statuses::Open => None,
            Statuses::Any => Some("all".into()),
            Statuses::Only(list) => Some(list.join(",")),
        },
    );
    put(
        "sort",
        (f.sort != LeadSort::Score).then(|| sort_name(f.sort)),
    );
    put("limit", f.limit.map(|n| n.to_string()));
    put("new-since", f.new_since.map(|d| d.to_string()));
    put("older-than", f.older_than_days.map(|d| d.to_string()));
    put(
        "group",
        match q.group {
            Group::None => None,
            Group::Account => Some("account".into()),
            Group::Asset => Some("asset".into()),
        },
    );
    put("owner", f.owner.clone().filter(|_| !q.mine));
    put("mine", q.mine.then(|| "1".into()));
    put("after", after.map(Cursor::encode));
    s.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bad(query: &str) -> String {
        match parse(Some(query), None) {
            Err(AppError::BadRequest { field, message }) => format!("{field}: {message}"),
            other => panic!("{query}: {other:?}"),
        }
    }

    #[test]
    fn cli_names_and_values_read_as_the_cli_reads_them() {
        let q = parse(
            Some("type=Renewal&priority=HIGH,low&priority=critical&min-score=55.5&territory=56088&account=Acme&family=compute&status=Contacted&sort=days-past-eol&limit=20&new_since=2025-01-02&older-than=7"),
            None,
        )
        .unwrap();
        let f = &q.filter;
        assert_eq!(f.lead_type.as_deref(), Some("Renewal"));
        assert_eq!(f.priorities, ["CRITICAL", "HIGH", "LOW"]);
        assert_eq!(f.min_score, Some(55.5));
        assert_eq!(f.territory.as_deref(), Some("56088"));
        assert_eq!(f.statuses, Statuses::Only(vec!["contacted".into()]));
        assert_eq!(f.sort, LeadSort::DaysPastEol);
        assert_eq!(f.limit, Some(20));
        assert_eq!(f.new_since, NaiveDate::from_ymd_opt(2025, 1, 2));
        assert_eq!(f.older_than_days, Some(7));
        // A URL of the same view parses back to the same filters.
        let again = parse(Some(&query_string(&q, None)), None).unwrap();
        assert_eq!(format!("{:?}", again.filter), format!("{:?}", q.filter));
    }

    #[test]
    fn empty_form_fields_mean_no_filter() {
        let q = parse(
            Some("type=&priority=&min-score=&status=&sort=&limit=&group="),
            None,
        )
        .unwrap();
        assert_eq!(
            format!("{:?}", q.filter),
            format!("{:?}", LeadFilter::default())
        );
    }

    #[test]
    fn bad_values_name_their_field() {
        assert_eq!(bad("min-score=abc"), "min-score: `abc` is not a number");
        assert_eq!(bad("min-score=NaN"), "min-score: `NaN` is not a number");
        assert!(bad("priority=urgent").starts_with("priority: `urgent` is not one of critical"));
        assert!(bad("status=won").starts_with("status: `won` is not one of open, all, new"));
        assert!(bad("sort=random").starts_with("sort: `random` is not one of score"));
        assert_eq!(bad("limit=0"), "limit: `0` is not a whole number above 0");
        assert_eq!(
            bad("new-since=yesterday"),
            "new-since: `yesterday` is not a date (YYYY-MM-DD)"
        );
        assert_eq!(
            bad("familly=x"),
            "familly: unknown filter; did you mean `family`?"
        );
        assert_eq!(bad("zzz=1"), "zzz: unknown filter");
        assert!(bad("after=garbage").starts_with("after: not a page cursor"));
        assert!(bad(&format!("account={}", "x".repeat(201))).starts_with("account: longer than"));
    }

    #[test]
    fn pages_cap_the_limit() {
        assert_eq!(
            parse(Some("limit=100000"), Some(500)).unwrap().filter.limit,
            Some(500)
        );
        assert_eq!(
            parse(Some("limit=100000"), None).unwrap().filter.limit,
            Some(100_000)
        );
    }
}
