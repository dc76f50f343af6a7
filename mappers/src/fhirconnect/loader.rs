//! Reads FHIRconnect files into a [`MappingSet`]: one context file, the
//! model files it names and the extension files it applies to them.
//!
//! Loading is where unsupported constructs fail: the error names the file,
//! the line and the construct, so a mapping author sees at once why a file
//! is refused instead of getting a translation that silently maps less.
//! Reading the files from disk is the caller's business (this crate does no
//! I/O): the loader takes `(file name, text)` pairs.

use super::extension;
use super::model::{FileDoc, FileKind, Mapping, UNSUPPORTED_PREFIX};
use crate::error::{Classified, Fault};

/// Bounds on mapping input; mapping files may come from outside.
#[derive(Debug, Clone, Copy)]
pub struct LoadLimits {
    /// Largest accepted file, in bytes.
    pub max_file_bytes: usize,
    /// Deepest accepted nesting of `followedBy` / `reference` methods.
    pub max_depth: usize,
    /// Most files in one set.
    pub max_files: usize,
}

impl Default for LoadLimits {
    fn default() -> Self {
        Self {
            max_file_bytes: 1 << 20,
            max_depth: 32,
            max_files: 256,
        }
    }
}

/// Why a mapping file or set was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoadError {
    /// The file uses a construct this engine does not execute yet.
    #[error("{file}:{line}: unsupported construct {construct}")]
    Unsupported {
        /// File name as given to the loader.
        file: String,
        /// 1-based line (0 if unknown).
        line: usize,
        /// The construct, as spelled in the file.
        construct: String,
    },
    /// The file is not valid FHIRconnect (bad YAML, missing or unknown key).
    #[error("{file}:{line}: {message}")]
    Invalid {
        /// File name as given to the loader.
        file: String,
        /// 1-based line (0 if unknown).
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// A bound of [`LoadLimits`] was exceeded.
    #[error("{file}: limit exceeded: {what}")]
    Limit {
        /// File name as given to the loader.
        file: String,
        /// Which limit.
        what: &'static str,
    },
}

impl Classified for LoadError {
    /// Mapping files are configuration: a bad one is our (the operator's)
    /// problem, not the client's whose resource is being translated.
    fn fault(&self) -> Fault {
        Fault::Internal
    }

    fn code(&self) -> &'static str {
        match self {
            LoadError::Unsupported { .. } => "fhirconnect.unsupported-construct",
            LoadError::Invalid { .. } => "fhirconnect.invalid-file",
            LoadError::Limit { .. } => "fhirconnect.limit",
        }
    }
}

/// One parsed file.
#[derive(Debug, Clone)]
pub struct LoadedFile {
    /// The name it was loaded under.
    pub file: String,
    /// Its content.
    pub doc: FileDoc,
    /// The text, kept to find lines for errors found after parsing.
    text: String,
}

impl LoadedFile {
    /// The 1-based line of the first occurrence of `needle`, or 0.
    pub(crate) fn line_of(&self, needle: &str) -> usize {
        self.text
            .lines()
            .position(|l| l.contains(needle))
            .map_or(0, |i| i + 1)
    }

    /// An [`LoadError::Invalid`] at the first line holding `needle`.
    pub(crate) fn invalid(&self, needle: &str, message: &str) -> LoadError {
        invalid(self, needle, message)
    }

    /// The line of the method named `name` (`- name: "x"`), or of the first
    /// line holding `key` from there on when `key` is given.
    pub(crate) fn method_line(&self, name: &str, key: Option<&str>) -> usize {
        let is_method = |l: &str| {
            let l = l.trim_start();
            l.starts_with("- name:") && l["- name:".len()..].trim().trim_matches('"') == name
        };
        let Some(start) = self.text.lines().position(is_method) else {
            return 0;
        };
        let found = key.and_then(|k| {
            self.text
                .lines()
                .skip(start)
                .position(|l| l.trim_start().starts_with(k))
        });
        start + found.unwrap_or(0) + 1
    }

