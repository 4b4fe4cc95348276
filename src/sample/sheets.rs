//! The small sheets: `Opportunity` and `Service Credits`.
//!
//! In: the [`World`], counts and a [`Rng`]. Out: rows streamed into a [`Sink`]. Opportunity
//! account names are messy spellings of the install-base customers, filed mostly under their
//! territory; credits name customers in upper case, partly the same ones.

use super::rng::Rng;
use super::sink::{Cell, Sink};
use super::world::{self, World};
use super::{EXPORT_DATE, date, random_date};
use crate::error::Result;

/// `Opportunity` sheet name.
pub const OPPORTUNITY: &str = "Opportunity";
/// `Opportunity` headers (the `NAme` typo is the source's).
pub const OPPORTUNITY_HEADERS: [&str; 5] = [
    "HPE Opportunity ID",
    "Opportunity NAme",
    "Account ST ID",
    "Account Name",
    "Product Line",
];

/// `Service Credits` sheet name.
pub const CREDITS: &str = "Service Credits";
/// `Service Credits` headers.
pub const CREDITS_HEADERS: [&str; 10] = [
    "ProjectID",
    "ProjectName",
    "PracticeName",
    "PurchasedCredits",
    "ConvertedCredits",
    "DeliveredCredits",
    "ConvertedNotDeliveredCredits",
    "ActiveCredits",
    "ExpiryInDays",
    "ContractEndDate",
];

const PRODUCT_LINES: &[&str] = &[
    "SY - x86 Rack and Tower Servers",
    "3C - Primary Storage Arrays",
    "I5 - Aruba WLAN Access Points",
    "TW - Storage Networking",
    "L5 - GL Cloud Management",
    "R4 - Composable Compute",
    "MU - Adaptive Flash Storage",
    "2N - Data Protection Appliances",
];

const DEALS: &[&str] = &[
    "DL380 Gen11 refresh",
    "Primera expansion",
    "campus WLAN upgrade",
    "StoreOnce backup target",
    "Synergy frame add-on",
    "MSA replacement",
    "Alletra migration",
    "Nimble support renewal",
    "C7000 retirement",
    "Aruba switching refresh",
];

/// Streams `n` opportunities and returns their ids, which projects quote as `PRJ Siebel ID`.
pub fn write_opportunities(
    world: &World,
    n: usize,
    rng: &mut Rng,
    sink: &mut dyn Sink,
) -> Result<Vec<u64>> {
    sink.begin(OPPORTUNITY, &OPPORTUNITY_HEADERS)?;
    let mut ids = Vec::with_capacity(n);
    // Keep ids within the 8 digits after `OPE-00`, rising with random gaps.
    let max_gap = (80_000_000 / n.max(1) as i64).clamp(1, 400_000);
    let mut id = 10_000_000 + rng.range(0, 999_999);
    let mut cells = Vec::with_capacity(5);
    for _ in 0..n {
        id += rng.range(1, max_gap);
        ids.push(id as u64);
        let account = world.pick_account(rng);
        let territory = match rng.weighted(&[85, 10, 5]) {
            0 => account.territory,
            1 => rng.pick(&world.stray_territories),
            _ => rng.pick_ref(&world.accounts).territory,
        };
        let name = if rng.chance(0.02) {
            // A bare nickname that matches nothing, as real CRMs hold.
            world::company_stem(rng, &mut std::collections::HashSet::new())
                .split(' ')
                .next()
                .unwrap_or("Misc")
                .to_string()
        } else {
            account.spelling(rng)
        };
        let title = match rng.weighted(&[45, 35, 15, 5]) {
            0 => format!(
                "FY{}Q{}-RENEWAL {}-{}",
                rng.range(22, 26),
                rng.range(1, 4),
                rng.pick(&["ARUBA", "STORAGE", "COMPUTE", "HPE"]),
                account.canonical()
            ),
            1 => format!(
                "{}-{}",
                account.stem.split(' ').next().unwrap_or("X").to_uppercase(),
                rng.pick(DEALS)
            ),
            2 => format!(
                "ADF-{}-{}-{}",
                account.stem.to_uppercase(),
                world::person(rng),
                rng.pick(DEALS)
            ),
            _ => "00-Test - Please delete".to_string(),
        };
        let line = if rng.chance(0.23) {
            Cell::Str("NULL")
        } else {
            Cell::Str(rng.pick(PRODUCT_LINES))
        };
        cells.clear();
        cells.extend([
            Cell::Text(format!("OPE-{id:010}")),
            Cell::Text(title),
            Cell::Int(territory),
            Cell::Text(name),
            line,
        ]);
        sink.row(&cells)?;
    }
    Ok(ids)
}

const PRACTICES: &[(&str, u32)] = &[
    ("Technical Services", 90),
    ("PS - Complete Care", 3),
    ("PS - Proactive Care", 2),
    ("Installation and Deployment", 2),
    ("PS - Service Credits", 1),
    ("Consumption aaS", 1),
    ("Proactive Services", 1),
];

/// Streams `n` service-credit rows. Half name an install-base customer, the others one of
/// `others` (customers the install base does not hold).
pub fn write_credits(
    world: &World,
    others: &[String],
    n: usize,
    rng: &mut Rng,
    sink: &mut dyn Sink,
) -> Result<()> {
    sink.begin(CREDITS, &CREDITS_HEADERS)?;
    let mut cells = Vec::with_capacity(CREDITS_HEADERS.len());
    let mut project = 2_100_000 + rng.range(0, 9_999);
    let max_gap = (7_000_000 / n.max(1) as i64).clamp(1, 40);
    for _ in 0..n {
        project += rng.range(1, max_gap);
        let (customer, country) = if others.is_empty() || rng.chance(0.5) {
            let a = world.pick_account(rng);
            (a.upper(), a.country)
        } else {
            (
                rng.pick_ref(others).to_uppercase(),
                rng.pick(world::COUNTRIES).0,
            )
        };
        let practice = rng.pick_weighted(PRACTICES);
        let end = random_date(rng, date(2025, 6, 1), date(2028, 12, 31));
        let days = (end - EXPORT_DATE).num_days();
        let bucket = match days {
            d if d > 180 => ">180",
            d if d > 90 => "91-180",
            d if d > 45 => "46-90",
            _ => "0-45",
        };
        let (purchased, converted, delivered) = if rng.chance(0.06) {
            let p = rng.range(10, 500);
            let c = rng.range(0, p);
            (p, c, rng.range(0, c))
        } else {
            (0, 0, 0)
        };
        cells.clear();
        cells.extend([
            Cell::Text(format!("PR-{project}")),
            Cell::Text(format!(
                "{practice}-{}-{country}-{customer}",
                2_137_000_000 + rng.below(999_999)
            )),
            Cell::Str(practice),
            Cell::Int(purchased),
            Cell::Int(converted),
            Cell::Int(delivered),
            Cell::Int(converted - delivered),
            Cell::Int(purchased - delivered),
            Cell::Str(bucket),
            Cell::Date(end),
        ]);
        sink.row(&cells)?;
    }
    Ok(())
}
