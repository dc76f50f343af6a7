//! Creating FHIR elements along a FHIRPath (the openEHR -> FHIR direction).
//!
//! Elements are addressed by JSON pointer into the document being built.
//! Repeating elements (from the schema table) become arrays; the last
//! repeating step of a path gets a new item, earlier ones reuse the last
//! item (so `component.interpretation.text` fills the current component).
//! Choice elements pick their variant from an `as(Type)` step or from the
//! data value's type (`value` + DV_QUANTITY -> `valueQuantity`).

use serde_json::{Map, Value};

use super::fhir_schema::{same_type, schema};
use super::fhirpath::{push_decimal, Step};

/// A created element: its pointer and FHIR type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Created {
    /// JSON pointer into the document.
    pub ptr: String,
    /// FHIR type, if known.
    pub ty: Option<String>,
}

/// Creates the elements of `steps` below the element at `ptr` (of type
/// `ty`), returning one [`Created`] per member step. `leaf_ty` is the FHIR
/// type wanted for the last element when it is a choice.
/// Returns `None` if a step cannot be created (unknown element, a
/// primitive in the way).
pub fn create(
    doc: &mut Value,
    ptr: &str,
    ty: Option<&str>,
    steps: &[Step],
    leaf_ty: Option<&str>,
    append_last: bool,
) -> Option<Vec<Created>> {
    let resolved = resolve(ty, steps, leaf_ty)?;
    let last_array = resolved.iter().rposition(|r| r.array);
    let mut out = Vec::with_capacity(resolved.len());
    let mut cur_ptr = String::with_capacity(ptr.len() + 32);
    cur_ptr.push_str(ptr);
    // Descend once from `ptr` instead of resolving the growing pointer
    // from the root at every step.
    let mut cur = pointer_mut(doc, ptr)?;
    for (k, r) in resolved.iter().enumerate() {
        let is_last = k + 1 == resolved.len();
        if cur.is_null() {
            *cur = Value::Object(Map::new());
        }
        let obj = cur.as_object_mut()?;
        let placeholder = if is_last {
            Value::Null
        } else {
            Value::Object(Map::new())
        };
        cur_ptr.push('/');
        // FHIR property names never hold `~` or `/`; escape only if one does.
        if r.prop.contains(['~', '/']) {
            cur_ptr.push_str(&r.prop.replace('~', "~0").replace('/', "~1"));
        } else {
            cur_ptr.push_str(r.prop);
        }
        // `entry` would allocate the key on every call; it is only
        // needed when the member is new.
        if member(obj, r.prop).is_none() {
            let empty = if r.array {
                Value::Array(Vec::new())
            } else {
                Value::Null
            };
            obj.insert(r.prop.to_owned(), empty);
        }
        let slot = member_mut(obj, r.prop)?;
        cur = if r.array {
            let arr = slot.as_array_mut()?;
            if arr.is_empty() || (append_last && Some(k) == last_array) {
                arr.push(placeholder);
            }
            let i = arr.len() - 1;
            cur_ptr.push('/');
            push_decimal(&mut cur_ptr, i);
            arr.get_mut(i)?
        } else {
            if slot.is_null() && !is_last {
                *slot = placeholder;
            }
            slot
        };
        out.push(Created {
            ptr: cur_ptr.clone(),
            ty: r.ty.map(str::to_owned),
        });
    }
    Some(out)
}

/// Objects up to this many members are searched by a scan of their
/// (ordered) entries rather than a hash lookup: serde_json's maps hash
/// with SipHash, which costs more than comparing a handful of short keys,
/// and FHIR objects are mostly small.
const SCAN_MEMBERS: usize = 8;

/// `obj.get(key)`, by scan for small objects (see [`SCAN_MEMBERS`]).
pub(crate) fn member<'v>(obj: &'v Map<String, Value>, key: &str) -> Option<&'v Value> {
    if obj.len() <= SCAN_MEMBERS {
        obj.iter().find(|(k, _)| k.as_str() == key).map(|(_, v)| v)
    } else {
        obj.get(key)
    }
}

/// `value.get(key)` for an object, by scan for small objects (see
/// [`SCAN_MEMBERS`]).
pub(crate) fn get<'v>(value: &'v Value, key: &str) -> Option<&'v Value> {
    match value {
        Value::Object(o) => member(o, key),
        _ => None,
    }
}

/// `obj.get_mut(key)`, by scan for small objects (see [`SCAN_MEMBERS`]).
pub(crate) fn member_mut<'v>(obj: &'v mut Map<String, Value>, key: &str) -> Option<&'v mut Value> {
    if obj.len() <= SCAN_MEMBERS {
        obj.iter_mut()
            .find(|(k, _)| k.as_str() == key)
            .map(|(_, v)| v)
    } else {
        obj.get_mut(key)
    }
}

struct Resolved<'a> {
    prop: &'a str,
    ty: Option<&'a str>,
    array: bool,
}

