//! The field tables of the tabular sheet kinds: for each model field, the normalised header
//! spellings that mean it, and the field groups that make up each kind's header signature.
//! Adding an export's spelling of a column is a one-line change here.

use crate::model::SheetKind;

/// One model field and the normalised header names that mean it.
#[derive(Debug)]
pub struct FieldSpec {
    /// The model field name (`serial_number`); also accepted as a header.
    pub name: &'static str,
    /// Normalised header synonyms.
    pub synonyms: &'static [&'static str],
}

/// The columns of a tabular kind and the field groups its header must show: each group needs at
/// least one of its fields present.
#[derive(Debug)]
pub struct KindSpec {
    /// The kind.
    pub kind: SheetKind,
    /// Every field the kind reads.
    pub fields: &'static [FieldSpec],
    /// The signature: groups of alternative fields.
    pub required: &'static [&'static [&'static str]],
}

macro_rules! fields {
    ($($name:literal => [$($syn:literal),* $(,)?]),* $(,)?) => {
        &[$(FieldSpec { name: $name, synonyms: &[$($syn),*] }),*]
    };
}

/// The tabular kinds (the SKU pivot is recognised separately, by layout).
pub const KINDS: &[KindSpec] = &[
    KindSpec {
        kind: SheetKind::InstallBase,
        fields: fields! {
            "serial_number" => ["serialnumberid", "serialnumber", "serialno", "serial"],
            "product_id" => ["productid", "partnumber", "productnumber"],
            "product_name" => ["productname", "productdescription"],
            "product_line" => ["linedescriptionname", "productline", "linedescription"],
            "platform" => ["productplatformdescriptionname", "productplatform", "platform"],
            "business_area" => ["businessareadescriptionname", "businessarea"],
            "territory_id" => ["accountsalesterritoryid", "salesterritoryid", "territoryid", "accountstid", "stid"],
            "account_name" => ["accountname", "customername", "customer"],
            "business_unit" => ["legacyglobalbusinessunit", "globalbusinessunit", "businessunit"],
            "eol_date" => ["productendoflifedate", "endoflifedate", "eoldate", "eol"],
            "eosl_date" => ["productendofservicelifedate", "endofservicelifedate", "eosldate", "eosl"],
            "service_start" => ["finalservicestartdate", "servicestartdate", "servicestart"],
            "service_end" => ["finalserviceenddate", "serviceenddate", "serviceend"],
            "service_source" => ["finalservicesource", "servicesource"],
            "support_status" => ["supportstatus", "coveragestatus"],
            "service_agreement_id" => ["serviceagreementid", "agreementid", "contractid"],
        },
        required: &[
            &["serial_number"],
            &["product_name", "product_id"],
            &["support_status"],
        ],
    },
    KindSpec {
        kind: SheetKind::Opportunity,
        fields: fields! {
            "opportunity_id" => ["hpeopportunityid", "opportunityid", "oppid", "opportunitynumber"],
            "name" => ["opportunityname"],
            "territory_id" => ["accountstid", "stid", "accountsalesterritoryid", "territoryid"],
            "account_name" => ["accountname", "customername", "customer"],
            "product_line" => ["productline"],
        },
        required: &[&["opportunity_id"], &["account_name", "territory_id"]],
    },
    KindSpec {
        kind: SheetKind::Project,
        fields: fields! {
            "project_id" => ["prjsiebelid", "siebelid", "projectid", "prjid"],
            "project_number" => ["project", "projectnumber", "prjnumber", "projectno"],
            "description" => ["prjdescription", "projectdescription", "description"],
            "customer" => ["prjcustomer", "customer", "customername"],
            "customer_id" => ["prjcustomerid", "customerid"],
            "territory_id" => ["stid", "accountstid", "territoryid"],
            "st_name" => ["accountstname", "stname"],
            "practice" => ["prjpractice", "practice"],
            "status" => ["prjstatusdescription", "statusdescription", "status"],
            "system_status" => ["prjsystemstatus", "systemstatus"],
            "size_category" => ["prjsize", "projectsize", "size"],
            "start_date" => ["prjstartdate", "startdate"],
            "end_date" => ["prjenddate", "enddate"],
            "country" => ["country"],
            "business_area" => ["prjbusinessarea", "businessarea"],
            "third_party_svc_cost" => ["3rdpartysvccost", "thirdpartysvccost"],
            "third_party_mat_cost" => ["3rdpartymatcost", "thirdpartymatcost"],
            "labor_cost" => ["laborcost", "labourcost"],
        },
        required: &[
            &["project_id", "project_number"],
            &["customer"],
            &["size_category", "system_status", "start_date"],
        ],
    },
    KindSpec {
        kind: SheetKind::Service,
        fields: fields! {
            "practice" => ["practice"],
            "sub_practice" => ["subpractice"],
            "service" => ["services", "service", "servicename"],
        },
        required: &[&["practice"], &["service"]],
    },
    KindSpec {
        kind: SheetKind::ServiceCredit,
        fields: fields! {
            "project_id" => ["projectid", "prjid"],
            "project_name" => ["projectname"],
            "practice" => ["practicename", "practice"],
            "purchased" => ["purchasedcredits"],
            "converted" => ["convertedcredits"],
            "delivered" => ["deliveredcredits"],
            "converted_not_delivered" => ["convertednotdeliveredcredits"],
            "active" => ["activecredits"],
            "expiry_bucket" => ["expiryindays", "expiry"],
            "contract_end" => ["contractenddate", "contractend"],
        },
        required: &[&["project_id"], &["active", "purchased"]],
    },
];
