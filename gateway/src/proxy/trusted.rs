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

/// Removes what an untrusted peer may not write ([`UNTRUSTED_DROPS`]).
pub fn scrub(headers: &mut HeaderMap) {
    super::headers::remove_all(headers, &UNTRUSTED_DROPS);
}

#[cfg(test)]
mod tests {
    use std::net::IpAddr;

    use super::*;
    use crate::config::cidr::{Cidr, CidrError, TrustedProxies};

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
