//! Feature flags in OpenFeature flagd's JSON format, evaluated per request.
//!
//! The file is `{"flags": {NAME: {"state", "variants", "defaultVariant",
//! "targeting"}}}` as flagd reads it. A route that names a flag matches only
//! when the flag's resolved variant is `true`. Targeting is the JsonLogic
//! subset flagd documents and that routing needs: `var`, `if`, `==`, `!=`,
//! `===`, `!==`, `!`, `and`, `or`, `in`, `starts_with`, `ends_with` and
//! `fractional`. Unsupported operators are refused when the file is loaded,
//! never at request time.
//!
//! The evaluation context has `tenant`, `user`, `roles` (list), `targetingKey`
//! (the user, else the tenant) and `header.NAME` (lower-case names).
//! `fractional` buckets with [`super::bucket::bucket_v1`] keyed by the flag
//! name, so it is sticky and monotonic like the canary, but its buckets are
//! not flagd's own: a key may land differently than in flagd.

use std::collections::HashMap;
use std::path::Path;

use ehrgate_templates::fault::{Classified, Fault};
use serde::Deserialize;
use serde_json::Value;

use super::bucket::{bucket_v1, BUCKETS};

/// Flag files larger than this are refused.
pub const MAX_FLAG_FILE_BYTES: u64 = 1024 * 1024;

/// Targeting rules nested deeper than this are refused.
pub const MAX_RULE_DEPTH: usize = 32;

/// Why a flag file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum FlagError {
    /// The file could not be read or is too large.
    #[error("cannot read flag file: {0}")]
    Io(String),
    /// The JSON does not have flagd's shape.
    #[error("flag file is not flagd JSON: {0}")]
    Shape(String),
    /// A flag is inconsistent (unknown default variant, unsupported operator).
    #[error("flag `{flag}`: {message}")]
    Flag {
        /// The flag's name.
        flag: String,
        /// What is wrong.
        message: String,
    },
}

impl Classified for FlagError {
    fn fault(&self) -> Fault {
        Fault::Internal
    }
    fn code(&self) -> &'static str {
        match self {
            FlagError::Io(_) => "flags.io",
            FlagError::Shape(_) => "flags.shape",
            FlagError::Flag { .. } => "flags.invalid",
        }
    }
}

#[derive(Debug, Deserialize)]
struct FileShape {
    flags: HashMap<String, FlagShape>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct FlagShape {
    state: String,
    variants: HashMap<String, Value>,
    default_variant: String,
    #[serde(default)]
    targeting: Option<Value>,
}

/// One flag, checked.
#[derive(Debug, Clone)]
struct Flag {
    /// Forced on or off at run time (admin API); wins over everything else.
    forced: Option<bool>,
    enabled: bool,
    variants: HashMap<String, bool>,
    default_on: bool,
    targeting: Option<Value>,
}

/// The flags of one config revision (immutable; reload builds a new set).
#[derive(Debug, Clone, Default)]
pub struct FlagSet {
    flags: HashMap<String, Flag>,
}

/// What flag targeting can see of a request.
#[derive(Debug, Clone, Copy)]
pub struct FlagContext<'a> {
    /// The resolved tenant.
    pub tenant: &'a str,
    /// The verified user (`sub`) or `x-user-id`, if any.
    pub user: Option<&'a str>,
    /// The verified roles.
    pub roles: &'a [String],
    /// The request headers.
    pub headers: &'a http::HeaderMap,
}

// === impl FlagSet ===

impl FlagSet {
    /// Reads and checks a flagd-format file.
    pub fn load(path: &Path) -> Result<FlagSet, FlagError> {
        let meta = std::fs::metadata(path)
            .map_err(|e| FlagError::Io(format!("{}: {e}", path.display())))?;
        if meta.len() > MAX_FLAG_FILE_BYTES {
            return Err(FlagError::Io(format!("{} is too large", path.display())));
        }
        let text = std::fs::read_to_string(path)
            .map_err(|e| FlagError::Io(format!("{}: {e}", path.display())))?;
        FlagSet::parse(&text)
    }

    /// Parses flagd JSON text.
    pub fn parse(text: &str) -> Result<FlagSet, FlagError> {
        let shape: FileShape =
            serde_json::from_str(text).map_err(|e| FlagError::Shape(e.to_string()))?;
        let mut flags = HashMap::new();
        for (name, f) in shape.flags {
            let err = |message: String| FlagError::Flag {
                flag: name.clone(),
                message,
            };
            let enabled = match f.state.as_str() {
                "ENABLED" => true,
                "DISABLED" => false,
                other => return Err(err(format!("state `{other}` is not ENABLED or DISABLED"))),
            };
            let mut variants = HashMap::new();
            for (v, value) in f.variants {
                let Value::Bool(b) = value else {
                    return Err(err(format!("variant `{v}` must be a boolean for routing")));
                };
                variants.insert(v, b);
            }
            let Some(default_on) = variants.get(&f.default_variant).copied() else {
                return Err(err(format!(
                    "defaultVariant `{}` is not a variant",
                    f.default_variant
                )));
            };
            if let Some(t) = &f.targeting {
                check_rule(t, 0).map_err(err)?;
            }
            flags.insert(
                name,
                Flag {
                    forced: None,
                    enabled,
                    variants,
                    default_on,
                    targeting: f
                        .targeting
                        .filter(|t| !matches!(t, Value::Object(o) if o.is_empty())),
                },
            );
        }
        Ok(FlagSet { flags })
    }

