//! The definition tree: `C_OBJECT`s, their attributes and AQL paths.

use std::sync::Arc;

use super::constraints::{self, occurrences};
use super::terminology::read_terms;
use super::xml::Element;
use super::OptError;
use crate::id::TemplateId;
use crate::meta::{
    Attribute, DefaultValue, Node, NodeKind, SlotConstraint, TemplateConstraint, TemplateMeta,
    TermDefinitions,
};

/// Shared state of one template read.
struct Ctx {
    language: String,
    node_count: usize,
}

/// Reads the `template` root element into a [`TemplateMeta`].
pub(super) fn read_template(root: &Element) -> Result<TemplateMeta, OptError> {
    if root.name != "template" {
        return Err(OptError::NotATemplate(root.name.clone()));
    }
    let template_id = root
        .child("template_id")
        .and_then(|t| t.child("value"))
        .map(|v| v.text.as_str())
        .ok_or(OptError::Missing("template_id/value"))?;
    // The id is kept exactly, even surrounding whitespace (see crate::id).
    let template_id = TemplateId::new(template_id);
    let language = root
        .path_text("language/code_string")
        .ok_or(OptError::Missing("language/code_string"))?
        .to_string();
    let definition = root
        .child("definition")
        .ok_or(OptError::Missing("definition"))?;
    let mut ctx = Ctx {
        language: language.clone(),
        node_count: 0,
    };
    let root_node = read_node(definition, "", "", None, &mut ctx)?;
    let mut template_constraints = Vec::new();
    if let Some(c) = root.child("constraints") {
        for attr in c.children_named("attributes") {
            let path = attr.child_text("differential_path").unwrap_or_default();
            let attribute = read_attribute(attr, path, None, &mut ctx)?;
            template_constraints.push(TemplateConstraint {
                differential_path: path.to_string(),
                attribute,
            });
        }
    }
    Ok(TemplateMeta {
        template_id,
        uid: root.path_text("uid/value").map(str::to_string),
        concept: root.child_text("concept").unwrap_or_default().to_string(),
        languages: languages(root, &language),
        language,
        root: root_node,
        node_count: ctx.node_count,
        template_constraints,
        web: std::sync::OnceLock::new(),
    })
}

/// The template language first, then the other languages of
/// `description/details` (translations of the description; OPT 1.4 carries
/// term definitions in the template language only).
fn languages(root: &Element, language: &str) -> Vec<String> {
    let mut out = vec![language.to_string()];
    if let Some(description) = root.child("description") {
        for details in description.children_named("details") {
            if let Some(code) = details.path_text("language/code_string") {
                if !out.iter().any(|l| l == code) {
                    out.push(code.to_string());
                }
            }
        }
    }
    out
}

fn read_node(
    el: &Element,
    rm_attribute: &str,
    parent_path: &str,
    terms: Option<&Arc<TermDefinitions>>,
    ctx: &mut Ctx,
) -> Result<Node, OptError> {
    ctx.node_count += 1;
    let rm_type = el
        .child_text("rm_type_name")
        .unwrap_or_default()
        .to_string();
    let node_id = el.child_text("node_id").unwrap_or_default().to_string();
    let archetype_id = el.path_text("archetype_id/value").map(str::to_string);
    let xsi = el.attr("type").unwrap_or(if el.name == "definition" {
        "C_ARCHETYPE_ROOT"
    } else {
        "C_COMPLEX_OBJECT"
    });

    let own_terms;
    let terms = if archetype_id.is_some() && xsi != "ARCHETYPE_SLOT" {
        own_terms = Arc::new(read_terms(el, &ctx.language));
        Some(&own_terms)
    } else {
        terms
    };
    let explicit = explicit_name(el, terms, &ctx.language);

    // A template-given name joins the predicate (`[at0034,'Reported image']`,
    // AQL shorthand for `and name/value=...`): it is what tells apart two
    // siblings made from one archetype node.
    let name_part = explicit
        .as_deref()
        .map(|n| format!(",'{}'", n.replace('\\', "\\\\").replace('\'', "\\'")))
        .unwrap_or_default();
    let predicate = match (&archetype_id, node_id.is_empty()) {
        (Some(a), _) => format!("[{a}{name_part}]"),
        (None, false) => format!("[{node_id}{name_part}]"),
        (None, true) => String::new(),
    };
    let aql_path = if rm_attribute.is_empty() {
        String::new()
    } else {
        format!("{parent_path}/{rm_attribute}{predicate}")
    };

    let kind = match xsi {
        "C_ARCHETYPE_ROOT" => NodeKind::ArchetypeRoot,
        "C_COMPLEX_OBJECT" => NodeKind::Complex,
        "ARCHETYPE_SLOT" => NodeKind::Slot(SlotConstraint {
            includes: assertions(el, "includes"),
            excludes: assertions(el, "excludes"),
        }),
        "C_PRIMITIVE_OBJECT" => {
            NodeKind::Primitive(constraints::primitive(el.child("item"), &aql_path)?)
        }
        "C_CODE_PHRASE" | "C_CODE_REFERENCE" => NodeKind::CodePhrase(constraints::code_phrase(el)),
        "C_DV_QUANTITY" => NodeKind::DvQuantity(constraints::quantity(el, &aql_path)?),
        "C_DV_ORDINAL" => NodeKind::DvOrdinal(constraints::ordinal(el, &aql_path)?),
        "CONSTRAINT_REF" => {
            NodeKind::ConstraintRef(el.child_text("reference").unwrap_or_default().to_string())
        }
        "ARCHETYPE_INTERNAL_REF" => {
            NodeKind::InternalRef(el.child_text("target_path").unwrap_or_default().to_string())
        }
        other => NodeKind::Other(other.to_string()),
    };

    let attributes = el
        .children_named("attributes")
        .map(|a| read_attribute(a, &aql_path, terms, ctx))
        .collect::<Result<Vec<_>, _>>()?;

    let mut node = Node {
        rm_type,
        kind,
        node_id,
        archetype_id,
        rm_attribute: rm_attribute.to_string(),
        occurrences: occurrences(el.child("occurrences"), &aql_path)?,
        aql_path,
        name: None,
        name_choices: name_choices(el, terms, &ctx.language),
        constraint: None,
        default_value: el.child("default_value").map(default_value),
        attributes,
        terms: if matches!(xsi, "C_ARCHETYPE_ROOT") || el.name == "definition" {
            terms.cloned()
        } else {
            None
        },
    };
    node.name = explicit.or_else(|| {
        let code = if node.node_id.is_empty() {
            return None;
        } else {
            &node.node_id
        };
        terms?.get(&ctx.language, code).map(|t| t.text.clone())
    });
    node.constraint = constraints::dv_constraint(&node);
    Ok(node)
}

