//! The operational templates ehrgate ships (`templates/opt/`, see its
//! README for sources and licenses), compiled in so the mappers work without
//! a template directory or backend.

use std::collections::HashMap;
use std::sync::Arc;

use crate::id::TemplateId;
use crate::meta::TemplateMeta;
use crate::opt::{parse_opt, read_template_id, OptLimits};
use crate::store::{TemplateError, TemplateStore, TemplateSummary};

/// `(file name, OPT bytes)` of every bundled template.
pub const BUNDLED: &[(&str, &[u8])] = &[
    (
        "EHRN Vital signs.v2.opt",
        include_bytes!("../opt/EHRN Vital signs.v2.opt"),
    ),
    (
        "KDS_Vitalstatus.opt",
        include_bytes!("../opt/KDS_Vitalstatus.opt"),
    ),
    (
        "Blood Pressure.opt",
        include_bytes!("../opt/Blood Pressure.opt"),
    ),
    (
        "IDCR - Problem List.v1.opt",
        include_bytes!("../opt/IDCR - Problem List.v1.opt"),
    ),
    (
        "KDS_Diagnose.opt",
        include_bytes!("../opt/KDS_Diagnose.opt"),
    ),
    (
        "IDCR - Adverse Reaction List.v1.opt",
        include_bytes!("../opt/IDCR - Adverse Reaction List.v1.opt"),
    ),
    (
        "medication order.opt",
        include_bytes!("../opt/medication order.opt"),
    ),
    (
        "medications_statement.v0.opt",
        include_bytes!("../opt/medications_statement.v0.opt"),
    ),
    (
        "KDS_Laborbericht.opt",
        include_bytes!("../opt/KDS_Laborbericht.opt"),
    ),
    (
        "IDCR - Laboratory Test Report.v0.opt",
        include_bytes!("../opt/IDCR - Laboratory Test Report.v0.opt"),
    ),
    (
        "IDCR - Immunisation summary.v0.opt",
        include_bytes!("../opt/IDCR - Immunisation summary.v0.opt"),
    ),
    (
        "GECCO_Prozedur.opt",
        include_bytes!("../opt/GECCO_Prozedur.opt"),
    ),
    (
        "EHRN-ABDM-OPConsultRecord.v2.0.opt",
        include_bytes!("../opt/EHRN-ABDM-OPConsultRecord.v2.0.opt"),
    ),
];

/// A [`TemplateStore`] over [`BUNDLED`]; parses on `get` (put a cache in front).
#[derive(Debug)]
pub struct BundledSource {
    index: HashMap<TemplateId, &'static [u8]>,
}

// === impl BundledSource ===

impl BundledSource {
    /// Indexes the bundled templates by declared id.
    pub fn new() -> Result<Self, TemplateError> {
        let mut index = HashMap::new();
        for (file, bytes) in BUNDLED {
            let id = read_template_id(bytes, &OptLimits::default()).map_err(|error| {
                TemplateError::InvalidFile {
                    path: (*file).into(),
                    error,
                }
            })?;
            index.insert(id, *bytes);
        }
        Ok(BundledSource { index })
    }
}

#[async_trait::async_trait]
impl TemplateStore for BundledSource {
    async fn get(&self, id: &TemplateId) -> Result<Arc<TemplateMeta>, TemplateError> {
        let bytes = self
            .index
            .get(id)
            .ok_or_else(|| TemplateError::NotFound(id.clone()))?;
        parse_opt(bytes)
            .map(Arc::new)
            .map_err(|error| TemplateError::InvalidFile {
                path: id.as_str().into(),
                error,
            })
    }

    async fn list(&self) -> Result<Vec<TemplateSummary>, TemplateError> {
        let mut out: Vec<TemplateSummary> = self
            .index
            .keys()
            .map(|id| TemplateSummary {
                template_id: id.clone(),
                concept: None,
            })
            .collect();
        out.sort_by(|a, b| a.template_id.cmp(&b.template_id));
        Ok(out)
    }
}
