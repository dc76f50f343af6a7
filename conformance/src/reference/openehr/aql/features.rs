//! The checks EHRbase 2.x runs on a parsed query before executing it
//! (its `AqlQueryFeatureCheck` and `AqlLimitPostProcessor`), so a query
//! the reference answers is one EHRbase answers too.

use super::ast::{IdentPath, Query, SelectExpr};

/// Why a query is refused before it runs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FeatureError {
    /// `OrderByCheck`: every `ORDER BY` path must be selected (a selected
    /// path equal to it or below it); EHRbase answers 400 with this text
    /// (its `AqlFeatureNotImplementedException` adds "Not implemented: ").
    #[error("Not implemented: ORDER BY: Path: {0} is not present in SELECT statement")]
    OrderByNotSelected(String),
    /// `AqlLimitPostProcessor`: `LIMIT` above `ehrbase.rest.aql.max-limit`
    /// is refused with 422.
    #[error("Query LIMIT {limit} exceeds maximum limit {max}")]
    LimitTooLarge {
        /// The query's LIMIT.
        limit: usize,
        /// The configured maximum.
        max: usize,
    },
}

/// Runs the checks; `max_limit` is the backend's configured maximum.
pub fn ensure_supported(q: &Query, max_limit: Option<usize>) -> Result<(), FeatureError> {
    for (ordered, _) in &q.order_by {
        let selected = q.select.iter().any(|s| match &s.expr {
            SelectExpr::Path(p) => starts_with(p, ordered),
            SelectExpr::Count(_) => false,
        });
        if !selected {
            return Err(FeatureError::OrderByNotSelected(render(ordered)));
        }
    }
    if let (Some(limit), Some(max)) = (q.limit, max_limit) {
        if limit > max {
            return Err(FeatureError::LimitTooLarge { limit, max });
        }
    }
    Ok(())
}

/// Whether `selected` is `prefix` or a path below it (EHRbase's
/// `FeatureCheckUtils.startsWith`: same variable, `prefix`'s steps first).
fn starts_with(selected: &IdentPath, prefix: &IdentPath) -> bool {
    selected.var == prefix.var
        && selected.steps.len() >= prefix.steps.len()
        && selected.steps[..prefix.steps.len()] == prefix.steps[..]
}

fn render(p: &IdentPath) -> String {
    let mut out = p.var.clone();
    for s in &p.steps {
        out.push('/');
        out.push_str(&s.attr);
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::reference::openehr::aql::parse;

    #[test]
    fn order_by_must_be_selected() {
        let q = parse(
            "SELECT c FROM EHR e CONTAINS COMPOSITION c ORDER BY c/context/start_time/value DESC",
        )
        .unwrap();
        assert_eq!(
            ensure_supported(&q, None).unwrap_err().to_string(),
            "Not implemented: ORDER BY: Path: c/context/start_time/value is not present in SELECT statement"
        );
        let ok = parse(
            "SELECT c, c/context/start_time/value FROM EHR e CONTAINS COMPOSITION c \
             ORDER BY c/context/start_time/value DESC",
        )
        .unwrap();
        assert_eq!(ensure_supported(&ok, None), Ok(()));
        // Selecting the parent is not enough; a path below the ordered one is.
        let parent = parse(
            "SELECT c/context FROM EHR e CONTAINS COMPOSITION c ORDER BY c/context/start_time",
        )
        .unwrap();
        assert!(ensure_supported(&parent, None).is_err());
        let below = parse(
            "SELECT c/context/start_time/value FROM EHR e CONTAINS COMPOSITION c \
             ORDER BY c/context/start_time",
        )
        .unwrap();
        assert_eq!(ensure_supported(&below, None), Ok(()));
    }

    #[test]
    fn limits_above_the_maximum_are_refused() {
        let q = parse("SELECT c FROM EHR e CONTAINS COMPOSITION c LIMIT 1001").unwrap();
        assert_eq!(ensure_supported(&q, None), Ok(()));
        assert_eq!(ensure_supported(&q, Some(1001)), Ok(()));
        assert_eq!(
            ensure_supported(&q, Some(1000)),
            Err(FeatureError::LimitTooLarge {
                limit: 1001,
                max: 1000
            })
        );
    }
}
