//! openEHR paths as FHIRconnect files write them, and instance paths with
//! indexes as the engine produces them.
//!
//! A mapping path is `$archetype/data[at0001]/events[at0006]`,
//! `$composition/content[openEHR-EHR-OBSERVATION.x.v2]`, `$openehrRoot`,
//! `$reference`, or relative (`items[at0004]`). An instance path adds the
//! index of each node among its siblings with the same node id, which is
//! what FLAT's `:N` and canonical JSON arrays need.

use std::fmt;
use std::rc::Rc;
use std::sync::Arc;

/// Largest accepted openEHR path, in bytes.
const MAX_PATH_BYTES: usize = 2048;

/// Where a mapping's openEHR path starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anchor {
    /// `$archetype`: the root of the archetype the model maps.
    Archetype,
    /// `$composition`: the composition root.
    Composition,
    /// `$openehrRoot` or no variable: the parent method's node.
    Context,
    /// `$reference`: the path belongs to a referenced resource's methods.
    Reference,
}

/// One step of an openEHR path: an RM attribute and, for archetyped
/// nodes, the node id (`at0004` or an archetype id).
#[derive(Debug, Clone)]
pub struct Seg {
    /// RM attribute (`items`, `data`, `time`, `context`). Shared (`Arc`)
    /// because paths are cloned per selected node and mostly come from the
    /// compiled mapping set.
    pub attr: Arc<str>,
    /// Node id, empty for plain RM attributes.
    pub node: Arc<str>,
    /// Index among siblings with the same attribute and node id.
    pub index: usize,
}

// === impl Seg ===

/// Same text; most segments share their `Arc` with the compiled mapping
/// path they came from, so the pointer check usually answers (paths are
/// compared on every instance-map lookup: a measured hot spot).
///
/// Paths read from a composition do not share those `Arc`s: there the
/// length and the last byte (where at-codes differ: `at0004`/`at0005`)
/// reject most unequal pairs before the byte comparison.
fn same_str(a: &Arc<str>, b: &Arc<str>) -> bool {
    Arc::ptr_eq(a, b)
        || (a.len() == b.len() && a.as_bytes().last() == b.as_bytes().last() && **a == **b)
}

fn cmp_str(a: &Arc<str>, b: &Arc<str>) -> std::cmp::Ordering {
    if Arc::ptr_eq(a, b) {
        std::cmp::Ordering::Equal
    } else {
        (**a).cmp(&**b)
    }
}

impl PartialEq for Seg {
    fn eq(&self, other: &Self) -> bool {
        self.index == other.index
            && same_str(&self.attr, &other.attr)
            && same_str(&self.node, &other.node)
    }
}

impl Eq for Seg {}

impl std::hash::Hash for Seg {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        (*self.attr).hash(state);
        (*self.node).hash(state);
        self.index.hash(state);
    }
}

impl PartialOrd for Seg {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

/// Field order as the derived one had it: attribute, node, index.
impl Ord for Seg {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        cmp_str(&self.attr, &other.attr)
            .then_with(|| cmp_str(&self.node, &other.node))
            .then_with(|| self.index.cmp(&other.index))
    }
}

/// Segment names shared by `Arc`: every openEHR path of a compiled set and
/// every composition read with them use one `Arc` per distinct name, so
/// segments compare by pointer ([`Seg`]'s equality and order try that
/// first; comparing the bytes of archetype ids was a measured tenth of a
/// translation) and reading a composition allocates no name the set knows.
#[derive(Debug, Default)]
pub struct SegNames(std::collections::HashSet<Arc<str>, foldhash::fast::RandomState>);

// === impl SegNames ===

impl SegNames {
    /// The shared `Arc` for `name`, added if new.
    pub fn intern(&mut self, name: &Arc<str>) -> Arc<str> {
        match self.0.get(&**name) {
            Some(known) => known.clone(),
            None => {
                self.0.insert(name.clone());
                name.clone()
            }
        }
    }

    /// The shared `Arc` for `name` when known, else a new one.
    pub fn get(&self, name: &str) -> Arc<str> {
        self.0.get(name).cloned().unwrap_or_else(|| name.into())
    }

    /// `segs` with their names shared.
    pub fn intern_segs(&mut self, segs: &mut [Seg]) {
        for seg in segs {
            seg.attr = self.intern(&seg.attr);
            seg.node = self.intern(&seg.node);
        }
    }
}

/// A parsed mapping path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MappingPath {
    /// Where it starts.
    pub anchor: Anchor,
    /// The steps after the anchor (indexes all 0).
    pub segs: Vec<Seg>,
}

