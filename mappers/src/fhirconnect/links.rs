//! The `link` construct: a method whose openEHR path ends in an RM `links`
//! attribute writes an openEHR LINK on the node before it, pointing to the
//! FHIR resource the method selects (the KDS files link a composition's
//! case cluster to the Encounter: `meaning` "the case this composition
//! relates to", `type` "case").
//!
//! A LINK is `meaning` and `type` (DV_TEXT, fixed by the file) and
//! `target` (DV_EHR_URI). The composition that will store the linked
//! resource is not known to a translation (no I/O), so the target names the
//! FHIR resource: `ehr:/` followed by its relative reference
//! (`ehr:/Encounter/123`). In the instance a LINK is a leaf of RM type
//! `LINK` at `<node>/links` with the fields `meaning`, `type` and
//! `target`; canonical JSON writes and reads it as a LINK object.
//!
//! openEHR -> FHIR: a LINK of the method's `type` below the node becomes
//! the `reference` of the Reference the method's FHIR path names. Where
//! that path names a resource instead (a referenced resource's
//! `$fhirRoot`), the LINK stays unconsumed and is reported unmapped.

use serde_json::{json, Value};

use super::fhirpath::Node;
use super::instance::{Instance, Leaf};
use super::model::Link;
use super::openehr_path::{InstancePath, Seg};

/// RM type of a LINK leaf.
pub const LINK: &str = "LINK";

/// Prefix of the DV_EHR_URI targets written here.
const TARGET_PREFIX: &str = "ehr:/";

/// The relative FHIR reference of `node`: `Type/id` of a resource, the
/// `reference` of a Reference. `None` when it has neither.
pub fn fhir_reference(node: &Node<'_>) -> Option<String> {
    if let Some(rt) = node.value.get("resourceType").and_then(Value::as_str) {
        let id = node.value.get("id").and_then(Value::as_str)?;
        return Some(format!("{rt}/{id}"));
    }
    let r = node.value.get("reference").and_then(Value::as_str)?;
    // Only literal references to another resource: a `#id` points into
    // the same resource, which a LINK between compositions cannot name.
    (!r.starts_with('#') && !r.is_empty()).then(|| r.to_owned())
}

/// The DV_EHR_URI value for a FHIR reference.
pub fn target_uri(reference: &str) -> String {
    format!("{TARGET_PREFIX}{reference}")
}

/// The FHIR reference a target written by [`target_uri`] stands for.
pub fn reference_of(target: &str) -> Option<&str> {
    target.strip_prefix(TARGET_PREFIX).filter(|r| !r.is_empty())
}

/// The node the LINK belongs to and the `links` segment, when `path` ends
/// in `links`.
pub fn split_links(path: &InstancePath) -> Option<(InstancePath, Seg)> {
    let (last, owner) = path.0.split_last()?;
    (&*last.attr == "links" && last.node.is_empty())
        .then(|| (InstancePath(owner.to_vec()), last.clone()))
}

/// Writes the LINK for `reference` below the node `path` names (ending in
/// `links`), after the links already there. Returns the leaf's path, or
/// `None` when `path` does not end in `links`.
pub fn put_link(
    out: &mut Instance,
    path: &InstancePath,
    link: &Link,
    reference: &str,
) -> Option<InstancePath> {
    let (owner, seg) = split_links(path)?;
    let index = links_of(out, &owner).count();
    let at = owner.join(&[Seg { index, ..seg }]);
    // The same target linked twice with the same type is one LINK.
    if let Some((p, _)) = links_of(out, &owner).find(|(_, l)| {
        l.text("type") == Some(link.kind.as_str())
            && l.text("target") == Some(target_uri(reference).as_str())
    }) {
        return Some(p.clone());
    }
    out.put(
        at.clone(),
        Leaf::new(
            LINK,
            [
                ("meaning", json!(link.meaning)),
                ("type", json!(link.kind)),
                ("target", json!(target_uri(reference))),
            ],
        ),
    );
    Some(at)
}

/// The LINK leaves directly below `owner`.
pub fn links_of<'a>(
    inst: &'a Instance,
    owner: &'a InstancePath,
) -> impl Iterator<Item = (&'a InstancePath, &'a Leaf)> + 'a {
    inst.below(owner).filter(move |(p, l)| {
        p.0.len() == owner.0.len() + 1
            && p.0.last().is_some_and(|s| &*s.attr == "links")
            && l.rm_type.as_deref() == Some(LINK)
    })
}

