//! Applies FHIRconnect extension files to the model files they extend.
//!
//! An extension file (`type: extension`, `spec.extends: <model name>`)
//! carries a project's changes to one model: its methods say how they
//! change the model with `extension:`
//! - `add`: the method is added at the bottom of the model's methods; a
//!   model method mapping the same FHIR and openEHR paths is replaced
//!   ("add methods can also overwrite prior methods to the same path");
//! - `overwrite`: the method replaces the model method with the same name;
//! - `append`: the method's `followedBy` methods are appended to the
//!   `followedBy` of the model method `appendTo` names (`parent.child`
//!   for a nested one).
//!
//! The result is an ordinary model, so the compiler and both translation
//! directions never see extensions. A target that does not exist fails
//! the set at load time with the extension file and line: an extension
//! that silently changed nothing would map less than its author wrote.

use super::loader::{LoadError, LoadedFile};
use super::model::{ExtensionMethod, FileKind, FollowedBy, Mapping};

/// Checks an extension file on its own: it names the model it extends,
/// every top-level method says how it changes that model, and `appendTo`
/// goes with `append` (and only there).
pub(crate) fn check_extension_file(f: &LoadedFile) -> Result<(), LoadError> {
    if f.doc.spec.extends.is_none() {
        return Err(f.invalid("spec:", "extension file without spec.extends"));
    }
    for m in &f.doc.mappings {
        let Some(how) = m.extension else {
            return Err(f.invalid_method(
                &m.name,
                None,
                &format!(
                    "method `{}` of an extension file has no `extension:`",
                    m.name
                ),
            ));
        };
        match (how, &m.append_to) {
            (ExtensionMethod::Append, None) => {
                return Err(f.invalid_method(
                    &m.name,
                    None,
                    &format!("append method `{}` without `appendTo`", m.name),
                ))
            }
            (ExtensionMethod::Append, Some(_)) if m.followed_by.is_none() => {
                return Err(f.invalid_method(
                    &m.name,
                    None,
                    &format!("append method `{}` without `followedBy`", m.name),
                ))
            }
            (ExtensionMethod::Add | ExtensionMethod::Overwrite, Some(_)) => {
                return Err(f.invalid_method(
                    &m.name,
                    Some("appendTo:"),
                    "`appendTo` on a method that is not `append`",
                ))
            }
            _ => {}
        }
        for c in children(m) {
            no_extension_keys(f, c)?;
        }
    }
    Ok(())
}

/// Model files and nested methods carry no extension keys: they would be
/// ignored, so they are refused. The one exception is `extension: add` on
/// a method nested in an extension file's method (the KDS files write it):
/// the nested method is added with its parent anyway, so the key says
/// nothing more and is dropped when the extension is applied.
pub(crate) fn no_extension_keys(f: &LoadedFile, m: &Mapping) -> Result<(), LoadError> {
    let nested_add = f.doc.kind == FileKind::Extension
        && m.extension == Some(ExtensionMethod::Add)
        && m.append_to.is_none();
    if !nested_add && (m.extension.is_some() || m.append_to.is_some()) {
        let what = if f.doc.kind == FileKind::Extension {
            "extension keys on a nested method"
        } else {
            "extension keys in a model file"
        };
        return Err(f.invalid_method(&m.name, None, &format!("{what} (`{}`)", m.name)));
    }
    children(m).try_for_each(|c| no_extension_keys(f, c))
}

/// Drops the extension keys of `m` and its nested methods (checked by
/// [`no_extension_keys`]: only a nested `add` can be there).
fn strip_extension_keys(m: &mut Mapping) {
    m.extension = None;
    m.append_to = None;
    let children = m
        .followed_by
        .iter_mut()
        .flat_map(|fb| fb.mappings.iter_mut())
        .chain(m.reference.iter_mut().flat_map(|r| r.mappings.iter_mut()));
    for c in children {
        strip_extension_keys(c);
    }
}

/// Applies `ext`'s methods, in file order, to `model`'s methods.
pub(crate) fn apply(model: &mut LoadedFile, ext: &LoadedFile) -> Result<(), LoadError> {
    for m in &ext.doc.mappings {
        let mut method = m.clone();
        strip_extension_keys(&mut method);
        match m.extension {
            Some(ExtensionMethod::Add) | None => {
                let methods = &mut model.doc.mappings;
                if let Some(i) = methods.iter().position(|old| same_paths(old, &method)) {
                    methods.remove(i);
                }
                methods.push(method);
            }
            Some(ExtensionMethod::Overwrite) => {
                let Some(target) = find_mut(&mut model.doc.mappings, &m.name) else {
                    return Err(missing(ext, &m.name, &m.name, None, model));
                };
                *target = method;
            }
            Some(ExtensionMethod::Append) => {
                let to = m.append_to.as_deref().unwrap_or_default();
                let Some(target) = find_mut(&mut model.doc.mappings, to) else {
                    return Err(missing(ext, &m.name, to, Some("appendTo:"), model));
                };
                let added = method.followed_by.map(|fb| fb.mappings).unwrap_or_default();
                target
                    .followed_by
                    .get_or_insert_with(|| FollowedBy { mappings: vec![] })
                    .mappings
                    .extend(added);
            }
        }
    }
    Ok(())
}

