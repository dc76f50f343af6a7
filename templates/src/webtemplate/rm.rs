//! Reference-model knowledge web templates need: the RM attributes added to
//! each RM type (so FLAT can carry `language`, `time`, `subject`, ...), and
//! the inputs of each data-value type.

use super::{WebInput, WebNode};
use crate::meta::{DvConstraint, Node, NodeKind};

/// An RM attribute a web template adds: `(attribute, rm type, min, in_context)`.
type RmAttribute = (&'static str, &'static str, i64, bool);

const ENTRY: &[RmAttribute] = &[
    ("subject", "PARTY_PROXY", 1, true),
    ("language", "CODE_PHRASE", 1, true),
    ("encoding", "CODE_PHRASE", 1, true),
];

/// The RM attributes web templates add to nodes of `rm_type`.
pub(super) fn added_attributes(rm_type: &str) -> Vec<RmAttribute> {
    let mut out: Vec<RmAttribute> = match rm_type {
        "COMPOSITION" => vec![
            ("category", "DV_CODED_TEXT", 1, true),
            ("composer", "PARTY_PROXY", 1, true),
            ("language", "CODE_PHRASE", 1, true),
            ("territory", "CODE_PHRASE", 1, true),
        ],
        "EVENT_CONTEXT" => vec![
            ("start_time", "DV_DATE_TIME", 1, true),
            ("setting", "DV_CODED_TEXT", 1, true),
        ],
        "OBSERVATION" | "EVALUATION" | "ADMIN_ENTRY" => ENTRY.to_vec(),
        "INSTRUCTION" => {
            let mut v = ENTRY.to_vec();
            v.push(("narrative", "DV_TEXT", 1, true));
            v.push(("expiry_time", "DV_DATE_TIME", 0, false));
            v
        }
        "ACTION" => {
            let mut v = ENTRY.to_vec();
            v.push(("time", "DV_DATE_TIME", 1, true));
            v
        }
        "ACTIVITY" => vec![
            ("timing", "DV_PARSABLE", 0, true),
            ("action_archetype_id", "STRING", 1, true),
        ],
        "EVENT" | "POINT_EVENT" => vec![("time", "DV_DATE_TIME", 1, true)],
        "INTERVAL_EVENT" => vec![
            ("time", "DV_DATE_TIME", 1, true),
            ("width", "DV_DURATION", 1, true),
            ("math_function", "DV_CODED_TEXT", 1, true),
        ],
        _ => Vec::new(),
    };
    if rm_type.starts_with("DV_INTERVAL<") {
        let inner = ORDERED_TYPES
            .iter()
            .find(|t| **t == interval_inner(rm_type))
            .copied()
            .unwrap_or("DV_ORDERED");
        out.push(("upper", inner, 1, false));
        out.push(("lower", inner, 1, false));
    }
    out
}

/// Types that can be interval bounds (`DV_ORDERED` descendants).
const ORDERED_TYPES: &[&str] = &[
    "DV_COUNT",
    "DV_QUANTITY",
    "DV_PROPORTION",
    "DV_DATE_TIME",
    "DV_DATE",
    "DV_TIME",
    "DV_DURATION",
    "DV_ORDINAL",
    "DV_SCALE",
];

/// `DV_COUNT` for `DV_INTERVAL<DV_COUNT>`.
pub(super) fn interval_inner(rm_type: &str) -> &str {
    rm_type
        .strip_prefix("DV_INTERVAL<")
        .and_then(|s| s.strip_suffix('>'))
        .unwrap_or("DV_TEXT")
}

/// The id of one alternative of a choice: `quantity_value`,
/// `interval_of_quantity_value`.
pub(super) fn choice_id(rm_type: &str) -> String {
    if rm_type.starts_with("DV_INTERVAL<") {
        let inner = interval_inner(rm_type)
            .trim_start_matches("DV_")
            .to_lowercase();
        format!("interval_of_{inner}_value")
    } else {
        format!("{}_value", rm_type.trim_start_matches("DV_").to_lowercase())
    }
}

/// The data types an unconstrained ELEMENT value may take, in web-template order.
pub(super) const ANY_VALUE_TYPES: &[&str] = &[
    "DV_CODED_TEXT",
    "DV_TEXT",
    "DV_MULTIMEDIA",
    "DV_PARSABLE",
    "DV_STATE",
    "DV_BOOLEAN",
    "DV_IDENTIFIER",
    "DV_URI",
    "DV_EHR_URI",
    "DV_DURATION",
    "DV_QUANTITY",
    "DV_COUNT",
    "DV_PROPORTION",
    "DV_DATE_TIME",
    "DV_DATE",
    "DV_TIME",
    "DV_ORDINAL",
];

fn input(suffix: Option<&str>, input_type: &str) -> WebInput {
    WebInput {
        suffix: suffix.map(str::to_string),
        input_type: input_type.to_string(),
        ..WebInput::default()
    }
}

