//! Reading only the `template_id` of an OPT, for directory indexes.
//!
//! Indexing a directory must not cost a full parse per file; this stops at
//! `template/template_id/value`, which OPT writers place near the top.

use quick_xml::events::Event;
use quick_xml::Reader;

use super::{decode, OptError, OptLimits};
use crate::id::TemplateId;

/// The declared `template_id` of an OPT document.
pub fn read_template_id(bytes: &[u8], limits: &OptLimits) -> Result<TemplateId, OptError> {
    let text = decode(bytes, limits)?;
    let mut reader = Reader::from_str(text);
    let mut path: Vec<Vec<u8>> = Vec::new();
    let mut value: Option<String> = None;
    loop {
        let pos = reader.buffer_position();
        let event = reader.read_event().map_err(|e| OptError::Xml {
            position: pos,
            message: e.to_string(),
        })?;
        match event {
            Event::Start(s) => {
                if path.len() >= limits.max_depth {
                    return Err(OptError::TooDeep(limits.max_depth));
                }
                path.push(s.local_name().as_ref().to_vec());
                if is_id_path(&path) {
                    value = Some(String::new());
                } else if path.len() == 1 && path[0] != b"template" {
                    return Err(OptError::NotATemplate(
                        String::from_utf8_lossy(&path[0]).into_owned(),
                    ));
                }
            }
            Event::Text(t) => {
                if let Some(v) = value.as_mut() {
                    v.push_str(&t.xml_content().map_err(|e| OptError::Xml {
                        position: pos,
                        message: e.to_string(),
                    })?);
                }
            }
            Event::GeneralRef(r) => {
                if let Some(v) = value.as_mut() {
                    let name = String::from_utf8_lossy(&r).into_owned();
                    if let Ok(Some(c)) = r.resolve_char_ref() {
                        v.push(c);
                    } else if let Some(s) = quick_xml::escape::resolve_predefined_entity(&name) {
                        v.push_str(s);
                    }
                }
            }
            Event::End(_) => {
                if is_id_path(&path) {
                    return Ok(TemplateId::new(value.unwrap_or_default()));
                }
                path.pop();
            }
            Event::Eof => return Err(OptError::Missing("template_id/value")),
            _ => {}
        }
    }
}

fn is_id_path(path: &[Vec<u8>]) -> bool {
    path.len() == 3 && path[0] == b"template" && path[1] == b"template_id" && path[2] == b"value"
}
