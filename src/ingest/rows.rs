//! Tabular rows → records: one recognised sheet (or CSV file) is read row by row through a
//! [`TableReader`], which cleans each mapped cell, reports coercions and emits one [`Record`].

use std::sync::Arc;

use calamine::Data;

use super::clean::{self, Cleaned};
use super::detect::ColumnMap;
use super::report::{CoercionExample, IngestReport};
use crate::error::Result;
use crate::model::{
    InstallBaseRecord, OpportunityRecord, ProjectRecord, Record, ServiceCreditRecord,
    ServiceRecord, SheetKind, SourceRef,
};

/// Reads the data rows of one recognised tabular sheet.
#[derive(Debug)]
pub struct TableReader {
    map: ColumnMap,
    file: Arc<str>,
    sheet: Arc<str>,
    /// Services sheet: the practice / sub-practice of the current group, filled down.
    fill: (Option<String>, Option<String>),
    /// Records emitted so far.
    pub rows: u64,
}

/// One row being cleaned: looks cells up by field and reports what it had to drop.
struct RowCtx<'a> {
    cells: &'a [Data],
    map: &'a ColumnMap,
    report: &'a mut IngestReport,
    src: SourceRef,
}

impl RowCtx<'_> {
    fn cell(&self, field: &str) -> &Data {
        self.map
            .col(field)
            .and_then(|c| self.cells.get(c))
            .unwrap_or(&Data::Empty)
    }

    fn keep<T>(&mut self, field: &str, v: Cleaned<T>) -> Option<T> {
        match v {
            Cleaned::Value(v) => Some(v),
            Cleaned::Missing => None,
            Cleaned::Coerced(raw) => {
                let example = CoercionExample {
                    file: self.src.file.to_string(),
                    sheet: self.src.sheet.to_string(),
                    row: self.src.row,
                    raw,
                };
                self.report
                    .record_coercion(self.map.spec.kind.key(), field, example);
                None
            }
        }
    }

    fn text(&mut self, field: &str) -> Option<String> {
        let v = clean::clean_text(self.cell(field));
        self.keep(field, v)
    }
    fn id(&mut self, field: &str) -> Option<String> {
        let v = clean::clean_id(self.cell(field));
        self.keep(field, v)
    }
    fn date(&mut self, field: &str) -> Option<chrono::NaiveDate> {
        let v = clean::clean_date(self.cell(field));
        self.keep(field, v)
    }
    fn float(&mut self, field: &str) -> Option<f64> {
        let v = clean::clean_float(self.cell(field));
        self.keep(field, v)
    }
    fn int(&mut self, field: &str) -> Option<i64> {
        let v = clean::clean_int(self.cell(field));
        self.keep(field, v)
    }
}

impl TableReader {
    /// A reader for rows laid out as `map` says.
    pub fn new(map: ColumnMap, file: &str, sheet: &str) -> Self {
        TableReader {
            map,
            file: file.into(),
            sheet: sheet.into(),
            fill: (None, None),
            rows: 0,
        }
    }

    /// The kind being read.
    pub fn kind(&self) -> SheetKind {
        self.map.spec.kind
    }

    /// Which columns the table reads, by column index.
    pub fn columns_used(&self) -> Vec<bool> {
        let mut used = Vec::new();
        for c in self.map.cols.iter().flatten() {
            if used.len() <= *c {
                used.resize(c + 1, false);
            }
            used[*c] = true;
        }
        used
    }

    /// Cleans one data row (`row` = 1-based row number as the user sees it) and emits its record.
    /// Blank rows are skipped.
    pub fn read_row(
        &mut self,
        row: u32,
        cells: &[Data],
        report: &mut IngestReport,
        sink: &mut dyn FnMut(Record) -> Result<()>,
    ) -> Result<()> {
        if cells.iter().all(clean::is_blank) {
            return Ok(());
        }
        self.read_cells(row, cells, report, sink)
    }

    /// [`TableReader::read_row`] for a row already known not to be blank; only the columns of
    /// [`TableReader::columns_used`] are read.
    pub fn read_cells(
        &mut self,
        row: u32,
        cells: &[Data],
        report: &mut IngestReport,
        sink: &mut dyn FnMut(Record) -> Result<()>,
    ) -> Result<()> {
        let mut cx = RowCtx {
            cells,
            map: &self.map,
            report,
            src: SourceRef {
                file: Arc::clone(&self.file),
                sheet: Arc::clone(&self.sheet),
                row,
            },
        };
        let record = match self.map.spec.kind {
            SheetKind::InstallBase => Record::InstallBase(install_base(&mut cx)),
            SheetKind::Opportunity => Record::Opportunity(opportunity(&mut cx)),
            SheetKind::Project => Record::Project(project(&mut cx)),
            SheetKind::Service => Record::Service(service(&mut cx, &mut self.fill)),
            SheetKind::ServiceCredit => Record::ServiceCredit(service_credit(&mut cx)),
            // The pivot never reaches the tabular reader; emit nothing rather than panic.
            SheetKind::SkuMatrix => return Ok(()),
        };
        cx.report.add_rows(self.map.spec.kind.key(), 1);
        self.rows += 1;
        sink(record)
    }
}