/// Canonical JSON of a LINK leaf.
pub fn canonical_json(leaf: &Leaf) -> Value {
    let text = |k: &str| leaf.text(k).unwrap_or_default();
    json!({
        "_type": "LINK",
        "meaning": {"_type": "DV_TEXT", "value": text("meaning")},
        "type": {"_type": "DV_TEXT", "value": text("type")},
        "target": {"_type": "DV_EHR_URI", "value": text("target")},
    })
}

/// A LINK leaf from its canonical JSON.
pub fn leaf_from_canonical(v: &Value) -> Leaf {
    let text = |k: &str| {
        v.get(k)
            .and_then(|x| x.get("value"))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned()
    };
    Leaf::new(
        LINK,
        [
            ("meaning", Value::String(text("meaning"))),
            ("type", Value::String(text("type"))),
            ("target", Value::String(text("target"))),
        ],
    )
}

/// The template check of a LINK leaf: it hangs off a node the template
/// knows (or the composition), and has a meaning, a type and a target.
/// `None` when it is fine.
pub(crate) fn check_link(
    path: &InstancePath,
    leaf: &Leaf,
    index: &super::template_index::TemplateIndex,
) -> Option<(&'static str, String)> {
    let Some((owner, _)) = split_links(path) else {
        return Some((
            "template.unknown-path",
            "a LINK outside a `links` attribute".to_owned(),
        ));
    };
    if !owner.0.is_empty() && index.node(&owner.aql()).is_none() {
        return Some((
            "template.unknown-path",
            "LINK on a node not in the template".to_owned(),
        ));
    }
    let filled = |k: &str| leaf.text(k).is_some_and(|v| !v.is_empty());
    if !filled("meaning") || !filled("type") {
        return Some(("template.link", "LINK without meaning or type".to_owned()));
    }
    // The RM wants an `ehr:` URI; EHRbase stores any target (its own
    // test compositions link to `target1`), so only an empty one is
    // refused.
    if !filled("target") {
        return Some(("template.link", "LINK without target".to_owned()));
    }
    None
}

/// The FLAT path of a LINK leaf: its node's path and `/_link:N` (EHRbase's
/// FLAT spelling; the fields are `|meaning`, `|type`, `|target`). `None`
/// for other leaves.
pub(crate) fn flat_base(
    index: &super::template_index::TemplateIndex,
    path: &InstancePath,
    leaf: &Leaf,
) -> Option<String> {
    if leaf.rm_type.as_deref() != Some(LINK) {
        return None;
    }
    let (owner, seg) = split_links(path)?;
    Some(format!("{}/_link:{}", index.flat_path(&owner), seg.index))
}

/// The instance path of a FLAT `.../_link:N` path, when its node is in the
/// template.
pub(crate) fn flat_instance_path(
    index: &super::template_index::TemplateIndex,
    flat: &str,
) -> Option<InstancePath> {
    let (owner, n) = flat.rsplit_once("/_link:")?;
    let n: usize = n.parse().ok()?;
    let owner = index.instance_path(owner)?;
    Some(owner.join(&[Seg {
        attr: "links".into(),
        node: "".into(),
        index: n,
    }]))
}

// === impl Run (FHIR -> openEHR) ===

impl super::to_openehr::Run<'_> {
    /// Runs a `link` method: one LINK per selected node that names a
    /// resource; the node's id (or reference) is what was used.
    pub(crate) fn link(&mut self, link: &Link, nodes: &[Node<'_>], base: &InstancePath) {
        for node in nodes {
            // A contained resource lives inside this one: no composition
            // of its own to link to, and its id is local.
            if node.value.get("resourceType").is_some() && node.loc.contains(".contained[") {
                self.warn(&node.loc, "link target is a contained resource; not mapped");
                continue;
            }
            let Some(reference) = fhir_reference(node) else {
                self.warn(&node.loc, "link target has no id or reference; not mapped");
                continue;
            };
            match put_link(&mut self.out, base, link, &reference) {
                Some(at) => {
                    let used = if node.value.get("resourceType").is_some() {
                        format!("{}.id", node.loc)
                    } else {
                        format!("{}.reference", node.loc)
                    };
                    self.out.sources.insert(at, used.clone());
                    self.consumed.push(used);
                }
                None => self.warn(&node.loc, "link path does not end in `links`; not mapped"),
            }
        }
    }
}

// === impl RevRun (openEHR -> FHIR) ===

