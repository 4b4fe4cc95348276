//! The views' synthetic database (`sqlite/testdb.rs`) on PostgreSQL: the same rows, written
//! through the same SQL (the `leads` view's trigger makes the lead texts), on a fresh
//! database of the test server.

use super::super::sqlite::testdb::{FIXTURE, LEADS, SERVICES, factors};
pub use super::testpg::server;

/// A fresh database of the test server holding the fixture; `None` (outside CI) without
/// PostgreSQL. Returns its URL.
///
/// # Panics
/// When the fixture SQL is wrong: a test bug.
pub fn build() -> Option<String> {
    let server = server()?;
    let url = server.database();
    crate::store::Store::open(crate::store::Location::parse(url.as_ref()).unwrap()).unwrap();
    let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    client.batch_execute(FIXTURE).unwrap();
    // Rows given their ids: the next ones the identity hands out come after them.
    client
        .batch_execute(
            "SELECT setval(pg_get_serial_sequence('install_base', 'id'),
                           (SELECT max(id) FROM install_base))",
        )
        .unwrap();
    for (id, ty, rule, ib, acct, terr, fam, score, prio, dse, status, active, extra) in LEADS {
        let (factors, reasons) = factors(*score);
        client
            .execute(
                "INSERT INTO leads (lead_id, lead_type, rule, install_base_id, serial_number,
                   product_name, product_family, account_id, territory_id, title, description,
                   recommended_action, score, priority, factors, reasons, recommended_services,
                   recommended_skus, days_since_eol, extra, status, active, created_at,
                   updated_at, run_id)
                 VALUES ($1, $2, $3, $4, 'SN' || $4::bigint, 'Product ' || $4::bigint, $5, $6,
                   $7, 'Title ' || $1::text, 'Description', 'Call them', $8, $9, $10, $11, $12,
                   'SKU1,SKU2', $13, $14, $15, $16, '2024-01-01T00:00:00Z',
                   '2024-01-01T00:00:00Z', 1)",
                &[
                    id,
                    ty,
                    rule,
                    ib,
                    fam,
                    acct,
                    terr,
                    score,
                    prio,
                    &factors,
                    &reasons,
                    &SERVICES,
                    dse,
                    extra,
                    status,
                    &i32::from(*active),
                ],
            )
            .unwrap();
    }
    // The writer keeps a numeric `extra.estimated_value` in its own column; so does the fixture.
    client
        .batch_execute(
            "UPDATE lead_rows SET estimated_value = (extra::json ->> 'estimated_value')::float8
             WHERE json_typeof(extra::json -> 'estimated_value') = 'number'",
        )
        .unwrap();
    Some(url)
}
