//! Keyset paging of the lead queue: the next page starts after the last lead seen, named by its
//! sort key, instead of skipping N rows (`OFFSET`), so page 10,000 costs what page 1 costs when
//! an index serves the order. The conditions below mirror `query::lead_query`'s `ORDER BY` for
//! each sort exactly, NULLs included.

use serde_json::json;

use super::read::LeadSort;
use crate::model::lead::Lead;

/// The leading part of a cursor's key.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// No value (the `score` sort; a lead without an account name or days past end of life).
    Null,
    /// A priority rank or a number of days.
    Integer(i64),
    /// An account name or a lead type.
    Text(String),
}

/// Where a page ends: the sort key of its last lead.
#[derive(Debug, Clone, PartialEq)]
pub struct Cursor {
    /// The sort the key belongs to.
    pub sort: LeadSort,
    /// The key's leading part (none for `score`; the priority rank, account name, lead type or
    /// days past end of life for the others).
    pub head: Value,
    /// The lead's score (not used by `days-past-eol`).
    pub score: f64,
    /// The lead id, which breaks every tie.
    pub lead_id: String,
}

/// The rank `ORDER BY` gives a priority.
pub fn priority_rank(p: &str) -> i64 {
    match p {
        "CRITICAL" => 0,
        "HIGH" => 1,
        "MEDIUM" => 2,
        "LOW" => 3,
        _ => 4,
    }
}

impl Cursor {
    /// The cursor after `lead` in `sort` order.
    pub fn after(lead: &Lead, sort: LeadSort) -> Cursor {
        let text = |s: Option<&String>| s.map_or(Value::Null, |s| Value::Text(s.clone()));
        let head = match sort {
            LeadSort::Score => Value::Null,
            LeadSort::Priority => Value::Integer(priority_rank(&lead.priority)),
            LeadSort::Account => text(lead.account_name.as_ref()),
            LeadSort::Type => Value::Text(lead.lead_type.clone()),
            LeadSort::DaysPastEol => lead.days_since_eol.map_or(Value::Null, Value::Integer),
        };
        Cursor {
            sort,
            head,
            score: lead.score,
            lead_id: lead.lead_id.clone(),
        }
    }

    /// The cursor as it travels in a URL (`after=`): a small JSON array.
    pub fn encode(&self) -> String {
        let head = match &self.head {
            Value::Integer(i) => json!(i),
            Value::Text(s) => json!(s),
            Value::Null => serde_json::Value::Null,
        };
        json!([head, self.score, self.lead_id]).to_string()
    }

    /// Reads [`Cursor::encode`]'s text for `sort`; `None` when it is not one.
    pub fn decode(text: &str, sort: LeadSort) -> Option<Cursor> {
        let v: Vec<serde_json::Value> = serde_json::from_str(text).ok()?;
        let [head, score, id] = v.as_slice() else {
            return None;
        };
        let head = match (sort, head) {
            (
                LeadSort::Score | LeadSort::Account | LeadSort::DaysPastEol,
                serde_json::Value::Null,
            ) => Value::Null,
            (LeadSort::Priority | LeadSort::DaysPastEol, h) => Value::Integer(h.as_i64()?),
            (LeadSort::Account | LeadSort::Type, serde_json::Value::String(s)) => {
                Value::Text(s.clone())
            }
            _ => return None,
        };
        Some(Cursor {
            sort,
            head,
            score: score.as_f64().filter(|s| s.is_finite())?,
            lead_id: id.as_str()?.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::read::LeadFilter;
    use crate::store::testdb;

    /// Walking every sort one lead at a time gives exactly the order of the whole list.
    #[test]
    fn pages_joined_are_the_whole_list_in_every_sort() {
        let (_d, mut r) = testdb::build();
        for sort in [
            LeadSort::Score,
            LeadSort::Priority,
            LeadSort::Account,
            LeadSort::Type,
            LeadSort::DaysPastEol,
        ] {
            let all = LeadFilter {
                sort,
                include_inactive: true,
                ..LeadFilter::default()
            };
            let whole: Vec<String> = crate::views::leads(&mut r, &all)
                .unwrap()
                .into_iter()
                .map(|l| l.lead_id)
                .collect();
            let mut walked = Vec::new();
            let mut after = None;
            loop {
                let page = LeadFilter {
                    limit: Some(1),
                    after: after.clone(),
                    ..all.clone()
                };
                let got = crate::views::leads(&mut r, &page).unwrap();
                let Some(last) = got.last() else { break };
                let c = Cursor::after(last, sort);
                assert_eq!(
                    Cursor::decode(&c.encode(), sort),
                    Some(c.clone()),
                    "{sort:?}"
                );
                after = Some(c);
                walked.extend(got.into_iter().map(|l| l.lead_id));
                assert!(walked.len() <= whole.len(), "{sort:?} repeats: {walked:?}");
            }
            assert_eq!(walked, whole, "{sort:?}");
        }
    }

    #[test]
    fn a_cursor_of_another_sort_or_garbage_is_refused() {
        assert!(Cursor::decode("[null,50,\"A\"]", LeadSort::Score).is_some());
        assert!(Cursor::decode("[\"Acme\",50,\"A\"]", LeadSort::Score).is_none());
        assert!(Cursor::decode("[null,50,\"A\"]", LeadSort::Type).is_none());
        assert!(Cursor::decode("'; DROP TABLE leads; --", LeadSort::Score).is_none());
        assert!(Cursor::decode("[1,2]", LeadSort::Priority).is_none());
    }
}
