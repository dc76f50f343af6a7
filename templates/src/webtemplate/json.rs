//! Web template JSON, in the layout EHRbase serves (`templateId`, `tree`,
//! `rmType`, `aqlPath`, `inputs`, ...).

use serde_json::{json, Map, Value};

use super::{WebInput, WebNode, WebTemplate};

/// Serialises `wt` as web template JSON.
pub fn to_json(wt: &WebTemplate) -> Value {
    json!({
        "templateId": wt.template_id,
        "version": wt.version,
        "defaultLanguage": wt.default_language,
        "languages": wt.languages,
        "tree": node_json(&wt.tree, &wt.default_language),
    })
}

fn node_json(node: &WebNode, language: &str) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), json!(node.id));
    m.insert("name".into(), json!(node.name));
    m.insert("localizedName".into(), json!(node.name));
    m.insert("rmType".into(), json!(node.rm_type));
    if !node.node_id.is_empty() {
        m.insert("nodeId".into(), json!(node.node_id));
    }
    m.insert("min".into(), json!(node.min));
    m.insert("max".into(), json!(node.max));
    m.insert("localizedNames".into(), json!({ language: node.name }));
    m.insert("aqlPath".into(), json!(node.aql_path));
    if !node.children.is_empty() {
        m.insert(
            "children".into(),
            Value::Array(
                node.children
                    .iter()
                    .map(|c| node_json(c, language))
                    .collect(),
            ),
        );
    }
    if !node.inputs.is_empty() {
        m.insert(
            "inputs".into(),
            Value::Array(node.inputs.iter().map(input_json).collect()),
        );
    }
    if node.in_context {
        m.insert("inContext".into(), json!(true));
    }
    Value::Object(m)
}

fn input_json(input: &WebInput) -> Value {
    let mut m = Map::new();
    if let Some(s) = &input.suffix {
        m.insert("suffix".into(), json!(s));
    }
    m.insert("type".into(), json!(input.input_type));
    if !input.list.is_empty() {
        m.insert(
            "list".into(),
            Value::Array(input.list.iter().map(|v| json!({ "value": v })).collect()),
        );
    }
    if let Some(t) = &input.terminology {
        m.insert("terminology".into(), json!(t));
    }
    Value::Object(m)
}

/// Reads web template JSON (ours or another producer's) for comparison.
/// Returns the JSON pointer of the first malformed node on error.
pub fn from_json(value: &Value) -> Result<WebTemplate, String> {
    let s = |v: &Value, k: &str| {
        v.get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    Ok(WebTemplate {
        template_id: s(value, "templateId"),
        version: s(value, "version"),
        default_language: s(value, "defaultLanguage"),
        languages: value
            .get("languages")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default(),
        tree: node_from_json(value.get("tree").ok_or("/tree missing")?, "/tree")?,
    })
}

fn node_from_json(v: &Value, pointer: &str) -> Result<WebNode, String> {
    let s = |k: &str| {
        v.get(k)
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    };
    let id = v
        .get("id")
        .and_then(Value::as_str)
        .ok_or_else(|| format!("{pointer}/id missing"))?
        .to_string();
    let children = v
        .get("children")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .enumerate()
                .map(|(i, c)| node_from_json(c, &format!("{pointer}/children/{i}")))
                .collect::<Result<Vec<_>, _>>()
        })
        .transpose()?
        .unwrap_or_default();
    let inputs = v
        .get("inputs")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .map(|i| WebInput {
                    suffix: i.get("suffix").and_then(Value::as_str).map(str::to_string),
                    input_type: i
                        .get("type")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string(),
                    terminology: i
                        .get("terminology")
                        .and_then(Value::as_str)
                        .map(str::to_string),
                    list: i
                        .get("list")
                        .and_then(Value::as_array)
                        .map(|l| {
                            l.iter()
                                .filter_map(|x| x.get("value").and_then(Value::as_str))
                                .map(str::to_string)
                                .collect()
                        })
                        .unwrap_or_default(),
                })
                .collect()
        })
        .unwrap_or_default();
    Ok(WebNode {
        id,
        name: s("name"),
        rm_type: s("rmType"),
        node_id: s("nodeId"),
        min: v.get("min").and_then(Value::as_i64).unwrap_or(0),
        max: v.get("max").and_then(Value::as_i64).unwrap_or(1),
        aql_path: s("aqlPath"),
        in_context: v.get("inContext").and_then(Value::as_bool).unwrap_or(false),
        inputs,
        children,
    })
}