    /// An [`LoadError::Invalid`] at the method named `name` (see
    /// [`Self::method_line`]).
    pub(crate) fn invalid_method(&self, name: &str, key: Option<&str>, message: &str) -> LoadError {
        LoadError::Invalid {
            file: self.file.clone(),
            line: self.method_line(name, key),
            message: message.to_owned(),
        }
    }
}

/// Parses one FHIRconnect file.
pub fn load_file(file: &str, text: &str, limits: &LoadLimits) -> Result<LoadedFile, LoadError> {
    if text.len() > limits.max_file_bytes {
        return Err(LoadError::Limit {
            file: file.to_owned(),
            what: "file size",
        });
    }
    let doc: FileDoc = serde_yaml::from_str(text).map_err(|e| yaml_error(file, text, &e))?;
    let depth = doc.mappings.iter().map(depth_of).max().unwrap_or(0);
    if depth > limits.max_depth {
        return Err(LoadError::Limit {
            file: file.to_owned(),
            what: "mapping nesting depth",
        });
    }
    let loaded = LoadedFile {
        file: file.to_owned(),
        doc,
        text: text.to_owned(),
    };
    check_file(&loaded)?;
    Ok(loaded)
}

/// Checks that need the whole file: a model names its archetype, an
/// extension the model it extends, a context has a context body, FHIRPaths
/// parse.
fn check_file(f: &LoadedFile) -> Result<(), LoadError> {
    match f.doc.kind {
        FileKind::Model => {
            if f.doc.spec.open_ehr_config.is_none() {
                return Err(invalid(f, "spec:", "model file without spec.openEhrConfig"));
            }
            for m in &f.doc.mappings {
                extension::no_extension_keys(f, m)?;
                check_mapping(f, m)?;
            }
        }
        FileKind::Extension => {
            extension::check_extension_file(f)?;
            for m in &f.doc.mappings {
                check_mapping(f, m)?;
            }
        }
        FileKind::Context => {
            if f.doc.context.is_none() {
                return Err(invalid(f, "context", "context file without context:"));
            }
        }
    }
    Ok(())
}

fn check_mapping(f: &LoadedFile, m: &Mapping) -> Result<(), LoadError> {
    // openEHR paths the engine cannot follow (a `name/value` predicate)
    // fail here, with their line, rather than when the set is compiled.
    let openehr = m.with.as_ref().and_then(|w| w.openehr.as_deref());
    let condition_root = m.openehr_condition.as_ref().map(|c| c.target_root.as_str());
    for path in openehr.into_iter().chain(condition_root) {
        if let Err(e) = super::openehr_path::MappingPath::parse(path) {
            return Err(LoadError::Unsupported {
                file: f.file.clone(),
                line: f.line_of(path),
                construct: format!("openEHR path `{path}`: {e}"),
            });
        }
    }
    if let Some(path) = m.with.as_ref().and_then(|w| w.fhir.as_deref()) {
        if let Err(e) = super::fhirpath::Path::parse(path) {
            return Err(LoadError::Unsupported {
                file: f.file.clone(),
                line: f.line_of(path),
                construct: format!("FHIRPath `{path}`: {e}"),
            });
        }
    }
    for cond in m.fhir_condition.iter().chain(&m.fhir_conditions) {
        let paths = std::iter::once(&cond.target_root)
            .chain(&cond.target_attribute)
            .chain(&cond.target_attributes);
        for p in paths {
            if let Err(e) = super::fhirpath::Path::parse(p) {
                return Err(LoadError::Unsupported {
                    file: f.file.clone(),
                    line: f.line_of(p),
                    construct: format!("FHIRPath `{p}`: {e}"),
                });
            }
        }
    }
    let children = m
        .followed_by
        .iter()
        .flat_map(|fb| &fb.mappings)
        .chain(m.reference.iter().flat_map(|r| &r.mappings));
    for c in children {
        check_mapping(f, c)?;
    }
    Ok(())
}

fn depth_of(m: &Mapping) -> usize {
    let children = m
        .followed_by
        .iter()
        .flat_map(|fb| &fb.mappings)
        .chain(m.reference.iter().flat_map(|r| &r.mappings));
    1 + children.map(depth_of).max().unwrap_or(0)
}