/// Resolves property names, types and array-ness of the member steps.
fn resolve<'a>(
    ty: Option<&'a str>,
    steps: &'a [Step],
    leaf_ty: Option<&'a str>,
) -> Option<Vec<Resolved<'a>>> {
    let s = schema();
    let mut cur_ty = ty;
    let member_count = steps
        .iter()
        .filter(|st| matches!(st, Step::Member(_)))
        .count();
    let mut out = Vec::with_capacity(member_count);
    for (i, st) in steps.iter().enumerate() {
        let Step::Member(name) = st else { continue };
        let forced = match steps.get(i + 1) {
            Some(Step::As(t)) => Some(t.as_str()),
            _ => None,
        };
        let is_last = out.len() + 1 == member_count;
        let want = forced.or(if is_last { leaf_ty } else { None });
        let r = match cur_ty {
            Some(owner) if s.is_complex(owner) => {
                if let Some(el) = s.element(owner, name) {
                    Resolved {
                        prop: el.property,
                        ty: Some(el.ty),
                        array: el.array,
                    }
                } else {
                    let variants = s.choices(owner, name);
                    let pick = want
                        .and_then(|w| variants.iter().find(|v| same_type(v.ty, w)))
                        .or_else(|| variants.first())?;
                    Resolved {
                        prop: pick.property,
                        ty: Some(pick.ty),
                        array: pick.array,
                    }
                }
            }
            _ => Resolved {
                prop: name.as_str(),
                ty: None,
                array: false,
            },
        };
        cur_ty = match r.ty {
            Some("ResourceList") => None,
            t => t,
        };
        out.push(Resolved { ty: cur_ty, ..r });
    }
    Some(out)
}

/// Sets the element at `ptr` to `value`; an object value is merged into an
/// existing object (so manual constants and converted values combine).
pub fn set(doc: &mut Value, ptr: &str, value: Value) -> bool {
    let Some(slot) = pointer_mut(doc, ptr) else {
        return false;
    };
    match (slot, value) {
        (Value::Object(existing), Value::Object(new)) => {
            for (k, v) in new {
                existing.insert(k, v);
            }
        }
        (slot, v) => *slot = v,
    }
    true
}

/// `Value::pointer_mut` without its per-token allocation: the pointers
/// here are built by [`create`] and hold a `~` escape only in the rare
/// property that needs one (then the token is unescaped as RFC 6901 says).
pub fn pointer_mut<'v>(doc: &'v mut Value, ptr: &str) -> Option<&'v mut Value> {
    if ptr.is_empty() {
        return Some(doc);
    }
    let rest = ptr.strip_prefix('/')?;
    let mut cur = doc;
    for token in rest.split('/') {
        cur = match cur {
            Value::Object(o) => {
                if token.contains('~') {
                    o.get_mut(&token.replace("~1", "/").replace("~0", "~"))?
                } else {
                    member_mut(o, token)?
                }
            }
            Value::Array(a) => {
                let i: usize = token.parse().ok()?;
                a.get_mut(i)?
            }
            _ => return None,
        };
    }
    Some(cur)
}

/// Removes nulls and empty objects/arrays left by elements that were
/// created but never filled.
pub fn prune(v: &mut Value) -> bool {
    match v {
        Value::Null => false,
        Value::Object(o) => {
            o.retain(|_, x| prune(x));
            !o.is_empty()
        }
        Value::Array(a) => {
            a.retain_mut(prune);
            !a.is_empty()
        }
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pointer_mut_agrees_with_serde_json() {
        let mut doc = serde_json::json!({"a": [{"b/c": 1, "d~e": 2, "f": {"g": 3}}], "": 4});
        for ptr in [
            "",
            "/a",
            "/a/0",
            "/a/0/b~1c",
            "/a/0/d~0e",
            "/a/0/f/g",
            "/a/1",
            "/x",
            "a",
            "/a/x",
            "/",
        ] {
            let want = doc.clone().pointer_mut(ptr).map(|v| v.clone());
            assert_eq!(pointer_mut(&mut doc, ptr).map(|v| v.clone()), want, "{ptr}");
        }
    }
    use crate::fhirconnect::fhirpath::Path;
    use serde_json::json;

    #[test]
    fn member_lookup_agrees_with_the_map_for_small_and_large_objects() {
        for n in [0usize, 1, SCAN_MEMBERS, SCAN_MEMBERS + 1, 40] {
            let mut obj = Map::new();
            for i in 0..n {
                obj.insert(format!("k{i}"), json!(i));
            }
            let v = Value::Object(obj.clone());
            for key in ["k0", "k7", "k8", "k39", "nope", ""] {
                assert_eq!(member(&obj, key), obj.get(key), "{n} {key}");
                assert_eq!(get(&v, key), v.get(key), "{n} {key}");
                let want = obj.get(key).cloned();
                assert_eq!(member_mut(&mut obj, key).map(|x| x.clone()), want);
            }
        }
        assert_eq!(get(&json!([1]), "0"), None);
    }

    #[test]
    fn creates_arrays_choices_and_objects() {
        let mut doc = json!({"resourceType": "Observation"});
        let p = Path::parse("$resource.component.value").unwrap();
        let c = create(
            &mut doc,
            "",
            Some("Observation"),
            &p.steps,
            Some("Quantity"),
            true,
        )
        .unwrap();
        assert_eq!(c[1].ptr, "/component/0/valueQuantity");
        assert!(set(&mut doc, &c[1].ptr, json!({"value": 1})));
        let c2 = create(
            &mut doc,
            "",
            Some("Observation"),
            &p.steps,
            Some("Quantity"),
            true,
        )
        .unwrap();
        assert_eq!(c2[0].ptr, "/component/1");
        let code = Path::parse("code.coding.code").unwrap();
        let c3 = create(
            &mut doc,
            &c2[0].ptr,
            c2[0].ty.as_deref(),
            &code.steps,
            None,
            false,
        )
        .unwrap();
        assert_eq!(c3[2].ptr, "/component/1/code/coding/0/code");
        set(&mut doc, &c3[2].ptr, json!("8480-6"));
        prune(&mut doc);
        assert_eq!(
            doc["component"][1],
            json!({"code": {"coding": [{"code": "8480-6"}]}})
        );
        let e = Path::parse("effective.as(DateTime)").unwrap();
        let c4 = create(&mut doc, "", Some("Observation"), &e.steps, None, true).unwrap();
        assert_eq!(c4[0].ptr, "/effectiveDateTime");
    }
}
