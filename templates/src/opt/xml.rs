//! A small, bounded element tree built with quick-xml.
//!
//! OPTs are read in two steps: bytes -> this tree, tree -> model. The tree
//! keeps only what OPT 1.4 needs (local names, attributes, text), which
//! makes the model code a plain recursive walk and keeps every size bound
//! (bytes, depth, element count) in one place.

use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

use super::{OptError, OptLimits};

/// One XML element: local name, attributes (local names), text and children.
#[derive(Debug, Default)]
pub(crate) struct Element {
    pub name: String,
    pub attrs: Vec<(String, String)>,
    pub text: String,
    pub children: Vec<Element>,
}

// === impl Element ===

impl Element {
    /// The first child named `name`.
    pub fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }

    /// All children named `name`.
    pub fn children_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }

    /// Trimmed text of the child `name`.
    pub fn child_text(&self, name: &str) -> Option<&str> {
        self.child(name).map(|c| c.text.trim())
    }

    /// Trimmed text at a `/`-separated path of child names.
    pub fn path_text(&self, path: &str) -> Option<&str> {
        let mut cur = self;
        for part in path.split('/') {
            cur = cur.child(part)?;
        }
        Some(cur.text.trim())
    }

    /// Value of attribute `name` (local name, so `xsi:type` is `type`).
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Parses `text` (already BOM-stripped UTF-8) into an element tree.
pub(crate) fn parse(text: &str, limits: &OptLimits) -> Result<Element, OptError> {
    let mut reader = Reader::from_str(text);
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    let mut count = 0usize;
    loop {
        let pos = reader.buffer_position();
        let event = reader.read_event().map_err(|e| OptError::Xml {
            position: pos,
            message: e.to_string(),
        })?;
        match event {
            Event::Start(start) => {
                count += 1;
                if count > limits.max_elements {
                    return Err(OptError::TooManyElements(limits.max_elements));
                }
                if stack.len() >= limits.max_depth {
                    return Err(OptError::TooDeep(limits.max_depth));
                }
                stack.push(element(&start, pos)?);
            }
            Event::Empty(start) => {
                count += 1;
                if count > limits.max_elements {
                    return Err(OptError::TooManyElements(limits.max_elements));
                }
                let el = element(&start, pos)?;
                attach(&mut stack, &mut root, el, pos)?;
            }
            Event::End(_) => {
                let el = stack.pop().ok_or(OptError::Xml {
                    position: pos,
                    message: "unbalanced end tag".into(),
                })?;
                attach(&mut stack, &mut root, el, pos)?;
            }
            Event::Text(t) => {
                if let Some(top) = stack.last_mut() {
                    let s = t.xml_content().map_err(|e| OptError::Xml {
                        position: pos,
                        message: e.to_string(),
                    })?;
                    top.text.push_str(&s);
                }
            }
            Event::CData(t) => {
                if let Some(top) = stack.last_mut() {
                    top.text.push_str(&String::from_utf8_lossy(&t));
                }
            }
            Event::GeneralRef(r) => {
                if let Some(top) = stack.last_mut() {
                    if let Ok(Some(c)) = r.resolve_char_ref() {
                        top.text.push(c);
                    } else {
                        let name = String::from_utf8_lossy(&r).into_owned();
                        let resolved = quick_xml::escape::resolve_predefined_entity(&name).ok_or(
                            OptError::Xml {
                                position: pos,
                                message: format!("unknown entity &{name};"),
                            },
                        )?;
                        top.text.push_str(resolved);
                    }
                }
            }
            Event::Eof => break,
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) | Event::DocType(_) => {}
        }
    }
    if !stack.is_empty() {
        return Err(OptError::Xml {
            position: reader.buffer_position(),
            message: "unexpected end of document".into(),
        });
    }
    root.ok_or(OptError::Missing("root element"))
}

fn element(start: &BytesStart<'_>, pos: u64) -> Result<Element, OptError> {
    let name = String::from_utf8_lossy(start.local_name().as_ref()).into_owned();
    let mut attrs = Vec::new();
    for attr in start.attributes() {
        let attr = attr.map_err(|e| OptError::Xml {
            position: pos,
            message: e.to_string(),
        })?;
        let key = String::from_utf8_lossy(attr.key.local_name().as_ref()).into_owned();
        if attr.key.as_ref().starts_with(b"xmlns") {
            continue;
        }
        let value = attr.unescape_value().map_err(|e| OptError::Xml {
            position: pos,
            message: e.to_string(),
        })?;
        attrs.push((key, value.into_owned()));
    }
    Ok(Element {
        name,
        attrs,
        ..Element::default()
    })
}

fn attach(
    stack: &mut [Element],
    root: &mut Option<Element>,
    el: Element,
    pos: u64,
) -> Result<(), OptError> {
    if let Some(parent) = stack.last_mut() {
        parent.children.push(el);
        Ok(())
    } else if root.is_none() {
        *root = Some(el);
        Ok(())
    } else {
        Err(OptError::Xml {
            position: pos,
            message: "more than one root element".into(),
        })
    }
}