/// Inputs of a leaf of `rm_type`, refined by the template node when known.
pub(super) fn inputs(rm_type: &str, node: Option<&Node>) -> Vec<WebInput> {
    let constraint = node.and_then(|n| n.constraint.as_ref());
    match rm_type {
        "DV_TEXT" | "DV_MULTIMEDIA" | "DV_URI" | "DV_EHR_URI" | "STRING" => {
            vec![input(None, "TEXT")]
        }
        "DV_CODED_TEXT" => match constraint {
            Some(DvConstraint::CodedText(c))
                if !c.codes.is_empty() && c.reference_set_uri.is_none() =>
            {
                let mut code = input(Some("code"), "CODED_TEXT");
                code.terminology = Some(c.terminology.clone());
                code.list = c.codes.clone();
                vec![code]
            }
            _ => vec![input(Some("code"), "TEXT"), input(Some("value"), "TEXT")],
        },
        "DV_QUANTITY" => {
            // A C_DV_QUANTITY, even without a unit list, offers units as a
            // code list (from the property); a plain DV_QUANTITY object
            // leaves the unit free text.
            let mut unit = input(Some("unit"), "TEXT");
            if let Some(DvConstraint::Quantity(q)) = constraint {
                unit.input_type = "CODED_TEXT".into();
                unit.list = q.units.iter().map(|u| u.unit.clone()).collect();
            }
            vec![input(Some("magnitude"), "DECIMAL"), unit]
        }
        "DV_COUNT" => vec![input(None, "INTEGER")],
        "DV_DATE" => vec![input(None, "DATE")],
        "DV_DATE_TIME" => vec![input(None, "DATETIME")],
        "DV_TIME" => vec![input(None, "TIME")],
        "DV_BOOLEAN" => vec![input(None, "BOOLEAN")],
        "DV_ORDINAL" => {
            let mut i = input(None, "CODED_TEXT");
            if let Some(DvConstraint::Ordinal(items)) = constraint {
                i.list = items.iter().map(|o| o.symbol.code.clone()).collect();
            }
            vec![i]
        }
        "DV_DURATION" => {
            let pattern = match constraint {
                Some(DvConstraint::Duration { pattern, .. }) => pattern.as_deref(),
                _ => None,
            };
            duration_fields(pattern)
                .into_iter()
                .map(|f| input(Some(f), "INTEGER"))
                .collect()
        }
        "DV_IDENTIFIER" => ["id", "type", "issuer", "assigner"]
            .into_iter()
            .map(|s| input(Some(s), "TEXT"))
            .collect(),
        "PARTY_PROXY" => ["id", "id_scheme", "id_namespace", "name"]
            .into_iter()
            .map(|s| input(Some(s), "TEXT"))
            .collect(),
        "DV_PARSABLE" => vec![
            input(Some("value"), "TEXT"),
            input(Some("formalism"), "TEXT"),
        ],
        "DV_STATE" => vec![input(Some("code"), "TEXT"), input(Some("value"), "TEXT")],
        "DV_PROPORTION" => vec![
            input(Some("numerator"), "DECIMAL"),
            input(Some("denominator"), "DECIMAL"),
        ],
        _ => Vec::new(),
    }
}

/// Duration fields allowed by an ISO 8601 duration pattern such as `PYMWD`
/// or `PTHMS`; all fields when unconstrained.
fn duration_fields(pattern: Option<&str>) -> Vec<&'static str> {
    let Some(pattern) = pattern.filter(|p| p.starts_with('P')) else {
        return vec!["year", "month", "day", "week", "hour", "minute", "second"];
    };
    let mut out = Vec::new();
    let mut in_time = false;
    for c in pattern.chars().skip(1) {
        let field = match (c.to_ascii_uppercase(), in_time) {
            ('T', _) => {
                in_time = true;
                continue;
            }
            ('Y', false) => "year",
            ('M', false) => "month",
            ('W', false) => "week",
            ('D', false) => "day",
            ('H', true) => "hour",
            ('M', true) => "minute",
            ('S', true) => "second",
            _ => continue,
        };
        out.push(field);
    }
    out
}

/// A leaf or structural node for an RM attribute that the template does not constrain.
pub(super) fn attribute_node(
    parent_path: &str,
    (name, rm_type, min, in_context): RmAttribute,
) -> WebNode {
    let aql_path = format!("{parent_path}/{name}");
    let mut node = WebNode {
        id: name.to_string(),
        name: name.to_string(),
        rm_type: rm_type.to_string(),
        min,
        max: 1,
        in_context,
        inputs: inputs(rm_type, None),
        aql_path,
        ..WebNode::default()
    };
    if rm_type == "ISM_TRANSITION" {
        node.children = ism_children(&node.aql_path, None);
    }
    node
}

/// `careflow_step`, `current_state`, `transition` of an ACTION's ISM transition.
pub(super) fn ism_children(path: &str, careflow_codes: Option<Vec<String>>) -> Vec<WebNode> {
    let coded = |name: &str, min: i64, codes: Option<Vec<String>>| {
        let mut code = input(Some("code"), "CODED_TEXT");
        code.terminology = Some("openehr".into());
        code.list = codes.unwrap_or_default();
        WebNode {
            id: name.to_string(),
            name: name.to_string(),
            rm_type: "DV_CODED_TEXT".into(),
            min,
            max: 1,
            aql_path: format!("{path}/{name}"),
            in_context: true,
            inputs: vec![code],
            ..WebNode::default()
        }
    };
    let mut transition = coded("transition", 0, None);
    transition.inputs = vec![input(Some("code"), "TEXT"), input(Some("value"), "TEXT")];
    vec![
        coded("careflow_step", 1, careflow_codes),
        coded("current_state", 1, None),
        transition,
    ]
}

/// Whether `node` is a structure web templates flatten away.
pub(super) fn is_structure(rm_type: &str) -> bool {
    matches!(
        rm_type,
        "HISTORY" | "ITEM_TREE" | "ITEM_LIST" | "ITEM_SINGLE" | "ITEM_TABLE" | "ITEM_STRUCTURE"
    )
}

/// Whether `rm_type` is an EVENT type.
pub(super) fn is_event(rm_type: &str) -> bool {
    matches!(rm_type, "EVENT" | "POINT_EVENT" | "INTERVAL_EVENT")
}

/// Whether the template node is a slot or a primitive (never a web node).
pub(super) fn is_invisible(node: &Node) -> bool {
    matches!(node.kind, NodeKind::Slot(_) | NodeKind::Primitive(_))
}
