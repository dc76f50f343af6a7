//! `[server] trusted_proxies`: which TCP peers may speak for the client.
//!
//! The forwarding chain (`X-Forwarded-For`, `Forwarded`,
//! `X-Forwarded-Proto`, `X-Forwarded-Host`, `X-Real-IP`) and the identity
//! headers the routing reads (`X-User-Id`: flag targeting's `user` and
//! `targetingKey`, `sticky = "user"`) are only as good as whoever wrote
//! them. From a peer in the list they are honoured (the gateway appends
//! its hop to the chain); from any other peer they are removed before
//! routing and before forwarding, so a client can neither forge its
//! address for the backend nor pick its own canary arm or flag variant.
//! The default list is empty: nobody is trusted. A verified JWT's `sub`
//! is the user whatever the peer (it is checked, not believed).
//!
//! The list is read from the snapshot per request, so a reload applies to
//! the next request, on kept-alive connections too.

use std::net::IpAddr;

use http::header::{self, HeaderMap, HeaderName};

/// The headers a client connection may not write itself: the forwarding
/// chain and the identity headers.
pub const UNTRUSTED_DROPS: [HeaderName; 6] = [
    header::FORWARDED,
    HeaderName::from_static("x-forwarded-for"),
    HeaderName::from_static("x-forwarded-proto"),
    HeaderName::from_static("x-forwarded-host"),
    HeaderName::from_static("x-real-ip"),
    USER_HEADER,
];

/// The unverified user id header (flag targeting, `sticky = "user"`).
pub const USER_HEADER: HeaderName = HeaderName::from_static("x-user-id");

/// An IPv4 or IPv6 network (`10.0.0.0/8`, `fd00::/8`; a bare address is
/// the one host).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    net: IpAddr,
    prefix: u8,
}

/// Why a `trusted_proxies` entry is not a network.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CidrError {
    /// The part before `/` is not an IP address.
    #[error("`{0}` is not an IP address or ADDRESS/PREFIX network")]
    Address(String),
    /// The prefix length is not a number within the address's bits.
    #[error("`{0}` has a prefix length that is not 0..=32 (IPv4) or 0..=128 (IPv6)")]
    Prefix(String),
    /// Bits beyond the prefix are set (`10.0.0.1/8`): a typo, or a host
    /// meant as `/32`; refused rather than guessed.
    #[error("`{0}` has host bits set beyond its prefix length")]
    HostBits(String),
}

// === impl Cidr ===

impl Cidr {
    /// Parses `ADDRESS[/PREFIX]`.
    pub fn parse(text: &str) -> Result<Cidr, CidrError> {
        let (addr, prefix) = match text.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (text, None),
        };
        let net: IpAddr = addr
            .parse()
            .map_err(|_| CidrError::Address(text.to_owned()))?;
        let bits = if net.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => bits,
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|n| *n <= bits && p.bytes().all(|b| b.is_ascii_digit()))
                .ok_or_else(|| CidrError::Prefix(text.to_owned()))?,
        };
        let cidr = Cidr { net, prefix };
        if cidr.masked(net) != Some(net) {
            return Err(CidrError::HostBits(text.to_owned()));
        }
        Ok(cidr)
    }

    /// Whether `ip` is in the network (an IPv4-mapped IPv6 peer, as a
    /// dual-stack listener reports IPv4 clients, counts as its IPv4 address).
    pub fn contains(&self, ip: IpAddr) -> bool {
        self.masked(ip.to_canonical()) == Some(self.net)
    }

    /// `ip` with the bits beyond the prefix cleared; `None` for the other
    /// address family.
    fn masked(&self, ip: IpAddr) -> Option<IpAddr> {
        match (self.net, ip) {
            (IpAddr::V4(_), IpAddr::V4(a)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                Some(IpAddr::V4((u32::from(a) & mask).into()))
            }
            (IpAddr::V6(_), IpAddr::V6(a)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                Some(IpAddr::V6((u128::from(a) & mask).into()))
            }
            _ => None,
        }
    }
}

/// The trusted networks of one config revision.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies {
    nets: Vec<Cidr>,
}

// === impl TrustedProxies ===

impl TrustedProxies {
    /// The list from the config; every entry was checked at load
    /// ([`Cidr::parse`] in validation), so a failure here cannot happen and
    /// would only leave an entry out (trusting less, never more).
    pub fn from_config(entries: &[String]) -> TrustedProxies {
        TrustedProxies {
            nets: entries.iter().filter_map(|e| Cidr::parse(e).ok()).collect(),
        }
    }

    /// Whether the peer `ip` is a trusted proxy.
    pub fn trusts(&self, ip: IpAddr) -> bool {
        self.nets.iter().any(|n| n.contains(ip))
    }
}

/// Removes what an untrusted peer may not write ([`UNTRUSTED_DROPS`]).
pub fn scrub(headers: &mut HeaderMap) {
    super::headers::remove_all(headers, &UNTRUSTED_DROPS);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn parses_networks_and_refuses_the_rest() {
        assert!(Cidr::parse("10.0.0.0/8").is_ok());
        assert!(Cidr::parse("0.0.0.0/0").is_ok());
        assert!(Cidr::parse("::/0").is_ok());
        assert!(Cidr::parse("fd00::/8").is_ok());
        assert_eq!(
            Cidr::parse("127.0.0.1"),
            Cidr::parse("127.0.0.1/32"),
            "a bare address is one host"
        );
        for bad in [
            "",
            "10.0.0/8",
            "host",
            "10.0.0.0/",
            "10.0.0.0/x",
            "10.0.0.0/-1",
        ] {
            assert!(
                matches!(
                    Cidr::parse(bad),
                    Err(CidrError::Address(_) | CidrError::Prefix(_))
                ),
                "{bad}"
            );
        }
        assert!(matches!(
            Cidr::parse("10.0.0.0/33"),
            Err(CidrError::Prefix(_))
        ));
        assert!(matches!(Cidr::parse("::1/129"), Err(CidrError::Prefix(_))));
        assert!(matches!(
            Cidr::parse("10.0.0.1/8"),
            Err(CidrError::HostBits(_))
        ));
    }

    #[test]
    fn contains_by_prefix_and_family() {
        let t = TrustedProxies::from_config(&["10.0.0.0/8".into(), "fd00::/8".into()]);
        assert!(t.trusts(ip("10.255.0.1")));
        assert!(!t.trusts(ip("11.0.0.1")));
        assert!(t.trusts(ip("fd12::1")));
        assert!(!t.trusts(ip("fe80::1")));
        assert!(t.trusts(ip("::ffff:10.1.2.3")), "IPv4-mapped");
        assert!(!TrustedProxies::default().trusts(ip("127.0.0.1")));
        let all = TrustedProxies::from_config(&["0.0.0.0/0".into()]);
        assert!(all.trusts(ip("1.2.3.4")) && !all.trusts(ip("::2")));
    }

    #[test]
    fn scrub_removes_the_chain_and_identity_only() {
        let mut h = HeaderMap::new();
        for n in &UNTRUSTED_DROPS {
            h.insert(n.clone(), "1".parse().unwrap());
        }
        h.insert("x-tenant-id", "acme".parse().unwrap());
        scrub(&mut h);
        assert_eq!(h.len(), 1);
        assert!(h.contains_key("x-tenant-id"));
    }
}
