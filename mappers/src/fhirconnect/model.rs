//! The typed model of a FHIRconnect file (model and context files).
//!
//! Every struct denies unknown fields and every keyword with a closed set of
//! values is an enum, so a construct this engine does not execute fails while
//! the YAML is read, and serde_yaml names the line and column. Constructs
//! the grammar defines but this engine does not execute yet (`link`,
//! `targetAttributes`, the `type` condition operator...) are modelled as
//! [`Rejected`] fields for the same reason: loading such a file fails at the
//! construct's line instead of silently mapping less. Extension files
//! (`type: extension`, `spec.extends`, the `extension` / `appendTo` method
//! keys, `context.extensions`) are read here and applied to their model by
//! [`super::extension`].

use serde::de::{self, Deserializer};
use serde::Deserialize;

/// A FHIRconnect file: a model (mappings for one archetype), an extension
/// (project changes to one model) or a context (which template, models and
/// extensions make up one translation).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileDoc {
    /// `FHIRConnect/v0.0.1` or `FHIRConnect/v1.0.0`.
    pub grammar: Grammar,
    /// `model`, `extension` or `context`.
    #[serde(rename = "type")]
    pub kind: FileKind,
    /// Name and version of this mapping file.
    pub metadata: Metadata,
    /// System and archetype / structure definition this file maps.
    pub spec: Spec,
    /// Logic that runs before the body (hierarchy, file-level conditions).
    #[serde(default)]
    pub preprocessor: Option<Preprocessor>,
    /// The mapping body of a model file.
    #[serde(default)]
    pub mappings: Vec<Mapping>,
    /// The body of a context file.
    #[serde(default)]
    pub context: Option<Context>,
}

/// The grammar versions whose files this engine reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum Grammar {
    /// The grammar of the openFHIR engine's shipped files.
    #[serde(rename = "FHIRConnect/v0.0.1")]
    V0_0_1,
    /// Used by the KDS files; its model subset is the same as v0.0.1's.
    #[serde(rename = "FHIRConnect/v1.0.0")]
    V1_0_0,
}

/// What a file is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// Mappings for one archetype (or the composition).
    Model,
    /// Adds, overwrites or appends methods of the model named in
    /// `spec.extends`, for one project's templates and profiles.
    Extension,
    /// Which template and models form one translation.
    Context,
}

impl<'de> Deserialize<'de> for FileKind {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        match s.as_str() {
            "model" => Ok(FileKind::Model),
            "context" => Ok(FileKind::Context),
            "extension" => Ok(FileKind::Extension),
            other => Err(unsupported(&format!("type: {other}"))),
        }
    }
}

/// `metadata:`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Metadata {
    /// The model's name; context files list models by this name.
    pub name: String,
    /// The mapping's own version (free text).
    pub version: serde_yaml::Value,
}

/// `spec:`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    /// Always `FHIR`.
    pub system: String,
    /// Always `R4`.
    pub version: String,
    /// The archetype a model maps.
    #[serde(rename = "openEhrConfig", default)]
    pub open_ehr_config: Option<OpenEhrConfig>,
    /// The FHIR structure definition a model maps.
    #[serde(rename = "fhirConfig", default)]
    pub fhir_config: Option<FhirConfig>,
    /// The model an extension file changes, by its metadata name
    /// (extension files only).
    #[serde(default)]
    pub extends: Option<String>,
}

/// `spec.openEhrConfig`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenEhrConfig {
    /// Full archetype id, `openEHR-EHR-OBSERVATION.blood_pressure.v2`.
    pub archetype: String,
    /// Revision of the archetype (informational).
    #[serde(default)]
    pub revision: Option<String>,
}

/// `spec.fhirConfig`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FhirConfig {
    /// Canonical URL of the resource type or profile.
    #[serde(rename = "structureDefinition")]
    pub structure_definition: String,
}

/// `preprocessor:`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Preprocessor {
    /// Which FHIR element corresponds to which openEHR node as a whole.
    #[serde(default)]
    pub hierarchy: Option<Hierarchy>,
    /// The file runs only for resources meeting this condition.
    #[serde(rename = "fhirCondition", default)]
    pub fhir_condition: Option<Condition>,
    /// The file runs only for resources meeting all of these.
    #[serde(rename = "fhirConditions", default)]
    pub fhir_conditions: Vec<Condition>,
    /// The file runs only for archetype instances meeting this condition.
    #[serde(rename = "openehrCondition", default)]
    pub openehr_condition: Option<Condition>,
}

/// `preprocessor.hierarchy`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hierarchy {
    /// The two roots that correspond.
    pub with: With,
    /// How repeated openEHR nodes split into FHIR resources.
    #[serde(default)]
    pub split: Option<Split>,
}

/// `preprocessor.hierarchy.split`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Split {
    /// The FHIR side of the split.
    pub fhir: SplitFhir,
}

/// `split.fhir`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SplitFhir {
    /// What is created per repeated node (`resource`).
    pub create: String,
}

