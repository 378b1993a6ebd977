//! Target policy: which webhook targets the HTTP handler may connect to (SSRF protection).
//!
//! Webhook URLs come from alert producers, so without a policy anyone who can post an alert can
//! make the manager POST to internal services or a cloud metadata endpoint. [`TargetPolicy`] has
//! two independent rules:
//!
//! - **non-public addresses blocked** ([`TargetPolicy::public_only`]): loopback, private (RFC 1918,
//!   unique-local), carrier-grade NAT, link-local, multicast, documentation, benchmarking, reserved
//!   and unspecified ranges are refused. That covers the metadata endpoints `169.254.169.254`,
//!   `fd00:ec2::254` and `100.100.100.200`. IPv4-mapped, NAT64 and 6to4 IPv6 forms are judged by the
//!   IPv4 address they embed. Networks named with [`TargetPolicy::with_allowed_network`] are exempt.
//! - **host allow-list** ([`TargetPolicy::with_allowed_host`]): when non-empty, only the listed hosts
//!   (exact, case-insensitive, or `*.suffix`) are accepted.
//!
//! Invariant: the address rule is applied to the *resolved* address of every connection the client
//! opens (a DNS resolver that drops refused addresses, see [`PolicyResolver`]), and to IP-literal
//! URLs before sending, so DNS names that point inwards and DNS rebinding are both covered. Proxies
//! from the environment are disabled while the rule is on, since a proxy would resolve the target
//! itself. What it does not do: inspect anything but addresses and host names (ports are free).
//!
//! The default policy allows everything, as the Go version does.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::str::FromStr;
use std::sync::Arc;

use reqwest::Url;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

use crate::error::Error;

/// An IP network in CIDR form (`10.1.0.0/16`, `fd00::/8`), used to exempt addresses from the block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNetwork {
    addr: IpAddr,
    prefix: u8,
}

impl IpNetwork {
    /// A network from an address and prefix length.
    ///
    /// # Errors
    /// [`Error::InvalidNetwork`] when the prefix is longer than the address.
    pub fn new(addr: IpAddr, prefix: u8) -> Result<Self, Error> {
        let max = if addr.is_ipv4() { 32 } else { 128 };
        if prefix > max {
            return Err(Error::InvalidNetwork(format!("{addr}/{prefix}")));
        }
        Ok(Self {
            addr: addr.to_canonical(),
            prefix,
        })
    }

    /// Whether `ip` lies in this network.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip.to_canonical()) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                prefix_eq(&net.octets(), &ip.octets(), self.prefix)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                prefix_eq(&net.octets(), &ip.octets(), self.prefix)
            }
            _ => false,
        }
    }
}

fn prefix_eq(a: &[u8], b: &[u8], prefix: u8) -> bool {
    let full = usize::from(prefix / 8);
    let rest = prefix % 8;
    if a[..full] != b[..full] {
        return false;
    }
    if rest == 0 {
        return true;
    }
    let mask = 0xffu8 << (8 - rest);
    (a[full] & mask) == (b[full] & mask)
}

impl FromStr for IpNetwork {
    type Err = Error;

    /// Parses `addr/prefix`, or a bare address (a single-address network).
    fn from_str(s: &str) -> Result<Self, Error> {
        let invalid = || Error::InvalidNetwork(s.to_owned());
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = addr.trim().parse().map_err(|_| invalid())?;
        let prefix = match prefix {
            Some(p) => p.trim().parse().map_err(|_| invalid())?,
            None if addr.is_ipv4() => 32,
            None => 128,
        };
        Self::new(addr, prefix).map_err(|_| invalid())
    }
}

impl fmt::Display for IpNetwork {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.prefix)
    }
}

/// Which targets the HTTP handler may connect to. The default allows everything (as Go does).
#[derive(Debug, Clone, Default)]
pub struct TargetPolicy {
    block_non_public: bool,
    allowed_hosts: Vec<String>,
    allowed_networks: Vec<IpNetwork>,
}

