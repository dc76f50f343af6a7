//! References from one resource to another entry of the same Bundle.
//!
//! A laboratory DiagnosticReport names its analytes as `Observation/<id>`
//! references to other entries of the transaction Bundle it arrives in
//! (the MII KDS Laborbericht does); a mapping's `reference` must reach
//! them without I/O. FHIR R4 (Bundle, "Resolving references in Bundles")
//! matches a reference against the entries' `fullUrl`: an absolute
//! reference (or `urn:uuid:`) as it is, a relative `Type/id` against the
//! base of the referring entry's `fullUrl`. Entries without a usable
//! `fullUrl` are matched by `resourceType` and `id` too, so a relative
//! reference resolves whatever the server base.
//!
//! Resolution is bounded: one pass over the Bundle's entries (at most the
//! run's `max_bundle_entries`, by default [`MAX_ENTRIES`], looked at; an
//! entry past it does not resolve), no recursion here (nesting of
//! references is bounded by the run's `max_depth`).

use serde_json::Value;

use super::fhirpath::Node;

/// Default for the most Bundle entries looked at for one reference
/// (`RunLimits::max_bundle_entries`).
pub const MAX_ENTRIES: usize = 10_000;

/// Why a reference did not resolve (no identifiers or ids in it: the
/// warning's location says which reference it was).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unresolved {
    /// The Reference has no literal `reference` (a logical reference by
    /// identifier, or a display only).
    NotLiteral,
    /// No Bundle is around the resource.
    NoBundle,
    /// No entry matches by `fullUrl` or by `Type/id`.
    NotFound,
}

impl Unresolved {
    /// The warning text for the translation report.
    pub fn message(self) -> &'static str {
        match self {
            Unresolved::NotLiteral => {
                "reference has no literal reference (identifier or display only); not mapped"
            }
            Unresolved::NoBundle => {
                "reference to another resource outside the input (no Bundle around it); not mapped"
            }
            Unresolved::NotFound => {
                "reference matches no entry of the input Bundle (by fullUrl or type/id); not mapped"
            }
        }
    }
}

/// The entry of `bundle` that `reference` (a FHIR Reference element)
/// points to, as a node located at `Bundle.entry[i].resource`.
pub fn resolve<'a>(
    bundle: Option<&'a Value>,
    reference: &Value,
    max_entries: usize,
) -> Result<Node<'a>, Unresolved> {
    let target = reference
        .get("reference")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty() && !s.starts_with('#'))
        .ok_or(Unresolved::NotLiteral)?;
    let entries = bundle
        .and_then(|b| b.get("entry"))
        .and_then(Value::as_array)
        .ok_or(Unresolved::NoBundle)?;
    // A version-specific reference names the same resource.
    let target = target.split("/_history/").next().unwrap_or(target);
    let relative = type_and_id(target);
    for (i, entry) in entries.iter().enumerate().take(max_entries) {
        let Some(resource) = entry.get("resource").filter(|r| r.is_object()) else {
            continue;
        };
        let full_url = entry.get("fullUrl").and_then(Value::as_str);
        let by_url = full_url.is_some_and(|u| u == target || ends_with_path(u, target));
        let by_id = relative.is_some_and(|(ty, id)| {
            resource.get("resourceType").and_then(Value::as_str) == Some(ty)
                && resource.get("id").and_then(Value::as_str) == Some(id)
        });
        if by_url || by_id {
            return Ok(Node {
                value: resource,
                ty: resource.get("resourceType").and_then(Value::as_str),
                loc: format!("Bundle.entry[{i}].resource"),
                wrapped: None,
            });
        }
    }
    Err(Unresolved::NotFound)
}

/// `Type/id` of a relative reference (`Observation/abc`); an absolute
/// URL names a resource on its server and matches by `fullUrl` only.
fn type_and_id(reference: &str) -> Option<(&str, &str)> {
    if reference.starts_with("urn:") || reference.contains("://") {
        return None;
    }
    let mut parts = reference.rsplitn(3, '/');
    let id = parts.next().filter(|s| !s.is_empty())?;
    let ty = parts
        .next()
        .filter(|s| s.starts_with(|c: char| c.is_ascii_uppercase()))?;
    Some((ty, id))
}