/// Both methods map the same FHIR path to the same openEHR path, and the
/// new one `b` takes the place of `a`: unless both carry conditions and
/// they differ. Two such methods (the KDS `referenzPrimaerdiagnose` /
/// `referenzNebendiagnose`: one for Conditions without a related one, one
/// for those with) both stay: each maps what the other leaves.
fn same_paths(a: &Mapping, b: &Mapping) -> bool {
    let same_with = match (&a.with, &b.with) {
        (Some(x), Some(y)) => {
            (x.fhir.is_some() || x.openehr.is_some()) && x.fhir == y.fhir && x.openehr == y.openehr
        }
        _ => false,
    };
    // Conditions have no equality of their own; their debug form is
    // field by field.
    let conditions = |m: &Mapping| {
        format!(
            "{:?}{:?}{:?}",
            m.fhir_condition, m.fhir_conditions, m.openehr_condition
        )
    };
    let conditional = |m: &Mapping| {
        m.fhir_condition.is_some() || !m.fhir_conditions.is_empty() || m.openehr_condition.is_some()
    };
    same_with && (!conditional(a) || !conditional(b) || conditions(a) == conditions(b))
}

/// The method named `path`: a top-level name, or `parent.child` through
/// `followedBy` (and `reference`) methods. A whole name containing dots is
/// tried first.
fn find_mut<'m>(methods: &'m mut [Mapping], path: &str) -> Option<&'m mut Mapping> {
    if let Some(i) = methods.iter().position(|m| m.name == path) {
        return methods.get_mut(i);
    }
    let mut split = path.match_indices('.').map(|(i, _)| i);
    let i = split.find(|&i| methods.iter().any(|m| m.name == path[..i]))?;
    let (head, rest) = (&path[..i], &path[i + 1..]);
    let parent = methods.iter_mut().find(|m| m.name == head)?;
    if let Some(fb) = parent.followed_by.as_mut() {
        if let Some(found) = find_mut(&mut fb.mappings, rest) {
            return Some(found);
        }
    }
    let r = parent.reference.as_mut()?;
    find_mut(&mut r.mappings, rest)
}

/// The extension method `method` targets `target`, which `model` lacks.
fn missing(
    ext: &LoadedFile,
    method: &str,
    target: &str,
    key: Option<&str>,
    model: &LoadedFile,
) -> LoadError {
    let how = if key.is_some() {
        "appendTo"
    } else {
        "overwrite"
    };
    ext.invalid_method(
        method,
        key,
        &format!(
            "{how} target `{target}`: no such method in model `{}` ({})",
            model.doc.metadata.name, model.file
        ),
    )
}

fn children(m: &Mapping) -> impl Iterator<Item = &Mapping> {
    m.followed_by
        .iter()
        .flat_map(|fb| &fb.mappings)
        .chain(m.reference.iter().flat_map(|r| &r.mappings))
}

#[cfg(test)]
mod tests {
    fn method(yaml: &str) -> Mapping {
        serde_yaml::from_str(yaml).unwrap()
    }

    #[test]
    fn add_replaces_same_paths_unless_both_conditions_differ() {
        let plain = method("name: a\nwith:\n  openehr: \"$archetype/items[at0063]\"\n");
        let primary = method("name: p\nwith:\n  openehr: \"$archetype/items[at0063]\"\nfhirCondition:\n  targetRoot: \"$resource\"\n  targetAttribute: \"extension.url\"\n  operator: \"not of\"\n  criteria: \"http://r\"\n");
        let secondary = method("name: s\nwith:\n  openehr: \"$archetype/items[at0063]\"\nfhirCondition:\n  targetRoot: \"$resource\"\n  targetAttribute: \"extension.url\"\n  operator: \"one of\"\n  criteria: \"http://r\"\n");
        assert!(
            !same_paths(&primary, &secondary),
            "both conditional, different conditions"
        );
        assert!(same_paths(&primary, &primary.clone()));
        assert!(same_paths(&primary, &plain), "unconditional replaces");
        assert!(
            same_paths(&plain, &secondary),
            "conditional replaces unconditional"
        );
    }

