//! Tokens -> [`Query`]: a recursive-descent parser over the supported
//! subset. Unsupported constructs are named in the error, never skipped.

use ehrgate_fault::{Classified, Fault};

use super::ast::{
    Class, CmpOp, Expr, IdentPath, Operand, Predicate, Query, SelectExpr, SelectItem, Step, Term,
};
use super::lexer::{lex, Token};

/// Deepest nesting of parentheses and `NOT` in a condition.
const MAX_DEPTH: usize = 64;
/// Most steps in one path, classes in `FROM`, columns in `SELECT`.
const MAX_PARTS: usize = 256;

/// Why a query was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AqlError {
    /// Not AQL.
    #[error("AQL syntax error at {at}: {message}")]
    Syntax {
        /// Byte offset in the query.
        at: usize,
        /// What was expected.
        message: String,
    },
    /// AQL the reference backend does not implement.
    #[error("unsupported AQL at {at}: {message}")]
    Unsupported {
        /// Byte offset in the query.
        at: usize,
        /// The construct.
        message: String,
    },
    /// A `$parameter` without a value in `query_parameters`.
    #[error("query parameter `{0}` has no value")]
    MissingParameter(String),
    /// A variable not bound in `FROM`.
    #[error("variable `{0}` is not defined in FROM")]
    UnknownVariable(String),
    /// More rows than the backend answers without `LIMIT`.
    #[error("result has more than {0} rows; use LIMIT/OFFSET or fetch/offset")]
    TooManyRows(usize),
}

// === impl AqlError ===

impl AqlError {
    pub(crate) fn syntax(at: usize, message: impl Into<String>) -> Self {
        AqlError::Syntax {
            at,
            message: message.into(),
        }
    }

    fn unsupported(at: usize, message: impl Into<String>) -> Self {
        AqlError::Unsupported {
            at,
            message: message.into(),
        }
    }
}

impl Classified for AqlError {
    fn fault(&self) -> Fault {
        Fault::Client
    }

    fn code(&self) -> &'static str {
        match self {
            AqlError::Syntax { .. } => "aql.syntax",
            AqlError::Unsupported { .. } => "aql.unsupported",
            AqlError::MissingParameter(_) => "aql.parameter-missing",
            AqlError::UnknownVariable(_) => "aql.unknown-variable",
            AqlError::TooManyRows(_) => "aql.too-many-rows",
        }
    }
}

/// Parses one AQL query.
pub fn parse(text: &str) -> Result<Query, AqlError> {
    let (tokens, ends) = lex(text)?
        .into_iter()
        .map(|(start, end, t)| ((start, t), end))
        .unzip();
    let mut p = Parser {
        tokens,
        ends,
        pos: 0,
        end: text.len(),
        text,
    };
    let q = p.query()?;
    if let Some((at, t)) = p.tokens.get(p.pos) {
        return Err(AqlError::syntax(
            *at,
            format!("unexpected {t:?} after the query"),
        ));
    }
    Ok(q)
}

