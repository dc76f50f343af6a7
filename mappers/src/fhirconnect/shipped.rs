//! The mapping sets ehrgate ships (`templates/mappings/`, data), compiled
//! in with the template each one maps to: the OPTs the templates crate
//! bundles, or the set's own `template.opt` where it does not bundle one.
//!
//! | set | FHIR | template |
//! |---|---|---|
//! | `vital_signs` | Observation (vital-signs profile, LOINC): BP, heart rate, temperature, respiratory rate, SpO2 | `EHRN Vital signs.v2` |
//! | `blood_pressure` | Observation / Bundle (BP) | `Blood Pressure` |
//! | `news2` | Bundle: BP, heart rate, temperature, respiration, SpO2, ACVPU, NEWS2 | `NEWS2 Encounter Parent` |
//! | `growth_chart` | Bundle: body weight, height, BMI, head circumference | `Growth chart` |
//! | `problem_list` | Condition | `IDCR - Problem List.v1` |
//! | `adverse_reaction_list` | AllergyIntolerance | `Adverse Reaction List.v1` |
//! | `body_measurements` | Observation (vital-signs profile, LOINC): body weight, body height, BMI | `Growth chart` (with `growth_chart`: [`find_for`] picks by the input's resource type) |
//! | `medication_list` | MedicationStatement | `IDCR - Medication List.v0` |
//! | `lab_observation` | Observation (laboratory result) | `vg_ObservationLab.v.1.1.0` |
//! | `lab_report` | DiagnosticReport (laboratory) | `vg_DiagnosticReportLab.v1.1.1` |
//! | `immunization` | Immunization | `IDCR - Immunisation summary.v0` |
//! | `procedure` | Procedure | `GECCO_Prozedur` |
//! | `document` | DocumentReference | `EHRN-ABDM-OPConsultRecord.v2.0` |

use ehrgate_templates::{parse_opt, OptError, TemplateMeta};

use super::engine::{Engine, EngineError};
use super::loader::{LoadError, LoadLimits, MappingSet};
use crate::error::{Classified, Fault};