fn install_base(cx: &mut RowCtx) -> InstallBaseRecord {
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

fn opportunity(cx: &mut RowCtx) -> OpportunityRecord {
    OpportunityRecord {
        opportunity_id: cx.id("opportunity_id"),
        name: cx.text("name"),
        territory_id: cx.id("territory_id"),
        account_name: cx.text("account_name"),
        product_line: cx.text("product_line"),
        src: cx.src.clone(),
    }
}

fn project(cx: &mut RowCtx) -> ProjectRecord {
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
fn service(cx: &mut RowCtx, fill: &mut (Option<String>, Option<String>)) -> ServiceRecord {
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

fn service_credit(cx: &mut RowCtx) -> ServiceCreditRecord {
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

#[cfg(test)]
mod tests {
    use super::super::detect::{map_columns, spec};
    use super::*;

    fn reader(kind: SheetKind, headers: &[&str]) -> TableReader {
        let h: Vec<String> = headers.iter().map(|s| (*s).to_string()).collect();
        TableReader::new(
            map_columns(spec(kind).unwrap(), &h, None).unwrap(),
            "f.xlsx",
            "S",
        )
    }

    fn run(r: &mut TableReader, rows: &[Vec<Data>]) -> (Vec<Record>, IngestReport) {
        let mut report = IngestReport::default();
        let mut out = Vec::new();
        for (i, cells) in rows.iter().enumerate() {
            r.read_row(i as u32 + 2, cells, &mut report, &mut |rec| {
                out.push(rec);
                Ok(())
            })
            .unwrap();
        }
        (out, report)
    }

    fn s(x: &str) -> Data {
        Data::String(x.into())
    }

    #[test]
    fn services_fill_down_and_reset_sub_practice() {
        let mut r = reader(
            SheetKind::Service,
            &["Practice", "Sub-Practice", "Services"],
        );
        let rows = vec![
            vec![s("P1"), s("S1"), s("a")],
            vec![Data::Empty, Data::Empty, s("b")],
            vec![Data::Empty, Data::Empty, Data::Empty],
            vec![Data::Empty, s("S2"), s("c")],
            vec![s("P2"), Data::Empty, s("d")],
        ];
        let (out, _) = run(&mut r, &rows);
        let got: Vec<(Option<String>, Option<String>, u32)> = out
            .into_iter()
            .map(|rec| match rec {
                Record::Service(x) => (x.practice, x.sub_practice, x.src.row),
                other => panic!("{other:?}"),
            })
            .collect();
        let p = |a: &str| Some(a.to_string());
        assert_eq!(
            got,
            [
                (p("P1"), p("S1"), 2),
                (p("P1"), p("S1"), 3),
                (p("P1"), p("S2"), 5),
                (p("P2"), None, 6)
            ]
        );
    }

    #[test]
    fn project_ids_placeholders_and_coerced_costs() {
        let mut r = reader(
            SheetKind::Project,
            &["PRJ Siebel ID", "PRJ Customer", "PRJ Size", "Labor Cost"],
        );
        let rows = vec![
            vec![s("NOT AUAILABLE"), s("c"), s("$1M - $5M"), s("Yes")],
            vec![Data::Int(11_572_981), s("c"), s("-"), s("NULL")],
        ];
        let (out, report) = run(&mut r, &rows);
        let Record::Project(a) = &out[0] else {
            panic!()
        };
        assert_eq!(a.project_id, "UNKNOWN_PRJ_2");
        assert_eq!(a.raw_project_id.as_deref(), Some("NOT AUAILABLE"));
        assert_eq!(a.size_category.as_deref(), Some("$1M-$5M"));
        let Record::Project(b) = &out[1] else {
            panic!()
        };
        assert_eq!(b.project_id, "11572981");
        assert_eq!(b.size_category, None);
        let c = report.coercion("projects", "labor_cost").unwrap();
        assert_eq!(
            (c.count, c.examples[0].row, c.examples[0].raw.as_str()),
            (1, 2, "Yes")
        );
        assert_eq!(report.rows["projects"], 2);
    }

    #[test]
    fn credit_names_are_split() {
        let mut r = reader(
            SheetKind::ServiceCredit,
            &["ProjectID", "ProjectName", "ActiveCredits"],
        );
        let rows = vec![vec![s("PR-1"), s("TS-2137-SE-NET4 AB"), Data::Float(3.0)]];
        let (out, _) = run(&mut r, &rows);
        let Record::ServiceCredit(c) = &out[0] else {
            panic!()
        };
        assert_eq!(
            (c.country_code.as_deref(), c.customer.as_deref(), c.active),
            (Some("SE"), Some("NET4 AB"), Some(3))
        );
    }
}
