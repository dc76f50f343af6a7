//! The state of one translation: the message, the resources built so far,
//! the roles they play (the Patient, the current order...), and the
//! bookkeeping of which fields were used so nothing is dropped silently.

use std::borrow::Cow;
use std::fmt;

use crate::hl7v2::{Message, Segment, Value};
use crate::translation::Warning;

use super::report::Item;

use super::config::Config;
use super::ids;
use super::json::Obj;

/// Component mask meaning "the whole field was used".
pub const ALL: u64 = u64::MAX;

/// A component mask from 1-based component numbers (< 64).
pub const fn comps(list: &[usize]) -> u64 {
    let mut m = 0u64;
    let mut i = 0;
    while i < list.len() {
        m |= 1u64 << list[i];
        i += 1;
    }
    m
}

/// The text of a value: unescaped, decoded, trimmed; `None` when empty or
/// the explicit HL7 null `""`.
///
/// Borrowed from the message unless unescaping or charset decoding made
/// new text: most values go into the Bundle as they are, and copying each
/// one was a tenth of the translation.
pub fn txt<'a>(v: Value<'a>) -> Option<Cow<'a, str>> {
    if !v.has_value() || v.is_null() {
        return None;
    }
    match v.text() {
        Cow::Borrowed(t) => {
            let trimmed = t.trim();
            (!trimmed.is_empty()).then_some(Cow::Borrowed(trimmed))
        }
        Cow::Owned(t) => {
            let trimmed = t.trim();
            if trimmed.is_empty() {
                None
            } else if trimmed.len() == t.len() {
                Some(Cow::Owned(t))
            } else {
                Some(Cow::Owned(trimmed.to_owned()))
            }
        }
    }
}

// === impl Loc ===

/// A location in the message (`PID-3`, `OBX(2)-5-1`), built only when a
/// warning or unmapped item needs it.
#[derive(Debug, Clone, Copy)]
pub struct Loc<'s> {
    name: &'s str,
    occ: usize,
    seq: usize,
    comp: usize,
}

impl Loc<'_> {
    /// The same location, one level down.
    pub fn comp(self, comp: usize) -> Self {
        Self { comp, ..self }
    }
}

impl Loc<'_> {
    /// The same text as `Display`, built without the formatting machinery:
    /// a message reports a hundred or more unmapped items, and `to_string`
    /// through `fmt` was a visible share of the translation.
    pub fn render(&self) -> String {
        fn push_num(out: &mut String, mut n: usize) {
            let mut digits = [0u8; 20];
            let mut i = digits.len();
            loop {
                i -= 1;
                digits[i] = b'0' + (n % 10) as u8;
                n /= 10;
                if n == 0 {
                    break;
                }
            }
            for &d in &digits[i..] {
                out.push(char::from(d));
            }
        }
        let mut out = String::with_capacity(self.name.len() + 10);
        out.push_str(self.name);
        if self.occ > 1 {
            out.push('(');
            push_num(&mut out, self.occ);
            out.push(')');
        }
        if self.seq > 0 {
            out.push('-');
            push_num(&mut out, self.seq);
        }
        if self.comp > 0 {
            out.push('-');
            push_num(&mut out, self.comp);
        }
        out
    }
}

impl fmt::Display for Loc<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name)?;
        if self.occ > 1 {
            write!(f, "({})", self.occ)?;
        }
        if self.seq > 0 {
            write!(f, "-{}", self.seq)?;
        }
        if self.comp > 0 {
            write!(f, "-{}", self.comp)?;
        }
        Ok(())
    }
}

// === impl Seg ===

/// A segment being mapped, with a record of the fields (and components)
/// that rules used; [`Seg::report`] lists the rest.
#[derive(Debug)]
pub struct Seg<'a> {
    seg: Segment<'a>,
    occ: usize,
    /// The fields, split once: maps read fields out of order and many
    /// times, and `Segment::field` scans from the start on each call.
    fields: Vec<Value<'a>>,
    /// Used-component masks by field sequence (index = seq): bit 0 says
    /// "marked" (component numbers start at 1, so no mask uses it), 0 means
    /// never marked. Indexed rather than searched: the report looks up
    /// every field of every segment.
    used: Vec<u64>,
}

impl<'a> Seg<'a> {
    /// Wraps the `occ`-th (1-based) segment of its name, filling buffers
    /// a previous segment gave back with [`Seg::into_buffers`] (empty ones
    /// for the first): one allocation per message instead of two per
    /// segment.
    pub fn reusing(
        seg: Segment<'a>,
        occ: usize,
        mut fields: Vec<Value<'a>>,
        mut used: Vec<u64>,
    ) -> Self {
        fields.clear();
        fields.extend(seg.fields().map(|(_, v)| v));
        used.clear();
        used.resize(fields.len() + 1, 0);
        Self {
            seg,
            occ,
            fields,
            used,
        }
    }