/// Why an openEHR path was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpenEhrPathError {
    /// Longer than the limit.
    #[error("openEHR path too long")]
    TooLong,
    /// A variable this engine does not know.
    #[error("unsupported openEHR path variable `{0}`")]
    Variable(String),
    /// Bad syntax.
    #[error("malformed openEHR path segment `{0}`")]
    Malformed(String),
    /// A predicate other than a node id (and an optional `, 'name'`):
    /// `[at0008 and name/value='x']` tells apart siblings by name, which
    /// instance paths do not carry yet.
    #[error("unsupported openEHR path predicate `[{0}]`")]
    Predicate(String),
}

impl MappingPath {
    /// Parses a mapping path.
    pub fn parse(text: &str) -> Result<Self, OpenEhrPathError> {
        if text.len() > MAX_PATH_BYTES {
            return Err(OpenEhrPathError::TooLong);
        }
        let text = text.trim();
        let (anchor, rest) = if let Some(var) = text.strip_prefix('$') {
            let (name, rest) = var.split_once('/').unwrap_or((var, ""));
            let anchor = match name {
                "archetype" => Anchor::Archetype,
                "composition" => Anchor::Composition,
                "openehrRoot" | "openEhrRoot" => Anchor::Context,
                "reference" => Anchor::Reference,
                _ => return Err(OpenEhrPathError::Variable(format!("${name}"))),
            };
            (anchor, rest)
        } else {
            (Anchor::Context, text)
        };
        Ok(MappingPath {
            anchor,
            segs: parse_segs(rest)?,
        })
    }
}

/// Parses `a[x]/b/c[y]` into segments.
pub fn parse_segs(text: &str) -> Result<Vec<Seg>, OpenEhrPathError> {
    let mut out = Vec::new();
    for part in split_slashes(text) {
        if part.is_empty() {
            continue;
        }
        let (attr, node) = match part.find('[') {
            Some(open) => {
                let inner = part[open + 1..]
                    .strip_suffix(']')
                    .ok_or_else(|| OpenEhrPathError::Malformed(part.to_owned()))?;
                // `[at0001, 'name']` predicates: keep the node id only.
                let node = inner.split(',').next().unwrap_or(inner).trim();
                if node.contains(char::is_whitespace) || node.contains('=') {
                    return Err(OpenEhrPathError::Predicate(inner.to_owned()));
                }
                (&part[..open], node)
            }
            None => (part, ""),
        };
        if attr.is_empty() || !attr.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(OpenEhrPathError::Malformed(part.to_owned()));
        }
        out.push(Seg {
            attr: attr.into(),
            node: node.into(),
            index: 0,
        });
    }
    Ok(out)
}

