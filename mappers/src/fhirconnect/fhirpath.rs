//! The FHIRPath subset FHIRconnect files use, evaluated over
//! `serde_json::Value`.
//!
//! Supported: the variables `$resource` (the resource being mapped) and
//! `$fhirRoot` (the element the parent method selected), member navigation
//! with implicit flattening of arrays (`code.coding.code`), choice elements
//! by their base name (`value` finds `valueQuantity`), and the type filter
//! `as(Type)` / `ofType(Type)`. Anything else fails to parse, so a mapping
//! file using it is refused at load time.
//!
//! Every selected node carries its FHIR type (from the schema table) and its
//! location (`Observation.component[1].valueQuantity`): the type decides the
//! openEHR data type conversion, the location is what an unmapped report
//! names (never the value).

use serde_json::Value;

use super::fhir_schema::{same_type, schema};
use super::fhir_write::{get as member_get, member as member_of};

/// Largest accepted path length, in bytes; paths come from mapping files.
const MAX_PATH_BYTES: usize = 1024;

/// Where a path starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Root {
    /// `$resource`: the resource being mapped.
    Resource,
    /// `$fhirRoot`: the element selected by the parent method.
    FhirRoot,
    /// No variable: relative to the parent method's element.
    Relative,
}

/// One navigation step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// A member (`code`), or a choice element's base name (`value`).
    Member(String),
    /// `as(Type)` / `ofType(Type)`: keep nodes of that type.
    As(String),
}

/// A parsed path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Path {
    /// Where it starts.
    pub root: Root,
    /// The steps, in order.
    pub steps: Vec<Step>,
}

/// Why a path was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PathError {
    /// The path is longer than [`MAX_PATH_BYTES`].
    #[error("path too long")]
    TooLong,
    /// A variable other than `$resource` / `$fhirRoot`.
    #[error("unsupported variable `{0}`")]
    Variable(String),
    /// A function other than `as` / `ofType`.
    #[error("unsupported function `{0}()`")]
    Function(String),
    /// Not a path at all.
    #[error("malformed path at `{0}`")]
    Malformed(String),
}

impl Path {
    /// Parses a path of the supported subset.
    pub fn parse(text: &str) -> Result<Self, PathError> {
        if text.len() > MAX_PATH_BYTES {
            return Err(PathError::TooLong);
        }
        let text = text.trim();
        let mut parts = split_dots(text)?.into_iter();
        let mut root = Root::Relative;
        let mut steps = Vec::new();
        if let Some(first) = parts.next() {
            match first {
                "$resource" => root = Root::Resource,
                "$fhirRoot" => root = Root::FhirRoot,
                v if v.starts_with('$') => return Err(PathError::Variable(v.to_owned())),
                other => steps.push(parse_step(other)?),
            }
        }
        for p in parts {
            steps.push(parse_step(p)?);
        }
        Ok(Path { root, steps })
    }

    /// The path with one more member step.
    pub fn child(&self, member: &str) -> Path {
        let mut p = self.clone();
        p.steps.push(Step::Member(member.to_owned()));
        p
    }
}

/// Splits on dots outside parentheses.
fn split_dots(text: &str) -> Result<Vec<&str>, PathError> {
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth = depth
                    .checked_sub(1)
                    .ok_or_else(|| PathError::Malformed(text.to_owned()))?;
            }
            '.' if depth == 0 => {
                out.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if depth != 0 {
        return Err(PathError::Malformed(text.to_owned()));
    }
    out.push(&text[start..]);
    if out.iter().any(|p| p.is_empty()) {
        return Err(PathError::Malformed(text.to_owned()));
    }
    Ok(out)
}

fn parse_step(part: &str) -> Result<Step, PathError> {
    if let Some(open) = part.find('(') {
        let name = &part[..open];
        let arg = part[open + 1..]
            .strip_suffix(')')
            .ok_or_else(|| PathError::Malformed(part.to_owned()))?
            .trim();
        return match name {
            "as" | "ofType" if is_identifier(arg) => Ok(Step::As(arg.to_owned())),
            "as" | "ofType" => Err(PathError::Malformed(part.to_owned())),
            other => Err(PathError::Function(other.to_owned())),
        };
    }
    if is_identifier(part) {
        Ok(Step::Member(part.to_owned()))
    } else {
        Err(PathError::Malformed(part.to_owned()))
    }
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

// === Evaluation ===

/// One selected node: a JSON value with its FHIR type and location.
#[derive(Debug, Clone, PartialEq)]
pub struct Node<'a> {
    /// The value (never an array: arrays are flattened).
    pub value: &'a Value,
    /// Its FHIR type, if known (`Quantity`, `Observation_Component`).
    pub ty: Option<&'a str>,
    /// Where it is (`Observation.component[1].valueQuantity`).
    pub loc: String,
    /// Set on the two levels of a Bundle that wraps a lone resource
    /// without copying it ([`Node::bundle_of`]): the `Bundle` and its
    /// `entry[0]`, whose `value` is an empty object; navigation from
    /// them reaches this resource.
    pub wrapped: Option<&'a Value>,
}