impl<'s> super::to_fhir::RevRun<'s> {
    /// Runs a `link` method backwards: each LINK of the method's type below
    /// the node becomes the `reference` of the Reference the FHIR path
    /// names.
    pub(crate) fn link(
        &mut self,
        link: &Link,
        path: &super::fhirpath::Path,
        base: &InstancePath,
        scope: &super::to_fhir::RevScope,
    ) {
        let Some((owner, _)) = split_links(base) else {
            return;
        };
        let found: Vec<(InstancePath, String)> = links_of(self.input, &owner)
            .filter(|(_, l)| l.text("type") == Some(link.kind.as_str()))
            .filter_map(|(p, l)| {
                let r = reference_of(l.text("target")?)?;
                Some((p.clone(), r.to_owned()))
            })
            .collect();
        for (at, reference) in found {
            let start = match path.root {
                super::fhirpath::Root::Resource => &scope.resource,
                _ => &scope.fhir,
            };
            let created = super::fhir_write::create(
                &mut self.doc,
                &start.ptr,
                start.ty.as_deref(),
                &path.steps,
                Some("Reference"),
                true,
            );
            let element = created
                .and_then(|c| c.last().cloned())
                .unwrap_or_else(|| start.clone());
            if element.ty.as_deref() != Some("Reference") {
                // A resource (the referenced one's `$fhirRoot`): its id is
                // the contained id the reference method chose; the LINK is
                // reported unmapped.
                continue;
            }
            super::fhir_write::set(
                &mut self.doc,
                &element.ptr,
                json!({ "reference": reference }),
            );
            self.consumed.insert(at);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fhirconnect::openehr_path::MappingPath;

    fn path(text: &str) -> InstancePath {
        InstancePath(MappingPath::parse(text).unwrap().segs)
    }

    fn case_link() -> Link {
        Link {
            meaning: "the case this composition relates to".into(),
            kind: "case".into(),
        }
    }

    #[test]
    fn references_of_resources_and_reference_elements() {
        let enc = json!({"resourceType": "Encounter", "id": "e1"});
        assert_eq!(
            fhir_reference(&Node::resource(&enc)).as_deref(),
            Some("Encounter/e1")
        );
        let no_id = json!({"resourceType": "Encounter"});
        assert_eq!(fhir_reference(&Node::resource(&no_id)), None);
        let r = json!({"reference": "Encounter/e2"});
        let node = Node {
            value: &r,
            ty: Some("Reference"),
            loc: "Condition.encounter".into(),
            wrapped: None,
        };
        assert_eq!(fhir_reference(&node).as_deref(), Some("Encounter/e2"));
        let local = json!({"reference": "#e3"});
        let node = Node {
            value: &local,
            ty: Some("Reference"),
            loc: "x".into(),
            wrapped: None,
        };
        assert_eq!(fhir_reference(&node), None);
        assert_eq!(
            reference_of(&target_uri("Encounter/e1")),
            Some("Encounter/e1")
        );
        assert_eq!(reference_of("ehr://other"), Some("/other"));
        assert_eq!(reference_of("http://x"), None);
    }

    #[test]
    fn links_append_below_their_node_once_per_target() {
        let mut inst = Instance::default();
        let p = path(
            "context/other_context[at0001]/items[openEHR-EHR-CLUSTER.case_identification.v0]/links",
        );
        let a = put_link(&mut inst, &p, &case_link(), "Encounter/e1").unwrap();
        let again = put_link(&mut inst, &p, &case_link(), "Encounter/e1").unwrap();
        assert_eq!(a, again);
        let b = put_link(&mut inst, &p, &case_link(), "Encounter/e2").unwrap();
        assert_ne!(a, b);
        assert_eq!(b.0.last().unwrap().index, 1);
        let (owner, _) = split_links(&p).unwrap();
        assert_eq!(links_of(&inst, &owner).count(), 2);
        let leaf = &inst.leaves[&a];
        assert_eq!(leaf.text("target"), Some("ehr:/Encounter/e1"));
        assert_eq!(leaf.text("type"), Some("case"));
        // Not a links path: nothing written.
        assert!(put_link(
            &mut inst,
            &path("context/other_context[at0001]"),
            &case_link(),
            "x"
        )
        .is_none());
    }

    #[test]
    fn canonical_json_round_trips() {
        let mut inst = Instance::default();
        let p = path("content[openEHR-EHR-EVALUATION.x.v1]/links");
        let at = put_link(&mut inst, &p, &case_link(), "Encounter/e1").unwrap();
        let leaf = &inst.leaves[&at];
        let v = canonical_json(leaf);
        assert_eq!(v["_type"], "LINK");
        assert_eq!(v["target"]["_type"], "DV_EHR_URI");
        assert_eq!(&leaf_from_canonical(&v), leaf);
    }
}
