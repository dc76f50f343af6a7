//! Transaction Bundles (`POST /fhir` with `type: transaction`).
//!
//! openEHR has no multi-composition transaction over REST, so the facade
//! gets as close as it can: every entry is checked and translated first
//! (a bad entry fails the Bundle before anything is written), then the
//! compositions are stored in order; if one store fails, the ones already
//! stored are deleted again and the Bundle fails with the entry's error.
//!
//! Entries: `POST` of a served type (create), `PUT {type}/{id}` (update),
//! `DELETE {type}/{id}`. `Patient` entries name the subject of the others
//! (by `fullUrl`, `urn:uuid:` references): openEHR keeps patients outside
//! the CDR, so a Patient entry is answered with its EHR, created if the
//! backend is so configured.

use serde_json::{json, Value};

use super::error::FacadeError;
use super::write::{BundlePatients, Created, Prepared};
use super::Facade;

/// One checked entry.
#[derive(Debug)]
enum Op {
    Patient {
        subject: String,
    },
    Create(Prepared),
    Update {
        id: String,
        resource_type: String,
        resource: Value,
    },
    Delete {
        id: String,
        resource_type: String,
    },
}

// === impl Facade ===

impl Facade {
    /// Runs a transaction Bundle; answers the `transaction-response`.
    pub async fn transaction(&self, tenant: &str, bundle: &Value) -> Result<Value, FacadeError> {
        if bundle.get("resourceType").and_then(Value::as_str) != Some("Bundle") {
            return Err(FacadeError::WrongType {
                expected: "Bundle".into(),
                found: bundle
                    .get("resourceType")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .into(),
            });
        }
        let bad = |reason: &str, at: String| FacadeError::BadBundle {
            reason: reason.to_owned(),
            at,
        };
        if bundle.get("type").and_then(Value::as_str) != Some("transaction") {
            return Err(bad("only type transaction is served", "Bundle.type".into()));
        }
        let entries = bundle
            .get("entry")
            .and_then(Value::as_array)
            .map_or(&[][..], Vec::as_slice);
        if entries.len() > self.settings.max_bundle_entries {
            return Err(bad(
                &format!("more than {} entries", self.settings.max_bundle_entries),
                "Bundle.entry".into(),
            ));
        }
        // Patients first: other entries refer to them by fullUrl.
        let mut patients = BundlePatients::new();
        for (i, e) in entries.iter().enumerate() {
            let r = e.get("resource");
            if r.and_then(|r| r.get("resourceType"))
                .and_then(Value::as_str)
                == Some("Patient")
            {
                let subject = patient_subject(r.unwrap_or(&Value::Null)).ok_or_else(|| {
                    bad(
                        "a Patient entry needs an id or identifier",
                        format!("Bundle.entry[{i}].resource"),
                    )
                })?;
                if let Some(url) = e.get("fullUrl").and_then(Value::as_str) {
                    patients.insert(url.to_owned(), subject);
                }
            }
        }
        for e in entries {
            if let Some(rt) = e.pointer("/resource/resourceType").and_then(Value::as_str) {
                if rt != "Patient" && !self.settings.templates_of(rt).is_empty() {
                    self.warm(rt).await?;
                }
            }
        }
        let mut ops = Vec::with_capacity(entries.len());
        for (i, e) in entries.iter().enumerate() {
            let at = |s: &str| format!("Bundle.entry[{i}]{s}");
            let method = e
                .pointer("/request/method")
                .and_then(Value::as_str)
                .unwrap_or("");
            let url = e
                .pointer("/request/url")
                .and_then(Value::as_str)
                .unwrap_or("");
            let resource = e.get("resource");
            let op = match (method, resource) {
                (_, Some(r))
                    if r.get("resourceType").and_then(Value::as_str) == Some("Patient") =>
                {
                    Op::Patient {
                        subject: patient_subject(r).unwrap_or_default(),
                    }
                }
                ("POST", Some(r)) => Op::Create(
                    self.prepare(
                        r,
                        Some(url.split('?').next().unwrap_or(url)),
                        Some(&patients),
                    )
                    .map_err(|err| locate(err, &at(".resource")))?,
                ),
                ("PUT", Some(r)) => {
                    let (rt, id) = type_and_id(url)
                        .ok_or_else(|| bad("PUT needs {type}/{id}", at(".request.url")))?;
                    self.prepare(r, Some(rt), Some(&patients))
                        .map_err(|err| locate(err, &at(".resource")))?;
                    Op::Update {
                        id: id.to_owned(),
                        resource_type: rt.to_owned(),
                        resource: r.clone(),
                    }
                }
                ("DELETE", _) => {
                    let (rt, id) = type_and_id(url)
                        .ok_or_else(|| bad("DELETE needs {type}/{id}", at(".request.url")))?;
                    Op::Delete {
                        id: id.to_owned(),
                        resource_type: rt.to_owned(),
                    }
                }
                _ => return Err(bad(
                    "entry needs request.method POST, PUT or DELETE (with a resource for POST/PUT)",
                    at(".request"),
                )),
            };
            ops.push(op);
        }
        // Writes, undone on failure.
        let mut done: Vec<Created> = Vec::new();
        let mut responses = Vec::with_capacity(ops.len());
        for (i, op) in ops.into_iter().enumerate() {
            let result = match op {
                Op::Patient { subject } => self
                    .ehrs
                    .resolve(
                        self.settings.namespace_of(tenant),
                        &subject,
                        self.settings.create_ehr,
                    )
                    .await
                    .map(|_| json!({"status": "200 OK", "location": format!("Patient/{subject}")})),
                Op::Create(p) => match self.store(tenant, p).await {
                    Ok(c) => {
                        let r = response("201 Created", &c);
                        done.push(c);
                        Ok(r)
                    }
                    Err(e) => Err(e),
                },
                Op::Update {
                    id,
                    resource_type,
                    resource,
                } => self
                    .update(tenant, &id, &resource, &resource_type, None)
                    .await
                    .map(|c| response("200 OK", &c)),
                Op::Delete { id, resource_type } => self
                    .delete(tenant, &id, &resource_type, None)
                    .await
                    .map(|()| json!({"status": "204 No Content"})),
            };
            match result {
                Ok(r) => responses.push(json!({"response": r})),
                Err(err) => {
                    for c in done.iter().rev() {
                        if let Err(undo) = self.undo(tenant, c).await {
                            tracing::warn!(target: "ehrgate::facade", code = ehrgate_fault::Classified::code(&undo), "could not undo a transaction entry");
                        }
                    }
                    return Err(locate(err, &format!("Bundle.entry[{i}]")));
                }
            }
        }
        Ok(json!({
            "resourceType": "Bundle",
            "type": "transaction-response",
            "entry": responses,
        }))
    }
}

