//! The v2 writer: segments built as a tree of text (field, repetition,
//! component, sub-component), written to ER7 once, at the end.
//!
//! Mapping code only ever sets *text*; every delimiter in it is escaped
//! here (`\F\ \S\ \T\ \R\ \E\`, line breaks as `\.br\`), so no FHIR value
//! can break the structure. Building a tree first (rather than editing
//! bytes, as [`OwnedMessage`](crate::hl7v2::OwnedMessage) does) keeps the
//! writer linear and lets the length rules look at whole repetitions.

use crate::hl7v2::escape::escape_into;
use crate::hl7v2::{Charset, Delimiters};

/// One repetition of a field: components, each a list of sub-components.
/// Empty trailing parts are not written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rep(pub Vec<Vec<String>>);

// === impl Rep ===

impl Rep {
    /// A repetition holding one primitive value.
    pub fn text(s: impl Into<String>) -> Self {
        Rep(vec![vec![s.into()]])
    }

    /// Sets component `n` (1-based) to `s`.
    pub fn set(&mut self, n: usize, s: impl Into<String>) {
        let s = s.into();
        if s.is_empty() || n == 0 {
            return;
        }
        while self.0.len() < n {
            self.0.push(Vec::new());
        }
        self.0[n - 1] = vec![s];
    }

    /// Sets component `n` to `s` when there is one.
    pub fn opt(&mut self, n: usize, s: Option<impl Into<String>>) {
        if let Some(s) = s {
            self.set(n, s);
        }
    }

    /// Sets sub-component `sub` of component `n` (both 1-based).
    pub fn set_sub(&mut self, n: usize, sub: usize, s: impl Into<String>) {
        let s = s.into();
        if s.is_empty() || n == 0 || sub == 0 {
            return;
        }
        while self.0.len() < n {
            self.0.push(Vec::new());
        }
        let c = &mut self.0[n - 1];
        while c.len() < sub {
            c.push(String::new());
        }
        c[sub - 1] = s;
    }

    /// Component `n` (1-based) as its sub-components.
    pub fn component(&self, n: usize) -> Option<&[String]> {
        self.0.get(n.wrapping_sub(1)).map(Vec::as_slice)
    }

    /// True when nothing is valued.
    pub fn is_empty(&self) -> bool {
        self.0.iter().all(|c| c.iter().all(String::is_empty))
    }

    /// The length of the repetition as text, separators included (how the
    /// v2.3 to v2.6 field lengths count).
    pub fn text_len(&self) -> usize {
        let comps = self.used();
        let mut n = comps.len().saturating_sub(1);
        for c in comps {
            let subs = used(c);
            n += subs.len().saturating_sub(1);
            n += subs.iter().map(|s| s.chars().count()).sum::<usize>();
        }
        n
    }

    /// The components up to the last valued one.
    fn used(&self) -> &[Vec<String>] {
        let end = self
            .0
            .iter()
            .rposition(|c| c.iter().any(|s| !s.is_empty()))
            .map_or(0, |i| i + 1);
        &self.0[..end]
    }
}

fn used(c: &[String]) -> &[String] {
    let end = c.iter().rposition(|s| !s.is_empty()).map_or(0, |i| i + 1);
    &c[..end]
}

/// One segment: a name and its fields (`fields[0]` is field 1; for MSH,
/// field 1 and 2 are the delimiters and are written by the writer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seg {
    /// The segment name (`PID`).
    pub name: &'static str,
    /// The fields, each a list of repetitions.
    pub fields: Vec<Vec<Rep>>,
    /// FHIR paths the fields came from, for the length report.
    pub sources: Vec<(usize, String)>,
}

// === impl Seg ===

impl Seg {
    /// An empty segment.
    pub fn new(name: &'static str) -> Self {
        Self {
            name,
            fields: Vec::new(),
            sources: Vec::new(),
        }
    }

    fn slot(&mut self, seq: usize) -> &mut Vec<Rep> {
        while self.fields.len() < seq {
            self.fields.push(Vec::new());
        }
        &mut self.fields[seq - 1]
    }

    /// Sets field `seq` to one primitive value (empty text leaves it empty).
    pub fn set(&mut self, seq: usize, s: impl Into<String>) {
        let s = s.into();
        if !s.is_empty() && seq > 0 {
            *self.slot(seq) = vec![Rep::text(s)];
        }
    }

    /// Sets field `seq` to `s` when there is one.
    pub fn opt(&mut self, seq: usize, s: Option<impl Into<String>>) {
        if let Some(s) = s {
            self.set(seq, s);
        }
    }

    /// Sets field `seq` to one repetition (an empty one leaves it empty).
    pub fn rep(&mut self, seq: usize, r: Rep) {
        if !r.is_empty() && seq > 0 {
            *self.slot(seq) = vec![r];
        }
    }

    /// Sets field `seq` to `r` when there is one.
    pub fn opt_rep(&mut self, seq: usize, r: Option<Rep>) {
        if let Some(r) = r {
            self.rep(seq, r);
        }
    }

    /// Appends a repetition to field `seq` (repeating elements).
    pub fn push(&mut self, seq: usize, r: Rep) {
        if !r.is_empty() && seq > 0 {
            self.slot(seq).push(r);
        }
    }

    /// Field `seq`'s repetitions.
    pub fn field(&self, seq: usize) -> &[Rep] {
        self.fields
            .get(seq.wrapping_sub(1))
            .map_or(&[], Vec::as_slice)
    }