/// Where a shipped set's template comes from.
#[derive(Debug, Clone, Copy)]
pub enum TemplateSource {
    /// A template the templates crate bundles, by file name.
    Bundled(&'static str),
    /// The set's own OPT.
    Own(&'static [u8]),
}

/// One shipped mapping set.
#[derive(Debug, Clone, Copy)]
pub struct Shipped {
    /// Directory name under `templates/mappings/`.
    pub name: &'static str,
    /// The template id its context names.
    pub template_id: &'static str,
    /// The FHIR resource types it takes as input (what tells apart two sets
    /// of one template: `growth_chart` takes Bundles, `body_measurements`
    /// single Observations).
    pub inputs: &'static [&'static str],
    /// `(file name, YAML)` of every mapping file.
    pub files: &'static [(&'static str, &'static str)],
    /// The template.
    pub template: TemplateSource,
}

/// Every shipped set.
pub const SHIPPED: &[Shipped] = &[
    Shipped {
        name: "vital_signs",
        template_id: "EHRN Vital signs.v2",
        inputs: &["Observation"],
        files: &[
            ("blood-pressure.model.yml", include_str!("../../../templates/mappings/vital_signs/blood-pressure.model.yml")),
            ("body-temperature.model.yml", include_str!("../../../templates/mappings/vital_signs/body-temperature.model.yml")),
            ("heart-rate.model.yml", include_str!("../../../templates/mappings/vital_signs/heart-rate.model.yml")),
            ("oxygen-saturation.model.yml", include_str!("../../../templates/mappings/vital_signs/oxygen-saturation.model.yml")),
            ("respiratory-rate.model.yml", include_str!("../../../templates/mappings/vital_signs/respiratory-rate.model.yml")),
            ("vital-signs.context.yml", include_str!("../../../templates/mappings/vital_signs/vital-signs.context.yml")),
            ("vital-signs.model.yml", include_str!("../../../templates/mappings/vital_signs/vital-signs.model.yml")),
        ],
        template: TemplateSource::Bundled("EHRN Vital signs.v2.opt"),
    },
    Shipped {
        name: "blood_pressure",
        template_id: "Blood Pressure",
        inputs: &["Observation", "Bundle"],
        files: &[
            ("blood-pressure-parent.model.yml", include_str!("../../../templates/mappings/blood_pressure/blood-pressure-parent.model.yml")),
            ("blood-pressure.model.yml", include_str!("../../../templates/mappings/blood_pressure/blood-pressure.model.yml")),
            ("simple-blood-pressure.context.yml", include_str!("../../../templates/mappings/blood_pressure/simple-blood-pressure.context.yml")),
        ],
        template: TemplateSource::Bundled("Blood Pressure.opt"),
    },
    Shipped {
        name: "growth_chart",
        template_id: "Growth chart",
        inputs: &["Bundle"],
        files: &[
            ("body-height.model.yml", include_str!("../../../templates/mappings/growth_chart/body-height.model.yml")),
            ("body-weight.model.yml", include_str!("../../../templates/mappings/growth_chart/body-weight.model.yml")),
            ("growth-chart.context.yml", include_str!("../../../templates/mappings/growth_chart/growth-chart.context.yml")),
            ("growth-chart.model.yml", include_str!("../../../templates/mappings/growth_chart/growth-chart.model.yml")),
            ("himss-body-mass-index.model.yml", include_str!("../../../templates/mappings/growth_chart/himss-body-mass-index.model.yml")),
            ("himss-head-circumference.model.yml", include_str!("../../../templates/mappings/growth_chart/himss-head-circumference.model.yml")),
        ],
        template: TemplateSource::Own(include_bytes!("../../../templates/mappings/growth_chart/template.opt")),
    },
    Shipped {
        name: "news2",
        template_id: "NEWS2 Encounter Parent",
        inputs: &["Bundle"],
        files: &[
            ("ACVPU_Scale_Model_Mapping.model.yaml", include_str!("../../../templates/mappings/news2/ACVPU_Scale_Model_Mapping.model.yaml")),
            ("Blood_pressure_Model_Mapping.model.yml", include_str!("../../../templates/mappings/news2/Blood_pressure_Model_Mapping.model.yml")),
            ("Body_temperature_Model_Mapping.model.yaml", include_str!("../../../templates/mappings/news2/Body_temperature_Model_Mapping.model.yaml")),
            ("NEWS2_Context_Mapping.context.yaml", include_str!("../../../templates/mappings/news2/NEWS2_Context_Mapping.context.yaml")),
            ("NEWS2_Model_Mapping.model.yaml", include_str!("../../../templates/mappings/news2/NEWS2_Model_Mapping.model.yaml")),
            ("Pulse_Model_Mapping.model.yaml", include_str!("../../../templates/mappings/news2/Pulse_Model_Mapping.model.yaml")),
            ("Pulse_Oximetry_Model_Mapping.model.yaml", include_str!("../../../templates/mappings/news2/Pulse_Oximetry_Model_Mapping.model.yaml")),
            ("Respiration_Model_Mapping.model.yaml", include_str!("../../../templates/mappings/news2/Respiration_Model_Mapping.model.yaml")),
            ("news2-encounter-parent.yml", include_str!("../../../templates/mappings/news2/news2-encounter-parent.yml")),
        ],
        template: TemplateSource::Own(include_bytes!("../../../templates/mappings/news2/template.opt")),
    },
    Shipped {
        name: "problem_list",
        template_id: "IDCR - Problem List.v1",
        inputs: &["Condition"],
        files: &[
            ("problem-diagnosis.model.yml", include_str!("../../../templates/mappings/problem_list/problem-diagnosis.model.yml")),
            ("problem-list.context.yml", include_str!("../../../templates/mappings/problem_list/problem-list.context.yml")),
            ("problem-list.model.yml", include_str!("../../../templates/mappings/problem_list/problem-list.model.yml")),
        ],
        template: TemplateSource::Bundled("IDCR - Problem List.v1.opt"),
    },
    Shipped {
        name: "adverse_reaction_list",
        template_id: "Adverse Reaction List.v1",
        inputs: &["AllergyIntolerance"],
        files: &[
            ("adverse-reaction-list.context.yml", include_str!("../../../templates/mappings/adverse_reaction_list/adverse-reaction-list.context.yml")),
            ("adverse-reaction-list.model.yml", include_str!("../../../templates/mappings/adverse_reaction_list/adverse-reaction-list.model.yml")),
            ("adverse-reaction-risk.model.yml", include_str!("../../../templates/mappings/adverse_reaction_list/adverse-reaction-risk.model.yml")),
        ],
        template: TemplateSource::Bundled("IDCR - Adverse Reaction List.v1.opt"),
    },
    Shipped {
        name: "body_measurements",
        template_id: "Growth chart",
        inputs: &["Observation"],
        files: &[
            ("body-height.model.yml", include_str!("../../../templates/mappings/body_measurements/body-height.model.yml")),
            ("body-mass-index.model.yml", include_str!("../../../templates/mappings/body_measurements/body-mass-index.model.yml")),
            ("body-measurements.context.yml", include_str!("../../../templates/mappings/body_measurements/body-measurements.context.yml")),
            ("body-measurements.model.yml", include_str!("../../../templates/mappings/body_measurements/body-measurements.model.yml")),
            ("body-weight.model.yml", include_str!("../../../templates/mappings/body_measurements/body-weight.model.yml")),
        ],
        template: TemplateSource::Own(include_bytes!("../../../templates/mappings/body_measurements/template.opt")),
    },
    Shipped {
        name: "medication_list",
        template_id: "IDCR - Medication List.v0",
        inputs: &["MedicationStatement"],
        files: &[
            ("medication-list.context.yml", include_str!("../../../templates/mappings/medication_list/medication-list.context.yml")),
            ("medication-list.model.yml", include_str!("../../../templates/mappings/medication_list/medication-list.model.yml")),
            ("medication-order.model.yml", include_str!("../../../templates/mappings/medication_list/medication-order.model.yml")),
        ],
        template: TemplateSource::Own(include_bytes!("../../../templates/mappings/medication_list/template.opt")),
    },
    Shipped {
        name: "lab_observation",
        template_id: "vg_ObservationLab.v.1.1.0",
        inputs: &["Observation"],
        files: &[
            ("lab-observation.context.yml", include_str!("../../../templates/mappings/lab_observation/lab-observation.context.yml")),
            ("lab-observation.model.yml", include_str!("../../../templates/mappings/lab_observation/lab-observation.model.yml")),
            ("laboratory-test-result.model.yml", include_str!("../../../templates/mappings/lab_observation/laboratory-test-result.model.yml")),
        ],
        template: TemplateSource::Own(include_bytes!("../../../templates/mappings/lab_observation/template.opt")),
    },
    Shipped {
        name: "lab_report",
        template_id: "vg_DiagnosticReportLab.v1.1.1",
        inputs: &["DiagnosticReport"],
        files: &[
            ("lab-report.context.yml", include_str!("../../../templates/mappings/lab_report/lab-report.context.yml")),
            ("lab-report.model.yml", include_str!("../../../templates/mappings/lab_report/lab-report.model.yml")),
            ("laboratory-test-result.model.yml", include_str!("../../../templates/mappings/lab_report/laboratory-test-result.model.yml")),
        ],
        template: TemplateSource::Own(include_bytes!("../../../templates/mappings/lab_report/template.opt")),
    },
    Shipped {
        name: "immunization",
        template_id: "IDCR - Immunisation summary.v0",
        inputs: &["Immunization"],
        files: &[
            ("immunisation-procedure.model.yml", include_str!("../../../templates/mappings/immunization/immunisation-procedure.model.yml")),
            ("immunisation-summary.context.yml", include_str!("../../../templates/mappings/immunization/immunisation-summary.context.yml")),
            ("immunisation-summary.model.yml", include_str!("../../../templates/mappings/immunization/immunisation-summary.model.yml")),
        ],
        template: TemplateSource::Bundled("IDCR - Immunisation summary.v0.opt"),
    },
    Shipped {
        name: "procedure",
        template_id: "GECCO_Prozedur",
        inputs: &["Procedure"],
        files: &[
            ("procedure.context.yml", include_str!("../../../templates/mappings/procedure/procedure.context.yml")),
            ("procedure.model.yml", include_str!("../../../templates/mappings/procedure/procedure.model.yml")),
            ("registereintrag.model.yml", include_str!("../../../templates/mappings/procedure/registereintrag.model.yml")),
        ],
        template: TemplateSource::Bundled("GECCO_Prozedur.opt"),
    },
    Shipped {
        name: "document",
        template_id: "EHRN-ABDM-OPConsultRecord.v2.0",
        inputs: &["DocumentReference"],
        files: &[
            ("document-attachment.model.yml", include_str!("../../../templates/mappings/document/document-attachment.model.yml")),
            ("document.context.yml", include_str!("../../../templates/mappings/document/document.context.yml")),
            ("encounter.model.yml", include_str!("../../../templates/mappings/document/encounter.model.yml")),
        ],
        template: TemplateSource::Bundled("EHRN-ABDM-OPConsultRecord.v2.0.opt"),
    },
];

/// Why a shipped set could not be prepared (a bug in what we ship).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ShippedError {
    /// No shipped set maps this template.
    #[error("no shipped mapping for template `{0}`")]
    Unknown(String),
    /// No shipped set has this name.
    #[error("no shipped mapping set named `{0}`")]
    UnknownSet(String),
    /// Sets map the template, but none takes this resource type.
    #[error("no shipped mapping for template `{template}` takes a {resource_type}")]
    NotForResource {
        /// The template id.
        template: String,
        /// The input's resource type.
        resource_type: String,
    },
    /// A mapping file does not load.
    #[error(transparent)]
    Load(#[from] LoadError),
    /// The template does not parse.
    #[error("template: {0}")]
    Template(String),
    /// The set does not compile.
    #[error(transparent)]
    Engine(#[from] EngineError),
}

impl Classified for ShippedError {
    fn fault(&self) -> Fault {
        match self {
            ShippedError::Unknown(_)
            | ShippedError::UnknownSet(_)
            | ShippedError::NotForResource { .. } => Fault::Client,
            _ => Fault::Internal,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            ShippedError::Unknown(_) => "fhirconnect.no-mapping-for-template",
            ShippedError::UnknownSet(_) => "fhirconnect.no-mapping-set",
            ShippedError::NotForResource { .. } => "fhirconnect.no-mapping-for-resource-type",
            ShippedError::Load(_) => "fhirconnect.shipped-load",
            ShippedError::Template(_) => "fhirconnect.shipped-template",
            ShippedError::Engine(_) => "fhirconnect.shipped-compile",
        }
    }
}

impl From<OptError> for ShippedError {
    fn from(e: OptError) -> Self {
        ShippedError::Template(e.to_string())
    }
}

/// The first shipped set for `template_id`. Where two sets map one
/// template (`Growth chart`), [`find_for`] picks by the input's resource
/// type.
pub fn find(template_id: &str) -> Result<&'static Shipped, ShippedError> {
    SHIPPED
        .iter()
        .find(|s| s.template_id == template_id)
        .ok_or_else(|| ShippedError::Unknown(template_id.to_owned()))
}

/// The shipped set for `template_id` that takes `resource_type` as input.
/// Two sets may map one template (`growth_chart` takes Bundles,
/// `body_measurements` single Observations): [`find`] answers the first,
/// this the one that maps the resource at hand.
pub fn find_for(template_id: &str, resource_type: &str) -> Result<&'static Shipped, ShippedError> {
    let mut of_template = SHIPPED
        .iter()
        .filter(|s| s.template_id == template_id)
        .peekable();
    if of_template.peek().is_none() {
        return Err(ShippedError::Unknown(template_id.to_owned()));
    }
    of_template
        .find(|s| s.inputs.contains(&resource_type))
        .ok_or_else(|| ShippedError::NotForResource {
            template: template_id.to_owned(),
            resource_type: resource_type.to_owned(),
        })
}

