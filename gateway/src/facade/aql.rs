//! AQL for searches, built from fixed text and named parameters only.
//!
//! Nothing the client sends is ever pasted into the query text: values
//! travel in `query_parameters` (the openEHR REST API's `POST /query/aql`
//! body), so a patient id like `x' OR 1=1` is a value, never syntax. The
//! text depends only on *which* filters are present, so it is one of a
//! handful of shapes, which also keeps the backend's query cache warm.

use serde_json::{json, Map, Value};

use super::date::Cmp;

/// The path of the composition's clinical time (`date` search).
pub const START_TIME: &str = "c/context/start_time/value";

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

/// The search query: rows of `[ehr_id, composition uid, composition]`,
/// newest first.
pub fn search(f: &Filter) -> Aql {
    let mut params = Map::new();
    let mut q = String::from(
        "SELECT e/ehr_id/value, c/uid/value, c FROM EHR e CONTAINS COMPOSITION c \
         WHERE c/archetype_details/template_id/value = $template_id",
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
        };
        let name = format!("date_{i}");
        q.push_str(&format!(" AND {START_TIME} {op} ${name}"));
        params.insert(name, Value::String(bound.clone()));
    }
    q.push_str(&format!(" ORDER BY {START_TIME} DESC LIMIT {}", f.limit));
    Aql { q, params }
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
        assert_eq!(a.params["date_1"], "2024");
        assert!(a.q.contains("c/context/start_time/value >= $date_0"));
        assert!(a.q.contains("c/context/start_time/value < $date_1"));
        assert!(a.q.ends_with("LIMIT 11"));
        assert_eq!(a.body()["query_parameters"]["ehr_id"], evil);
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