fn invalid(f: &LoadedFile, needle: &str, message: &str) -> LoadError {
    LoadError::Invalid {
        file: f.file.clone(),
        line: f.line_of(needle),
        message: message.to_owned(),
    }
}

/// Turns a serde_yaml error into a [`LoadError`] with the line, telling an
/// unsupported construct from a malformed file.
fn yaml_error(file: &str, text: &str, e: &serde_yaml::Error) -> LoadError {
    let line = e.location().map_or(0, |l| l.line());
    let msg = e.to_string();
    if let Some(pos) = msg.find(UNSUPPORTED_PREFIX) {
        let rest = &msg[pos + UNSUPPORTED_PREFIX.len()..];
        // serde_yaml appends " at line L column C"; keep only the construct.
        let construct = rest.split(" at line ").next().unwrap_or(rest);
        return LoadError::Unsupported {
            file: file.to_owned(),
            line: construct_line(text, line, construct),
            construct: construct.to_owned(),
        };
    }
    let message = msg.split(" at line ").next().unwrap_or(&msg).to_owned();
    LoadError::Invalid {
        file: file.to_owned(),
        line,
        message,
    }
}

/// serde_yaml reports a value-level error at the start of the enclosing
/// mapping; the construct's own line is the first line at or after it that
/// holds the construct's key (`extends:` for `spec.extends`).
fn construct_line(text: &str, reported: usize, construct: &str) -> usize {
    let name = construct.trim_matches('`');
    let key = name.split(':').next().unwrap_or(name);
    let key = key.rsplit('.').next().unwrap_or(key).trim();
    let wanted = format!("{key}:");
    text.lines()
        .enumerate()
        .skip(reported.saturating_sub(1))
        .find(|(_, l)| l.trim_start().trim_start_matches("- ").starts_with(&wanted))
        .map_or(reported, |(i, _)| i + 1)
}

/// A context file with the model files it names: everything one template's
/// translation needs.
#[derive(Debug, Clone)]
pub struct MappingSet {
    /// The context file.
    pub context: LoadedFile,
    /// The model files, in the order given, with the context's extensions
    /// applied (so they are what runs).
    pub models: Vec<LoadedFile>,
    /// The extension files given, applied or not (a context applies only
    /// those it names in `extensions`).
    pub extensions: Vec<LoadedFile>,
}

