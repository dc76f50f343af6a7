//! Evaluates a [`Query`] over stored EHRs and compositions.
//!
//! Bindings come from the `FROM` chain: each EHR (filtered by its
//! predicate), each live composition of it, each entry of the named class
//! inside (one binding per match). `WHERE` filters bindings; `SELECT`
//! projects them. Missing paths are `null` in rows and make comparisons
//! false.

use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value};

use super::ast::{
    Class, CmpOp, Expr, IdentPath, Operand, Predicate, Query, SelectExpr, Step, Term,
};
use super::compare::compare;
use super::parser::AqlError;

/// Deepest JSON nesting searched for contained entries.
const MAX_NODE_DEPTH: usize = 128;

/// One EHR with its live compositions (latest versions), in order.
#[derive(Debug)]
pub struct EhrData<'a> {
    /// The EHR as AQL sees it (`ehr_id/value`, `ehr_status/...`).
    pub ehr: Value,
    /// Its compositions.
    pub compositions: Vec<&'a Value>,
}

/// A result set: column `(name, path)` pairs and rows.
#[derive(Debug, Clone, PartialEq)]
pub struct ResultSet {
    /// `(name, path)` per column.
    pub columns: Vec<(String, String)>,
    /// The rows.
    pub rows: Vec<Vec<Value>>,
}

/// Paging from the request body (`offset`, `fetch`), applied after the
/// query's own `LIMIT`/`OFFSET`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Paging {
    /// Rows to skip.
    pub offset: Option<usize>,
    /// Rows to return.
    pub fetch: Option<usize>,
}

type Binding<'a> = HashMap<&'a str, &'a Value>;

/// Runs `q`.
pub fn run<'a>(
    q: &'a Query,
    params: &Map<String, Value>,
    data: &'a [EhrData<'a>],
    paging: Paging,
    max_rows: usize,
) -> Result<ResultSet, AqlError> {
    check_variables(q)?;
    let ctx = Ctx { params };
    let mut bindings: Vec<Binding<'a>> = Vec::new();
    for ehr in data {
        expand(
            &ctx,
            &q.from,
            Scope::Ehr(ehr),
            HashMap::new(),
            &mut bindings,
        )?;
    }
    let mut kept = Vec::new();
    for b in bindings {
        let pass = match &q.condition {
            Some(c) => ctx.holds(c, &b)?,
            None => true,
        };
        if pass {
            kept.push(b);
        }
    }
    if !q.order_by.is_empty() {
        kept.sort_by(|x, y| {
            for (path, desc) in &q.order_by {
                let a = resolve_path(path, x);
                let b = resolve_path(path, y);
                let o = match (a, b) {
                    (Some(a), Some(b)) => compare(a, b).unwrap_or(Ordering::Equal),
                    (Some(_), None) => Ordering::Less,
                    (None, Some(_)) => Ordering::Greater,
                    (None, None) => Ordering::Equal,
                };
                let o = if *desc { o.reverse() } else { o };
                if o != Ordering::Equal {
                    return o;
                }
            }
            Ordering::Equal
        });
    }
    let columns: Vec<(String, String)> = q
        .select
        .iter()
        .enumerate()
        .map(|(i, s)| {
            (
                s.alias.clone().unwrap_or_else(|| format!("#{i}")),
                s.text.clone(),
            )
        })
        .collect();
    let counting = q
        .select
        .iter()
        .any(|s| matches!(s.expr, SelectExpr::Count(_)));
    let mut rows: Vec<Vec<Value>> = if counting {
        if !q
            .select
            .iter()
            .all(|s| matches!(s.expr, SelectExpr::Count(_)))
        {
            return Err(AqlError::Unsupported {
                at: 0,
                message: "COUNT mixed with plain columns (GROUP BY)".to_owned(),
            });
        }
        vec![q
            .select
            .iter()
            .map(|s| match &s.expr {
                SelectExpr::Count(None) => Value::from(kept.len()),
                SelectExpr::Count(Some(p)) => Value::from(
                    kept.iter()
                        .filter(|b| resolve_path(p, b).is_some_and(|v| !v.is_null()))
                        .count(),
                ),
                SelectExpr::Path(_) => Value::Null,
            })
            .collect()]
    } else {
        kept.iter()
            .map(|b| {
                q.select
                    .iter()
                    .map(|s| match &s.expr {
                        SelectExpr::Path(p) => resolve_path(p, b).cloned().unwrap_or(Value::Null),
                        SelectExpr::Count(_) => Value::Null,
                    })
                    .collect()
            })
            .collect()
    };
    if q.distinct {
        let mut seen = HashSet::new();
        rows.retain(|r| seen.insert(Value::Array(r.clone()).to_string()));
    }
    let limited = q.limit.or(q.top).is_some() || paging.fetch.is_some();
    let rows: Vec<Vec<Value>> = rows
        .into_iter()
        .skip(q.offset.unwrap_or(0))
        .take(q.limit.or(q.top).unwrap_or(usize::MAX))
        .skip(paging.offset.unwrap_or(0))
        .take(paging.fetch.unwrap_or(usize::MAX))
        .collect();
    if rows.len() > max_rows {
        if limited {
            return Ok(ResultSet {
                columns,
                rows: rows.into_iter().take(max_rows).collect(),
            });
        }
        return Err(AqlError::TooManyRows(max_rows));
    }
    Ok(ResultSet { columns, rows })
}

