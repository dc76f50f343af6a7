//! Byte search tuned for ER7 pieces.

/// Most components and fields are a few bytes long: a plain loop over the
/// first bytes beats `memchr`'s setup for them, and anything longer goes
/// to `memchr`, so long values stay linear and fast.
const SHORT: usize = 16;

/// Position of the first `needle` in `hay`.
#[inline]
pub(crate) fn find(needle: u8, hay: &[u8]) -> Option<usize> {
    let head = &hay[..hay.len().min(SHORT)];
    if let Some(i) = head.iter().position(|&b| b == needle) {
        return Some(i);
    }
    if hay.len() <= SHORT {
        return None;
    }
    memchr::memchr(needle, &hay[SHORT..]).map(|i| i + SHORT)
}

#[cfg(test)]
mod tests {
    use super::find;

    #[test]
    fn agrees_with_memchr() {
        for len in 0..60 {
            for pos in 0..=len {
                let mut hay = vec![b'a'; len];
                if pos < len {
                    hay[pos] = b'|';
                }
                assert_eq!(find(b'|', &hay), memchr::memchr(b'|', &hay), "{len} {pos}");
            }
        }
    }
}