/// Where the wrapped resource sits in the Bundle [`Node::bundle_of`]
/// stands for.
pub const WRAPPED_AT: &str = "Bundle.entry[0].resource";

impl<'a> Node<'a> {
    /// A resource as a root node; its type is its `resourceType`.
    pub fn resource(value: &'a Value) -> Self {
        let ty = member_get(value, "resourceType").and_then(Value::as_str);
        Node {
            value,
            ty,
            loc: ty.unwrap_or("Resource").to_owned(),
            wrapped: None,
        }
    }

    /// A Bundle holding `resource` as its one entry, for mapping sets whose
    /// context is a Bundle, without copying the resource into a new
    /// document (a measured 8 % of a translation): `empty` (an empty
    /// object) stands for the Bundle and its entry, and `Bundle.entry`,
    /// `.resource` lead to `resource` at [`WRAPPED_AT`].
    pub fn bundle_of(empty: &'a Value, resource: &'a Value) -> Self {
        Node {
            value: empty,
            ty: Some("Bundle"),
            loc: "Bundle".to_owned(),
            wrapped: Some(resource),
        }
    }

    /// The value as a string, for conditions (numbers and booleans in
    /// their JSON spelling).
    pub fn as_text(&self) -> Option<String> {
        match self.value {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }
}

/// Evaluates `path` with `$resource` = `resource` and `$fhirRoot` (and the
/// start of relative paths) = `context`.
pub fn eval<'a>(path: &Path, resource: &Node<'a>, context: &Node<'a>) -> Vec<Node<'a>> {
    let start = match path.root {
        Root::Resource => resource,
        Root::FhirRoot | Root::Relative => context,
    };
    // The first member step reads the start node in place: cloning it
    // (its location) for every evaluation was a measured hot spot.
    match path.steps.split_first() {
        Some((Step::Member(name), rest)) => {
            let mut nodes = Vec::new();
            member(&mut nodes, start, name);
            eval_steps(rest, nodes)
        }
        _ => eval_steps(&path.steps, vec![start.clone()]),
    }
}

/// Applies steps to a collection.
pub fn eval_steps<'a>(steps: &[Step], mut nodes: Vec<Node<'a>>) -> Vec<Node<'a>> {
    let mut next = Vec::new();
    for step in steps {
        match step {
            Step::Member(name) => {
                next.clear();
                for n in &nodes {
                    member(&mut next, n, name);
                }
                std::mem::swap(&mut nodes, &mut next);
            }
            Step::As(ty) => nodes.retain(|n| n.ty.is_none_or(|t| same_type(t, ty))),
        }
    }
    nodes
}

/// Appends the children of `node` named `name` to `out` (array items
/// flattened; no list per node).
fn member<'a>(out: &mut Vec<Node<'a>>, node: &Node<'a>, name: &str) {
    if let Some(resource) = node.wrapped {
        wrapped_member(out, node, resource, name);
        return;
    }
    let Value::Object(obj) = node.value else {
        return;
    };
    let s = schema();
    if let Some(owner) = node.ty {
        if let Some(el) = s.element(owner, name) {
            if let Some(v) = member_of(obj, el.property) {
                push_items(out, node, el.property, v, Some(el.ty));
            }
            return;
        }
        let variants = s.choices(owner, name);
        if !variants.is_empty() {
            for el in variants {
                if let Some(v) = member_of(obj, el.property) {
                    push_items(out, node, el.property, v, Some(el.ty));
                }
            }
            return;
        }
        if s.is_complex(owner) {
            // A known type without this element: nothing to select.
            return;
        }
    }
    // Unknown owner type: plain JSON navigation, choice by prefix.
    if let Some(v) = member_of(obj, name) {
        push_items(out, node, name, v, None);
    } else {
        for (k, v) in obj {
            if let Some(rest) = k.strip_prefix(name) {
                if rest.starts_with(|c: char| c.is_ascii_uppercase()) {
                    push_items(out, node, k, v, Some(rest));
                }
            }
        }
    }
}

/// [`member`] on a level of a [`Node::bundle_of`] Bundle: the Bundle has
/// only `entry` (one), the entry only `resource`; types as the schema
/// gives them, as for a Bundle in the input.
fn wrapped_member<'a>(out: &mut Vec<Node<'a>>, node: &Node<'a>, resource: &'a Value, name: &str) {
    let at_bundle = node.loc == "Bundle";
    match (at_bundle, name) {
        (true, "entry") => out.push(Node {
            value: node.value,
            ty: schema().element("Bundle", "entry").map(|el| el.ty),
            loc: child_loc(&node.loc, "entry", Some(0)),
            wrapped: Some(resource),
        }),
        (false, "resource") => out.push(Node {
            value: resource,
            ty: member_get(resource, "resourceType").and_then(Value::as_str),
            loc: child_loc(&node.loc, "resource", None),
            wrapped: None,
        }),
        _ => {}
    }
}