/// Every variable used must be bound in `FROM`.
fn check_variables(q: &Query) -> Result<(), AqlError> {
    let bound: HashSet<&str> = q.from.iter().filter_map(|c| c.var.as_deref()).collect();
    let mut used: Vec<&str> = Vec::new();
    for s in &q.select {
        match &s.expr {
            SelectExpr::Path(p) | SelectExpr::Count(Some(p)) => used.push(&p.var),
            SelectExpr::Count(None) => {}
        }
    }
    for (p, _) in &q.order_by {
        used.push(&p.var);
    }
    if let Some(c) = &q.condition {
        vars_of(c, &mut used);
    }
    match used.into_iter().find(|v| !bound.contains(v)) {
        Some(v) => Err(AqlError::UnknownVariable(v.to_owned())),
        None => Ok(()),
    }
}

fn vars_of<'q>(e: &'q Expr, out: &mut Vec<&'q str>) {
    match e {
        Expr::And(a, b) | Expr::Or(a, b) => {
            vars_of(a, out);
            vars_of(b, out);
        }
        Expr::Not(a) => vars_of(a, out),
        Expr::Exists(p) => out.push(&p.var),
        Expr::Cmp(l, _, r) => {
            for t in [l, r] {
                if let Term::Path(p) = t {
                    out.push(&p.var);
                }
            }
        }
    }
}

/// Where the next class of the chain is looked for.
#[derive(Clone, Copy)]
enum Scope<'a> {
    Ehr(&'a EhrData<'a>),
    Node(&'a Value),
}

struct Ctx<'p> {
    params: &'p Map<String, Value>,
}

fn expand<'a>(
    ctx: &Ctx<'_>,
    chain: &'a [Class],
    scope: Scope<'a>,
    binding: Binding<'a>,
    out: &mut Vec<Binding<'a>>,
) -> Result<(), AqlError> {
    let Some((class, rest)) = chain.split_first() else {
        out.push(binding);
        return Ok(());
    };
    let candidates: Vec<&'a Value> = match (class.rm_type.as_str(), scope) {
        ("EHR", Scope::Ehr(e)) => vec![&e.ehr],
        ("EHR", Scope::Node(_)) => Vec::new(),
        ("COMPOSITION", Scope::Ehr(e)) => e.compositions.clone(),
        ("COMPOSITION", Scope::Node(_)) => Vec::new(),
        (_, Scope::Ehr(e)) => {
            let mut v = Vec::new();
            for c in &e.compositions {
                descendants(c, &class.rm_type, &mut v, 0);
            }
            v
        }
        (_, Scope::Node(n)) => {
            let mut v = Vec::new();
            for child in children(n) {
                descendants(child, &class.rm_type, &mut v, 0);
            }
            v
        }
    };
    for node in candidates {
        if let Some(p) = &class.predicate {
            if !ctx.matches(p, node)? {
                continue;
            }
        }
        if class.rm_type == "COMPOSITION"
            && node.get("_type").and_then(Value::as_str) != Some("COMPOSITION")
        {
            continue;
        }
        let mut b = binding.clone();
        if let Some(v) = &class.var {
            b.insert(v.as_str(), node);
        }
        let next = match (class.rm_type.as_str(), scope) {
            ("EHR", s) => s,
            _ => Scope::Node(node),
        };
        expand(ctx, rest, next, b, out)?;
    }
    Ok(())
}

fn children(v: &Value) -> Vec<&Value> {
    match v {
        Value::Object(o) => o.values().collect(),
        Value::Array(a) => a.iter().collect(),
        _ => Vec::new(),
    }
}

/// Whether an RM `_type` is the class or one of its subclasses.
fn is_a(actual: &str, class: &str) -> bool {
    actual == class
        || match class {
            "ENTRY" => matches!(
                actual,
                "OBSERVATION" | "EVALUATION" | "INSTRUCTION" | "ACTION" | "ADMIN_ENTRY"
            ),
            "CARE_ENTRY" => matches!(
                actual,
                "OBSERVATION" | "EVALUATION" | "INSTRUCTION" | "ACTION"
            ),
            "CONTENT_ITEM" => matches!(
                actual,
                "SECTION" | "OBSERVATION" | "EVALUATION" | "INSTRUCTION" | "ACTION" | "ADMIN_ENTRY"
            ),
            "ITEM" => matches!(actual, "CLUSTER" | "ELEMENT"),
            _ => false,
        }
}