/// Splits on `/` outside brackets (archetype ids contain dots, predicates
/// may contain slashes in names).
fn split_slashes(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut depth = 0usize;
    let mut start = 0;
    for (i, c) in text.char_indices() {
        match c {
            '[' => depth += 1,
            ']' => depth = depth.saturating_sub(1),
            '/' if depth == 0 => {
                out.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&text[start..]);
    out
}

/// An instance path: segments with indexes, from the composition root.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct InstancePath(pub Vec<Seg>);

impl InstancePath {
    /// The path extended by `segs`.
    pub fn join(&self, segs: &[Seg]) -> InstancePath {
        let mut v = self.0.clone();
        v.extend_from_slice(segs);
        InstancePath(v)
    }

    /// Copies indexes from `binding` onto the common prefix (same attribute
    /// and node id at the same position).
    pub fn bind_from(&mut self, binding: &InstancePath) {
        for (mine, theirs) in self.0.iter_mut().zip(&binding.0) {
            if !same_str(&mine.attr, &theirs.attr) || !same_str(&mine.node, &theirs.node) {
                break;
            }
            mine.index = theirs.index;
        }
    }

    /// Sets the index of the last archetyped segment (the node a repeated
    /// FHIR element maps to).
    pub fn set_last_index(&mut self, index: usize) {
        if let Some(seg) = self.0.iter_mut().rev().find(|s| !s.node.is_empty()) {
            seg.index = index;
        }
    }

    /// Whether `self` starts with `prefix` (indexes included).
    pub fn starts_with(&self, prefix: &InstancePath) -> bool {
        self.0.len() >= prefix.0.len() && self.0[..prefix.0.len()] == prefix.0[..]
    }

    /// The archetype id of the nearest archetype root on the path and the
    /// node id of the last segment: the key of at-code tables.
    pub fn archetype_and_node(&self) -> Option<(&str, &str)> {
        let node = &*self.0.last()?.node;
        let arch = self
            .0
            .iter()
            .rev()
            .map(|s| &*s.node)
            .find(|n| n.starts_with("openEHR-"))?;
        Some((arch, node))
    }

    /// The AQL path without indexes (`/content[...]/data[at0001]`), as the
    /// template metadata keys its nodes.
    pub fn aql(&self) -> String {
        aql_of(&self.0)
    }
}

/// The AQL path (no indexes) of a run of segments (see
/// [`InstancePath::aql`]).
pub fn aql_of(segs: &[Seg]) -> String {
    let len = segs.iter().map(|s| s.attr.len() + s.node.len() + 3).sum();
    let mut s = String::with_capacity(len);
    for seg in segs {
        s.push('/');
        s.push_str(&seg.attr);
        if !seg.node.is_empty() {
            s.push('[');
            s.push_str(&seg.node);
            s.push(']');
        }
    }
    s
}

impl fmt::Display for InstancePath {
    /// `/content[openEHR-EHR-OBSERVATION.x.v2]/data[at0001]/events[at0006]:1`:
    /// the AQL path with `:N` after repeated nodes (N > 0). Used in
    /// unmapped reports and template-check issues.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for seg in &self.0 {
            write!(f, "/{}", seg.attr)?;
            if !seg.node.is_empty() {
                write!(f, "[{}]", seg.node)?;
            }
            if seg.index > 0 {
                write!(f, ":{}", seg.index)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_anchors_and_segments() {
        let p = MappingPath::parse("$archetype/data[at0001]/events[at0006]/time").unwrap();
        assert_eq!(p.anchor, Anchor::Archetype);
        assert_eq!(p.segs.len(), 3);
        assert_eq!(&*p.segs[2].node, "");
        let c =
            MappingPath::parse("$composition/content[openEHR-EHR-OBSERVATION.blood_pressure.v2]")
                .unwrap();
        assert_eq!(
            &*c.segs[0].node,
            "openEHR-EHR-OBSERVATION.blood_pressure.v2"
        );
        assert_eq!(
            MappingPath::parse("items[at0004]").unwrap().anchor,
            Anchor::Context
        );
        assert_eq!(
            MappingPath::parse("$reference").unwrap().anchor,
            Anchor::Reference
        );
        assert!(MappingPath::parse("$foo/x").is_err());
        assert!(matches!(
            MappingPath::parse("data[at0001]/items[at0008 and name/value='Dritte Stelle']"),
            Err(OpenEhrPathError::Predicate(_))
        ));
        assert!(MappingPath::parse("items[at0008, 'Dritte Stelle']").is_ok());
        assert!(MappingPath::parse("items[at0004").is_err());
    }

    #[test]
    fn binds_indexes_on_the_common_prefix() {
        let mut bound = InstancePath(parse_segs("content[o]/data[at0001]/events[at0006]").unwrap());
        bound.set_last_index(2);
        let mut p = InstancePath(
            parse_segs("content[o]/data[at0001]/events[at0006]/data[at0003]/items[at0004]")
                .unwrap(),
        );
        p.bind_from(&bound);
        assert_eq!(
            p.to_string(),
            "/content[o]/data[at0001]/events[at0006]:2/data[at0003]/items[at0004]"
        );
        assert_eq!(
            p.aql(),
            "/content[o]/data[at0001]/events[at0006]/data[at0003]/items[at0004]"
        );
        assert!(p.starts_with(&bound));
    }
}

/// The paths a parent method bound (the N-th Bundle entry -> the N-th
/// event), kept for every deeper path through the same node. A shared
/// list: a child scope adds one binding without copying its parent's,
/// which translations do for every selected node.
#[derive(Debug, Clone, Default)]
pub struct Bindings(Option<Rc<BindingNode>>);

#[derive(Debug)]
struct BindingNode {
    path: InstancePath,
    parent: Bindings,
}

impl Bindings {
    /// These bindings and `path` (the newest).
    pub fn with(&self, path: InstancePath) -> Bindings {
        Bindings(Some(Rc::new(BindingNode {
            path,
            parent: self.clone(),
        })))
    }

    /// The identity of this list (0 for the empty one): two scopes with
    /// the same identity hold the very same bindings.
    pub fn id(&self) -> usize {
        self.0.as_ref().map_or(0, |n| Rc::as_ptr(n) as usize)
    }

    /// Newest first.
    pub fn iter(&self) -> impl Iterator<Item = &InstancePath> {
        std::iter::successors(self.0.as_deref(), |n| n.parent.0.as_deref()).map(|n| &n.path)
    }

    /// Binds `p` from the oldest binding to the newest, so a deeper (newer)
    /// binding decides a shared segment.
    pub fn apply(&self, p: &mut InstancePath) {
        if let Some(n) = &self.0 {
            n.parent.apply(p);
            p.bind_from(&n.path);
        }
    }
}