/// The shipped set for `template_id` that maps `resource` to openEHR: the
/// set [`find_for`] names for its type, unless that set takes nothing of
/// it ([`EngineError::NothingMapped`]) and another set of the template
/// does (a Bundle of LOINC-coded body measurements, which the openFHIR
/// `growth_chart` set, selecting by its own category codes, does not
/// read, goes to `body_measurements`). The content decides between sets,
/// as [`for_composition`] does going back.
pub fn for_resource(
    template_id: &str,
    resource: &serde_json::Value,
) -> Result<&'static Shipped, ShippedError> {
    let rt = resource
        .get("resourceType")
        .and_then(serde_json::Value::as_str)
        .unwrap_or("");
    let first = find_for(template_id, rt);
    let others = SHIPPED
        .iter()
        .filter(|s| s.template_id == template_id && !s.inputs.contains(&rt));
    let mut candidates: Vec<&'static Shipped> = first.iter().copied().collect();
    candidates.extend(others);
    for set in &candidates {
        match set.engine()?.fhir_to_instance(resource) {
            Err(EngineError::NothingMapped { .. } | EngineError::WrongResource { .. }) => {}
            _ => return Ok(set),
        }
    }
    // None reads it: the answer for its type says why.
    first
}

/// The shipped set for `template_id` that maps `composition` (canonical
/// JSON or FLAT) back to FHIR. Two sets may map one template
/// (`growth_chart` answers a Bundle of four measurements,
/// `body_measurements` one Observation per measurement, LOINC-coded): the
/// composition's content decides, never the list order. The set chosen
/// leaves the fewest composition nodes unmapped; among equals, the one
/// whose archetypes the composition uses most tightly (fewest of the set's
/// archetypes absent from it: a composition with one body weight belongs
/// to the set made for single measurements); then list order.
pub fn for_composition(
    template_id: &str,
    composition: &serde_json::Value,
) -> Result<&'static Shipped, ShippedError> {
    let candidates: Vec<&'static Shipped> = SHIPPED
        .iter()
        .filter(|s| s.template_id == template_id)
        .collect();
    match candidates.as_slice() {
        [] => return Err(ShippedError::Unknown(template_id.to_owned())),
        [one] => return Ok(one),
        _ => {}
    }
    let used = composition_archetypes(composition);
    let mut best: Option<((usize, usize), &'static Shipped)> = None;
    for set in candidates {
        let engine = set.engine()?;
        let translator = super::translators::OpenEhrToFhir::new(&engine);
        let unmapped = match crate::translation::Translator::translate(&translator, composition) {
            Ok(t) => t.unmapped.len(),
            // A set that cannot read the composition at all is the worst fit.
            Err(_) => usize::MAX,
        };
        let absent = set_archetypes(set)?
            .iter()
            .filter(|a| !used.iter().any(|u| u == *a))
            .count();
        let score = (unmapped, absent);
        if best.as_ref().is_none_or(|(b, _)| score < *b) {
            best = Some((score, set));
        }
    }
    best.map(|(_, s)| s)
        .ok_or_else(|| ShippedError::Unknown(template_id.to_owned()))
}