impl TargetPolicy {
    /// Allows every target (the default).
    pub fn allow_all() -> Self {
        Self::default()
    }

    /// Refuses every address that is not publicly routable (see the module docs).
    pub fn public_only() -> Self {
        Self::default().with_block_non_public(true)
    }

    /// Turns the non-public address rule on or off.
    pub fn with_block_non_public(mut self, block: bool) -> Self {
        self.block_non_public = block;
        self
    }

    /// Adds a host to the allow-list: an exact name or IP (case-insensitive), or `*.example.com` for
    /// any subdomain of `example.com`. With a non-empty list, other hosts are refused.
    pub fn with_allowed_host(mut self, host: impl Into<String>) -> Self {
        let host = host
            .into()
            .trim()
            .trim_end_matches('.')
            .to_ascii_lowercase();
        self.allowed_hosts.push(host);
        self
    }

    /// Exempts a network from the non-public address rule (for example an internal receiver).
    pub fn with_allowed_network(mut self, network: IpNetwork) -> Self {
        self.allowed_networks.push(network);
        self
    }

    /// Whether the non-public address rule is on.
    pub fn blocks_non_public(&self) -> bool {
        self.block_non_public
    }

    /// Checks a resolved (or literal) address against the address rule.
    ///
    /// # Errors
    /// A reason naming the address when it is refused.
    pub fn check_ip(&self, ip: IpAddr) -> Result<(), String> {
        if !self.block_non_public
            || is_public_ip(ip)
            || self.allowed_networks.iter().any(|n| n.contains(ip))
        {
            Ok(())
        } else {
            Err(format!("address {ip} is not a public address"))
        }
    }

    /// Checks a URL's host against the allow-list and, for an IP literal, the address rule.
    ///
    /// # Errors
    /// A reason naming the host when it is refused.
    pub fn check_url(&self, url: &Url) -> Result<(), String> {
        let Some(host) = url.host() else {
            return Err("url has no host".to_owned());
        };
        let name = match host {
            url::Host::Domain(d) => d.trim_end_matches('.').to_ascii_lowercase(),
            url::Host::Ipv4(ip) => ip.to_string(),
            url::Host::Ipv6(ip) => ip.to_string(),
        };
        if !self.allowed_hosts.is_empty()
            && !self.allowed_hosts.iter().any(|p| host_matches(p, &name))
        {
            return Err(format!("host {name} is not in the allow-list"));
        }
        match host {
            url::Host::Ipv4(ip) => self.check_ip(IpAddr::V4(ip)),
            url::Host::Ipv6(ip) => self.check_ip(IpAddr::V6(ip)),
            url::Host::Domain(_) => Ok(()),
        }
    }
}

fn host_matches(pattern: &str, host: &str) -> bool {
    match pattern.strip_prefix("*.") {
        Some(suffix) => host
            .strip_suffix(suffix)
            .is_some_and(|rest| rest.ends_with('.') && rest.len() > 1),
        None => {
            // IPv6 allow-list entries may be written with or without brackets.
            pattern.trim_start_matches('[').trim_end_matches(']') == host
        }
    }
}

