//! Plain domain types both sides of the store name: the records ingest produces and the store
//! writes, the items evaluation reads ([`item`]) and the leads it writes ([`lead`]). The store
//! imports these, never `score` or `derive`. No behaviour lives here beyond small helpers.

pub mod account;
pub mod item;
pub mod lead;
pub mod snapshot;

use std::sync::Arc;

use chrono::NaiveDate;

/// Where a record came from: kept on every stored row so any value can be traced to its cell.
/// The names are shared by every record of a sheet rather than copied into each.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SourceRef {
    /// The file name as given (path relative to where the user pointed).
    pub file: Arc<str>,
    /// The sheet name; empty for CSV files.
    pub sheet: Arc<str>,
    /// The 1-based row number in the sheet or CSV file (header row included in the count).
    pub row: u32,
}

/// One row of an install-base export.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct InstallBaseRecord {
    /// Origin of the row.
    pub src: SourceRef,
    /// `Serial_Number_Id`.
    pub serial_number: Option<String>,
    /// `Product_Id` (the vendor part number).
    pub product_id: Option<String>,
    /// `Product_Name`.
    pub product_name: Option<String>,
    /// `Line_Description_Name`.
    pub product_line: Option<String>,
    /// `Product_Platform_Description_Name`.
    pub platform: Option<String>,
    /// `Business_Area_Description_Name`.
    pub business_area: Option<String>,
    /// `Account_Sales_Territory_Id`, as text (`56088`).
    pub territory_id: Option<String>,
    /// A customer name, where the export has one (Aug29 does not).
    pub account_name: Option<String>,
    /// `Legacy_Global_Business_Unit`.
    pub business_unit: Option<String>,
    /// `Product_End_of_Life_Date`; the 2099-12-31 "no EOL" sentinel is kept as read.
    pub eol_date: Option<NaiveDate>,
    /// `Product_End_of_Service_Life_Date`.
    pub eosl_date: Option<NaiveDate>,
    /// `Final_Service_Start_Date`.
    pub service_start: Option<NaiveDate>,
    /// `Final_Service_End_Date`.
    pub service_end: Option<NaiveDate>,
    /// `Final_Service_Source` (Warranty, ...).
    pub service_source: Option<String>,
    /// `Support_Status` (Active Warranty, Expired Flex Support, ...).
    pub support_status: Option<String>,
    /// `Service_Agreement_Id`.
    pub service_agreement_id: Option<String>,
}

/// One row of the Opportunity sheet.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct OpportunityRecord {
    /// Origin of the row.
    pub src: SourceRef,
    /// `HPE Opportunity ID`.
    pub opportunity_id: Option<String>,
    /// `Opportunity Name`.
    pub name: Option<String>,
    /// `Account ST ID`, as text.
    pub territory_id: Option<String>,
    /// `Account Name` as written.
    pub account_name: Option<String>,
    /// `Product Line`.
    pub product_line: Option<String>,
}

/// One row of the delivery-project sheet (A&PS Project sample).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ProjectRecord {
    /// Origin of the row.
    pub src: SourceRef,
    /// The project id: `PRJ Siebel ID` when valid, else `UNKNOWN_PRJ_<row>`.
    pub project_id: String,
    /// `PRJ Siebel ID` exactly as read (placeholders included), for audit.
    pub raw_project_id: Option<String>,
    /// `Project` (the project number, e.g. `JP3-K1447`).
    pub project_number: Option<String>,
    /// `PRJ Description`.
    pub description: Option<String>,
    /// `PRJ Customer`.
    pub customer: Option<String>,
    /// `PRJ Customer ID`, as text.
    pub customer_id: Option<String>,
    /// `ST ID` where the export has one (Aug29 does not).
    pub territory_id: Option<String>,
    /// `Account ST Name`.
    pub st_name: Option<String>,
    /// `PRJ Practice`.
    pub practice: Option<String>,
    /// `PRJ Status Description`.
    pub status: Option<String>,
    /// `PRJ System Status` (CLSD, REL, ...): the column that says whether a project is closed.
    pub system_status: Option<String>,
    /// `PRJ Size` (`<$50k`, `$1M-$5M`, ...), with spacing normalised.
    pub size_category: Option<String>,
    /// `PRJ Start Date`.
    pub start_date: Option<NaiveDate>,
    /// `PRJ End Date`.
    pub end_date: Option<NaiveDate>,
    /// `Country`.
    pub country: Option<String>,
    /// `PRJ Business Area`, as text.
    pub business_area: Option<String>,
    /// `3rd Party Svc Cost`; NULL when the cell holds a word such as `Yes`.
    pub third_party_svc_cost: Option<f64>,
    /// `3rd Party Mat Cost`; NULL when the cell holds a word.
    pub third_party_mat_cost: Option<f64>,
    /// `Labor Cost`; NULL when the cell holds a word.
    pub labor_cost: Option<f64>,
}