/// The short ids (`OBSERVATION.body_weight.v2`) of the archetypes a
/// canonical composition uses (none for FLAT, whose keys name nodes, not
/// archetypes).
fn composition_archetypes(v: &serde_json::Value) -> Vec<String> {
    fn walk(v: &serde_json::Value, out: &mut Vec<String>) {
        match v {
            serde_json::Value::Object(o) => {
                if let Some(id) = o.get("archetype_node_id").and_then(|x| x.as_str()) {
                    if id.starts_with("openEHR-") {
                        let short = super::loader::short_archetype(id).to_owned();
                        if !out.contains(&short) {
                            out.push(short);
                        }
                    }
                }
                o.values().for_each(|x| walk(x, out));
            }
            serde_json::Value::Array(a) => a.iter().for_each(|x| walk(x, out)),
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(v, &mut out);
    out
}

/// The short archetype ids of a set's models.
fn set_archetypes(set: &Shipped) -> Result<Vec<String>, ShippedError> {
    let loaded = set.mapping_set()?;
    Ok(loaded
        .models
        .iter()
        .filter_map(|m| m.doc.spec.open_ehr_config.as_ref())
        .map(|c| super::loader::short_archetype(&c.archetype).to_owned())
        .collect())
}

/// The shipped set called `name` (its directory under
/// `templates/mappings/`). Two sets may map the same template
/// (`growth_chart` and `body_measurements`); the name tells them apart.
pub fn by_name(name: &str) -> Result<&'static Shipped, ShippedError> {
    SHIPPED
        .iter()
        .find(|s| s.name == name)
        .ok_or_else(|| ShippedError::UnknownSet(name.to_owned()))
}

impl Shipped {
    /// The OPT bytes.
    pub fn opt(&self) -> Option<&'static [u8]> {
        match self.template {
            TemplateSource::Own(b) => Some(b),
            TemplateSource::Bundled(file) => ehrgate_templates::bundled::BUNDLED
                .iter()
                .find(|(f, _)| *f == file)
                .map(|(_, b)| *b),
        }
    }

    /// The parsed template.
    pub fn template(&self) -> Result<TemplateMeta, ShippedError> {
        let bytes = self
            .opt()
            .ok_or_else(|| ShippedError::Template("bundled OPT missing".to_owned()))?;
        Ok(parse_opt(bytes)?)
    }

    /// The loaded mapping set.
    pub fn mapping_set(&self) -> Result<MappingSet, ShippedError> {
        Ok(MappingSet::from_sources(
            self.files.iter().copied(),
            &LoadLimits::default(),
        )?)
    }

    /// A compiled engine with the template.
    pub fn engine(&self) -> Result<Engine, ShippedError> {
        let meta = self.template()?;
        Ok(Engine::new(self.mapping_set()?, Some(&meta))?)
    }
}
