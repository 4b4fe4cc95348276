//! The invented product catalogue the install base draws from.
//!
//! In: nothing. Out: static tables. Names follow the vendor's naming style (family, model,
//! generation, form factor) so family and generation matching is exercised, but every product id,
//! model string and service line here is made up for the sample.

/// The broad kind of a product; drives platform, business area and support history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Storage arrays, backup appliances, tape.
    Storage,
    /// Rack, tower and blade servers.
    Server,
    /// Blade enclosures and composable frames.
    Enclosure,
    /// Access points, switches, controllers.
    Network,
    /// Memory, drives, processors sold as options.
    Option,
}

/// One product line in the install base.
#[derive(Debug, Clone, Copy)]
pub struct Product {
    /// `Product_Id`.
    pub id: &'static str,
    /// `Product_Name`.
    pub name: &'static str,
    /// What it is.
    pub kind: Kind,
    /// `Line_Description_Name` for options, `None` otherwise (the export says `(null)`).
    pub line: Option<&'static str>,
    /// End-of-life year range for products that have reached it; `None` for current products,
    /// which carry the 2099-12-31 "no EOL" sentinel.
    pub eol: Option<(i32, i32)>,
    /// Relative frequency in the install base.
    pub weight: u32,
}

const fn p(
    id: &'static str,
    name: &'static str,
    kind: Kind,
    eol: Option<(i32, i32)>,
    weight: u32,
) -> Product {
    Product {
        id,
        name,
        kind,
        line: None,
        eol,
        weight,
    }
}

const fn opt(id: &'static str, name: &'static str, line: &'static str, eol: (i32, i32)) -> Product {
    Product {
        id,
        name,
        kind: Kind::Option,
        line: Some(line),
        eol: Some(eol),
        weight: 3,
    }
}

use Kind::{Enclosure, Network, Server, Storage};

/// Every product the sample can hold: storage, servers Gen8..Gen11, enclosures, networking, options.
#[rustfmt::skip] // one product per line reads as a table
pub const PRODUCTS: &[Product] = &[
    p("K2Q35B", "HPE 3PAR 8200 2N Storage Base", Storage, Some((2019, 2022)), 4),
    p("K2R70B", "HPE 3PAR 8440 4N Fld Int Base", Storage, Some((2019, 2022)), 2),
    p("QR482A", "HP 3PAR 7400 4N Storage Base", Storage, Some((2015, 2018)), 2),
    p("R7G21A", "HPE Primera 650 2N Base", Storage, None, 2),
    p("R7G24A", "HPE Primera 630 2N Controller Node", Storage, None, 2),
    p("S0B61A", "HPE Alletra 6010 Base Array", Storage, None, 2),
    p("S0B74A", "HPE Alletra 6000 Dual Ctrlr Kit", Storage, None, 1),
    p("R9F37A", "HPE Alletra 9060 4N Base", Storage, None, 1),
    p("Q8H71A", "HPE Nimble HF20 Adaptive Dual Ctrl Base Array", Storage, Some((2021, 2023)), 2),
    p("Q8B33A", "HPE Nimble AF40 All Flash Dual Ctrl Array", Storage, Some((2021, 2023)), 1),
    p("R0Q74B", "HPE MSA 2060 10GbE iSCSI SFF Storage", Storage, None, 3),
    p("Q1J03B", "HPE MSA 2050 SAN Dual Controller LFF Storage", Storage, Some((2020, 2022)), 2),
    p("E7W06A", "HP MSA 2040 SAN DC SFF Storage", Storage, Some((2016, 2019)), 2),
    p("R7E23A", "HPE StoreOnce 3620 24TB System", Storage, None, 2),
    p("BB958A", "HPE StoreOnce 5250 Base System", Storage, Some((2019, 2022)), 1),
    p("Q6Q62A", "HPE MSL3040 Tape Library Base Module", Storage, None, 1),
    p("670943-B21", "HP ProLiant DL380p Gen8 25-SFF CTO Server", Server, Some((2013, 2016)), 4),
    p("654083-B21", "HP ProLiant DL360p Gen8 4-LFF CTO Server", Server, Some((2013, 2016)), 3),
    p("641016-B21", "HP ProLiant BL460c Gen8 10Gb FLB CTO Blade", Server, Some((2014, 2016)), 3),
    p("719064-B21", "HPE ProLiant DL380 Gen9 8SFF CTO Server", Server, Some((2018, 2020)), 5),
    p("755258-B21", "HPE ProLiant DL360 Gen9 4LFF CTO Server", Server, Some((2018, 2020)), 4),
    p("776938-B21", "HPE ProLiant ML350 Gen9 8SFF CTO Server", Server, Some((2018, 2020)), 2),
    p("813198-B21", "HPE ProLiant BL460c Gen9 10Gb/20Gb FLB CTO Blade", Server, Some((2018, 2020)), 3),
    p("868703-B21", "HPE ProLiant DL380 Gen10 8SFF CTO Server", Server, None, 6),
    p("867959-B21", "HPE ProLiant DL360 Gen10 8SFF CTO Server", Server, None, 5),
    p("877621-B21", "HPE ProLiant ML350 Gen10 4LFF CTO Server", Server, None, 2),
    p("863442-B21", "HPE ProLiant BL460c Gen10 10Gb/20Gb FLB CTO Blade", Server, None, 2),
    p("P52534-B21", "HPE ProLiant DL380 Gen11 8SFF NC CTO Server", Server, None, 4),
    p("P51930-B21", "HPE ProLiant DL360 Gen11 8SFF NC CTO Server", Server, None, 3),
    p("P54199-B21", "HPE ProLiant DL385 Gen11 8SFF CTO Server", Server, None, 1),
    p("681844-B21", "HP BLc7000 Platinum Enclosure w/6 PS 10 Fans", Enclosure, Some((2015, 2019)), 2),
    p("507521-B21", "HP BLc7000 Single Phase Enclosure Fan Option", Enclosure, Some((2014, 2017)), 1),
    p("797740-B21", "HPE Synergy 12000 Configure-to-order Frame", Enclosure, None, 2),
    p("871940-B21", "HPE Synergy 480 Gen10 Configure-to-order Compute Module", Enclosure, None, 1),
    p("Q9H62A", "Aruba AP-515 (RW) Unified Campus AP", Network, None, 9),
    p("R2H28A", "Aruba AP-505 (RW) Unified AP", Network, None, 5),
    p("JZ336A", "Aruba AP-535 (RW) Unified AP", Network, None, 3),
    p("JW242A", "Aruba AP-305 (US) Unified AP", Network, Some((2020, 2022)), 4),
    p("JW813A", "Aruba AP-315 (RW) Unified AP", Network, Some((2021, 2023)), 3),
    p("JL322A", "Aruba 2930M 48G PoE+ 1-slot Switch", Network, Some((2022, 2024)), 2),
    p("JL659A", "Aruba 6300M 48SR5 CL6 PoE 4SFP56 Switch", Network, None, 2),
    p("JH295A", "HPE FlexFabric 5700 48G 4XG 2QSFP+ Switch", Network, Some((2017, 2020)), 1),
    p("JW783A", "Aruba 7210 (RW) Mobility Controller", Network, Some((2019, 2021)), 1),
    p("Q1H71A", "HPE SN3600B 32Gb 24/8 FC Switch", Network, None, 1),
    opt("872479-B21", "HPE 2.5in MDL HDD 1.2TB 12G SAS 10K SFF SC", "Hard Drives", (2020, 2023)),
    opt("652589-B21", "HP 900GB 6G SAS 10K 2.5in SC ENT HDD", "Hard Drives", (2014, 2017)),
    opt("815100-B21", "HPE 32GB 2Rx4 PC4-2666V-R Smart Kit", "Memory", (2019, 2021)),
    opt("664690-001", "HP 8GB 1Rx4 PC3-12800R-11 Kit", "Memory", (2013, 2015)),
    opt("826850-B21", "HPE DL380 Gen10 Xeon-S 4110 Processor Kit", "Processor Options", (2019, 2021)),
];