    /// The buffers, for the next [`Seg::reusing`].
    pub fn into_buffers(self) -> (Vec<Value<'a>>, Vec<u64>) {
        (self.fields, self.used)
    }

    /// The segment name.
    pub fn name(&self) -> &'a str {
        self.seg.name()
    }

    /// The segment's position in the message (0-based).
    pub fn index(&self) -> usize {
        self.seg.index()
    }

    /// The highest field sequence present.
    pub fn field_count(&self) -> usize {
        self.fields.len()
    }

    /// Field `seq` (empty when absent), from the split fields.
    fn field(&self, seq: usize) -> Value<'a> {
        match seq.checked_sub(1).and_then(|i| self.fields.get(i)) {
            Some(v) => *v,
            None => self.seg.field(0),
        }
    }

    /// The location of field `seq`.
    pub fn at(&self, seq: usize) -> Loc<'a> {
        Loc {
            name: self.seg.name(),
            occ: self.occ,
            seq,
            comp: 0,
        }
    }

    /// Field `seq`, marked as fully used.
    pub fn take(&mut self, seq: usize) -> Value<'a> {
        self.mark(seq, ALL);
        self.field(seq)
    }

    /// Field `seq`, marking only the components in `mask` as used.
    pub fn take_c(&mut self, seq: usize, mask: u64) -> Value<'a> {
        self.mark(seq, mask);
        self.field(seq)
    }

    /// The trimmed text of field `seq` (marked used).
    pub fn text(&mut self, seq: usize) -> Option<Cow<'a, str>> {
        txt(self.take(seq))
    }

    /// Field `seq` without marking it (for conditions).
    pub fn peek(&self, seq: usize) -> Value<'a> {
        self.field(seq)
    }

    /// Marks components of field `seq` as used.
    pub fn mark(&mut self, seq: usize, mask: u64) {
        if seq >= self.used.len() {
            self.used.resize(seq + 1, 0);
        }
        self.used[seq] |= mask | 1;
    }

    /// Lists every field and component that carries a value and that no
    /// rule used.
    pub fn report(&self, out: &mut Vec<Item<'a>>) {
        let is_msh = self.seg.name() == "MSH";
        for (seq, v) in (1..).zip(self.fields.iter().copied()) {
            if is_msh && seq <= 2 {
                continue;
            }
            let mask = self.used.get(seq).copied().filter(|&m| m != 0);
            // a fully used field needs no look at its bytes
            if mask == Some(ALL) || !v.has_value() {
                continue;
            }
            match mask {
                None => out.push(Item::new(self.at(seq), "no mapping for field")),
                Some(ALL) => {}
                Some(mask) => {
                    let mut seen = 0u64;
                    let mut high = false;
                    for rep in v.repetitions() {
                        for (i, c) in rep.components().enumerate() {
                            let n = i + 1;
                            if !c.has_value() {
                                continue;
                            }
                            if n >= 64 {
                                if !high {
                                    high = true;
                                    out.push(Item::new(
                                        self.at(seq).comp(n),
                                        "no mapping for component",
                                    ));
                                }
                            } else if mask & (1 << n) == 0 && seen & (1 << n) == 0 {
                                seen |= 1 << n;
                                out.push(Item::new(
                                    self.at(seq).comp(n),
                                    "no mapping for component",
                                ));
                            }
                        }
                    }
                }
            }
        }
    }
}

// === impl Entry ===

/// One resource of the Bundle under construction.
#[derive(Debug)]
pub struct Entry<'a> {
    /// The resource type.
    pub rtype: &'static str,
    /// `urn:uuid:...`
    pub full_url: String,
    /// The UUID of the fullUrl, used as id for non-conditional PUTs.
    pub id: String,
    /// The resource's elements (without `resourceType`/`id`).
    pub resource: Obj<'a>,
    /// `Patient?identifier=...` for a conditional update.
    pub conditional: Option<String>,
}

/// How a resource is identified.
#[derive(Debug, Clone, Copy)]
pub enum Key<'k> {
    /// By a business identifier: conditional update, same fullUrl across
    /// messages.
    Ident(&'k str, &'k str),
    /// By position in this message (control id + a discriminator).
    Pos(&'k str),
}

/// The identity of a resource (its id digest and conditional URL), from
/// [`Ctx::id_of`].
#[derive(Debug)]
pub struct ResourceId {
    rtype: &'static str,
    digest: [u8; 16],
    conditional: Option<String>,
}

// === impl Ctx ===

