//! The case files (`*.cases` next to this file): parsed by hand, because
//! the format exists to keep raw bytes readable (every `\r\n` written out),
//! which no general format does without a second layer of escaping.

use std::path::Path;

/// Which branch a case waits for before it can pass.
pub type Pending = String;

/// One raw request case.
#[derive(Debug, Clone)]
pub struct Case {
    /// `file:name`, unique.
    pub name: String,
    /// The bytes sent on a fresh connection.
    pub send: Vec<u8>,
    /// One entry per response the client must get, in order; each entry is
    /// the set of acceptable statuses. Empty: the connection closes without
    /// a response.
    pub status: Vec<Vec<u16>>,
    /// The requests the backend must receive, normalised (see the runner's
    /// doc comment); empty: nothing.
    pub backend: Vec<Vec<u8>>,
    /// `backend = aborted`: the backend may also see one request whose body
    /// ended early (a body-level error found while streaming).
    pub aborted: bool,
    /// Set when the case waits for another branch (`paths`, `h1more`).
    pub pending: Option<Pending>,
    /// nginx's outcome, when it differs from the expectation.
    pub nginx: Option<String>,
    /// Why nginx's outcome differs.
    pub why: Option<String>,
}

/// Loads every `*.cases` file of `dir`, sorted by file name.
pub fn load_dir(dir: &Path) -> Vec<Case> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "cases"))
        .collect();
    files.sort();
    let mut cases = Vec::new();
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        let stem = f.file_stem().and_then(|s| s.to_str()).unwrap_or("?");
        cases.extend(parse(stem, &text).unwrap_or_else(|e| panic!("{}: {e}", f.display())));
    }
    let mut names: Vec<&str> = cases.iter().map(|c| c.name.as_str()).collect();
    names.sort_unstable();
    if let Some(w) = names.windows(2).find(|w| w[0] == w[1]) {
        panic!("case {} is defined twice", w[0]);
    }
    cases
}

/// Parses one file's text.
pub fn parse(file: &str, text: &str) -> Result<Vec<Case>, String> {
    let mut cases: Vec<Case> = Vec::new();
    let mut backend_none = false;
    for (i, line) in text.lines().enumerate() {
        let at = i + 1;
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(name) = line.strip_prefix("===") {
            if let Some(prev) = cases.last() {
                check(prev, backend_none)?;
            }
            backend_none = false;
            cases.push(Case {
                name: format!("{file}:{}", name.trim()),
                send: Vec::new(),
                status: Vec::new(),
                backend: Vec::new(),
                aborted: false,
                pending: None,
                nginx: None,
                why: None,
            });
            continue;
        }
        let (key, value) = line
            .split_once('=')
            .ok_or_else(|| format!("line {at}: expected `key = value`"))?;
        let (key, value) = (key.trim(), value.trim());
        let case = cases
            .last_mut()
            .ok_or_else(|| format!("line {at}: `{key}` before the first `=== name`"))?;
        match key {
            "send" => case
                .send
                .extend(unescape(value).map_err(|e| format!("line {at}: {e}"))?),
            "status" => case.status = statuses(value).map_err(|e| format!("line {at}: {e}"))?,
            "backend" if value == "none" => backend_none = true,
            "backend" if value == "aborted" => {
                backend_none = true;
                case.aborted = true;
            }
            "backend" => case
                .backend
                .push(unescape(value).map_err(|e| format!("line {at}: {e}"))?),
            "pending" => case.pending = Some(value.to_owned()),
            "nginx" => case.nginx = Some(value.to_owned()),
            "why" => case.why = Some(value.to_owned()),
            "note" => {}
            _ => return Err(format!("line {at}: unknown key `{key}`")),
        }
    }
    if let Some(last) = cases.last() {
        check(last, backend_none)?;
    }
    Ok(cases)
}

/// Every case says what it sends, what the client gets and what the
/// backend gets (`backend = none` explicitly), so none asserts nothing.
fn check(case: &Case, backend_none: bool) -> Result<(), String> {
    let n = &case.name;
    if case.send.is_empty() {
        return Err(format!("{n}: no `send`"));
    }
    if case.backend.is_empty() != backend_none {
        return Err(format!(
            "{n}: say `backend = none` or give the requests, not both"
        ));
    }
    if case.nginx.is_some() != case.why.is_some() {
        return Err(format!("{n}: `nginx` and `why` go together"));
    }
    Ok(())
}

/// `200` / `400|501` / `200, 200` (one entry per response) / `none`.
fn statuses(v: &str) -> Result<Vec<Vec<u16>>, String> {
    if v == "none" {
        return Ok(Vec::new());
    }
    v.split(',')
        .map(|one| {
            one.split('|')
                .map(|s| {
                    s.trim()
                        .parse::<u16>()
                        .map_err(|_| format!("bad status `{s}`"))
                })
                .collect()
        })
        .collect()
}

/// `\r \n \t \0 \s (space) \\ \xHH`, and `\{N*text}` for `text`
/// (escapes allowed, no `}`) repeated `N` times: long lines without long
/// files.
pub fn unescape(v: &str) -> Result<Vec<u8>, String> {
    let b = v.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'\\' {
            out.push(b[i]);
            i += 1;
            continue;
        }
        let esc = *b.get(i + 1).ok_or("a lone `\\` at the end")?;
        i += 2;
        match esc {
            b'r' => out.push(b'\r'),
            b'n' => out.push(b'\n'),
            b't' => out.push(b'\t'),
            b'0' => out.push(0),
            b's' => out.push(b' '),
            b'\\' => out.push(b'\\'),
            b'x' => {
                let hex = v.get(i..i + 2).ok_or("`\\x` needs two hex digits")?;
                out.push(u8::from_str_radix(hex, 16).map_err(|_| format!("bad `\\x{hex}`"))?);
                i += 2;
            }
            b'{' => {
                let end = v[i..].find('}').ok_or("`\\{` without `}`")? + i;
                let (n, c) = v[i..end]
                    .split_once('*')
                    .ok_or("`\\{N*text}` needs a `*`")?;
                let n: usize = n.parse().map_err(|_| format!("bad count `{n}`"))?;
                let c = unescape(c)?;
                out.extend(std::iter::repeat_n(c.as_slice(), n).flatten());
                i = end + 1;
            }
            other => return Err(format!("unknown escape `\\{}`", other as char)),
        }
    }
    Ok(out)
}

/// The inverse of [`unescape`] for messages: bytes shown with the same
/// escapes, long runs of one byte folded.
pub fn escape(b: &[u8]) -> String {
    let mut s = String::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let run = b[i..].iter().take_while(|&&x| x == c).count();
        if run > 16 && c.is_ascii_graphic() {
            s.push_str(&format!("\\{{{run}*{}}}", c as char));
            i += run;
            continue;
        }
        match c {
            b'\r' => s.push_str("\\r"),
            b'\n' => s.push_str("\\n"),
            b'\t' => s.push_str("\\t"),
            0 => s.push_str("\\0"),
            b'\\' => s.push_str("\\\\"),
            0x20..=0x7e => s.push(c as char),
            _ => s.push_str(&format!("\\x{c:02x}")),
        }
        i += 1;
    }
    s
}