fn push_items<'a>(
    out: &mut Vec<Node<'a>>,
    parent: &Node<'a>,
    key: &str,
    v: &'a Value,
    ty: Option<&'a str>,
) {
    let item = |value: &'a Value, loc: String| {
        // Contained resources carry their own type.
        let ty = match ty {
            Some("ResourceList") | None => member_get(value, "resourceType")
                .and_then(Value::as_str)
                .or(ty),
            t => t,
        };
        Node {
            value,
            ty,
            loc,
            wrapped: None,
        }
    };
    match v {
        Value::Array(items) => {
            for (i, x) in items.iter().enumerate() {
                out.push(item(x, child_loc(&parent.loc, key, Some(i))));
            }
        }
        Value::Null => {}
        x => out.push(item(x, child_loc(&parent.loc, key, None))),
    }
}

/// `parent.key` or `parent.key[i]`: built for every selected node, so
/// without the formatting machinery (a measured hot spot).
pub(crate) fn child_loc(parent: &str, key: &str, index: Option<usize>) -> String {
    let mut loc = String::with_capacity(parent.len() + key.len() + 8);
    loc.push_str(parent);
    loc.push('.');
    loc.push_str(key);
    if let Some(i) = index {
        push_index(&mut loc, i);
    }
    loc
}

/// Appends `[i]`.
pub(crate) fn push_index(loc: &mut String, i: usize) {
    loc.push('[');
    push_decimal(loc, i);
    loc.push(']');
}

/// Appends `i` in decimal (no `to_string` allocation per step).
pub(crate) fn push_decimal(s: &mut String, i: usize) {
    let mut digits = [0u8; 20];
    let mut n = i;
    let mut k = digits.len();
    loop {
        k -= 1;
        digits[k] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    for d in &digits[k..] {
        s.push(char::from(*d));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn bp() -> Value {
        json!({
            "resourceType": "Observation",
            "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "85354-9"}], "text": "BP"},
            "effectiveDateTime": "2022-02-03T04:05:06Z",
            "component": [
                {"code": {"coding": [{"code": "8480-6"}]}, "valueQuantity": {"value": 120, "unit": "mm[Hg]"}},
                {"code": {"coding": [{"code": "8462-4"}]}, "valueQuantity": {"value": 80}}
            ]
        })
    }

    fn run(path: &str, v: &Value) -> Vec<(String, Option<String>)> {
        let root = Node::resource(v);
        eval(&Path::parse(path).unwrap(), &root, &root)
            .into_iter()
            .map(|n| (n.loc, n.ty.map(str::to_owned)))
            .collect()
    }

    #[test]
    fn navigates_and_flattens_arrays() {
        let v = bp();
        let codes = run("$resource.component.code.coding.code", &v);
        assert_eq!(codes.len(), 2);
        assert_eq!(codes[1].0, "Observation.component[1].code.coding[0].code");
    }

    #[test]
    fn child_locations_match_the_formatted_ones() {
        for i in [0usize, 7, 10, 99, 12345, usize::MAX] {
            assert_eq!(
                child_loc("Observation.component", "code", Some(i)),
                format!("Observation.component.code[{i}]")
            );
        }
        assert_eq!(
            child_loc("Observation", "status", None),
            "Observation.status"
        );
    }

    #[test]
    fn resolves_choice_elements_with_their_type() {
        let v = bp();
        let vals = run("$resource.component.value", &v);
        assert_eq!(vals[0].0, "Observation.component[0].valueQuantity");
        assert_eq!(vals[0].1.as_deref(), Some("Quantity"));
        assert_eq!(
            run("$resource.effective", &v)[0].1.as_deref(),
            Some("dateTime")
        );
        assert_eq!(run("$resource.effective.as(DateTime)", &v).len(), 1);
        assert!(run("$resource.effective.as(Period)", &v).is_empty());
        assert!(run("$resource.value", &v).is_empty());
    }

    #[test]
    fn bundle_entries_take_the_resource_type() {
        let b = json!({"resourceType": "Bundle", "entry": [{"resource": bp()}]});
        let r = run("$resource.entry.resource.code.text", &b);
        assert_eq!(
            r,
            vec![(
                "Bundle.entry[0].resource.code.text".to_owned(),
                Some("string".to_owned())
            )]
        );
    }

    #[test]
    fn refuses_what_it_cannot_evaluate() {
        assert_eq!(
            Path::parse("$resource.where(x)"),
            Err(PathError::Function("where".into()))
        );
        assert_eq!(
            Path::parse("$context.x"),
            Err(PathError::Variable("$context".into()))
        );
        assert!(matches!(Path::parse("a..b"), Err(PathError::Malformed(_))));
        assert!(matches!(
            Path::parse("a.as(Quantity"),
            Err(PathError::Malformed(_))
        ));
        assert!(Path::parse(&"a.".repeat(600)).is_err());
    }

    #[test]
    fn relative_paths_start_at_the_context() {
        let v = bp();
        let root = Node::resource(&v);
        let comps = eval(&Path::parse("$resource.component").unwrap(), &root, &root);
        let vals = eval(&Path::parse("value").unwrap(), &root, &comps[1]);
        assert_eq!(vals[0].value["value"], json!(80));
        let same = eval(&Path::parse("$fhirRoot").unwrap(), &root, &comps[1]);
        assert_eq!(same[0].loc, "Observation.component[1]");
    }
}
