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
    /// The fields read as dates (their day/month order is inferred per column).
    pub dates: &'static [&'static str],
    /// Object names CRM exports put before a field (`opportunity_account_name`), normalised:
    /// a header that is one of these followed by a synonym means that synonym's field.
    pub prefixes: &'static [&'static str],
    /// A bare record id (`Id`) names this kind's id only beside a column only this kind has.
    pub generic_id: Option<GenericId>,
}

/// A record-id column named only `Id` (Salesforce's API name) or `Record ID` (HubSpot's label):
/// every object has one, so it counts only beside one of `markers`.
#[derive(Debug)]
pub struct GenericId {
    /// The field it feeds.
    pub field: &'static str,
    /// Normalised headers of a bare id.
    pub headers: &'static [&'static str],
    /// Normalised headers only this kind's exports have.
    pub markers: &'static [&'static str],
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
        dates: &["eol_date", "eosl_date", "service_start", "service_end"],
        prefixes: &["asset", "installbase"],
        generic_id: None,
    },
    KindSpec {
        kind: SheetKind::Opportunity,
        fields: fields! {
            "opportunity_id" => ["hpeopportunityid", "opportunityid", "oppid", "opportunitynumber", "dealid"],
            "name" => ["opportunityname", "dealname"],
            "territory_id" => ["accountstid", "stid", "accountsalesterritoryid", "territoryid", "accountterritoryid"],
            "account_name" => ["accountname", "customername", "customer", "associatedcompany", "companyname", "company"],
            "product_line" => ["productline"],
        },
        required: &[&["opportunity_id"], &["account_name", "territory_id"]],
        dates: &[],
        // Salesforce objects and their report prefixes (`Opportunity: Account Name`), HubSpot's
        // deals (`Deal Name`), and warehouse tables that prefix every column with the object.
        prefixes: &["opportunity", "oppty", "opty", "opp", "deal"],
        // Salesforce's API name of the record id is `Id` (label "Opportunity ID"); HubSpot's
        // exports call it `Record ID` and its API `hs_object_id`. Stage and close date are
        // fields every opportunity and deal has (Salesforce: `StageName`, `CloseDate`,
        // `ForecastCategoryName`; HubSpot: `dealstage`, `closedate`, `pipeline`).
        generic_id: Some(GenericId {
            field: "opportunity_id",
            headers: &["id", "recordid", "hsobjectid"],
            markers: &[
                "stagename",
                "stage",
                "dealstage",
                "closedate",
                "forecastcategory",
                "forecastcategoryname",
                "probability",
                "pipeline",
                "iswon",
                "dealname",
                "opportunityname",
            ],
        }),
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
        dates: &["start_date", "end_date"],
        prefixes: &["project", "prj"],
        generic_id: None,
    },
    KindSpec {
        kind: SheetKind::Service,
        fields: fields! {
            "practice" => ["practice"],
            "sub_practice" => ["subpractice"],
            "service" => ["services", "service", "servicename"],
        },
        required: &[&["practice"], &["service"]],
        dates: &[],
        prefixes: &[],
        generic_id: None,
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
        dates: &["contract_end"],
        prefixes: &[],
        generic_id: None,
    },
];