/// Nodes at or below `v` whose `_type` is `class` (pre-order).
fn descendants<'a>(v: &'a Value, class: &str, out: &mut Vec<&'a Value>, depth: usize) {
    if depth > MAX_NODE_DEPTH {
        return;
    }
    if let Some(t) = v.get("_type").and_then(Value::as_str) {
        if is_a(t, class) {
            out.push(v);
        }
    }
    for c in children(v) {
        descendants(c, class, out, depth + 1);
    }
}

fn resolve_path<'a>(p: &IdentPath, b: &Binding<'a>) -> Option<&'a Value> {
    let root = *b.get(p.var.as_str())?;
    resolve_steps(root, &p.steps)
}

/// Follows `steps` from `v`; repeated attributes give their first match.
fn resolve_steps<'a>(v: &'a Value, steps: &[Step]) -> Option<&'a Value> {
    let Some((step, rest)) = steps.split_first() else {
        return Some(v);
    };
    let child = v.get(step.attr.as_str())?;
    match child {
        Value::Array(items) => items
            .iter()
            .filter(|i| step.predicate.as_ref().is_none_or(|p| node_matches(p, i)))
            .find_map(|i| resolve_steps(i, rest)),
        one => {
            if step
                .predicate
                .as_ref()
                .is_some_and(|p| !node_matches(p, one))
            {
                return None;
            }
            resolve_steps(one, rest)
        }
    }
}

/// Node predicates inside paths (no parameters there: literal only).
fn node_matches(p: &Predicate, v: &Value) -> bool {
    Ctx {
        params: &Map::new(),
    }
    .matches(p, v)
    .unwrap_or(false)
}

impl Ctx<'_> {
    fn value(&self, o: &Operand) -> Result<Value, AqlError> {
        Ok(match o {
            Operand::Str(s) => Value::from(s.as_str()),
            Operand::Num(n) => serde_json::Number::from_f64(*n).map_or(Value::Null, Value::Number),
            Operand::Bool(b) => Value::Bool(*b),
            Operand::Param(p) => self
                .params
                .get(p)
                .cloned()
                .ok_or_else(|| AqlError::MissingParameter(p.clone()))?,
        })
    }

    fn matches(&self, p: &Predicate, v: &Value) -> Result<bool, AqlError> {
        match p {
            Predicate::Node { id, name } => {
                let id_ok = v.get("archetype_node_id").and_then(Value::as_str) == Some(id.as_str());
                let name_ok = name.as_ref().is_none_or(|n| {
                    v.pointer("/name/value").and_then(Value::as_str) == Some(n.as_str())
                });
                Ok(id_ok && name_ok)
            }
            Predicate::Standard(parts) => {
                for (path, op, operand) in parts {
                    let want = self.value(operand)?;
                    let mut cur = Some(v);
                    for attr in path {
                        cur = cur.and_then(|c| c.get(attr.as_str()));
                    }
                    let ok = cur.is_some_and(|have| holds_cmp(have, *op, &want));
                    if !ok {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
        }
    }

    fn term<'a>(&self, t: &Term, b: &Binding<'a>) -> Result<Option<Value>, AqlError> {
        match t {
            Term::Path(p) => Ok(resolve_path(p, b).cloned()),
            Term::Value(o) => self.value(o).map(Some),
        }
    }

    fn holds(&self, e: &Expr, b: &Binding<'_>) -> Result<bool, AqlError> {
        Ok(match e {
            Expr::And(x, y) => self.holds(x, b)? && self.holds(y, b)?,
            Expr::Or(x, y) => self.holds(x, b)? || self.holds(y, b)?,
            Expr::Not(x) => !self.holds(x, b)?,
            Expr::Exists(p) => resolve_path(p, b).is_some_and(|v| !v.is_null()),
            Expr::Cmp(l, op, r) => match (self.term(l, b)?, self.term(r, b)?) {
                (Some(l), Some(r)) => holds_cmp(&l, *op, &r),
                _ => false,
            },
        })
    }
}

fn holds_cmp(a: &Value, op: CmpOp, b: &Value) -> bool {
    if a.is_null() || b.is_null() {
        return false;
    }
    match compare(a, b) {
        Some(o) => match op {
            CmpOp::Eq => o == Ordering::Equal,
            CmpOp::Ne => o != Ordering::Equal,
            CmpOp::Lt => o == Ordering::Less,
            CmpOp::Le => o != Ordering::Greater,
            CmpOp::Gt => o == Ordering::Greater,
            CmpOp::Ge => o != Ordering::Less,
        },
        None => op == CmpOp::Ne && a != b,
    }
}
