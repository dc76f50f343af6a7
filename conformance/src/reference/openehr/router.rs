//! Request routing for the openEHR backend and the exchange log.

use std::sync::Arc;

use http::{Method, StatusCode};

use super::error::OpenEhrError;
use super::stats::{Exchange, OpenEhrStats};
use super::{composition, ehr, query, template, OpenEhrConfig};
use crate::reference::http::{Req, Resp};
use crate::reference::server::Handler;

/// The backend: settings and shared state.
#[derive(Debug)]
pub(crate) struct Backend {
    pub(crate) cfg: OpenEhrConfig,
    pub(crate) stats: Arc<OpenEhrStats>,
}

// === impl Backend ===

impl Backend {
    pub(crate) fn new(cfg: OpenEhrConfig, stats: Arc<OpenEhrStats>) -> Self {
        Backend { cfg, stats }
    }

    fn route(&self, req: &Req) -> Result<Resp, OpenEhrError> {
        let segs = req.segs();
        let m = &req.method;
        match segs.as_slice() {
            ["ehr"] if m == Method::POST => ehr::create(self, req, None),
            ["ehr"] if m == Method::GET => ehr::by_subject(self, req),
            ["ehr", id] if m == Method::GET => ehr::get(self, id),
            ["ehr", id] if m == Method::PUT => ehr::create(self, req, Some(id)),
            ["ehr", id, "ehr_status"] if m == Method::GET => ehr::status(self, id),
            ["ehr", id, "composition"] if m == Method::POST => composition::create(self, req, id),
            ["ehr", id, "composition", uid] if m == Method::GET => {
                composition::get(self, req, id, uid)
            }
            ["ehr", id, "composition", uid] if m == Method::PUT => {
                composition::update(self, req, id, uid)
            }
            ["ehr", id, "composition", uid] if m == Method::DELETE => {
                composition::delete(self, req, id, uid)
            }
            ["definition", "template", "adl1.4"] if m == Method::POST => {
                template::upload(self, req)
            }
            ["definition", "template", "adl1.4"] if m == Method::GET => template::list(self),
            ["definition", "template", "adl1.4", id] if m == Method::GET => {
                template::get(self, req, id)
            }
            ["query", "aql"] if m == Method::POST || m == Method::GET => query::run(self, req),
            ["ehr", ..] | ["definition", ..] | ["query", ..] => Err(OpenEhrError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "request.method-not-allowed",
                format!("{m} is not supported on this resource"),
            )),
            _ => Err(OpenEhrError::not_found("path.unknown", "no such resource")),
        }
    }
}

impl Handler for Backend {
    fn handle(&self, req: Req) -> Resp {
        // EHRbase's security filter runs before any controller.
        if let Some(refused) = super::auth::refusal(&self.cfg.auth, &req) {
            self.stats.record(Exchange {
                method: req.method.to_string(),
                path: format!("/{}", req.segments.join("/")),
                status: refused.status().as_u16(),
                code: Some("auth.unauthorized"),
            });
            return refused;
        }
        let result = self.route(&req);
        let (resp, code) = match result {
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
        OpenEhrError::new(status, code, message).response()
    }

    fn count_request(&self) {
        self.stats.count_request();
    }

    fn max_body(&self) -> usize {
        self.cfg.max_body_bytes
    }
}