    /// Whether a flag of this name exists.
    pub fn contains(&self, name: &str) -> bool {
        self.flags.contains_key(name)
    }

    /// The flag names, in no particular order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.flags.keys().map(String::as_str)
    }

    /// Whether a flag is forced on (`Some(true)`) or off by a run-time switch.
    pub fn forced(&self, name: &str) -> Option<bool> {
        self.flags.get(name).and_then(|f| f.forced)
    }

    /// This set with run-time switches applied: a switched flag is on (or
    /// off) for every request, whatever its state and targeting say.
    /// Switches naming flags the set does not have are ignored (a reload
    /// may have removed them).
    pub fn with_switches(&self, switches: &HashMap<String, bool>) -> FlagSet {
        let mut set = self.clone();
        for (name, on) in switches {
            if let Some(flag) = set.flags.get_mut(name) {
                flag.forced = Some(*on);
            }
        }
        set
    }

    /// Evaluates a flag; unknown and disabled flags are off.
    pub fn is_on(&self, name: &str, ctx: &FlagContext<'_>) -> bool {
        let Some(flag) = self.flags.get(name) else {
            return false;
        };
        if let Some(on) = flag.forced {
            return on;
        }
        if !flag.enabled {
            return false;
        }
        let Some(rule) = &flag.targeting else {
            return flag.default_on;
        };
        match eval(rule, ctx, name) {
            Value::String(variant) => flag
                .variants
                .get(&variant)
                .copied()
                .unwrap_or(flag.default_on),
            Value::Bool(b) => flag
                .variants
                .get(if b { "true" } else { "false" })
                .copied()
                .unwrap_or(flag.default_on),
            _ => flag.default_on,
        }
    }
}

const OPERATORS: &[&str] = &[
    "var",
    "if",
    "==",
    "!=",
    "===",
    "!==",
    "!",
    "and",
    "or",
    "in",
    "starts_with",
    "ends_with",
    "fractional",
];

fn check_rule(rule: &Value, depth: usize) -> Result<(), String> {
    if depth > MAX_RULE_DEPTH {
        return Err(format!("targeting is nested deeper than {MAX_RULE_DEPTH}"));
    }
    match rule {
        Value::Object(o) => {
            for (op, args) in o {
                if !OPERATORS.contains(&op.as_str()) {
                    return Err(format!("targeting operator `{op}` is not supported"));
                }
                check_rule(args, depth + 1)?;
            }
            Ok(())
        }
        Value::Array(a) => a.iter().try_for_each(|v| check_rule(v, depth + 1)),
        _ => Ok(()),
    }
}

fn args(v: &Value) -> &[Value] {
    match v {
        Value::Array(a) => a.as_slice(),
        other => std::slice::from_ref(other),
    }
}

fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(_) => true,
    }
}

fn var(name: &str, ctx: &FlagContext<'_>) -> Value {
    match name {
        "tenant" => Value::String(ctx.tenant.to_string()),
        "user" => ctx
            .user
            .map_or(Value::Null, |u| Value::String(u.to_string())),
        "roles" => Value::Array(ctx.roles.iter().map(|r| Value::String(r.clone())).collect()),
        "targetingKey" => Value::String(ctx.user.unwrap_or(ctx.tenant).to_string()),
        other => match other.strip_prefix("header.") {
            Some(h) => ctx
                .headers
                .get(h)
                .and_then(|v| v.to_str().ok())
                .map_or(Value::Null, |s| Value::String(s.to_string())),
            None => Value::Null,
        },
    }
}

fn eval(rule: &Value, ctx: &FlagContext<'_>, flag: &str) -> Value {
    let Value::Object(o) = rule else {
        return rule.clone();
    };
    let Some((op, raw)) = o.iter().next() else {
        return Value::Null;
    };
    let a = args(raw);
    let ev = |i: usize| a.get(i).map_or(Value::Null, |v| eval(v, ctx, flag));
    match op.as_str() {
        "var" => match ev(0) {
            Value::String(name) => var(&name, ctx),
            _ => Value::Null,
        },
        "if" => {
            let mut i = 0;
            while i + 1 < a.len() {
                if truthy(&ev(i)) {
                    return ev(i + 1);
                }
                i += 2;
            }
            if i < a.len() {
                ev(i)
            } else {
                Value::Null
            }
        }
        "==" | "===" => Value::Bool(ev(0) == ev(1)),
        "!=" | "!==" => Value::Bool(ev(0) != ev(1)),
        "!" => Value::Bool(!truthy(&ev(0))),
        "and" => Value::Bool((0..a.len()).all(|i| truthy(&ev(i)))),
        "or" => Value::Bool((0..a.len()).any(|i| truthy(&ev(i)))),
        "in" => Value::Bool(match (ev(0), ev(1)) {
            (needle, Value::Array(hay)) => hay.contains(&needle),
            (Value::String(n), Value::String(h)) => h.contains(&n),
            _ => false,
        }),
        "starts_with" | "ends_with" => Value::Bool(match (ev(0), ev(1)) {
            (Value::String(s), Value::String(p)) if op == "starts_with" => s.starts_with(&p),
            (Value::String(s), Value::String(p)) => s.ends_with(&p),
            _ => false,
        }),
        "fractional" => fractional(a, ctx, flag),
        _ => Value::Null,
    }
}

