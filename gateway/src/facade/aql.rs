//! AQL for searches, built from fixed text and named parameters only, in
//! the shape EHRbase 2.x accepts.
//!
//! Nothing the client sends is ever pasted into the query text: values
//! travel in `query_parameters` (the openEHR REST API's `POST /query/aql`
//! body), so a patient id like `x' OR 1=1` is a value, never syntax. The
//! text depends only on *which* filters are present, so it is one of a
//! handful of shapes, which also keeps the backend's query cache warm.
//!
//! What EHRbase's AQL engine requires, and how the query meets it:
//! - `ORDER BY` only on a selected path (its `OrderByCheck` answers 400
//!   "Path ... is not present in SELECT statement" otherwise): the start
//!   time's `value` is selected as the fourth column and ordered by.
//! - Date bounds on the `DV_DATE_TIME` itself (`c/context/start_time`),
//!   which EHRbase compares by instant (the bound parameter is turned into
//!   a magnitude); on `.../value` it would compare text, and
//!   `2024-03-01T00:30:00+01:00` would fall in March.
//! - `LIMIT` within `ehrbase.rest.aql.max-limit` (422 beyond it): checked
//!   at config load (`aql_max_limit`).

use serde_json::{json, Map, Value};

use super::date::Cmp;

/// The composition's clinical time (a `DV_DATE_TIME`): what date bounds
/// compare with.
pub const START_TIME: &str = "c/context/start_time";

/// Its text: selected and ordered by (newest first).
pub const START_TIME_VALUE: &str = "c/context/start_time/value";

/// What a search filters on.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// The template the compositions must be of.
    pub template_id: String,
    /// The patient's EHR, when searching by patient.
    pub ehr_id: Option<String>,
    /// Bounds on the start time.
    pub dates: Vec<(Cmp, String)>,
    /// Rows to return at most.
    pub limit: u32,
}

/// A query ready for `POST /query/aql`.
#[derive(Debug, Clone, PartialEq)]
pub struct Aql {
    /// The query text.
    pub q: String,
    /// Its parameters.
    pub params: Map<String, Value>,
}

// === impl Aql ===

impl Aql {
    /// The request body.
    pub fn body(&self) -> Value {
        json!({ "q": self.q, "query_parameters": self.params })
    }
}

/// The search query: rows of `[ehr_id, composition uid, composition,
/// start time]`, newest first.
pub fn search(f: &Filter) -> Aql {
    let mut params = Map::new();
    let mut q = format!(
        "SELECT e/ehr_id/value, c/uid/value, c, {START_TIME_VALUE} \
         FROM EHR e CONTAINS COMPOSITION c \
         WHERE c/archetype_details/template_id/value = $template_id"
    );
    params.insert("template_id".into(), Value::String(f.template_id.clone()));
    if let Some(ehr) = &f.ehr_id {
        q.push_str(" AND e/ehr_id/value = $ehr_id");
        params.insert("ehr_id".into(), Value::String(ehr.clone()));
    }
    for (i, (cmp, bound)) in f.dates.iter().enumerate() {
        let op = match cmp {
            Cmp::Ge => ">=",
            Cmp::Lt => "<",
            Cmp::Gt => ">",
            Cmp::Le => "<=",
        };
        let name = format!("date_{i}");
        q.push_str(&format!(" AND {START_TIME} {op} ${name}"));
        params.insert(name, Value::String(full_date_time(bound)));
    }
    q.push_str(&format!(
        " ORDER BY {START_TIME_VALUE} DESC LIMIT {}",
        f.limit
    ));
    Aql { q, params }
}

/// A bound as the full date-time a `DV_DATE_TIME` compares with: a FHIR
/// date (`2024`, `2024-03`, `2024-03-01`) is the start of that period in
/// UTC; a dateTime stays as written.
fn full_date_time(bound: &str) -> String {
    match bound.len() {
        4 => format!("{bound}-01-01T00:00:00Z"),
        7 => format!("{bound}-01T00:00:00Z"),
        10 => format!("{bound}T00:00:00Z"),
        _ => bound.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_travel_as_parameters_only() {
        let evil = "x' OR 1=1 --";
        let f = Filter {
            template_id: evil.into(),
            ehr_id: Some(evil.into()),
            dates: vec![(Cmp::Ge, evil.into()), (Cmp::Lt, "2024".into())],
            limit: 11,
        };
        let a = search(&f);
        assert!(!a.q.contains(evil) && !a.q.contains('\''), "{}", a.q);
        assert_eq!(a.params["template_id"], evil);
        assert_eq!(a.params["ehr_id"], evil);
        assert_eq!(a.params["date_0"], evil);
        assert_eq!(a.params["date_1"], "2024-01-01T00:00:00Z");
        assert!(a.q.contains("c/context/start_time >= $date_0"));
        assert!(a.q.contains("c/context/start_time < $date_1"));
        assert!(a.q.ends_with("LIMIT 11"));
        assert_eq!(a.body()["query_parameters"]["ehr_id"], evil);
    }

    #[test]
    fn the_ordered_path_is_selected() {
        let a = search(&Filter {
            template_id: "A".into(),
            limit: 5,
            ..Filter::default()
        });
        let (select, rest) = a.q.split_once(" FROM ").unwrap();
        let order = rest.split_once("ORDER BY ").unwrap().1;
        let ordered = order.split_whitespace().next().unwrap();
        assert_eq!(ordered, START_TIME_VALUE);
        assert!(
            select
                .split(", ")
                .any(|c| c.trim_start_matches("SELECT ") == ordered),
            "{}",
            a.q
        );
    }

    #[test]
    fn date_bounds_compare_the_date_time_not_its_text() {
        let a = search(&Filter {
            template_id: "A".into(),
            dates: vec![
                (Cmp::Ge, "2024-03".into()),
                (Cmp::Le, "2024-03-01T10:00:00+01:00".into()),
            ],
            limit: 5,
            ..Filter::default()
        });
        assert!(!a.q.contains("start_time/value >"), "{}", a.q);
        assert!(!a.q.contains("start_time/value <"), "{}", a.q);
        assert_eq!(a.params["date_0"], "2024-03-01T00:00:00Z");
        assert_eq!(a.params["date_1"], "2024-03-01T10:00:00+01:00");
        assert!(a.q.contains("c/context/start_time <= $date_1"));
    }

    #[test]
    fn shape_depends_only_on_present_filters() {
        let a = search(&Filter {
            template_id: "A".into(),
            limit: 5,
            ..Filter::default()
        });
        let b = search(&Filter {
            template_id: "B".into(),
            limit: 5,
            ..Filter::default()
        });
        assert_eq!(a.q, b.q);
        assert!(!a.q.contains("ehr_id/value ="));
    }
}
