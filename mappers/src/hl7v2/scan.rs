//! Byte search tuned for ER7 pieces.

/// Most components and fields are a few bytes long: for them a word-at-a-
/// time scan of the first bytes beats `memchr`'s setup and dispatch, and
/// anything longer goes to `memchr`, so long values stay linear and fast.
const SHORT: usize = 32;

const LO: u64 = 0x0101_0101_0101_0101;
const HI: u64 = 0x8080_8080_8080_8080;

/// Position of the first `needle` in `hay`.
#[inline]
pub(crate) fn find(needle: u8, hay: &[u8]) -> Option<usize> {
    let pattern = LO * u64::from(needle);
    let head = hay.len().min(SHORT);
    let mut i = 0;
    while i + 8 <= head {
        let Ok(word) = <[u8; 8]>::try_from(&hay[i..i + 8]) else {
            break;
        };
        // Bytes equal to the needle become zero; the classic "has zero
        // byte" test flags them. Only bytes above a real zero can be
        // flagged falsely, so the lowest flag is always the first match.
        let x = u64::from_le_bytes(word) ^ pattern;
        let found = x.wrapping_sub(LO) & !x & HI;
        if found != 0 {
            return Some(i + (found.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    if hay.len() <= SHORT {
        return hay[i..].iter().position(|&b| b == needle).map(|p| i + p);
    }
    memchr::memchr(needle, &hay[i..]).map(|p| i + p)
}

#[cfg(test)]
mod tests {
    use super::find;

    #[test]
    fn agrees_with_memchr() {
        for len in 0..80 {
            for pos in 0..=len {
                for filler in [b'a', b'|' + 1, b'|' - 1, 0, 0xFF] {
                    let mut hay = vec![filler; len];
                    if pos < len {
                        hay[pos] = b'|';
                    }
                    if pos + 3 < len {
                        hay[pos + 3] = b'|';
                    }
                    assert_eq!(find(b'|', &hay), memchr::memchr(b'|', &hay), "{len} {pos}");
                }
            }
        }
    }
}