impl MappingSet {
    /// Builds a set from files (exactly one context file, any number of
    /// models and extensions). Every archetype the context names, its
    /// `start` and every `slotArchetype` must resolve to a loaded model;
    /// every extension the context names must be loaded, and the model it
    /// extends too. Extensions are applied in the context's order.
    pub fn from_sources<'a>(
        files: impl IntoIterator<Item = (&'a str, &'a str)>,
        limits: &LoadLimits,
    ) -> Result<Self, LoadError> {
        Self::from_sources_with_base(files, &[], limits)
    }

    /// [`Self::from_sources`], taking the models the set needs and does not
    /// carry from the libraries of `search`, in order (see
    /// [`super::base_models`]).
    pub fn from_sources_with_base<'a>(
        files: impl IntoIterator<Item = (&'a str, &'a str)>,
        search: &[super::base_models::Library<'_>],
        limits: &LoadLimits,
    ) -> Result<Self, LoadError> {
        let mut context = None;
        let mut models = Vec::new();
        let mut extensions = Vec::new();
        for (i, (name, text)) in files.into_iter().enumerate() {
            if i >= limits.max_files {
                return Err(LoadError::Limit {
                    file: name.to_owned(),
                    what: "number of files",
                });
            }
            let f = load_file(name, text, limits)?;
            match f.doc.kind {
                FileKind::Context => {
                    if let Some(first) = &context {
                        let first: &LoadedFile = first;
                        return Err(LoadError::Invalid {
                            file: f.file,
                            line: 1,
                            message: format!("second context file (first: {})", first.file),
                        });
                    }
                    context = Some(f);
                }
                FileKind::Model => models.push(f),
                FileKind::Extension => extensions.push(f),
            }
        }
        let Some(context) = context else {
            return Err(LoadError::Invalid {
                file: "(set)".to_owned(),
                line: 0,
                message: "no context file".to_owned(),
            });
        };
        super::base_models::complete(&context, &extensions, &mut models, search, limits)?;
        let mut set = MappingSet {
            context,
            models,
            extensions,
        };
        set.check_archetypes()?;
        set.apply_extensions()?;
        set.check_slots()?;
        Ok(set)
    }

    /// The context body (checked present at load).
    pub fn context_body(&self) -> Option<&super::model::Context> {
        self.context.doc.context.as_ref()
    }

    /// The model mapping `archetype` (with or without the `openEHR-EHR-`
    /// prefix), matched on the archetype id or the metadata name.
    pub fn model(&self, archetype: &str) -> Option<&LoadedFile> {
        self.model_index(archetype).and_then(|i| self.models.get(i))
    }

    /// The model the context starts with.
    pub fn start_model(&self) -> Option<&LoadedFile> {
        self.context_body().and_then(|c| self.model(&c.start))
    }

    fn model_index(&self, archetype: &str) -> Option<usize> {
        let want = short_archetype(archetype);
        self.models.iter().position(|m| {
            short_archetype(&m.doc.metadata.name) == want
                || m.doc
                    .spec
                    .open_ehr_config
                    .as_ref()
                    .is_some_and(|c| short_archetype(&c.archetype) == want)
        })
    }

    fn check_archetypes(&self) -> Result<(), LoadError> {
        let Some(ctx) = self.context_body() else {
            return Ok(());
        };
        for a in ctx.archetypes.iter().chain(std::iter::once(&ctx.start)) {
            if self.model(a).is_none() {
                return Err(LoadError::Invalid {
                    file: self.context.file.clone(),
                    line: self.context.line_of(a),
                    message: format!("no model file for archetype `{a}`"),
                });
            }
        }
        Ok(())
    }

    /// Applies the extensions the context names to the models they extend.
    fn apply_extensions(&mut self) -> Result<(), LoadError> {
        let named = self
            .context_body()
            .map(|c| c.extensions.clone())
            .unwrap_or_default();
        for name in &named {
            let Some(ext) = self
                .extensions
                .iter()
                .find(|e| e.doc.metadata.name.trim() == name.trim())
            else {
                return Err(LoadError::Invalid {
                    file: self.context.file.clone(),
                    line: self.context.line_of(name),
                    message: format!("no extension file named `{name}`"),
                });
            };
            let extends = ext.doc.spec.extends.as_deref().unwrap_or_default();
            let Some(i) = self.model_index(extends) else {
                return Err(ext.invalid(
                    "extends:",
                    &format!("extends `{extends}`: no model file with that name in the set"),
                ));
            };
            let ext = ext.clone();
            if let Some(model) = self.models.get_mut(i) {
                extension::apply(model, &ext)?;
            }
        }
        Ok(())
    }

    fn check_slots(&self) -> Result<(), LoadError> {
        for m in &self.models {
            let mut slots = Vec::new();
            for mapping in &m.doc.mappings {
                collect_slots(mapping, &mut slots);
            }
            for s in slots {
                if self.model(s).is_none() {
                    return Err(LoadError::Invalid {
                        file: m.file.clone(),
                        line: m.line_of(s),
                        message: format!("slotArchetype `{s}` has no model file in the set"),
                    });
                }
            }
        }
        Ok(())
    }
}

/// Every `slotArchetype` below `m`, depth first.
pub(crate) fn collect_slots<'a>(m: &'a Mapping, out: &mut Vec<&'a str>) {
    if let Some(s) = &m.slot_archetype {
        out.push(s);
    }
    for c in m
        .followed_by
        .iter()
        .flat_map(|fb| &fb.mappings)
        .chain(m.reference.iter().flat_map(|r| &r.mappings))
    {
        collect_slots(c, out);
    }
}

