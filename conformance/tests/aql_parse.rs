//! The AQL parser: what it accepts (as a tree, not as text) and what it
//! refuses, with the reason.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use ehrgate_conformance::reference::openehr::aql::ast::{
    CmpOp, Expr, Operand, Predicate, SelectExpr, Term,
};
use ehrgate_conformance::reference::openehr::aql::{parse, AqlError};
use ehrgate_fault::Classified;

#[test]
fn a_facade_style_query_parses_into_its_parts() {
    let q = parse(
        "SELECT c/uid/value AS uid, c, o/data[at0002]/events[at0003, 'Any event']/time/value \
         FROM EHR e[ehr_id/value=$ehr_id] CONTAINS COMPOSITION c[openEHR-EHR-COMPOSITION.encounter.v1] \
         CONTAINS OBSERVATION o[openEHR-EHR-OBSERVATION.pulse.v2] \
         WHERE c/archetype_details/template_id/value = 'EHRN Vital signs.v2' \
           AND (o/data[at0002]/events[at0003]/time/value >= $from OR NOT EXISTS c/context) \
         ORDER BY c/context/start_time/value DESC, c/uid/value \
         LIMIT 20 OFFSET 40",
    )
    .unwrap();
    assert_eq!(q.select.len(), 3);
    assert_eq!(q.select[0].alias.as_deref(), Some("uid"));
    assert_eq!(q.select[0].text, "c/uid/value");
    assert_eq!(
        q.select[2].text,
        "o/data[at0002]/events[at0003, 'Any event']/time/value"
    );
    let SelectExpr::Path(p) = &q.select[2].expr else {
        panic!()
    };
    assert_eq!(p.var, "o");
    assert_eq!(
        p.steps[1].predicate,
        Some(Predicate::Node {
            id: "at0003".into(),
            name: Some("Any event".into())
        })
    );
    assert_eq!(q.from.len(), 3);
    assert_eq!(q.from[0].rm_type, "EHR");
    assert_eq!(
        q.from[0].predicate,
        Some(Predicate::Standard(vec![(
            vec!["ehr_id".into(), "value".into()],
            CmpOp::Eq,
            Operand::Param("ehr_id".into())
        )]))
    );
    assert_eq!(
        q.from[2].predicate,
        Some(Predicate::Node {
            id: "openEHR-EHR-OBSERVATION.pulse.v2".into(),
            name: None
        })
    );
    let Some(Expr::And(left, right)) = &q.condition else {
        panic!("{:?}", q.condition)
    };
    assert!(matches!(
        &**left,
        Expr::Cmp(Term::Path(_), CmpOp::Eq, Term::Value(Operand::Str(s))) if s == "EHRN Vital signs.v2"
    ));
    assert!(matches!(&**right, Expr::Or(_, b) if matches!(&**b, Expr::Not(_))));
    assert_eq!(q.order_by.len(), 2);
    assert!(q.order_by[0].1, "DESC");
    assert!(!q.order_by[1].1);
    assert_eq!((q.limit, q.offset), (Some(20), Some(40)));
}