/// Products of a kind that a storage-only or compute-only account tends to hold.
pub fn platform_of(kind: Kind) -> &'static str {
    match kind {
        Kind::Storage => "Storage",
        Kind::Server | Kind::Enclosure => "Compute",
        Kind::Network => "Network",
        Kind::Option => "Server and Storage Infrastructure Option",
    }
}

/// `Business_Area_Description_Name` for a product.
pub fn business_area_of(product: &Product) -> &'static str {
    match product.kind {
        Kind::Storage if product.name.contains("StoreOnce") || product.name.contains("MSL") => {
            "Data Protection HW"
        }
        Kind::Storage => "Primary Storage Arrays",
        Kind::Server if product.name.contains("BL460c") => "C-Class Units & Enclosures",
        Kind::Server => "x86 Mainstream Rack & Tower",
        Kind::Enclosure if product.name.contains("Synergy") => "Composable Compute",
        Kind::Enclosure => "C-Class Units & Enclosures",
        Kind::Network if product.name.contains("AP-") => "WLAN HW",
        Kind::Network => "Campus Switching HW",
        Kind::Option => "Server Storage & Inf",
    }
}

/// `Legacy_Global_Business_Unit` for a product.
pub fn business_unit_of(kind: Kind) -> &'static str {
    match kind {
        Kind::Storage => "Storage Product",
        Kind::Network => "HPE Aruba Product",
        _ => "Compute Product",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_family_the_rules_know_is_present() {
        for needle in [
            "3PAR",
            "Primera",
            "Alletra",
            "Nimble",
            "MSA",
            "StoreOnce",
            "MSL",
            " DL",
            " ML",
            " BL",
            "Gen8",
            "Gen9",
            "Gen10",
            "Gen11",
            "c7000",
            "Synergy",
            "AP-",
            "Switch",
        ] {
            assert!(
                PRODUCTS.iter().any(|p| p.name.contains(needle)),
                "no product with {needle}"
            );
        }
    }
}