struct Parser<'t> {
    tokens: Vec<(usize, Token)>,
    ends: Vec<usize>,
    pos: usize,
    end: usize,
    text: &'t str,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.pos).map(|(_, t)| t)
    }

    fn at(&self) -> usize {
        self.tokens.get(self.pos).map_or(self.end, |(a, _)| *a)
    }

    fn bump(&mut self) -> Option<Token> {
        let t = self.tokens.get(self.pos).map(|(_, t)| t.clone());
        self.pos += 1;
        t
    }

    fn is_kw(&self, kw: &str) -> bool {
        matches!(self.peek(), Some(Token::Ident(w)) if w.eq_ignore_ascii_case(kw))
    }

    fn eat_kw(&mut self, kw: &str) -> bool {
        if self.is_kw(kw) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect_kw(&mut self, kw: &str) -> Result<(), AqlError> {
        if self.eat_kw(kw) {
            Ok(())
        } else {
            Err(AqlError::syntax(self.at(), format!("expected {kw}")))
        }
    }

    fn expect(&mut self, t: &Token, what: &str) -> Result<(), AqlError> {
        if self.peek() == Some(t) {
            self.pos += 1;
            Ok(())
        } else {
            Err(AqlError::syntax(self.at(), format!("expected {what}")))
        }
    }

    fn ident(&mut self, what: &str) -> Result<String, AqlError> {
        match self.peek() {
            Some(Token::Ident(w)) => {
                let w = w.clone();
                self.pos += 1;
                Ok(w)
            }
            _ => Err(AqlError::syntax(self.at(), format!("expected {what}"))),
        }
    }

    fn count(&mut self) -> Result<usize, AqlError> {
        let at = self.at();
        match self.bump() {
            Some(Token::Num(n)) => n
                .parse::<usize>()
                .map_err(|_| AqlError::syntax(at, "expected a non-negative integer")),
            _ => Err(AqlError::syntax(at, "expected a number")),
        }
    }

    // --- query ---

    fn query(&mut self) -> Result<Query, AqlError> {
        self.expect_kw("SELECT")?;
        let distinct = self.eat_kw("DISTINCT");
        let top = if self.eat_kw("TOP") {
            let n = self.count()?;
            if self.is_kw("FORWARD") || self.is_kw("BACKWARD") {
                return Err(AqlError::unsupported(self.at(), "TOP ... FORWARD/BACKWARD"));
            }
            Some(n)
        } else {
            None
        };
        let mut select = vec![self.select_item()?];
        while self.peek() == Some(&Token::Comma) {
            self.pos += 1;
            if select.len() >= MAX_PARTS {
                return Err(AqlError::unsupported(self.at(), "too many columns"));
            }
            select.push(self.select_item()?);
        }
        self.expect_kw("FROM")?;
        let from = self.from()?;
        let condition = if self.eat_kw("WHERE") {
            Some(self.expr(0)?)
        } else {
            None
        };
        let mut order_by = Vec::new();
        if self.eat_kw("ORDER") {
            self.expect_kw("BY")?;
            loop {
                let path = self.path()?;
                let desc = if self.eat_kw("DESC") || self.eat_kw("DESCENDING") {
                    true
                } else {
                    let _ = self.eat_kw("ASC") || self.eat_kw("ASCENDING");
                    false
                };
                order_by.push((path, desc));
                if self.peek() == Some(&Token::Comma) && order_by.len() < MAX_PARTS {
                    self.pos += 1;
                } else {
                    break;
                }
            }
        }
        let (mut limit, mut offset) = (None, None);
        if self.eat_kw("LIMIT") {
            limit = Some(self.count()?);
            if self.eat_kw("OFFSET") {
                offset = Some(self.count()?);
            }
        } else if self.is_kw("OFFSET") {
            return Err(AqlError::syntax(self.at(), "OFFSET needs LIMIT before it"));
        }
        if top.is_some() && limit.is_some() {
            return Err(AqlError::syntax(self.at(), "TOP and LIMIT together"));
        }
        Ok(Query {
            distinct,
            top,
            select,
            from,
            condition,
            order_by,
            limit,
            offset,
        })
    }

    fn select_item(&mut self) -> Result<SelectItem, AqlError> {
        let start = self.at();
        let expr = if self.is_kw("COUNT")
            && matches!(self.tokens.get(self.pos + 1), Some((_, Token::LParen)))
        {
            self.pos += 2;
            let inner = if self.peek() == Some(&Token::Star) {
                self.pos += 1;
                None
            } else {
                if self.is_kw("DISTINCT") {
                    return Err(AqlError::unsupported(self.at(), "COUNT(DISTINCT ...)"));
                }
                Some(self.path()?)
            };
            self.expect(&Token::RParen, "`)`")?;
            SelectExpr::Count(inner)
        } else if matches!(self.tokens.get(self.pos + 1), Some((_, Token::LParen))) {
            let name = self.ident("a path")?;
            return Err(AqlError::unsupported(start, format!("function `{name}`")));
        } else if matches!(
            self.peek(),
            Some(Token::Str(_) | Token::Num(_) | Token::Param(_))
        ) {
            return Err(AqlError::unsupported(start, "literals in SELECT"));
        } else {
            SelectExpr::Path(self.path()?)
        };
        let end = self
            .ends
            .get(self.pos.saturating_sub(1))
            .copied()
            .unwrap_or(self.end);
        let text = self
            .text
            .get(start..end.min(self.text.len()))
            .unwrap_or("")
            .trim()
            .to_owned();
        let alias = if self.eat_kw("AS") {
            Some(self.ident("an alias")?)
        } else {
            None
        };
        Ok(SelectItem { expr, alias, text })
    }

    fn from(&mut self) -> Result<Vec<Class>, AqlError> {
        let mut chain = vec![self.class()?];
        while self.eat_kw("CONTAINS") {
            if self.peek() == Some(&Token::LParen) {
                return Err(AqlError::unsupported(
                    self.at(),
                    "CONTAINS with parentheses (AND/OR containment)",
                ));
            }
            if chain.len() >= MAX_PARTS {
                return Err(AqlError::unsupported(self.at(), "containment too deep"));
            }
            chain.push(self.class()?);
        }
        for kw in ["AND", "OR", "NOT"] {
            if self.is_kw(kw) {
                return Err(AqlError::unsupported(
                    self.at(),
                    format!("containment with {kw}"),
                ));
            }
        }
        Ok(chain)
    }

    fn class(&mut self) -> Result<Class, AqlError> {
        let at = self.at();
        let rm_type = self
            .ident("an RM class (EHR, COMPOSITION, OBSERVATION...)")?
            .to_ascii_uppercase();
        if matches!(rm_type.as_str(), "VERSION" | "VERSIONED_OBJECT") {
            return Err(AqlError::unsupported(at, format!("FROM {rm_type}")));
        }
        if rm_type
            .chars()
            .any(|c| !(c.is_ascii_alphabetic() || c == '_'))
        {
            return Err(AqlError::syntax(at, "expected an RM class name"));
        }
        let var = match self.peek() {
            Some(Token::Ident(w)) if !is_keyword(w) => {
                let w = w.clone();
                self.pos += 1;
                Some(w)
            }
            _ => None,
        };
        let predicate = if self.peek() == Some(&Token::LBracket) {
            Some(self.predicate()?)
        } else {
            None
        };
        if rm_type == "EHR" && matches!(predicate, Some(Predicate::Node { .. })) {
            return Err(AqlError::syntax(
                at,
                "an EHR takes a standard predicate such as [ehr_id/value=$id]",
            ));
        }
        Ok(Class {
            rm_type,
            var,
            predicate,
        })
    }

    fn predicate(&mut self) -> Result<Predicate, AqlError> {
        self.expect(&Token::LBracket, "`[`")?;
        // `[at0001]`, `[archetype-id]`, `[at0001, 'name']`
        let node_form = matches!(self.peek(), Some(Token::Ident(_)))
            && matches!(
                self.tokens.get(self.pos + 1),
                Some((_, Token::RBracket | Token::Comma))
            );
        let pred = if node_form {
            let id = self.ident("a node id")?;
            let name = if self.peek() == Some(&Token::Comma) {
                self.pos += 1;
                match self.bump() {
                    Some(Token::Str(s)) => Some(s),
                    Some(Token::Param(_)) => {
                        return Err(AqlError::unsupported(self.at(), "parameter as node name"))
                    }
                    _ => return Err(AqlError::syntax(self.at(), "expected a quoted node name")),
                }
            } else {
                None
            };
            Predicate::Node { id, name }
        } else {
            let mut parts = Vec::new();
            loop {
                let mut path = vec![self.ident("a predicate path")?];
                while self.peek() == Some(&Token::Slash) {
                    self.pos += 1;
                    path.push(self.ident("an attribute")?);
                }
                let op = self.op()?;
                let value = self.operand()?;
                parts.push((path, op, value));
                if self.eat_kw("AND") {
                    continue;
                }
                if self.is_kw("OR") {
                    return Err(AqlError::unsupported(
                        self.at(),
                        "OR inside a node predicate",
                    ));
                }
                break;
            }
            Predicate::Standard(parts)
        };
        self.expect(&Token::RBracket, "`]`")?;
        Ok(pred)
    }

    fn op(&mut self) -> Result<CmpOp, AqlError> {
        let at = self.at();
        match self.peek() {
            Some(Token::Op(o)) => {
                let op = match *o {
                    "=" => CmpOp::Eq,
                    "!=" => CmpOp::Ne,
                    "<" => CmpOp::Lt,
                    "<=" => CmpOp::Le,
                    ">" => CmpOp::Gt,
                    _ => CmpOp::Ge,
                };
                self.pos += 1;
                Ok(op)
            }
            Some(Token::Ident(w))
                if ["LIKE", "MATCHES", "ILIKE"]
                    .iter()
                    .any(|k| w.eq_ignore_ascii_case(k)) =>
            {
                Err(AqlError::unsupported(
                    at,
                    format!("operator {}", w.to_ascii_uppercase()),
                ))
            }
            _ => Err(AqlError::syntax(at, "expected a comparison operator")),
        }
    }

    fn operand(&mut self) -> Result<Operand, AqlError> {
        let at = self.at();
        match self.bump() {
            Some(Token::Str(s)) => Ok(Operand::Str(s)),
            Some(Token::Param(p)) => Ok(Operand::Param(p)),
            Some(Token::Num(n)) => n
                .parse::<f64>()
                .map(Operand::Num)
                .map_err(|_| AqlError::syntax(at, "bad number")),
            Some(Token::Ident(w)) if w.eq_ignore_ascii_case("true") => Ok(Operand::Bool(true)),
            Some(Token::Ident(w)) if w.eq_ignore_ascii_case("false") => Ok(Operand::Bool(false)),
            Some(Token::Brace) => Err(AqlError::unsupported(at, "MATCHES value lists")),
            _ => Err(AqlError::syntax(at, "expected a value or $parameter")),
        }
    }

    fn path(&mut self) -> Result<IdentPath, AqlError> {
        let var = self.ident("a variable")?;
        if is_keyword(&var) {
            return Err(AqlError::syntax(
                self.at(),
                format!("`{var}` is a keyword, not a variable"),
            ));
        }
        let mut steps = Vec::new();
        while self.peek() == Some(&Token::Slash) {
            self.pos += 1;
            if steps.len() >= MAX_PARTS {
                return Err(AqlError::unsupported(self.at(), "path too long"));
            }
            let attr = self.ident("an attribute")?;
            let predicate = if self.peek() == Some(&Token::LBracket) {
                Some(self.predicate()?)
            } else {
                None
            };
            steps.push(Step { attr, predicate });
        }
        if self.peek() == Some(&Token::LBracket) {
            return Err(AqlError::unsupported(
                self.at(),
                "predicate on a variable in a path",
            ));
        }
        Ok(IdentPath { var, steps })
    }

    // --- conditions ---

    fn expr(&mut self, depth: usize) -> Result<Expr, AqlError> {
        if depth > MAX_DEPTH {
            return Err(AqlError::unsupported(
                self.at(),
                "condition nested too deep",
            ));
        }
        let mut left = self.and(depth)?;
        while self.eat_kw("OR") {
            let right = self.and(depth)?;
            left = Expr::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and(&mut self, depth: usize) -> Result<Expr, AqlError> {
        let mut left = self.unary(depth)?;
        while self.eat_kw("AND") {
            let right = self.unary(depth)?;
            left = Expr::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self, depth: usize) -> Result<Expr, AqlError> {
        if depth > MAX_DEPTH {
            return Err(AqlError::unsupported(
                self.at(),
                "condition nested too deep",
            ));
        }
        if self.eat_kw("NOT") {
            return Ok(Expr::Not(Box::new(self.unary(depth + 1)?)));
        }
        if self.eat_kw("EXISTS") {
            return Ok(Expr::Exists(self.path()?));
        }
        if self.peek() == Some(&Token::LParen) {
            self.pos += 1;
            let e = self.expr(depth + 1)?;
            self.expect(&Token::RParen, "`)`")?;
            return Ok(e);
        }
        let left = self.term()?;
        let op = self.op()?;
        let right = self.term()?;
        Ok(Expr::Cmp(left, op, right))
    }

    fn term(&mut self) -> Result<Term, AqlError> {
        match self.peek() {
            Some(Token::Ident(w))
                if !w.eq_ignore_ascii_case("true") && !w.eq_ignore_ascii_case("false") =>
            {
                if matches!(self.tokens.get(self.pos + 1), Some((_, Token::LParen))) {
                    return Err(AqlError::unsupported(self.at(), format!("function `{w}`")));
                }
                Ok(Term::Path(self.path()?))
            }
            _ => Ok(Term::Value(self.operand()?)),
        }
    }
}

fn is_keyword(w: &str) -> bool {
    [
        "SELECT", "FROM", "WHERE", "CONTAINS", "ORDER", "BY", "LIMIT", "OFFSET", "AND", "OR",
        "NOT", "AS", "DISTINCT", "TOP", "EXISTS",
    ]
    .iter()
    .any(|k| w.eq_ignore_ascii_case(k))
}
