//! The on-disk record framing of a queue segment:
//!
//! ```text
//! kind: u8 | body length: u32 LE | CRC-32 of kind and body: u32 LE | body
//! ```
//!
//! Three kinds: an accepted message (everything needed to deliver it again
//! after a restart, and its replay key), a delivered marker (the message's
//! sequence number and outcome), and a replay entry (a remembered control
//! id carried forward when its segment is removed). Integers are little
//! endian, strings and the payload are `u32` length + bytes. A record that
//! does not check out is reported with its offset, never trusted.

/// Bytes before a record's body.
pub const HEADER: usize = 9;

/// Largest body a reader accepts (a frame is at most 4 GiB - 1 by config,
/// plus the fixed fields).
const MAX_BODY: usize = u32::MAX as usize;

const KIND_MESSAGE: u8 = 1;
const KIND_DELIVERED: u8 = 2;
const KIND_REPLAY: u8 = 3;

/// A message accepted with `CA`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageRecord {
    /// Position in the queue (unique, increasing).
    pub seq: u64,
    /// When it was accepted, in Unix milliseconds.
    pub accepted_ms: u64,
    /// The sender (MSH-3, MSH-4): messages of one sender are delivered in
    /// order.
    pub sender: String,
    /// The replay key (sender and MSH-10), empty when the window is off.
    pub replay_key: String,
    /// MSH-10.
    pub control_id: String,
    /// The destination chosen at acceptance.
    pub backend: String,
    /// The tenant.
    pub tenant: String,
    /// 0 = stable, 1 = canary.
    pub arm: u8,
    /// The message as received.
    pub payload: Vec<u8>,
}

/// One decoded record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    /// An accepted message.
    Message(MessageRecord),
    /// The message `seq` is done (delivered, or given up: `outcome`).
    Delivered {
        /// The message.
        seq: u64,
        /// 0 = delivered, 1 = refused for good, 2 = given up.
        outcome: u8,
    },
    /// A remembered control id and when it was delivered.
    Replay {
        /// The replay key.
        key: String,
        /// Unix milliseconds.
        at_ms: u64,
    },
}

/// Why a record could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bad {
    /// Fewer bytes left than the record needs (cut by a crash).
    Short,
    /// The checksum does not match, or the body does not parse.
    Corrupt,
}

// === impl Record ===

impl Record {
    /// Appends the framed record to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Record::Message(m) => m.encode(out),
            Record::Delivered { seq, outcome } => frame(out, KIND_DELIVERED, |out| {
                put_u64(out, *seq);
                out.push(*outcome);
            }),
            Record::Replay { key, at_ms } => frame(out, KIND_REPLAY, |out| {
                put_u64(out, *at_ms);
                put_bytes(out, key.as_bytes());
            }),
        }
    }

    /// The encoded size.
    #[cfg(test)]
    pub fn encoded_len(&self) -> usize {
        let mut v = Vec::new();
        self.encode(&mut v);
        v.len()
    }

    /// Decodes the record at the start of `buf`; returns it and its length.
    pub fn decode(buf: &[u8]) -> Result<(Record, usize), Bad> {
        if buf.len() < HEADER {
            return Err(Bad::Short);
        }
        let kind = buf[0];
        let len = u32::from_le_bytes([buf[1], buf[2], buf[3], buf[4]]) as usize;
        let crc = u32::from_le_bytes([buf[5], buf[6], buf[7], buf[8]]);
        if !(KIND_MESSAGE..=KIND_REPLAY).contains(&kind) || len > MAX_BODY {
            return Err(Bad::Corrupt);
        }
        let Some(body) = buf.get(HEADER..HEADER + len) else {
            return Err(Bad::Short);
        };
        let mut h = crc32fast::Hasher::new();
        h.update(&[kind]);
        h.update(body);
        if h.finalize() != crc {
            return Err(Bad::Corrupt);
        }
        let mut r = Reader { buf: body };
        let record = match kind {
            KIND_MESSAGE => Record::Message(MessageRecord {
                seq: r.u64()?,
                accepted_ms: r.u64()?,
                sender: r.string()?,
                replay_key: r.string()?,
                control_id: r.string()?,
                backend: r.string()?,
                tenant: r.string()?,
                arm: r.u8()?,
                payload: r.bytes()?.to_vec(),
            }),
            KIND_DELIVERED => Record::Delivered {
                seq: r.u64()?,
                outcome: r.u8()?,
            },
            _ => Record::Replay {
                at_ms: r.u64()?,
                key: r.string()?,
            },
        };
        if !r.buf.is_empty() {
            return Err(Bad::Corrupt);
        }
        Ok((record, HEADER + len))
    }
}