/// One row of the Services sheet, with practice and sub-practice filled down from their group row.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ServiceRecord {
    /// Origin of the row.
    pub src: SourceRef,
    /// `Practice` (filled down).
    pub practice: Option<String>,
    /// `Sub-Practice` (filled down).
    pub sub_practice: Option<String>,
    /// `Services`: the service name.
    pub service: Option<String>,
}

/// One row of the Service Credits sheet.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ServiceCreditRecord {
    /// Origin of the row.
    pub src: SourceRef,
    /// `ProjectID`.
    pub project_id: Option<String>,
    /// `ProjectName` (`Practice-<num>-<CC>-<customer>`).
    pub project_name: Option<String>,
    /// The customer part of `ProjectName`.
    pub customer: Option<String>,
    /// The country code part of `ProjectName`.
    pub country_code: Option<String>,
    /// `PracticeName`.
    pub practice: Option<String>,
    /// `PurchasedCredits`.
    pub purchased: Option<i64>,
    /// `ConvertedCredits`.
    pub converted: Option<i64>,
    /// `DeliveredCredits`.
    pub delivered: Option<i64>,
    /// `ConvertedNotDeliveredCredits`.
    pub converted_not_delivered: Option<i64>,
    /// `ActiveCredits`.
    pub active: Option<i64>,
    /// `ExpiryInDays` bucket (`>180`, `91-180`, `46-90`, `0-45`).
    pub expiry_bucket: Option<String>,
    /// `ContractEndDate`.
    pub contract_end: Option<NaiveDate>,
}

/// One service offered for a product row of the SKU sheet (one cell of the pivot).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CatalogRecord {
    /// Origin: the cell's row; `column` says which cell.
    pub src: SourceRef,
    /// The cell's column letter (E..L), so the pivot cell can be found again.
    pub column: String,
    /// The product row label as written (`3PAR`, `Servers`, `C7000`); `None` for SKU-table rows
    /// that apply to a whole category rather than one product.
    pub product_family: Option<String>,
    /// The category group header above the product (`Storage SW`, `Compute`, `HCI`, ...).
    pub category: Option<String>,
    /// The service name with the SKU list removed (`OS upgrade`).
    pub service: String,
    /// The SKU codes from the parentheses, split on `/`, trimmed, in order (`HM002A1`, `HM002AE`).
    pub skus: Vec<String>,
}

/// Anything ingest can emit, in file order. The store consumes these as a stream.
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    /// An install-base row.
    InstallBase(InstallBaseRecord),
    /// An opportunity row.
    Opportunity(OpportunityRecord),
    /// A project row.
    Project(ProjectRecord),
    /// A Services-sheet row.
    Service(ServiceRecord),
    /// A service-credit row.
    ServiceCredit(ServiceCreditRecord),
    /// A service offering from the SKU sheet.
    Catalog(CatalogRecord),
}

/// The kinds of sheet OneLead recognises; also the target table of each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SheetKind {
    /// Install base → `install_base`.
    InstallBase,
    /// Opportunities → `opportunities`.
    Opportunity,
    /// Delivery projects → `projects`.
    Project,
    /// Services list → `services`.
    Service,
    /// Service credits → `service_credits`.
    ServiceCredit,
    /// Product → service → SKU pivot → `service_catalog` + `service_sku_mappings`.
    SkuMatrix,
}

impl SheetKind {
    /// Every kind, in load order.
    pub const ALL: [SheetKind; 6] = [
        SheetKind::InstallBase,
        SheetKind::Opportunity,
        SheetKind::Project,
        SheetKind::Service,
        SheetKind::ServiceCredit,
        SheetKind::SkuMatrix,
    ];

    /// The kind of sheet a record comes from.
    pub fn of(rec: &Record) -> SheetKind {
        match rec {
            Record::InstallBase(_) => SheetKind::InstallBase,
            Record::Opportunity(_) => SheetKind::Opportunity,
            Record::Project(_) => SheetKind::Project,
            Record::Service(_) => SheetKind::Service,
            Record::ServiceCredit(_) => SheetKind::ServiceCredit,
            Record::Catalog(_) => SheetKind::SkuMatrix,
        }
    }

    /// The config / report key of this kind (`install_base`, `opportunities`, ...).
    pub fn key(self) -> &'static str {
        match self {
            SheetKind::InstallBase => "install_base",
            SheetKind::Opportunity => "opportunities",
            SheetKind::Project => "projects",
            SheetKind::Service => "services",
            SheetKind::ServiceCredit => "service_credits",
            SheetKind::SkuMatrix => "service_catalog",
        }
    }
}