    /// Field `seq`'s repetitions, editable.
    pub fn field_mut(&mut self, seq: usize) -> Option<&mut Vec<Rep>> {
        self.fields.get_mut(seq.wrapping_sub(1))
    }

    /// Notes the FHIR path field `seq` came from.
    pub fn source(&mut self, seq: usize, path: impl Into<String>) {
        self.sources.push((seq, path.into()));
    }

    /// The FHIR path field `seq` came from, if noted.
    pub fn source_of(&self, seq: usize) -> Option<&str> {
        self.sources
            .iter()
            .rev()
            .find(|(s, _)| *s == seq)
            .map(|(_, p)| p.as_str())
    }
}

/// Why text could not be written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unrepresentable {
    /// `PID-5`.
    pub field: String,
}

/// Writes `segments` as ER7 (each segment ended by CR) in `charset`, with
/// the default delimiters `|^~\&`.
pub fn write(segments: &[Seg], charset: Charset, out: &mut Vec<u8>) -> Result<(), Unrepresentable> {
    let d = Delimiters::default();
    let mut buf = Vec::with_capacity(64);
    for seg in segments {
        out.extend_from_slice(seg.name.as_bytes());
        let is_msh = seg.name == "MSH";
        let start = if is_msh {
            out.push(d.field);
            out.extend_from_slice(&d.encoding_characters());
            3
        } else {
            1
        };
        let last = seg
            .fields
            .iter()
            .rposition(|f| f.iter().any(|r| !r.is_empty()))
            .map_or(0, |i| i + 1);
        for seq in start..=last {
            out.push(d.field);
            let reps = &seg.fields[seq - 1];
            let reps_end = reps
                .iter()
                .rposition(|r| !r.is_empty())
                .map_or(0, |i| i + 1);
            for (ri, rep) in reps[..reps_end].iter().enumerate() {
                if ri > 0 {
                    out.push(d.repetition);
                }
                for (ci, comp) in rep.used().iter().enumerate() {
                    if ci > 0 {
                        out.push(d.component);
                    }
                    for (si, sub) in used(comp).iter().enumerate() {
                        if si > 0 {
                            out.push(d.subcomponent);
                        }
                        encode(sub, charset, &d, &mut buf).ok_or_else(|| Unrepresentable {
                            field: format!("{}-{seq}", seg.name),
                        })?;
                        out.extend_from_slice(&buf);
                    }
                }
            }
        }
        out.push(b'\r');
    }
    Ok(())
}

/// `text` encoded in `charset` and escaped into `buf`; `None` when a
/// character has no encoding (ASCII allows 7 bits only).
fn encode(text: &str, charset: Charset, d: &Delimiters, buf: &mut Vec<u8>) -> Option<()> {
    buf.clear();
    match charset {
        Charset::Utf8 => escape_into(text.as_bytes(), d, buf),
        Charset::Ascii => {
            if !text.is_ascii() {
                return None;
            }
            escape_into(text.as_bytes(), d, buf);
        }
        other => escape_into(&other.encode(text)?, d, buf),
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hl7v2::Message;

    #[test]
    fn every_delimiter_in_data_is_escaped() {
        let mut msh = Seg::new("MSH");
        msh.set(9, "ORU");
        let mut pid = Seg::new("PID");
        let mut name = Rep::default();
        name.set(1, "O|Brien^&~\\");
        name.set(2, "two\nlines");
        pid.rep(5, name);
        pid.push(3, Rep::text("1"));
        pid.push(3, Rep::text("2"));
        let mut out = Vec::new();
        write(&[msh, pid], Charset::Utf8, &mut out).unwrap();
        assert_eq!(
            String::from_utf8(out.clone()).unwrap(),
            "MSH|^~\\&|||||||ORU\rPID|||1~2||O\\F\\Brien\\S\\\\T\\\\R\\\\E\\^two\\.br\\lines\r"
        );
        let m = Message::parse(&out).unwrap();
        assert_eq!(m.get("PID-5-1").unwrap().unwrap().text(), "O|Brien^&~\\");
        assert_eq!(m.get("PID-5-2").unwrap().unwrap().text(), "two\nlines");
        assert_eq!(m.get("PID-3(2)").unwrap().unwrap().text(), "2");
    }

    #[test]
    fn sub_components_and_trailing_empties() {
        let mut r = Rep::default();
        r.set(1, "123");
        r.set_sub(4, 2, "1.2.3");
        r.set_sub(4, 3, "ISO");
        r.set(9, "");
        let mut s = Seg::new("PID");
        s.rep(3, r.clone());
        s.set(8, "");
        let mut out = Vec::new();
        write(&[s], Charset::Utf8, &mut out).unwrap();
        assert_eq!(out, b"PID|||123^^^&1.2.3&ISO\r");
        assert_eq!(r.text_len(), "123^^^&1.2.3&ISO".len());
    }

    #[test]
    fn charsets() {
        let mut s = Seg::new("PID");
        s.set(5, "Müller");
        let mut out = Vec::new();
        assert_eq!(
            write(std::slice::from_ref(&s), Charset::Ascii, &mut out),
            Err(Unrepresentable {
                field: "PID-5".into()
            })
        );
        out.clear();
        write(std::slice::from_ref(&s), Charset::Latin1, &mut out).unwrap();
        assert_eq!(out, b"PID|||||M\xfcller\r");
        out.clear();
        write(&[s], Charset::Utf8, &mut out).unwrap();
        assert_eq!(out, "PID|||||Müller\r".as_bytes());
    }
}