/// One mapping method (`- name: ...`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mapping {
    /// The method's name.
    pub name: String,
    /// The two paths this method maps against each other.
    #[serde(default)]
    pub with: Option<With>,
    /// Runs only for FHIR elements meeting this condition.
    #[serde(rename = "fhirCondition", default)]
    pub fhir_condition: Option<Condition>,
    /// Runs only for FHIR elements meeting all of these.
    #[serde(rename = "fhirConditions", default)]
    pub fhir_conditions: Vec<Condition>,
    /// Runs only for openEHR nodes meeting this condition.
    #[serde(rename = "openehrCondition", default)]
    pub openehr_condition: Option<Condition>,
    /// Child methods, relative to this method's paths.
    #[serde(rename = "followedBy", default)]
    pub followed_by: Option<FollowedBy>,
    /// Constant values written on one side.
    #[serde(default)]
    pub manual: Vec<Manual>,
    /// A referenced resource mapped with its own methods.
    #[serde(default)]
    pub reference: Option<Reference>,
    /// The openEHR path is the root of another model (slot).
    #[serde(rename = "slotArchetype", default)]
    pub slot_archetype: Option<String>,
    /// Runs in one direction only.
    #[serde(default)]
    pub unidirectional: Option<Direction>,
    /// How a method of an extension file changes its model (extension
    /// files only).
    #[serde(default)]
    pub extension: Option<ExtensionMethod>,
    /// The model method (`parent.child` for a nested one) an `append`
    /// method adds its `followedBy` methods to.
    #[serde(rename = "appendTo", default)]
    pub append_to: Option<String>,
    /// The openEHR path ends in an RM `links` attribute: the method writes
    /// an openEHR LINK to the FHIR resource it selects (see
    /// [`super::links`]).
    #[serde(default)]
    pub link: Option<Link>,
}

/// `link:` on a method: the LINK's fixed meaning and type (the target is
/// the resource the method selects).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Link {
    /// `LINK.meaning`: what the target means to the linking node.
    pub meaning: String,
    /// `LINK.type`: the kind of link (`case`, `issue`...).
    #[serde(rename = "type")]
    pub kind: String,
}

/// `extension:` on a method of an extension file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExtensionMethod {
    /// Added at the bottom of the model's methods.
    Add,
    /// Its `followedBy` methods are appended to the method `appendTo` names.
    Append,
    /// Replaces the model method with the same name.
    Overwrite,
}

impl<'de> Deserialize<'de> for ExtensionMethod {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        match s.as_str() {
            "add" => Ok(ExtensionMethod::Add),
            "append" => Ok(ExtensionMethod::Append),
            "overwrite" => Ok(ExtensionMethod::Overwrite),
            other => Err(unsupported(&format!("extension: {other}"))),
        }
    }
}

/// `with:`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct With {
    /// A FHIRPath (subset), relative to the parent unless it starts with
    /// `$resource` or `$fhirRoot`.
    #[serde(default)]
    pub fhir: Option<String>,
    /// An openEHR path, relative to the parent unless it starts with
    /// `$archetype`, `$composition`, `$openehrRoot` or is `$reference`.
    #[serde(default)]
    pub openehr: Option<String>,
    /// Forces the data type pairing (`NONE`: structure only, `CODING`).
    #[serde(rename = "type", default)]
    pub kind: Option<WithType>,
}

/// `with.type`: the forced data type pairing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum WithType {
    /// The paths are structural only: nothing is converted at this level.
    #[serde(rename = "NONE")]
    None,
    /// The FHIR side is a single Coding.
    #[serde(rename = "CODING")]
    Coding,
    /// The FHIR side is a string.
    #[serde(rename = "STRING")]
    String,
    /// The FHIR side is a Quantity.
    #[serde(rename = "QUANTITY")]
    Quantity,
    /// The FHIR side is a dateTime.
    #[serde(rename = "DATETIME")]
    DateTime,
    /// The FHIR side is an Identifier.
    #[serde(rename = "IDENTIFIER")]
    Identifier,
}

/// `followedBy:`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FollowedBy {
    /// The child methods.
    pub mappings: Vec<Mapping>,
}

/// `reference:`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reference {
    /// Type of the referenced resource.
    #[serde(rename = "resourceType")]
    pub resource_type: String,
    /// Methods run on the referenced resource.
    pub mappings: Vec<Mapping>,
}

/// One `manual:` entry: constant values written on one side.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manual {
    /// The entry's name.
    pub name: String,
    /// FHIR paths and values written when producing FHIR.
    #[serde(default)]
    pub fhir: Vec<ManualEntry>,
    /// openEHR paths and values written when producing openEHR.
    #[serde(default)]
    pub openehr: Vec<ManualEntry>,
    /// Applies only if the openEHR input meets this condition.
    #[serde(rename = "openehrCondition", default)]
    pub openehr_condition: Option<Condition>,
    /// Applies only if the FHIR input meets this condition.
    #[serde(rename = "fhirCondition", default)]
    pub fhir_condition: Option<Condition>,
}