/// `openEHR-EHR-OBSERVATION.x.v2` and `OBSERVATION.x.v2` name the same
/// archetype in these files.
pub fn short_archetype(id: &str) -> &str {
    id.strip_prefix("openEHR-EHR-").unwrap_or(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &str = "grammar: FHIRConnect/v0.0.1\ntype: model\nmetadata:\n  name: OBSERVATION.x.v1\n  version: 1\nspec:\n  system: FHIR\n  version: R4\n  openEhrConfig:\n    archetype: openEHR-EHR-OBSERVATION.x.v1\n";

    fn load(body: &str) -> Result<LoadedFile, LoadError> {
        load_file(
            "x.model.yml",
            &format!("{HEAD}{body}"),
            &LoadLimits::default(),
        )
    }

    #[test]
    fn accepts_a_plain_model() {
        let f = load("mappings:\n  - name: a\n    with:\n      fhir: \"$resource.value\"\n      openehr: \"$archetype/data[at0001]\"\n").unwrap();
        assert_eq!(f.doc.mappings.len(), 1);
    }

    #[test]
    fn unknown_keys_fail_with_their_line() {
        let e = load("mappings:\n  - name: a\n    wiht:\n      fhir: x\n").unwrap_err();
        assert!(matches!(e, LoadError::Invalid { line: 13, .. }), "{e}");
    }

    #[test]
    fn unsupported_constructs_name_file_line_and_construct() {
        let e = load("mappings:\n  - name: a\n    with:\n      fhir: x\n    fhirCondition:\n      targetRoot: x\n      operator: \"greater than\"\n      criteria: 3\n").unwrap_err();
        assert_eq!(
            e,
            LoadError::Unsupported {
                file: "x.model.yml".into(),
                line: 17,
                construct: "`operator: greater than`".into()
            }
        );
        let e = load("mappings:\n  - name: a\n    link:\n      meaning: m\n").unwrap_err();
        assert!(
            matches!(&e, LoadError::Invalid { line: 14, message, .. } if message.contains("type")),
            "a link needs meaning and type: {e}"
        );
        let e =
            load("mappings:\n  - name: a\n    with:\n      fhir: \"$resource.code.where(x)\"\n")
                .unwrap_err();
        assert!(
            matches!(&e, LoadError::Unsupported { line: 14, construct, .. } if construct.contains("where")),
            "{e}"
        );
    }

    #[test]
    fn limits_are_enforced() {
        let limits = LoadLimits {
            max_file_bytes: 10,
            ..LoadLimits::default()
        };
        assert!(matches!(
            load_file("x", HEAD, &limits),
            Err(LoadError::Limit { .. })
        ));
        let mut deep = String::from("mappings:\n");
        let mut indent = String::from("  ");
        for _ in 0..40 {
            deep.push_str(&format!(
                "{indent}- name: a\n{indent}  followedBy:\n{indent}    mappings:\n"
            ));
            indent.push_str("      ");
        }
        deep.push_str(&format!("{indent}- name: leaf\n"));
        assert!(matches!(
            load(&deep),
            Err(LoadError::Limit {
                what: "mapping nesting depth",
                ..
            })
        ));
    }

    #[test]
    fn sets_need_every_named_model() {
        let ctx = "grammar: FHIRConnect/v0.0.1\ntype: context\nmetadata:\n  name: c\n  version: 1\nspec:\n  system: FHIR\n  version: R4\ncontext:\n  profile:\n    url: Observation\n  template:\n    id: T\n  archetypes:\n    - OBSERVATION.x.v1\n    - OBSERVATION.missing.v1\n  start: OBSERVATION.x.v1\n";
        let model = format!("{HEAD}mappings: []\n");
        let e = MappingSet::from_sources(
            [("c.context.yml", ctx), ("x.model.yml", model.as_str())],
            &LoadLimits::default(),
        )
        .unwrap_err();
        assert!(
            matches!(&e, LoadError::Invalid { line: 16, message, .. } if message.contains("OBSERVATION.missing.v1")),
            "{e}"
        );
        let ok = ctx.replace("    - OBSERVATION.missing.v1\n", "");
        let set = MappingSet::from_sources(
            [
                ("c.context.yml", ok.as_str()),
                ("x.model.yml", model.as_str()),
            ],
            &LoadLimits::default(),
        )
        .unwrap();
        assert!(set.start_model().is_some());
        assert!(set.model("openEHR-EHR-OBSERVATION.x.v1").is_some());
    }
}
