//! Networks in `[server] trusted_proxies` (`10.0.0.0/8`, `fd00::/8`): the
//! parsed list the config check validates and the request path asks
//! ("is this peer trusted?"). What a trusted peer may say is the proxy's
//! (`proxy::trusted`); the networks are config, so the check needs nothing
//! of the proxy.

use std::net::IpAddr;

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