/// One path/value pair of a manual entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManualEntry {
    /// Relative path (or `$fhirRoot` / `$openehrRoot`).
    pub path: String,
    /// The constant.
    pub value: String,
}

/// A condition (`fhirCondition`, `openehrCondition`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Condition {
    /// The element the condition filters.
    #[serde(rename = "targetRoot")]
    pub target_root: String,
    /// The path below `targetRoot` that is tested.
    #[serde(rename = "targetAttribute", default)]
    pub target_attribute: Option<String>,
    /// Several tested paths: their values are tested together, as if one
    /// path selected them all (`empty`: none of them has a value).
    #[serde(rename = "targetAttributes", default)]
    pub target_attributes: Vec<String>,
    /// How the tested values are compared with `criteria`.
    pub operator: Operator,
    /// One value or a list.
    #[serde(default)]
    pub criteria: Option<Criteria>,
}

/// Condition operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operator {
    /// True if a tested value is one of the criteria.
    OneOf,
    /// True if no tested value is one of the criteria.
    NotOf,
    /// True if there is no tested value.
    Empty,
    /// True if there is a tested value.
    NotEmpty,
    /// True if a tested node's type (a FHIR type such as `Extension` or
    /// `CodeableConcept`, an RM type such as `DV_CODED_TEXT`) is one of the
    /// criteria.
    Type,
}

impl<'de> Deserialize<'de> for Operator {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        match s.as_str() {
            "one of" => Ok(Operator::OneOf),
            "not of" => Ok(Operator::NotOf),
            "empty" => Ok(Operator::Empty),
            "not empty" => Ok(Operator::NotEmpty),
            "type" => Ok(Operator::Type),
            other => Err(unsupported(&format!("operator: {other}"))),
        }
    }
}

/// `criteria`: one value or a list.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Criteria {
    /// A single value.
    One(String),
    /// A list of values.
    Many(Vec<String>),
}

impl Criteria {
    /// The criteria as a list.
    pub fn values(&self) -> Vec<&str> {
        match self {
            Criteria::One(v) => vec![v.as_str()],
            Criteria::Many(vs) => vs.iter().map(String::as_str).collect(),
        }
    }
}

/// `unidirectional`: the one direction a method runs in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Only when producing openEHR.
    FhirToOpenEhr,
    /// Only when producing FHIR.
    OpenEhrToFhir,
}

impl<'de> Deserialize<'de> for Direction {
    /// The files spell it `openehr->fhir`, `openEHR->fhir`, `fhir->openEHR`:
    /// compared case-insensitively.
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        match s.to_ascii_lowercase().as_str() {
            "fhir->openehr" => Ok(Direction::FhirToOpenEhr),
            "openehr->fhir" => Ok(Direction::OpenEhrToFhir),
            _ => Err(unsupported(&format!("unidirectional: {s}"))),
        }
    }
}

/// `context:`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Context {
    /// The FHIR profile (or resource type) the context applies to.
    pub profile: Profile,
    /// The openEHR template.
    pub template: TemplateRef,
    /// The models taking part, by metadata name.
    pub archetypes: Vec<String>,
    /// The model the translation starts with.
    pub start: String,
    /// Extension files applied to the models, by metadata name. A model
    /// that an extension `extends` runs with the extension applied wherever
    /// it is used in this context (start, slot or reference).
    #[serde(default)]
    pub extensions: Vec<String>,
}

/// `context.profile`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// Profile URL or resource type name.
    pub url: String,
    /// Profile version.
    #[serde(default)]
    pub version: Option<String>,
}

/// `context.template`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateRef {
    /// The template id.
    pub id: String,
    /// Template version.
    #[serde(default)]
    pub version: Option<String>,
    /// Semantic version of the template (FHIRconnect v1 files).
    #[serde(default)]
    pub sem_ver: Option<String>,
}

// === Rejected constructs ===

/// Names a construct the engine does not execute yet.
pub trait Construct {
    /// How the construct is spelled in the files.
    const NAME: &'static str;
}

/// A field whose presence fails loading: deserializing it always errors
/// with "unsupported construct", so the error carries the YAML location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected<C>(std::marker::PhantomData<C>);

impl<'de, C: Construct> Deserialize<'de> for Rejected<C> {
    fn deserialize<D: Deserializer<'de>>(_d: D) -> Result<Self, D::Error> {
        Err(unsupported(C::NAME))
    }
}

/// The error every rejected construct raises; the loader recognises the
/// prefix to classify the failure.
fn unsupported<E: de::Error>(construct: &str) -> E {
    E::custom(format!("{UNSUPPORTED_PREFIX}`{construct}`"))
}

/// Prefix of the message of an unsupported-construct error.
pub const UNSUPPORTED_PREFIX: &str = "unsupported construct ";