/// Whether `ip` is publicly routable (not loopback, private, link-local, metadata, reserved, ...).
pub fn is_public_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn in_v4(ip: Ipv4Addr, net: [u8; 4], prefix: u8) -> bool {
    prefix_eq(&net, &ip.octets(), prefix)
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    const BLOCKED: &[([u8; 4], u8)] = &[
        ([0, 0, 0, 0], 8),       // "this network", unspecified
        ([10, 0, 0, 0], 8),      // private
        ([100, 64, 0, 0], 10),   // carrier-grade NAT (Alibaba metadata 100.100.100.200)
        ([127, 0, 0, 0], 8),     // loopback
        ([169, 254, 0, 0], 16),  // link-local (metadata 169.254.169.254)
        ([172, 16, 0, 0], 12),   // private
        ([192, 0, 0, 0], 24),    // IETF protocol assignments
        ([192, 0, 2, 0], 24),    // documentation
        ([192, 88, 99, 0], 24),  // 6to4 relay anycast
        ([192, 168, 0, 0], 16),  // private
        ([198, 18, 0, 0], 15),   // benchmarking
        ([198, 51, 100, 0], 24), // documentation
        ([203, 0, 113, 0], 24),  // documentation
        ([224, 0, 0, 0], 4),     // multicast
        ([240, 0, 0, 0], 4),     // reserved, broadcast
    ];
    !BLOCKED.iter().any(|(net, p)| in_v4(ip, *net, *p))
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let o = ip.octets();
    let seg = ip.segments();
    // IPv4-mapped ::ffff:a.b.c.d and the deprecated IPv4-compatible ::a.b.c.d.
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_public_v4(v4);
    }
    if seg[..6] == [0, 0, 0, 0, 0, 0] {
        return false; // ::, ::1 and IPv4-compatible addresses
    }
    // NAT64 well-known prefix 64:ff9b::/96: judge the embedded IPv4 address.
    if seg[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return is_public_v4(Ipv4Addr::new(o[12], o[13], o[14], o[15]));
    }
    // 6to4 2002::/16: the IPv4 address is in bits 16..48.
    if seg[0] == 0x2002 {
        return is_public_v4(Ipv4Addr::new(o[2], o[3], o[4], o[5]));
    }
    const BLOCKED: &[([u8; 16], u8)] = &[
        (
            [0x00, 0x64, 0xff, 0x9b, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
            48,
        ), // local-use NAT64
        ([0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], 64), // discard-only
        ([0x20, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], 23), // IETF protocol assignments, Teredo
        (
            [0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
            32,
        ), // documentation
        ([0x3f, 0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], 20), // documentation
        ([0xfc, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], 7), // unique-local (metadata fd00:ec2::254)
        ([0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], 10), // link-local
        ([0xfe, 0xc0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], 10), // site-local (deprecated)
        ([0xff, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], 8), // multicast
    ];
    !BLOCKED.iter().any(|(net, p)| prefix_eq(net, &o, *p))
}

/// Why the resolver refused to give addresses for a host (detected in the error chain).
#[derive(Debug)]
pub(crate) struct PolicyRefusal(pub(crate) String);

impl fmt::Display for PolicyRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for PolicyRefusal {}

/// A DNS lookup failure (detected in the error chain: not retried, as in Go).
#[derive(Debug)]
pub(crate) struct ResolveFailed {
    host: String,
    source: std::io::Error,
}

impl fmt::Display for ResolveFailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "failed to resolve {}: {}", self.host, self.source)
    }
}