/// Everything one translation accumulates.
#[derive(Debug)]
pub struct Ctx<'m, 'a> {
    _msg: std::marker::PhantomData<&'m Message<'a>>,
    /// Settings.
    pub cfg: &'m Config,
    /// MSH-9-1.
    pub code: String,
    /// MSH-9-2.
    pub trigger: String,
    /// Sending facility + application, the scope of positional ids.
    pub sender: String,
    /// MSH-10.
    pub control_id: String,
    /// Entries in creation order.
    pub entries: Vec<Entry<'a>>,
    /// Entry index by id digest, to merge a resource named twice.
    by_digest: Vec<([u8; 16], usize)>,
    /// Unmapped input, as locations and reasons (formatted only when the
    /// caller asks for the report).
    pub unmapped: Vec<Item<'a>>,
    /// Doubts.
    pub warnings: Vec<Warning>,
    /// Role: the MessageHeader.
    pub header: Option<usize>,
    /// Role: the Patient.
    pub patient: Option<usize>,
    /// Role: the Encounter.
    pub encounter: Option<usize>,
    /// Role: the current ServiceRequest (ORC/OBR group).
    pub order: Option<usize>,
    /// Role: the current DiagnosticReport (OBR in results).
    pub report: Option<usize>,
    /// Role: the current Immunization (RXA).
    pub immunization: Option<usize>,
    /// Role: the current Appointment (SCH).
    pub appointment: Option<usize>,
    /// Role: the current Observation (the last OBX).
    pub observation: Option<usize>,
    /// Role: the current DocumentReference (TXA).
    pub document: Option<usize>,
    /// Role: the current pharmacy order, dispense or give (RXO, RXE,
    /// RXD): where RXR and RXC go when no RXA is current.
    pub medication: Option<usize>,
    /// Role: the Account of the message (PID-18), where GT1 adds the
    /// guarantor and FT1 posts charges.
    pub account: Option<usize>,
    /// Role: the current Specimen (SPM).
    pub specimen: Option<usize>,
    /// The resource NTE segments attach to.
    pub note_target: Option<usize>,
    /// The pending ORC (consumed by the OBR or RXA that follows).
    pub orc: Option<super::orc::OrcData<'a>>,
    /// Bundle.timestamp (MSH-7).
    pub timestamp: Option<String>,
    /// Bundle.identifier (MSH-10).
    pub bundle_identifier: Option<super::json::Json<'a>>,
    /// Resources MessageHeader.focus points to.
    pub focus: Vec<usize>,
    /// The text of the current MDM document, collected from OBX.
    pub doc_text: String,
    /// Message-level security labels (ARV after MSH): `Bundle.meta`.
    pub bundle_security: Vec<super::json::Json<'a>>,
    /// Role: the current Procedure (PR1), where a ROL/PRT after it adds
    /// a performer.
    pub procedure: Option<usize>,
    /// Role: the current Coverage (IN1) and its subscriber when that is a
    /// RelatedPerson, where IN2 adds.
    pub coverage: Option<(usize, Option<usize>)>,
    /// Role: the current MedicationAdministration (RXA outside VXU), where
    /// RXR adds the route.
    pub administration: Option<usize>,
    /// The Device of the sending application (MSH-3, enriched by the
    /// first SFT): the Provenance source.
    pub device: Option<usize>,
    /// Devices of later SFT segments (software that relayed or changed
    /// the message): Provenance entities with role `derivation`.
    pub relays: Vec<usize>,
    /// The sending facility's Organization (MSH-4), the Provenance agent.
    pub sender_org: Option<usize>,
    /// The Medication that RXC components of the current pharmacy order
    /// or dispense go to: (the request or dispense, the Medication).
    pub compound: Option<(usize, usize)>,
    /// The Provenance activity text ("message - " and MSH-9).
    pub activity: Option<String>,
    /// The order an SCH books, made when the patient is known.
    pub scheduled: Option<super::sch::Ordered<'a>>,
}

impl<'m, 'a> Ctx<'m, 'a> {
    /// A fresh context.
    pub fn new(msg: &'m Message<'a>, cfg: &'m Config, code: String, trigger: String) -> Self {
        let sender = format!(
            "{}|{}",
            msg.get("MSH-4")
                .ok()
                .flatten()
                .map(|v| v.text().into_owned())
                .unwrap_or_default(),
            msg.get("MSH-3")
                .ok()
                .flatten()
                .map(|v| v.text().into_owned())
                .unwrap_or_default(),
        );
        Self {
            _msg: std::marker::PhantomData,
            cfg,
            code,
            trigger,
            sender,
            control_id: msg.control_id().unwrap_or_default(),
            entries: Vec::with_capacity(16),
            by_digest: Vec::with_capacity(16),
            unmapped: Vec::new(),
            warnings: Vec::new(),
            header: None,
            patient: None,
            encounter: None,
            order: None,
            report: None,
            immunization: None,
            appointment: None,
            observation: None,
            document: None,
            medication: None,
            account: None,
            specimen: None,
            note_target: None,
            orc: None,
            timestamp: None,
            bundle_identifier: None,
            focus: Vec::new(),
            doc_text: String::new(),
            bundle_security: Vec::new(),
            procedure: None,
            coverage: None,
            administration: None,
            device: None,
            relays: Vec::new(),
            sender_org: None,
            compound: None,
            activity: None,
            scheduled: None,
        }
    }