fn read_attribute(
    el: &Element,
    parent_path: &str,
    terms: Option<&Arc<TermDefinitions>>,
    ctx: &mut Ctx,
) -> Result<Attribute, OptError> {
    let name = el
        .child_text("rm_attribute_name")
        .unwrap_or_default()
        .to_string();
    let children = el
        .children_named("children")
        .map(|c| read_node(c, &name, parent_path, terms, ctx))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Attribute {
        existence: occurrences(el.child("existence"), parent_path)?,
        cardinality: constraints::cardinality(el.child("cardinality"), parent_path)?,
        name,
        children,
    })
}

/// The template's renaming of a node: its `name` attribute constrained to
/// one string (`DV_TEXT` `value`) or to one local code (`DV_CODED_TEXT`,
/// whose term text is the name).
fn explicit_name(
    el: &Element,
    terms: Option<&Arc<TermDefinitions>>,
    language: &str,
) -> Option<String> {
    let name_attr = el
        .children_named("attributes")
        .find(|a| a.child_text("rm_attribute_name") == Some("name"))?;
    let text_node = name_attr.child("children")?;
    let attr = |name: &str| {
        text_node
            .children_named("attributes")
            .find(|a| a.child_text("rm_attribute_name") == Some(name))
            .and_then(|a| a.child("children"))
    };
    if let Some(value) = attr("value") {
        let mut list = value.child("item")?.children_named("list");
        let first = list.next()?.text.clone();
        return list.next().is_none().then_some(first);
    }
    let code = attr("defining_code")?;
    let mut codes = code.children_named("code_list");
    let first = codes.next()?.text.trim().to_string();
    if codes.next().is_some() {
        return None;
    }
    terms?.get(language, &first).map(|t| t.text.clone())
}

/// The texts of a name constrained to several local codes (see
/// [`Node::name_choices`]); empty otherwise.
fn name_choices(el: &Element, terms: Option<&Arc<TermDefinitions>>, language: &str) -> Vec<String> {
    let Some(terms) = terms else {
        return Vec::new();
    };
    let codes: Vec<&str> = el
        .children_named("attributes")
        .find(|a| a.child_text("rm_attribute_name") == Some("name"))
        .and_then(|a| a.child("children"))
        .and_then(|text| {
            text.children_named("attributes")
                .find(|a| a.child_text("rm_attribute_name") == Some("defining_code"))
        })
        .and_then(|a| a.child("children"))
        .map(|code| {
            code.children_named("code_list")
                .map(|c| c.text.trim())
                .collect()
        })
        .unwrap_or_default();
    if codes.len() < 2 {
        return Vec::new();
    }
    codes
        .iter()
        .filter_map(|c| terms.get(language, c).map(|t| t.text.clone()))
        .collect()
}

/// The `string_expression`s of slot `includes` / `excludes`.
fn assertions(el: &Element, which: &str) -> Vec<String> {
    el.children_named(which)
        .filter_map(|a| a.child_text("string_expression").map(str::to_string))
        .collect()
}

fn default_value(el: &Element) -> DefaultValue {
    let mut fields = Vec::new();
    collect_leaves(el, "", &mut fields);
    DefaultValue {
        rm_type: el.attr("type").unwrap_or_default().to_string(),
        fields,
    }
}

fn collect_leaves(el: &Element, prefix: &str, out: &mut Vec<(String, String)>) {
    for child in &el.children {
        let path = if prefix.is_empty() {
            child.name.clone()
        } else {
            format!("{prefix}/{}", child.name)
        };
        if child.children.is_empty() {
            out.push((path, child.text.trim().to_string()));
        } else {
            collect_leaves(child, &path, out);
        }
    }
}
