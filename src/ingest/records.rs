//! One cleaned row → one typed record per kind: which field each model column is read from and
//! how (text, id, date, number), plus the kind's own rules (synthetic project ids, the Services
//! sheet's fill-down, the credit project name split).

use super::clean;
use super::rows::RowCtx;
use crate::model::{
    InstallBaseRecord, OpportunityRecord, ProjectRecord, ServiceCreditRecord, ServiceRecord,
};

pub(super) fn install_base(cx: &mut RowCtx) -> InstallBaseRecord {
    InstallBaseRecord {
        serial_number: cx.id("serial_number"),
        product_id: cx.id("product_id"),
        product_name: cx.text("product_name"),
        product_line: cx.text("product_line"),
        platform: cx.text("platform"),
        business_area: cx.text("business_area"),
        territory_id: cx.id("territory_id"),
        account_name: cx.text("account_name"),
        business_unit: cx.text("business_unit"),
        eol_date: cx.date("eol_date"),
        eosl_date: cx.date("eosl_date"),
        service_start: cx.date("service_start"),
        service_end: cx.date("service_end"),
        service_source: cx.text("service_source"),
        support_status: cx.text("support_status"),
        service_agreement_id: cx.id("service_agreement_id"),
        src: cx.src.clone(),
    }
}

pub(super) fn opportunity(cx: &mut RowCtx) -> OpportunityRecord {
    OpportunityRecord {
        opportunity_id: cx.id("opportunity_id"),
        name: cx.text("name"),
        territory_id: cx.id("territory_id"),
        account_name: cx.text("account_name"),
        product_line: cx.text("product_line"),
        src: cx.src.clone(),
    }
}

pub(super) fn project(cx: &mut RowCtx) -> ProjectRecord {
    let raw_cell = cx.cell("project_id");
    let raw_project_id =
        (!clean::is_blank(raw_cell)).then(|| clean::raw_text(raw_cell).trim().to_string());
    // Placeholders are not coerced values: the row keeps a stable synthetic id instead.
    let project_id = cx
        .id("project_id")
        .filter(|id| clean::is_valid_project_id(id))
        .unwrap_or_else(|| format!("UNKNOWN_PRJ_{}", cx.src.row));
    ProjectRecord {
        project_id,
        raw_project_id,
        project_number: cx.id("project_number"),
        description: cx.text("description"),
        customer: cx.text("customer"),
        customer_id: cx.id("customer_id"),
        territory_id: cx.id("territory_id"),
        st_name: cx.text("st_name"),
        practice: cx.text("practice"),
        status: cx.text("status"),
        system_status: cx.text("system_status"),
        size_category: cx.text("size_category").map(|s| clean::normalize_size(&s)),
        start_date: cx.date("start_date"),
        end_date: cx.date("end_date"),
        country: cx.text("country"),
        business_area: cx.id("business_area"),
        third_party_svc_cost: cx.float("third_party_svc_cost"),
        third_party_mat_cost: cx.float("third_party_mat_cost"),
        labor_cost: cx.float("labor_cost"),
        src: cx.src.clone(),
    }
}

/// Practice and sub-practice are written on the first row of each group only.
pub(super) fn service(
    cx: &mut RowCtx,
    fill: &mut (Option<String>, Option<String>),
) -> ServiceRecord {
    let practice = cx.text("practice");
    let sub = cx.text("sub_practice");
    if let Some(p) = practice {
        // A new practice starts a new group: its sub-practice is only what this row says.
        *fill = (Some(p), sub);
    } else if let Some(s) = sub {
        fill.1 = Some(s);
    }
    ServiceRecord {
        practice: fill.0.clone(),
        sub_practice: fill.1.clone(),
        service: cx.text("service"),
        src: cx.src.clone(),
    }
}

pub(super) fn service_credit(cx: &mut RowCtx) -> ServiceCreditRecord {
    let project_name = cx.text("project_name");
    let (country_code, customer) = project_name
        .as_deref()
        .and_then(clean::split_credit_project_name)
        .map_or((None, None), |(cc, c)| (Some(cc), Some(c)));
    ServiceCreditRecord {
        project_id: cx.id("project_id"),
        project_name,
        customer,
        country_code,
        practice: cx.text("practice"),
        purchased: cx.int("purchased"),
        converted: cx.int("converted"),
        delivered: cx.int("delivered"),
        converted_not_delivered: cx.int("converted_not_delivered"),
        active: cx.int("active"),
        expiry_bucket: cx.text("expiry_bucket"),
        contract_end: cx.date("contract_end"),
        src: cx.src.clone(),
    }
}