    /// Adds a resource; when one with the same fullUrl exists (the same
    /// practitioner named twice) the existing entry is kept and returned.
    pub fn add(&mut self, rtype: &'static str, key: Key<'_>, resource: Obj<'a>) -> usize {
        let id = self.id_of(rtype, key);
        self.add_with_id(id, resource)
    }

    /// The identity of a resource about to be built: maps that can build
    /// a resource only to find it exists (a Location level or a
    /// practitioner named again) ask [`Ctx::existing`] first.
    pub fn id_of(&self, rtype: &'static str, key: Key<'_>) -> ResourceId {
        let (digest, conditional) = match key {
            Key::Ident(system, value) => {
                let mut url = String::with_capacity(rtype.len() + 12 + system.len() + value.len());
                url.push_str(rtype);
                url.push_str("?identifier=");
                ids::push_query_escaped(system, &mut url);
                url.push('|');
                ids::push_query_escaped(value, &mut url);
                (ids::digest(&[rtype, system, value]), Some(url))
            }
            Key::Pos(disc) => (
                ids::digest(&[&self.sender, &self.control_id, rtype, disc]),
                None,
            ),
        };
        ResourceId {
            rtype,
            digest,
            conditional,
        }
    }

    /// The entry with identity `id`, if one was added.
    pub fn existing(&self, id: &ResourceId) -> Option<usize> {
        // a linear scan: a message has tens of resources, and comparing
        // 16 bytes beats hashing a 45-byte URL
        self.by_digest
            .iter()
            .find(|(d, _)| *d == id.digest)
            .map(|&(_, i)| i)
    }

    /// [`Ctx::add`] with the identity computed by [`Ctx::id_of`].
    pub fn add_with_id(&mut self, id: ResourceId, resource: Obj<'a>) -> usize {
        if let Some(i) = self.existing(&id) {
            return i;
        }
        let ResourceId {
            rtype,
            digest,
            conditional,
        } = id;
        let mut full_url = String::with_capacity(45);
        full_url.push_str("urn:uuid:");
        ids::push_uuid(&digest, &mut full_url);
        let id = full_url["urn:uuid:".len()..].to_owned();
        let i = self.entries.len();
        self.by_digest.push((digest, i));
        self.entries.push(Entry {
            rtype,
            full_url,
            id,
            resource,
            conditional,
        });
        i
    }

    /// The resource of entry `i`.
    pub fn res(&mut self, i: usize) -> &mut Obj<'a> {
        &mut self.entries[i].resource
    }

    /// The fullUrl of entry `i`.
    pub fn full_url(&self, i: usize) -> &str {
        &self.entries[i].full_url
    }

    /// The fullUrl of entry `i` as a Reference.
    pub fn reference(&self, i: usize) -> super::json::Json<'a> {
        super::json::reference(&self.entries[i].full_url)
    }

    /// Records a doubt.
    pub fn warn(&mut self, loc: impl fmt::Display, message: impl Into<String>) {
        self.warnings.push(Warning {
            location: loc.to_string(),
            message: message.into(),
        });
    }

    /// Records an item that carried a value and was not mapped.
    pub fn not_mapped(&mut self, loc: Loc<'a>, reason: impl Into<Cow<'static, str>>) {
        self.unmapped.push(Item::new(loc, reason));
    }

    /// Closes a segment: its unused fields go to the report.
    pub fn done(&mut self, seg: &Seg<'a>) {
        seg.report(&mut self.unmapped);
    }

    /// Reference to the Encounter, if there is one.
    pub fn encounter_ref(&self) -> Option<super::json::Json<'a>> {
        self.encounter.map(|i| self.reference(i))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_matches_display() {
        for name in ["PID", "ZXY", "MSH"] {
            for occ in [0, 1, 2, 10, 123] {
                for seq in [0, 1, 9, 10, 250] {
                    for comp in [0, 1, 63, 64, 1000] {
                        let loc = Loc {
                            name,
                            occ,
                            seq,
                            comp,
                        };
                        assert_eq!(loc.render(), loc.to_string());
                    }
                }
            }
        }
    }
}