/// An entry's response; `outcome` names the elements the template could
/// not hold, when there are any.
fn response(status: &str, c: &Created) -> Value {
    let mut r = json!({
        "status": status,
        "location": format!("{}/{}/_history/{}", c.resource_type, c.id, c.version),
        "etag": format!("W/\"{}\"", c.version),
    });
    if !c.unmapped.is_empty() {
        r["outcome"] = super::partial::outcome(&c.unmapped);
    }
    r
}

/// `Type/id` of a request URL.
fn type_and_id(url: &str) -> Option<(&str, &str)> {
    let (rt, id) = url.trim_start_matches('/').split_once('/')?;
    (!rt.is_empty() && !id.is_empty() && !id.contains('/')).then_some((rt, id))
}

/// A Patient entry's subject id: its first identifier's value, else its id.
fn patient_subject(p: &Value) -> Option<String> {
    p.pointer("/identifier/0/value")
        .and_then(Value::as_str)
        .or_else(|| p.get("id").and_then(Value::as_str))
        .filter(|s| !s.is_empty() && s.len() <= 256)
        .map(str::to_owned)
}

/// Prefixes an entry's location to the error's FHIRPaths.
fn locate(err: FacadeError, at: &str) -> FacadeError {
    match err {
        FacadeError::TemplateViolation { template, issues } => FacadeError::TemplateViolation {
            template,
            issues: issues
                .into_iter()
                .map(|mut i| {
                    i.fhir_path = Some(format!("{at}.{}", i.fhir_path.as_deref().unwrap_or("")))
                        .map(|s| s.trim_end_matches('.').to_owned());
                    i
                })
                .collect(),
        },
        FacadeError::NoSubject { element } => FacadeError::NoSubject {
            // `Condition.subject` -> `Bundle.entry[2].resource.subject`
            element: format!(
                "{at}.{}",
                element.split_once('.').map_or(element.as_str(), |(_, e)| e)
            ),
        },
        FacadeError::BadBundle { reason, at: inner } if !inner.starts_with("Bundle") => {
            FacadeError::BadBundle {
                reason,
                at: format!("{at}{inner}"),
            }
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_patients_parse() {
        assert_eq!(type_and_id("Observation/abc"), Some(("Observation", "abc")));
        assert_eq!(type_and_id("Observation"), None);
        assert_eq!(
            patient_subject(&json!({"identifier": [{"value": "m1"}], "id": "x"})).as_deref(),
            Some("m1")
        );
        assert_eq!(patient_subject(&json!({"id": "x"})).as_deref(), Some("x"));
        assert_eq!(patient_subject(&json!({})), None);
    }
}