    #[test]
    fn nested_add_keys_are_accepted_and_dropped() {
        let mut m = method("name: a\nextension: add\nwith:\n  fhir: x\nfollowedBy:\n  mappings:\n    - name: b\n      extension: add\n      with:\n        fhir: y\n");
        strip_extension_keys(&mut m);
        assert!(m.extension.is_none());
        assert!(m.followed_by.unwrap().mappings[0].extension.is_none());
    }

    use super::*;
    use crate::fhirconnect::loader::{load_file, LoadLimits, MappingSet};

    const MODEL: &str = "grammar: FHIRConnect/v1.0.0
type: model
metadata:
  name: EVALUATION.x.v1
  version: 1
spec:
  system: FHIR
  version: R4
  openEhrConfig:
    archetype: openEHR-EHR-EVALUATION.x.v1
mappings:
  - name: \"a\"
    with:
      fhir: \"$resource.code\"
      openehr: \"$archetype/data[at0001]/items[at0002]\"
  - name: \"b\"
    with:
      fhir: \"$resource.note\"
      openehr: \"$archetype/data[at0001]/items[at0003]\"
    followedBy:
      mappings:
        - name: \"text\"
          with:
            fhir: \"text\"
            openehr: \"$archetype/data[at0001]/items[at0003]\"
";

    const EXT_HEAD: &str = "grammar: FHIRConnect/v1.0.0
type: extension
metadata:
  name: P_x
  version: 1
spec:
  system: FHIR
  version: R4
  extends: EVALUATION.x.v1
";

    const CTX: &str = "grammar: FHIRConnect/v1.0.0
type: context
metadata:
  name: c
  version: 1
spec:
  system: FHIR
  version: R4
context:
  profile:
    url: Condition
  template:
    id: T
  archetypes:
    - EVALUATION.x.v1
  extensions:
    - P_x
  start: EVALUATION.x.v1
";

    fn set(ext_body: &str) -> Result<MappingSet, LoadError> {
        let ext = format!("{EXT_HEAD}{ext_body}");
        MappingSet::from_sources(
            [("c.context.yml", CTX), ("x.yml", MODEL), ("p.yml", &ext)],
            &LoadLimits::default(),
        )
    }

    fn names(ms: &[Mapping]) -> Vec<&str> {
        ms.iter().map(|m| m.name.as_str()).collect()
    }

