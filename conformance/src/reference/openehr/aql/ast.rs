//! The AQL query tree.

/// A parsed query.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    /// `SELECT DISTINCT`.
    pub distinct: bool,
    /// `SELECT TOP n` (legacy limit).
    pub top: Option<usize>,
    /// The columns.
    pub select: Vec<SelectItem>,
    /// The `FROM ... CONTAINS ...` chain, outermost first.
    pub from: Vec<Class>,
    /// The `WHERE` condition.
    pub condition: Option<Expr>,
    /// `ORDER BY` keys: path and descending.
    pub order_by: Vec<(IdentPath, bool)>,
    /// `LIMIT`.
    pub limit: Option<usize>,
    /// `OFFSET`.
    pub offset: Option<usize>,
}

/// One `SELECT` column.
#[derive(Debug, Clone, PartialEq)]
pub struct SelectItem {
    /// What is selected.
    pub expr: SelectExpr,
    /// `AS name`.
    pub alias: Option<String>,
    /// The column's text as written (the result set's `path`).
    pub text: String,
}

/// A selected value.
#[derive(Debug, Clone, PartialEq)]
pub enum SelectExpr {
    /// A variable or a path below one.
    Path(IdentPath),
    /// `COUNT(*)` (`None`) or `COUNT(path)`.
    Count(Option<IdentPath>),
}

/// `var/attr[pred]/attr...`.
#[derive(Debug, Clone, PartialEq)]
pub struct IdentPath {
    /// The variable from `FROM`.
    pub var: String,
    /// Steps below it.
    pub steps: Vec<Step>,
}

/// One step: an attribute and an optional node predicate.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// The RM attribute.
    pub attr: String,
    /// The predicate in brackets.
    pub predicate: Option<Predicate>,
}

/// A node predicate.
#[derive(Debug, Clone, PartialEq)]
pub enum Predicate {
    /// `[at0001]` or `[openEHR-EHR-OBSERVATION.x.v1]`, with an optional
    /// name (`[at0001, 'Systolic']`).
    Node {
        /// The archetype node id.
        id: String,
        /// The node name.
        name: Option<String>,
    },
    /// `[name/value='x' and ...]`: relative paths compared to operands.
    Standard(Vec<(Vec<String>, CmpOp, Operand)>),
}

/// A class in the `FROM` chain.
#[derive(Debug, Clone, PartialEq)]
pub struct Class {
    /// `EHR`, `COMPOSITION`, `OBSERVATION`...
    pub rm_type: String,
    /// Its variable.
    pub var: Option<String>,
    /// Its predicate.
    pub predicate: Option<Predicate>,
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    /// `=`
    Eq,
    /// `!=` or `<>`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

/// A literal or parameter.
#[derive(Debug, Clone, PartialEq)]
pub enum Operand {
    /// `'text'` or `"text"`.
    Str(String),
    /// A number.
    Num(f64),
    /// `true` / `false`.
    Bool(bool),
    /// `$name`.
    Param(String),
}

/// A side of a comparison.
#[derive(Debug, Clone, PartialEq)]
pub enum Term {
    /// A path.
    Path(IdentPath),
    /// A value.
    Value(Operand),
}

/// A `WHERE` condition.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// `a AND b`
    And(Box<Expr>, Box<Expr>),
    /// `a OR b`
    Or(Box<Expr>, Box<Expr>),
    /// `NOT a`
    Not(Box<Expr>),
    /// `EXISTS path`
    Exists(IdentPath),
    /// `a op b`
    Cmp(Term, CmpOp, Term),
}