#[test]
fn accepted_variants() {
    for ok in [
        "SELECT e/ehr_id/value FROM EHR e",
        "select c from composition c",
        "SELECT COUNT(*) FROM EHR e CONTAINS COMPOSITION c",
        "SELECT COUNT(c/uid/value) AS n FROM EHR e CONTAINS COMPOSITION c",
        "SELECT DISTINCT TOP 5 c/name/value FROM EHR e CONTAINS COMPOSITION c",
        "SELECT c FROM EHR e CONTAINS COMPOSITION c WHERE c/name/value != \"x\" AND c/uid/value <> 'y';",
        "SELECT o FROM EHR e CONTAINS EVALUATION o[openEHR-EHR-EVALUATION.problem_diagnosis.v1]",
        "SELECT o FROM EHR e CONTAINS COMPOSITION c CONTAINS SECTION s CONTAINS ENTRY o",
        "SELECT o/data[at0001]/items[at0002]/value/magnitude FROM EHR e CONTAINS OBSERVATION o WHERE o/data[at0001]/items[at0002]/value/magnitude > -3.5 AND true = true",
        "SELECT c FROM EHR e[ehr_id/value='abc' and system_id/value='s'] CONTAINS COMPOSITION c",
        "SELECT c/content[openEHR-EHR-OBSERVATION.x.v1,'Name with \\'quote\\'']/uid FROM EHR e CONTAINS COMPOSITION c",
    ] {
        parse(ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
    }
}

#[test]
fn refused_with_the_reason() {
    let cases: &[(&str, &str, &str)] = &[
        ("", "aql.syntax", "expected SELECT"),
        ("SELECT FROM EHR e", "aql.syntax", "variable"),
        ("SELECT c FROM", "aql.syntax", "RM class"),
        ("SELECT c FROM EHR e WHERE", "aql.syntax", ""),
        ("SELECT c FROM EHR e WHERE c/x = ", "aql.syntax", "value"),
        (
            "SELECT c FROM EHR e WHERE c/x = 'open",
            "aql.syntax",
            "unterminated",
        ),
        ("SELECT c FROM EHR e LIMIT x", "aql.syntax", "number"),
        (
            "SELECT c FROM EHR e OFFSET 3",
            "aql.syntax",
            "OFFSET needs LIMIT",
        ),
        ("SELECT c FROM EHR e c2", "aql.syntax", "after the query"),
        (
            "SELECT c FROM EHR e WHERE c/x = 1 GROUP BY c",
            "aql.syntax",
            "after the query",
        ),
        (
            "SELECT c FROM EHR e WHERE c/name/value LIKE 'a%'",
            "aql.unsupported",
            "LIKE",
        ),
        (
            "SELECT c FROM EHR e WHERE c/x matches {'a','b'}",
            "aql.unsupported",
            "MATCHES",
        ),
        (
            "SELECT c FROM EHR e CONTAINS (COMPOSITION c AND COMPOSITION d)",
            "aql.unsupported",
            "AND/OR",
        ),
        (
            "SELECT c FROM EHR e CONTAINS COMPOSITION c AND COMPOSITION d",
            "aql.unsupported",
            "containment with AND",
        ),
        (
            "SELECT c FROM EHR e CONTAINS VERSION v CONTAINS COMPOSITION c",
            "aql.unsupported",
            "VERSION",
        ),
        (
            "SELECT MAX(c/x) FROM EHR e",
            "aql.unsupported",
            "function `MAX`",
        ),
        (
            "SELECT COUNT(DISTINCT c/x) FROM EHR e",
            "aql.unsupported",
            "COUNT(DISTINCT",
        ),
        ("SELECT 'x' FROM EHR e", "aql.unsupported", "literals"),
        (
            "SELECT c FROM EHR e[at0001] CONTAINS COMPOSITION c",
            "aql.syntax",
            "standard predicate",
        ),
        (
            "SELECT c FROM EHR e WHERE c/x = $",
            "aql.syntax",
            "parameter name",
        ),
        (
            "SELECT c FROM EHR e # comment",
            "aql.syntax",
            "unexpected character",
        ),
    ];
    for (text, code, reason) in cases {
        match parse(text) {
            Ok(q) => panic!("{text}: accepted as {q:?}"),
            Err(e) => {
                assert_eq!(e.code(), *code, "{text}: {e}");
                assert!(e.to_string().contains(reason), "{text}: {e}");
            }
        }
    }
    // Nesting is bounded, not a stack overflow.
    let deep = format!(
        "SELECT c FROM EHR e WHERE {}c/x = 1{}",
        "(".repeat(10_000),
        ")".repeat(10_000)
    );
    assert!(matches!(parse(&deep), Err(AqlError::Unsupported { .. })));
    let nots = format!("SELECT c FROM EHR e WHERE {}c/x = 1", "NOT ".repeat(10_000));
    assert!(matches!(parse(&nots), Err(AqlError::Unsupported { .. })));
}

#[test]
fn column_text_is_the_path_as_written() {
    let q = parse(
        "SELECT c/content[openEHR-EHR-OBSERVATION.x.v1,'It\\'s']/uid/value AS u, COUNT(*) FROM EHR e CONTAINS COMPOSITION c",
    )
    .unwrap();
    assert_eq!(
        q.select[0].text,
        "c/content[openEHR-EHR-OBSERVATION.x.v1,'It\\'s']/uid/value"
    );
    assert_eq!(q.select[1].text, "COUNT(*)");
}

proptest::proptest! {
    /// Any text gives a query or an error, never a panic.
    #[test]
    fn never_panics(text in "\\PC{0,200}") {
        let _ = parse(&text);
    }

    /// Mutations of a valid query: same.
    #[test]
    fn mutations_never_panic(cut in 0usize..200, insert in "[\\[\\]()'\"$/=<>!,* a-z0-9]{0,5}") {
        let base = "SELECT c/uid/value AS u FROM EHR e[ehr_id/value=$id] CONTAINS COMPOSITION c[openEHR-EHR-COMPOSITION.x.v1] WHERE c/name/value = 'x' ORDER BY c/uid/value DESC LIMIT 5 OFFSET 1";
        let at = cut.min(base.len());
        let text = format!("{}{insert}{}", &base[..at], &base[at..]);
        let _ = parse(&text);
    }
}