/// `fractional`: `[key-expr?, [variant, weight], ...]`; weights are relative.
fn fractional(a: &[Value], ctx: &FlagContext<'_>, flag: &str) -> Value {
    let (key, buckets) = match a.first() {
        Some(Value::Array(_)) | None => (var("targetingKey", ctx), a),
        Some(expr) => (eval(expr, ctx, flag), &a[1..]),
    };
    let key = match key {
        Value::String(s) => s,
        other => other.to_string(),
    };
    let entries: Vec<(&str, u64)> = buckets
        .iter()
        .filter_map(|b| match b.as_array()?.as_slice() {
            [Value::String(v), w] => Some((v.as_str(), w.as_u64().unwrap_or(0))),
            [Value::String(v)] => Some((v.as_str(), 1)),
            _ => None,
        })
        .collect();
    let total: u64 = entries.iter().map(|e| e.1).sum();
    if total == 0 {
        return Value::Null;
    }
    let point = u64::from(bucket_v1(flag, key.as_bytes())) * total / u64::from(BUCKETS);
    let mut acc = 0;
    for (variant, w) in entries {
        acc += w;
        if point < acc {
            return Value::String(variant.to_string());
        }
    }
    Value::Null
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = r#"{
      "flags": {
        "new-fhir": {
          "state": "ENABLED",
          "variants": {"on": true, "off": false},
          "defaultVariant": "off",
          "targeting": {"if": [
            {"in": [{"var": "tenant"}, ["acme", "globex"]]}, "on",
            {"==": [{"var": "header.x-beta"}, "1"]}, "on",
            {"in": ["clinician", {"var": "roles"}]}, "on",
            "off"]}
        },
        "half": {
          "state": "ENABLED",
          "variants": {"on": true, "off": false},
          "defaultVariant": "off",
          "targeting": {"fractional": [["on", 50], ["off", 50]]}
        },
        "dark": {
          "state": "DISABLED",
          "variants": {"on": true, "off": false},
          "defaultVariant": "on"
        }
      }
    }"#;

    fn ctx<'a>(
        tenant: &'a str,
        user: Option<&'a str>,
        roles: &'a [String],
        h: &'a http::HeaderMap,
    ) -> FlagContext<'a> {
        FlagContext {
            tenant,
            user,
            roles,
            headers: h,
        }
    }

    #[test]
    fn targeting_by_tenant_header_and_role() {
        let set = FlagSet::parse(FILE).unwrap();
        let h = http::HeaderMap::new();
        assert!(set.is_on("new-fhir", &ctx("acme", None, &[], &h)));
        assert!(!set.is_on("new-fhir", &ctx("initech", None, &[], &h)));
        let mut beta = http::HeaderMap::new();
        beta.insert("x-beta", "1".parse().unwrap());
        assert!(set.is_on("new-fhir", &ctx("initech", None, &[], &beta)));
        let roles = vec!["clinician".to_string()];
        assert!(set.is_on("new-fhir", &ctx("initech", None, &roles, &h)));
        assert!(!set.is_on("dark", &ctx("acme", None, &[], &h)));
        assert!(!set.is_on("missing", &ctx("acme", None, &[], &h)));
    }

    #[test]
    fn fractional_is_sticky_and_near_half() {
        let set = FlagSet::parse(FILE).unwrap();
        let h = http::HeaderMap::new();
        let users: Vec<String> = (0..4000).map(|i| format!("user-{i}")).collect();
        let on = users
            .iter()
            .filter(|u| set.is_on("half", &ctx("t", Some(u), &[], &h)))
            .count();
        assert!((1800..=2200).contains(&on), "{on}");
        for u in &users[..50] {
            let c = ctx("t", Some(u), &[], &h);
            assert_eq!(set.is_on("half", &c), set.is_on("half", &c));
        }
    }

    #[test]
    fn unsupported_operator_is_refused_at_load() {
        let bad = r#"{"flags":{"x":{"state":"ENABLED","variants":{"on":true},"defaultVariant":"on","targeting":{"sem_ver":["1","2"]}}}}"#;
        let err = FlagSet::parse(bad).unwrap_err();
        assert!(err.to_string().contains("sem_ver"), "{err}");
        let bad_default =
            r#"{"flags":{"x":{"state":"ENABLED","variants":{"on":true},"defaultVariant":"off"}}}"#;
        assert!(FlagSet::parse(bad_default).is_err());
    }
}
