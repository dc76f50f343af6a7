//! Occurrences, primitive constraints and the `DV_*` constraint summary.

use std::str::FromStr;

use super::xml::Element;
use super::OptError;
use crate::meta::{
    Cardinality, CodePhrase, CodePhraseConstraint, DvConstraint, Interval, Node, NodeKind,
    Occurrences, OrdinalItem, Primitive, QuantityConstraint, QuantityUnit,
};

/// Reads an occurrences/existence element; absent means `1..1` (AOM default).
pub(super) fn occurrences(el: Option<&Element>, path: &str) -> Result<Occurrences, OptError> {
    let Some(el) = el else {
        return Ok(Occurrences::ONE);
    };
    let lower = match el.child_text("lower") {
        Some(t) if !is_true(el.child_text("lower_unbounded")) => number::<u32>(t, "lower", path)?,
        _ => 0,
    };
    let upper = match el.child_text("upper") {
        Some(t) if !is_true(el.child_text("upper_unbounded")) => {
            Some(number::<u32>(t, "upper", path)?)
        }
        _ => None,
    };
    Ok(Occurrences { lower, upper })
}

/// Reads a `cardinality` element.
pub(super) fn cardinality(
    el: Option<&Element>,
    path: &str,
) -> Result<Option<Cardinality>, OptError> {
    let Some(el) = el else {
        return Ok(None);
    };
    Ok(Some(Cardinality {
        interval: occurrences(el.child("interval"), path)?,
        is_ordered: is_true(el.child_text("is_ordered")),
        is_unique: is_true(el.child_text("is_unique")),
    }))
}

/// Reads a generic interval (`range`, `magnitude`, `precision`).
pub(super) fn interval<T: FromStr>(
    el: Option<&Element>,
    path: &str,
) -> Result<Option<Interval<T>>, OptError> {
    let Some(el) = el else {
        return Ok(None);
    };
    let bound = |name: &str, unbounded: &str| -> Result<Option<T>, OptError> {
        match el.child_text(name) {
            Some(t) if !is_true(el.child_text(unbounded)) => Ok(Some(number::<T>(t, name, path)?)),
            _ => Ok(None),
        }
    };
    Ok(Some(Interval {
        lower: bound("lower", "lower_unbounded")?,
        upper: bound("upper", "upper_unbounded")?,
        lower_included: el.child_text("lower_included").is_none_or(|t| t == "true"),
        upper_included: el.child_text("upper_included").is_none_or(|t| t == "true"),
    }))
}

/// Reads the `item` of a `C_PRIMITIVE_OBJECT`.
pub(super) fn primitive(item: Option<&Element>, path: &str) -> Result<Primitive, OptError> {
    let Some(item) = item else {
        return Ok(Primitive::Other(String::new()));
    };
    let kind = item.attr("type").unwrap_or_default();
    Ok(match kind {
        "C_STRING" => Primitive::String {
            list: item
                .children_named("list")
                .map(|l| l.text.clone())
                .collect(),
            pattern: item.child_text("pattern").map(str::to_string),
            assumed: item.child("assumed_value").map(|a| a.text.clone()),
        },
        "C_INTEGER" => Primitive::Integer {
            list: item
                .children_named("list")
                .map(|l| number::<i64>(l.text.trim(), "list", path))
                .collect::<Result<_, _>>()?,
            range: interval(item.child("range"), path)?,
            assumed: item
                .child_text("assumed_value")
                .map(|t| number::<i64>(t, "assumed_value", path))
                .transpose()?,
        },
        "C_REAL" => Primitive::Real {
            list: item
                .children_named("list")
                .map(|l| number::<f64>(l.text.trim(), "list", path))
                .collect::<Result<_, _>>()?,
            range: interval(item.child("range"), path)?,
        },
        "C_BOOLEAN" => Primitive::Boolean {
            true_valid: is_true(item.child_text("true_valid")),
            false_valid: is_true(item.child_text("false_valid")),
            assumed: item.child_text("assumed_value").map(|t| t == "true"),
        },
        "C_DATE" | "C_TIME" | "C_DATE_TIME" => Primitive::Temporal {
            kind: kind.trim_start_matches("C_").to_string(),
            pattern: item.child_text("pattern").map(str::to_string),
        },
        "C_DURATION" => Primitive::Duration {
            pattern: item.child_text("pattern").map(str::to_string),
            range: interval(item.child("range"), path)?,
        },
        other => Primitive::Other(other.to_string()),
    })
}

/// Reads a `C_CODE_PHRASE` / `C_CODE_REFERENCE`.
pub(super) fn code_phrase(el: &Element) -> CodePhraseConstraint {
    CodePhraseConstraint {
        terminology: el
            .path_text("terminology_id/value")
            .unwrap_or_default()
            .to_string(),
        codes: el
            .children_named("code_list")
            .map(|c| c.text.trim().to_string())
            .collect(),
        reference_set_uri: el.child_text("referenceSetUri").map(str::to_string),
    }
}

