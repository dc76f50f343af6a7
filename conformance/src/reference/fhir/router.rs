//! Request routing for the FHIR backend and the exchange log.

use std::sync::Arc;

use http::{Method, StatusCode};
use serde_json::json;

use super::error::FhirError;
use super::stats::FhirStats;
use super::{crud, search, transaction, FhirConfig, SchemaRef};
use crate::reference::http::{self as h, Req, Resp};
use crate::reference::openehr::Exchange;
use crate::reference::server::Handler;

/// The backend: settings, schema and shared state.
#[derive(Debug)]
pub(crate) struct Backend {
    pub(crate) cfg: FhirConfig,
    pub(crate) schema: Arc<SchemaRef>,
    pub(crate) stats: Arc<FhirStats>,
}

// === impl Backend ===

impl Backend {
    fn route(&self, req: &Req) -> Result<Resp, FhirError> {
        let segs = req.segs();
        let m = &req.method;
        match segs.as_slice() {
            [] if m == Method::POST => transaction::bundle(self, req),
            ["metadata"] if m == Method::GET => Ok(capability(self)),
            [t] if m == Method::POST => crud::create(self, req, t),
            [t] if m == Method::GET => search::search(self, req, t),
            [t, id] if m == Method::GET => crud::read(self, t, id, None),
            [t, id] if m == Method::PUT => crud::update(self, req, t, id),
            [t, id] if m == Method::DELETE => crud::delete(self, req, t, id),
            [t, id, "_history", v] if m == Method::GET => crud::read(self, t, id, Some(v)),
            _ => Err(FhirError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "fhir.not-supported",
                "not-supported",
                format!("{m} on this path is not supported"),
            )),
        }
    }
}

/// What this server supports, as a CapabilityStatement.
fn capability(b: &Backend) -> Resp {
    let params = json!([
        {"name": "_id", "type": "token"},
        {"name": "identifier", "type": "token"},
        {"name": "patient", "type": "reference"},
        {"name": "subject", "type": "reference"},
        {"name": "code", "type": "token"},
        {"name": "date", "type": "date"}
    ]);
    let types = [
        "Observation",
        "Condition",
        "AllergyIntolerance",
        "MedicationStatement",
        "DiagnosticReport",
        "Patient",
    ];
    let resources: Vec<_> = types
        .iter()
        .map(|t| {
            json!({
                "type": t,
                "versioning": "versioned-update",
                "readHistory": false,
                "updateCreate": true,
                "conditionalUpdate": true,
                "interaction": [{"code": "read"}, {"code": "vread"}, {"code": "update"}, {"code": "delete"}, {"code": "create"}, {"code": "search-type"}],
                "searchParam": params,
            })
        })
        .collect();
    let cs = json!({
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": crate::reference::clock::iso_now().get(..10).unwrap_or("2026-01-01"),
        "kind": "instance",
        "software": {"name": "ehrgate reference FHIR backend"},
        "implementation": {"description": "in-memory test backend", "url": b.stats.base()},
        "fhirVersion": "4.0.1",
        "format": ["json"],
        "rest": [{"mode": "server", "resource": resources, "interaction": [{"code": "transaction"}, {"code": "batch"}]}]
    });
    h::respond(StatusCode::OK, "application/fhir+json", cs.to_string())
}

impl Handler for Backend {
    fn handle(&self, req: Req) -> Resp {
        let (resp, code) = match self.route(&req) {
            Ok(r) => (r, None),
            Err(e) => (e.response(), Some(e.code)),
        };
        self.stats.record(Exchange {
            method: req.method.to_string(),
            path: format!("/{}", req.segments.join("/")),
            status: resp.status().as_u16(),
            code,
        });
        resp
    }

    fn refuse(&self, status: StatusCode, code: &'static str, message: &str) -> Resp {
        self.stats.record(Exchange {
            method: String::new(),
            path: String::new(),
            status: status.as_u16(),
            code: Some(code),
        });
        FhirError::new(status, code, "invalid", message).response()
    }

    fn count_request(&self) {
        self.stats.count_request();
    }

    fn max_body(&self) -> usize {
        self.cfg.max_body_bytes
    }
}
