//! FHIR ids <-> openEHR identifiers.
//!
//! A FHIR id must identify the composition *and* its EHR, because the
//! openEHR REST API addresses a composition only under its EHR
//! (`/ehr/{ehr_id}/composition/{uid}`). Both are UUIDs, so the id is the
//! two in lower-case hex without hyphens: exactly 64 characters, the most
//! FHIR allows (`[A-Za-z0-9\-\.]{1,64}`). It is derived from the versioned
//! object uid, so it stays the same across updates (the version travels
//! in `meta.versionId` and the ETag) and maps back without a lookup.

/// A composition's address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompositionRef {
    /// The EHR id (hyphenated UUID).
    pub ehr_id: String,
    /// The versioned object uid (hyphenated UUID, no system or version).
    pub object_id: String,
}

/// A version uid `uuid::system::version`, split.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VersionUid {
    /// The versioned object uid.
    pub object_id: String,
    /// The creating system id.
    pub system: String,
    /// The version number.
    pub version: u32,
}

// === impl VersionUid ===

impl VersionUid {
    /// Parses `uuid::system::version`.
    pub fn parse(s: &str) -> Option<VersionUid> {
        let s = s.trim().trim_matches('"');
        let mut parts = s.splitn(3, "::");
        let object_id = parts.next()?;
        let system = parts.next()?;
        let version = parts.next()?.parse().ok()?;
        (uuid_hex(object_id).is_some() && !system.is_empty()).then(|| VersionUid {
            object_id: object_id.to_ascii_lowercase(),
            system: system.to_owned(),
            version,
        })
    }

    /// `uuid::system::version`.
    pub fn render(&self) -> String {
        format!("{}::{}::{}", self.object_id, self.system, self.version)
    }
}

// === impl CompositionRef ===

impl CompositionRef {
    /// The FHIR id; `None` when either id is not a UUID.
    pub fn fhir_id(&self) -> Option<String> {
        let mut out = uuid_hex(&self.ehr_id)?;
        out.push_str(&uuid_hex(&self.object_id)?);
        Some(out)
    }

    /// The address a FHIR id stands for; `None` for ids we did not issue.
    pub fn from_fhir_id(id: &str) -> Option<CompositionRef> {
        if id.len() != 64 || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let id = id.to_ascii_lowercase();
        Some(CompositionRef {
            ehr_id: hyphenate(&id[..32]),
            object_id: hyphenate(&id[32..]),
        })
    }
}

/// The 32 hex digits of a UUID (hyphens removed, lower case).
fn uuid_hex(s: &str) -> Option<String> {
    let hex: String = s.chars().filter(|c| *c != '-').collect();
    (hex.len() == 32 && hex.bytes().all(|b| b.is_ascii_hexdigit()) && s.len() <= 36)
        .then(|| hex.to_ascii_lowercase())
}

fn hyphenate(hex: &str) -> String {
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fhir_id_round_trips_and_fits_fhir() {
        let r = CompositionRef {
            ehr_id: "7d44b88c-4199-4bad-97dc-d78268e01398".into(),
            object_id: "8849182c-82ad-4088-a07f-48ead4180515".into(),
        };
        let id = r.fhir_id().unwrap();
        assert_eq!(id.len(), 64);
        assert!(id.bytes().all(|b| b.is_ascii_alphanumeric()));
        assert_eq!(CompositionRef::from_fhir_id(&id), Some(r.clone()));
        assert_eq!(
            CompositionRef::from_fhir_id(&id.to_ascii_uppercase()),
            Some(r)
        );
    }

    #[test]
    fn foreign_ids_are_refused() {
        assert_eq!(CompositionRef::from_fhir_id("123"), None);
        assert_eq!(CompositionRef::from_fhir_id(&"g".repeat(64)), None);
        let not_uuid = CompositionRef {
            ehr_id: "abc".into(),
            object_id: "8849182c-82ad-4088-a07f-48ead4180515".into(),
        };
        assert_eq!(not_uuid.fhir_id(), None);
    }

    #[test]
    fn version_uid_parses() {
        let v = VersionUid::parse("\"8849182C-82ad-4088-a07f-48ead4180515::local.ehrbase.org::3\"")
            .unwrap();
        assert_eq!(v.version, 3);
        assert_eq!(v.system, "local.ehrbase.org");
        assert_eq!(
            v.render(),
            "8849182c-82ad-4088-a07f-48ead4180515::local.ehrbase.org::3"
        );
        assert!(VersionUid::parse("x::y::1").is_none());
        assert!(VersionUid::parse("8849182c-82ad-4088-a07f-48ead4180515::s::v").is_none());
    }
}