    #[test]
    fn add_goes_to_the_bottom_and_replaces_a_method_with_the_same_paths() {
        let s = set("mappings:
  - name: \"c\"
    extension: \"add\"
    with:
      fhir: \"$resource.subject\"
      openehr: \"$archetype/data[at0001]/items[at0009]\"
  - name: \"a2\"
    extension: \"add\"
    with:
      fhir: \"$resource.code\"
      openehr: \"$archetype/data[at0001]/items[at0002]\"
")
        .unwrap();
        let m = s.model("EVALUATION.x.v1").unwrap();
        assert_eq!(names(&m.doc.mappings), ["b", "c", "a2"]);
        assert!(m.doc.mappings.iter().all(|m| m.extension.is_none()));
    }

    #[test]
    fn overwrite_replaces_the_method_with_the_same_name_in_place() {
        let s = set("mappings:
  - name: \"a\"
    extension: \"overwrite\"
    with:
      fhir: \"$resource.code.coding\"
      openehr: \"$archetype/data[at0001]/items[at0004]\"
")
        .unwrap();
        let m = s.model("EVALUATION.x.v1").unwrap();
        assert_eq!(names(&m.doc.mappings), ["a", "b"]);
        let w = m.doc.mappings[0].with.as_ref().unwrap();
        assert_eq!(w.fhir.as_deref(), Some("$resource.code.coding"));
    }

    #[test]
    fn append_extends_the_followed_by_of_the_named_method() {
        let s = set("mappings:
  - name: \"more\"
    extension: \"append\"
    appendTo: \"b\"
    followedBy:
      mappings:
        - name: \"author\"
          with:
            fhir: \"author\"
            openehr: \"$archetype/data[at0001]/items[at0005]\"
  - name: \"deeper\"
    extension: \"append\"
    appendTo: \"b.text\"
    followedBy:
      mappings:
        - name: \"leaf\"
          with:
            fhir: \"id\"
            openehr: \"$archetype/data[at0001]/items[at0006]\"
")
        .unwrap();
        let m = s.model("EVALUATION.x.v1").unwrap();
        let b = &m.doc.mappings[1];
        let fb = &b.followed_by.as_ref().unwrap().mappings;
        assert_eq!(names(fb), ["text", "author"]);
        let deeper = &fb[0].followed_by.as_ref().unwrap().mappings;
        assert_eq!(names(deeper), ["leaf"]);
    }

    #[test]
    fn a_missing_target_names_the_extension_file_and_line() {
        let e = set("mappings:
  - name: \"zz\"
    extension: \"overwrite\"
    with:
      fhir: \"$resource.code\"
")
        .unwrap_err();
        assert!(
            matches!(&e, LoadError::Invalid { file, line: 11, message } if file == "p.yml" && message.contains("`zz`")),
            "{e}"
        );
        let e = set("mappings:
  - name: \"m\"
    extension: \"append\"
    appendTo: \"b.nothing\"
    followedBy:
      mappings: []
")
        .unwrap_err();
        assert!(
            matches!(&e, LoadError::Invalid { line: 13, message, .. } if message.contains("b.nothing")),
            "{e}"
        );
    }

    #[test]
    fn extension_files_are_checked_alone() {
        let limits = LoadLimits::default();
        let no_key = format!("{EXT_HEAD}mappings:\n  - name: \"a\"\n    with:\n      fhir: x\n");
        let e = load_file("p.yml", &no_key, &limits).unwrap_err();
        assert!(matches!(&e, LoadError::Invalid { line: 11, .. }), "{e}");
        let no_to = format!(
            "{EXT_HEAD}mappings:\n  - name: \"a\"\n    extension: \"append\"\n    followedBy:\n      mappings: []\n"
        );
        let e = load_file("p.yml", &no_to, &limits).unwrap_err();
        assert!(
            matches!(&e, LoadError::Invalid { message, .. } if message.contains("appendTo")),
            "{e}"
        );
        let bad = format!("{EXT_HEAD}mappings:\n  - name: \"a\"\n    extension: \"merge\"\n");
        let e = load_file("p.yml", &bad, &limits).unwrap_err();
        assert!(
            matches!(&e, LoadError::Unsupported { line: 12, construct, .. } if construct == "`extension: merge`"),
            "{e}"
        );
        let in_model = MODEL.replace(
            "  - name: \"b\"\n",
            "  - name: \"b\"\n    extension: \"add\"\n",
        );
        let e = load_file("x.yml", &in_model, &limits).unwrap_err();
        assert!(
            matches!(&e, LoadError::Invalid { message, .. } if message.contains("model file")),
            "{e}"
        );
        let no_extends = EXT_HEAD.replace("  extends: EVALUATION.x.v1\n", "");
        let e = load_file("p.yml", &no_extends, &limits).unwrap_err();
        assert!(
            matches!(&e, LoadError::Invalid { message, .. } if message.contains("extends")),
            "{e}"
        );
    }

    #[test]
    fn the_context_names_existing_extensions_of_existing_models() {
        let ext = format!("{EXT_HEAD}mappings: []\n");
        let limits = LoadLimits::default();
        let ctx = CTX.replace("    - P_x\n", "    - P_missing\n");
        let e = MappingSet::from_sources(
            [
                ("c.context.yml", ctx.as_str()),
                ("x.yml", MODEL),
                ("p.yml", &ext),
            ],
            &limits,
        )
        .unwrap_err();
        assert!(
            matches!(&e, LoadError::Invalid { file, line: 17, message } if file == "c.context.yml" && message.contains("P_missing")),
            "{e}"
        );
        let other = ext.replace("extends: EVALUATION.x.v1", "extends: EVALUATION.y.v1");
        let e = MappingSet::from_sources(
            [("c.context.yml", CTX), ("x.yml", MODEL), ("p.yml", &other)],
            &limits,
        )
        .unwrap_err();
        assert!(
            matches!(&e, LoadError::Invalid { file, line: 9, message } if file == "p.yml" && message.contains("EVALUATION.y.v1")),
            "{e}"
        );
        // Not named by the context: loaded, not applied.
        let unnamed = CTX.replace("  extensions:\n    - P_x\n", "");
        let add = format!("{EXT_HEAD}mappings:\n  - name: \"c\"\n    extension: \"add\"\n    with:\n      fhir: \"$resource.id\"\n");
        let s = MappingSet::from_sources(
            [
                ("c.context.yml", unnamed.as_str()),
                ("x.yml", MODEL),
                ("p.yml", &add),
            ],
            &limits,
        )
        .unwrap();
        assert_eq!(
            names(&s.model("EVALUATION.x.v1").unwrap().doc.mappings),
            ["a", "b"]
        );
    }
}