// === impl MessageRecord ===

impl MessageRecord {
    /// Appends the framed message record to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        frame(out, KIND_MESSAGE, |out| {
            put_u64(out, self.seq);
            put_u64(out, self.accepted_ms);
            for s in [
                &self.sender,
                &self.replay_key,
                &self.control_id,
                &self.backend,
                &self.tenant,
            ] {
                put_bytes(out, s.as_bytes());
            }
            out.push(self.arm);
            put_bytes(out, &self.payload);
        });
    }
}

/// Writes the header around the body `body` appends.
fn frame(out: &mut Vec<u8>, kind: u8, body: impl FnOnce(&mut Vec<u8>)) {
    let start = out.len();
    out.extend_from_slice(&[0; HEADER]);
    body(out);
    let body_len = (out.len() - start - HEADER) as u32;
    let mut crc = crc32fast::Hasher::new();
    crc.update(&[kind]);
    crc.update(&out[start + HEADER..]);
    out[start] = kind;
    out[start + 1..start + 5].copy_from_slice(&body_len.to_le_bytes());
    out[start + 5..start + 9].copy_from_slice(&crc.finalize().to_le_bytes());
}

fn put_u64(out: &mut Vec<u8>, v: u64) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    out.extend_from_slice(&(b.len() as u32).to_le_bytes());
    out.extend_from_slice(b);
}

/// A bounds-checked cursor over a body whose checksum matched.
struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], Bad> {
        if self.buf.len() < n {
            return Err(Bad::Corrupt);
        }
        let (head, rest) = self.buf.split_at(n);
        self.buf = rest;
        Ok(head)
    }

    fn u8(&mut self) -> Result<u8, Bad> {
        Ok(self.take(1)?[0])
    }

    fn u64(&mut self) -> Result<u64, Bad> {
        let b = self.take(8)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(u64::from_le_bytes(a))
    }

    fn bytes(&mut self) -> Result<&'a [u8], Bad> {
        let b = self.take(4)?;
        let n = u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize;
        self.take(n)
    }

    fn string(&mut self) -> Result<String, Bad> {
        String::from_utf8(self.bytes()?.to_vec()).map_err(|_| Bad::Corrupt)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message() -> Record {
        Record::Message(MessageRecord {
            seq: 7,
            accepted_ms: 1_700_000_000_000,
            sender: "APP\u{1f}FAC".into(),
            replay_key: "APP\u{1f}FAC\u{1f}C1".into(),
            control_id: "C1".into(),
            backend: "legacy".into(),
            tenant: "acme".into(),
            arm: 1,
            payload: b"MSH|^~\\&|APP|FAC\rPID|1\r".to_vec(),
        })
    }

    #[test]
    fn every_kind_round_trips() {
        let records = [
            message(),
            Record::Delivered { seq: 7, outcome: 0 },
            Record::Replay {
                key: "k".into(),
                at_ms: 42,
            },
        ];
        let mut buf = Vec::new();
        for r in &records {
            r.encode(&mut buf);
        }
        let mut at = 0;
        for r in &records {
            let (back, n) = Record::decode(&buf[at..]).unwrap();
            assert_eq!(&back, r);
            assert_eq!(n, r.encoded_len());
            at += n;
        }
        assert_eq!(at, buf.len());
    }

    #[test]
    fn a_cut_record_is_short_and_a_flipped_byte_corrupt() {
        let mut buf = Vec::new();
        message().encode(&mut buf);
        for cut in [0, 3, HEADER, buf.len() - 1] {
            assert_eq!(Record::decode(&buf[..cut]), Err(Bad::Short), "cut at {cut}");
        }
        for i in [0, HEADER + 3, buf.len() - 2] {
            let mut bad = buf.clone();
            bad[i] ^= 0x40;
            assert!(Record::decode(&bad).is_err(), "flip at {i}");
        }
        let mut crc_bad = buf.clone();
        crc_bad[6] ^= 1;
        assert_eq!(Record::decode(&crc_bad), Err(Bad::Corrupt));
    }
}