/// Whether the absolute `full_url` is some base followed by the relative
/// `reference` (`https://x/fhir/Observation/1` and `Observation/1`).
fn ends_with_path(full_url: &str, reference: &str) -> bool {
    !reference.contains("://")
        && full_url
            .strip_suffix(reference)
            .is_some_and(|base| base.ends_with('/'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn bundle() -> Value {
        json!({"resourceType": "Bundle", "entry": [
            {"fullUrl": "https://example.org/fhir/Specimen/s1",
             "resource": {"resourceType": "Specimen", "id": "s1"}},
            {"fullUrl": "urn:uuid:4f1c7d2e-0000-4000-8000-000000000001",
             "resource": {"resourceType": "Observation", "id": "o9"}},
            {"resource": {"resourceType": "Observation", "id": "o2"}}
        ]})
    }

    #[test]
    fn relative_references_resolve_by_full_url_or_type_and_id() {
        let b = bundle();
        let n = resolve(Some(&b), &json!({"reference": "Specimen/s1"}), MAX_ENTRIES).unwrap();
        assert_eq!(n.loc, "Bundle.entry[0].resource");
        assert_eq!(n.ty, Some("Specimen"));
        let n = resolve(
            Some(&b),
            &json!({"reference": "Observation/o2"}),
            MAX_ENTRIES,
        )
        .unwrap();
        assert_eq!(n.loc, "Bundle.entry[2].resource");
        let n = resolve(
            Some(&b),
            &json!({"reference": "Observation/o9/_history/3"}),
            MAX_ENTRIES,
        )
        .unwrap();
        assert_eq!(n.loc, "Bundle.entry[1].resource");
    }

    #[test]
    fn absolute_and_uuid_references_resolve_by_full_url() {
        let b = bundle();
        let n = resolve(
            Some(&b),
            &json!({"reference": "https://example.org/fhir/Specimen/s1"}),
            MAX_ENTRIES,
        )
        .unwrap();
        assert_eq!(n.loc, "Bundle.entry[0].resource");
        let n = resolve(
            Some(&b),
            &json!({"reference": "urn:uuid:4f1c7d2e-0000-4000-8000-000000000001"}),
            MAX_ENTRIES,
        )
        .unwrap();
        assert_eq!(n.loc, "Bundle.entry[1].resource");
    }

    #[test]
    fn what_does_not_resolve_says_why() {
        let b = bundle();
        let missing = resolve(
            Some(&b),
            &json!({"reference": "Observation/nope"}),
            MAX_ENTRIES,
        );
        assert_eq!(missing.unwrap_err(), Unresolved::NotFound);
        let wrong_type = resolve(Some(&b), &json!({"reference": "Patient/s1"}), MAX_ENTRIES);
        assert_eq!(wrong_type.unwrap_err(), Unresolved::NotFound);
        let logical = resolve(
            Some(&b),
            &json!({"identifier": {"value": "x"}}),
            MAX_ENTRIES,
        );
        assert_eq!(logical.unwrap_err(), Unresolved::NotLiteral);
        let lone = resolve(None, &json!({"reference": "Observation/o2"}), MAX_ENTRIES);
        assert_eq!(lone.unwrap_err(), Unresolved::NoBundle);
        let other_base = resolve(
            Some(&b),
            &json!({"reference": "https://elsewhere.org/fhir/Specimen/s1"}),
            MAX_ENTRIES,
        );
        // Another server's resource is not this entry, whatever its id.
        assert_eq!(other_base.unwrap_err(), Unresolved::NotFound);
        // An entry past the bound is not looked at.
        let bounded = resolve(Some(&b), &json!({"reference": "Observation/o2"}), 2);
        assert_eq!(bounded.unwrap_err(), Unresolved::NotFound);
    }
}
