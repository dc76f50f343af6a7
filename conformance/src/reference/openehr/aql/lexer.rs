//! AQL text -> tokens. Identifiers take letters, digits, `_`, `-` and `.`
//! so archetype ids (`openEHR-EHR-OBSERVATION.blood_pressure.v2`) and
//! at-codes (`at0001.1`) are one token each.

use super::parser::AqlError;

/// One token.
#[derive(Debug, Clone, PartialEq)]
pub enum Token {
    /// A name, keyword, archetype id or at-code.
    Ident(String),
    /// A quoted string (quotes removed, `\'` unescaped).
    Str(String),
    /// A number as written.
    Num(String),
    /// `$name`.
    Param(String),
    /// `/`
    Slash,
    /// `[`
    LBracket,
    /// `]`
    RBracket,
    /// `(`
    LParen,
    /// `)`
    RParen,
    /// `,`
    Comma,
    /// `*`
    Star,
    /// `=`, `!=`, `<>`, `<`, `<=`, `>`, `>=`
    Op(&'static str),
    /// `{`, `}` (only to name them in errors: MATCHES is unsupported)
    Brace,
}

fn ident_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '_' | '-' | '.')
}

/// Splits `text` into tokens, each with its byte range.
pub fn lex(text: &str) -> Result<Vec<(usize, usize, Token)>, AqlError> {
    let mut out: Vec<(usize, Token)> = Vec::new();
    let mut ends: Vec<usize> = Vec::new();
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let mut i = 0;
    while i < chars.len() {
        let (pos, c) = chars[i];
        let next = chars.get(i + 1).map(|(_, c)| *c);
        match c {
            c if c.is_whitespace() => {
                i += 1;
                continue;
            }
            ';' if chars[i + 1..].iter().all(|(_, c)| c.is_whitespace()) => break,
            '/' => out.push((pos, Token::Slash)),
            '[' => out.push((pos, Token::LBracket)),
            ']' => out.push((pos, Token::RBracket)),
            '(' => out.push((pos, Token::LParen)),
            ')' => out.push((pos, Token::RParen)),
            ',' => out.push((pos, Token::Comma)),
            '*' => out.push((pos, Token::Star)),
            '{' | '}' => out.push((pos, Token::Brace)),
            '=' => out.push((pos, Token::Op("="))),
            '!' if next == Some('=') => {
                out.push((pos, Token::Op("!=")));
                i += 1;
            }
            '<' if next == Some('>') => {
                out.push((pos, Token::Op("!=")));
                i += 1;
            }
            '<' if next == Some('=') => {
                out.push((pos, Token::Op("<=")));
                i += 1;
            }
            '>' if next == Some('=') => {
                out.push((pos, Token::Op(">=")));
                i += 1;
            }
            '<' => out.push((pos, Token::Op("<"))),
            '>' => out.push((pos, Token::Op(">"))),
            '\'' | '"' => {
                let quote = c;
                let mut s = String::new();
                let mut j = i + 1;
                let mut closed = false;
                while j < chars.len() {
                    let (_, d) = chars[j];
                    if d == '\\' && j + 1 < chars.len() {
                        s.push(chars[j + 1].1);
                        j += 2;
                        continue;
                    }
                    if d == quote {
                        closed = true;
                        break;
                    }
                    s.push(d);
                    j += 1;
                }
                if !closed {
                    return Err(AqlError::syntax(pos, "unterminated string"));
                }
                out.push((pos, Token::Str(s)));
                i = j;
            }
            '$' => {
                let mut j = i + 1;
                while j < chars.len() && (chars[j].1.is_alphanumeric() || chars[j].1 == '_') {
                    j += 1;
                }
                if j == i + 1 {
                    return Err(AqlError::syntax(pos, "`$` without a parameter name"));
                }
                let name: String = chars[i + 1..j].iter().map(|(_, c)| c).collect();
                out.push((pos, Token::Param(name)));
                i = j;
                mark(&out, &mut ends, &chars, i, text.len());
                continue;
            }
            c if c.is_ascii_digit() || (c == '-' && next.is_some_and(|n| n.is_ascii_digit())) => {
                let mut j = i + 1;
                while j < chars.len() && (chars[j].1.is_ascii_digit() || chars[j].1 == '.') {
                    j += 1;
                }
                let num: String = chars[i..j].iter().map(|(_, c)| c).collect();
                out.push((pos, Token::Num(num)));
                i = j;
                mark(&out, &mut ends, &chars, i, text.len());
                continue;
            }
            c if c.is_alphabetic() || c == '_' => {
                let mut j = i + 1;
                while j < chars.len() && ident_char(chars[j].1) {
                    j += 1;
                }
                let word: String = chars[i..j].iter().map(|(_, c)| c).collect();
                out.push((pos, Token::Ident(word)));
                i = j;
                mark(&out, &mut ends, &chars, i, text.len());
                continue;
            }
            other => {
                return Err(AqlError::syntax(
                    pos,
                    format!("unexpected character `{other}`"),
                ));
            }
        }
        i += 1;
        mark(&out, &mut ends, &chars, i, text.len());
    }
    Ok(out
        .into_iter()
        .zip(ends)
        .map(|((start, t), end)| (start, end, t))
        .collect())
}

/// Records the end (byte offset of char index `i`) of the token just pushed.
fn mark(
    out: &[(usize, Token)],
    ends: &mut Vec<usize>,
    chars: &[(usize, char)],
    i: usize,
    len: usize,
) {
    while ends.len() < out.len() {
        ends.push(chars.get(i).map_or(len, |(b, _)| *b));
    }
}