impl std::error::Error for ResolveFailed {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

/// The client's DNS resolver: resolves with the system resolver and drops the addresses the policy
/// refuses, so every connection (including redirects and reconnects) goes to an allowed address.
pub(crate) struct PolicyResolver {
    pub(crate) policy: Arc<TargetPolicy>,
}

impl Resolve for PolicyResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = Arc::clone(&self.policy);
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let lookup = tokio::net::lookup_host((host.as_str(), 0))
                .await
                .map(|addrs| addrs.collect::<Vec<SocketAddr>>());
            let resolved = match lookup {
                Ok(addrs) => addrs,
                Err(source) => return Err(Box::new(ResolveFailed { host, source }) as _),
            };
            let mut refused = None;
            let allowed: Vec<SocketAddr> = resolved
                .into_iter()
                .filter(|a| match policy.check_ip(a.ip()) {
                    Ok(()) => true,
                    Err(reason) => {
                        refused.get_or_insert(reason);
                        false
                    }
                })
                .collect();
            if allowed.is_empty() {
                let reason = refused.unwrap_or_else(|| "no addresses".to_owned());
                return Err(Box::new(PolicyRefusal(format!("host {host} refused: {reason}"))) as _);
            }
            let addrs: Addrs = Box::new(allowed.into_iter());
            Ok(addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn classifies_addresses() {
        for blocked in [
            "127.0.0.1",
            "127.255.0.9",
            "0.0.0.0",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "100.100.100.200",
            "224.0.0.1",
            "255.255.255.255",
            "198.18.0.1",
            "192.0.2.5",
            "::",
            "::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::127.0.0.1",
            "fe80::1",
            "fc00::1",
            "fd00:ec2::254",
            "ff02::1",
            "64:ff9b::a9fe:a9fe",
            "2002:7f00:1::1",
            "2001:db8::1",
            "fec0::1",
        ] {
            assert!(!is_public_ip(ip(blocked)), "{blocked} must be blocked");
        }
        for public in [
            "8.8.8.8",
            "1.1.1.1",
            "172.32.0.1",
            "100.128.0.1",
            "169.255.0.1",
            "192.169.0.1",
            "2606:4700:4700::1111",
            "2a00:1450:4001:80b::200e",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
            "2002:808:808::1",
        ] {
            assert!(is_public_ip(ip(public)), "{public} must be public");
        }
    }

    #[test]
    fn networks() {
        let n: IpNetwork = "10.1.0.0/16".parse().unwrap();
        assert!(n.contains(ip("10.1.200.3")));
        assert!(n.contains(ip("::ffff:10.1.0.1")));
        assert!(!n.contains(ip("10.2.0.1")));
        let n: IpNetwork = "fd00::/8".parse().unwrap();
        assert!(n.contains(ip("fd12::1")));
        assert!(!n.contains(ip("fc00::1")));
        let n: IpNetwork = "127.0.0.1".parse().unwrap();
        assert_eq!(n.to_string(), "127.0.0.1/32");
        assert!(n.contains(ip("127.0.0.1")) && !n.contains(ip("127.0.0.2")));
        assert!("10.0.0.0/33".parse::<IpNetwork>().is_err());
        assert!("nonsense/8".parse::<IpNetwork>().is_err());
        assert!("::/129".parse::<IpNetwork>().is_err());
    }

    #[test]
    fn policy_rules() {
        let open = TargetPolicy::default();
        assert!(open.check_ip(ip("127.0.0.1")).is_ok());
        let strict = TargetPolicy::public_only();
        assert!(strict.check_ip(ip("127.0.0.1")).is_err());
        assert!(strict.check_ip(ip("8.8.8.8")).is_ok());
        let exempt = strict
            .clone()
            .with_allowed_network("127.0.0.0/8".parse().unwrap());
        assert!(exempt.check_ip(ip("127.0.0.1")).is_ok());
        assert!(exempt.check_ip(ip("10.0.0.1")).is_err());

        let url = |s: &str| Url::parse(s).unwrap();
        assert!(strict.check_url(&url("http://127.0.0.1:80/x")).is_err());
        assert!(strict.check_url(&url("http://[::1]:80/x")).is_err());
        assert!(strict.check_url(&url("http://[::ffff:7f00:1]/x")).is_err());
        // Names are judged on their resolved addresses, by the resolver.
        assert!(strict.check_url(&url("http://localhost/x")).is_ok());

        let listed = TargetPolicy::default()
            .with_allowed_host("Hooks.Example.com")
            .with_allowed_host("*.corp.example")
            .with_allowed_host("[::1]");
        assert!(
            listed
                .check_url(&url("https://hooks.example.com/a"))
                .is_ok()
        );
        assert!(
            listed
                .check_url(&url("https://HOOKS.example.com./a"))
                .is_ok()
        );
        assert!(listed.check_url(&url("https://a.b.corp.example/a")).is_ok());
        assert!(listed.check_url(&url("https://corp.example/a")).is_err());
        assert!(
            listed
                .check_url(&url("https://evilcorp.example/a"))
                .is_err()
        );
        assert!(listed.check_url(&url("https://example.com/a")).is_err());
        assert!(listed.check_url(&url("http://[::1]:9/a")).is_ok());
    }
}