/// Reads a `C_DV_QUANTITY`.
pub(super) fn quantity(el: &Element, path: &str) -> Result<QuantityConstraint, OptError> {
    let property = el.child("property").map(|p| CodePhrase {
        terminology: p
            .path_text("terminology_id/value")
            .unwrap_or_default()
            .to_string(),
        code: p.child_text("code_string").unwrap_or_default().to_string(),
    });
    let units = el
        .children_named("list")
        .map(|item| {
            Ok(QuantityUnit {
                unit: item.child_text("units").unwrap_or_default().to_string(),
                magnitude: interval(item.child("magnitude"), path)?,
                precision: interval(item.child("precision"), path)?,
            })
        })
        .collect::<Result<_, OptError>>()?;
    Ok(QuantityConstraint { property, units })
}

/// Reads a `C_DV_ORDINAL`.
pub(super) fn ordinal(el: &Element, path: &str) -> Result<Vec<OrdinalItem>, OptError> {
    el.children_named("list")
        .map(|item| {
            Ok(OrdinalItem {
                value: number::<i64>(item.child_text("value").unwrap_or_default(), "value", path)?,
                symbol: CodePhrase {
                    terminology: item
                        .path_text("symbol/defining_code/terminology_id/value")
                        .unwrap_or_default()
                        .to_string(),
                    code: item
                        .path_text("symbol/defining_code/code_string")
                        .unwrap_or_default()
                        .to_string(),
                },
            })
        })
        .collect()
}

/// Summarises the constraints of a `DV_*` node from its own kind and its
/// attributes' children. `None` for non-data-value nodes and unconstrained
/// data values.
pub(super) fn dv_constraint(node: &Node) -> Option<DvConstraint> {
    match &node.kind {
        NodeKind::DvQuantity(q) => return Some(DvConstraint::Quantity(q.clone())),
        NodeKind::DvOrdinal(items) => return Some(DvConstraint::Ordinal(items.clone())),
        _ => {}
    }
    if !node.is_data_value() {
        return None;
    }
    let prim = |attr: &str| -> Option<&Primitive> {
        node.attribute(attr)?
            .children
            .iter()
            .find_map(|c| match &c.kind {
                NodeKind::Primitive(p) => Some(p),
                _ => None,
            })
    };
    match node.rm_type.as_str() {
        "DV_CODED_TEXT" => {
            let code = node.attribute("defining_code")?.children.first()?;
            match &code.kind {
                NodeKind::CodePhrase(c) => Some(DvConstraint::CodedText(c.clone())),
                NodeKind::ConstraintRef(r) => Some(DvConstraint::CodedText(CodePhraseConstraint {
                    terminology: String::new(),
                    codes: vec![r.clone()],
                    reference_set_uri: None,
                })),
                _ => None,
            }
        }
        "DV_TEXT" => match prim("value")? {
            Primitive::String { list, pattern, .. } => Some(DvConstraint::Text {
                list: list.clone(),
                pattern: pattern.clone(),
            }),
            _ => None,
        },
        "DV_COUNT" => match prim("magnitude")? {
            Primitive::Integer { range, .. } => Some(DvConstraint::Count(range.clone())),
            _ => None,
        },
        "DV_BOOLEAN" => match prim("value")? {
            Primitive::Boolean {
                true_valid,
                false_valid,
                ..
            } => Some(DvConstraint::Boolean {
                true_valid: *true_valid,
                false_valid: *false_valid,
            }),
            _ => None,
        },
        "DV_DATE" | "DV_TIME" | "DV_DATE_TIME" => match prim("value")? {
            Primitive::Temporal { pattern, .. } => Some(DvConstraint::Temporal(pattern.clone())),
            _ => None,
        },
        "DV_DURATION" => match prim("value")? {
            Primitive::Duration { pattern, range } => Some(DvConstraint::Duration {
                pattern: pattern.clone(),
                range: range.clone(),
            }),
            _ => None,
        },
        "DV_PROPORTION" => match prim("type")? {
            Primitive::Integer { list, .. } => Some(DvConstraint::Proportion {
                kinds: list.clone(),
            }),
            _ => None,
        },
        _ => {
            let pairs: Vec<(String, Primitive)> = node
                .attributes
                .iter()
                .filter_map(|a| {
                    a.children.iter().find_map(|c| match &c.kind {
                        NodeKind::Primitive(p) => Some((a.name.clone(), p.clone())),
                        _ => None,
                    })
                })
                .collect();
            (!pairs.is_empty()).then_some(DvConstraint::Other(pairs))
        }
    }
}

fn is_true(t: Option<&str>) -> bool {
    t == Some("true")
}

fn number<T: FromStr>(text: &str, element: &str, path: &str) -> Result<T, OptError> {
    text.trim()
        .parse::<T>()
        .map_err(|_| OptError::InvalidNumber {
            element: element.to_string(),
            path: path.to_string(),
        })
}
