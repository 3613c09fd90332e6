//! Where a webhook may go (SSRF): an endpoint URL is `https` (plain `http` only where
//! `webhooks.allow_http` says so, never in prod), without credentials; its host is resolved
//! once, **every** address is checked, and the connection goes to a checked address (the
//! client's resolver is [`Guarded`]: no second lookup a rebinding DNS server could answer
//! differently). Refused: loopback, private and CGNAT (unless allowed), link-local (metadata
//! services: 169.254.169.254, fd00:ec2::254 is ULA), unspecified, multicast, broadcast,
//! documentation, benchmarking and reserved ranges, and the IPv4-mapped, IPv4-compatible,
//! 6to4 and NAT64 forms of any of them.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// What configuration lets through.
#[derive(Debug, Clone, Copy, Default)]
pub struct Allow {
    pub http: bool,
    pub loopback: bool,
    pub private: bool,
}

impl Allow {
    pub fn of(settings: &crate::config::WebhookSettings) -> Self {
        Self {
            http: settings.allow_http,
            loopback: settings.allow_loopback,
            private: settings.allow_private,
        }
    }
}

/// Why an address is refused, in words for the delivery log; `None`: it may be used.
pub fn refusal(ip: IpAddr, allow: Allow) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => refusal_v4(v4, allow),
        IpAddr::V6(v6) => refusal_v6(v6, allow),
    }
}

fn in_v4(ip: Ipv4Addr, net: [u8; 4], bits: u32) -> bool {
    let mask = u32::MAX.checked_shl(32 - bits).unwrap_or(0);
    u32::from(ip) & mask == u32::from(Ipv4Addr::from(net)) & mask
}

fn refusal_v4(ip: Ipv4Addr, allow: Allow) -> Option<&'static str> {
    // a cloud's metadata service inside a range configuration may allow (Alibaba's in CGNAT)
    if ip == Ipv4Addr::new(100, 100, 100, 200) {
        return Some("a metadata address");
    }
    if in_v4(ip, [127, 0, 0, 0], 8) {
        return (!allow.loopback).then_some("a loopback address");
    }
    let private = in_v4(ip, [10, 0, 0, 0], 8)
        || in_v4(ip, [172, 16, 0, 0], 12)
        || in_v4(ip, [192, 168, 0, 0], 16);
    if private {
        return (!allow.private).then_some("a private address");
    }
    if in_v4(ip, [100, 64, 0, 0], 10) {
        return (!allow.private).then_some("a shared (CGNAT) address");
    }
    const ALWAYS: [([u8; 4], u32, &str); 11] = [
        ([0, 0, 0, 0], 8, "an unspecified (this-network) address"),
        ([169, 254, 0, 0], 16, "a link-local or metadata address"),
        ([192, 0, 0, 0], 24, "an IETF protocol address"),
        ([192, 0, 2, 0], 24, "a documentation address"),
        ([198, 51, 100, 0], 24, "a documentation address"),
        ([203, 0, 113, 0], 24, "a documentation address"),
        ([198, 18, 0, 0], 15, "a benchmarking address"),
        ([192, 88, 99, 0], 24, "a deprecated relay address"),
        ([224, 0, 0, 0], 4, "a multicast address"),
        ([240, 0, 0, 0], 4, "a reserved address"),
        ([255, 255, 255, 255], 32, "the broadcast address"),
    ];
    ALWAYS
        .iter()
        .find(|(net, bits, _)| in_v4(ip, *net, *bits))
        .map(|(_, _, why)| *why)
}

fn in_v6(ip: Ipv6Addr, net: Ipv6Addr, bits: u32) -> bool {
    let mask = u128::MAX.checked_shl(128 - bits).unwrap_or(0);
    u128::from(ip) & mask == u128::from(net) & mask
}

fn v6(s: &str) -> Ipv6Addr {
    // the literals below are valid
    s.parse().expect("an IPv6 literal")
}

/// The IPv4 address an IPv6 one carries by a transition mechanism, if any.
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let bits = u128::from(ip);
    let low = Ipv4Addr::from((bits & 0xffff_ffff) as u32);
    let mapped = in_v6(ip, v6("::ffff:0:0"), 96);
    let compatible = in_v6(ip, v6("::"), 96) && bits > 1;
    let nat64 = in_v6(ip, v6("64:ff9b::"), 96);
    if mapped || compatible || nat64 {
        return Some(low);
    }
    // 6to4: 2002:AABB:CCDD::/48 carries AA.BB.CC.DD
    if in_v6(ip, v6("2002::"), 16) {
        return Some(Ipv4Addr::from(((bits >> 80) & 0xffff_ffff) as u32));
    }
    None
}

fn refusal_v6(ip: Ipv6Addr, allow: Allow) -> Option<&'static str> {
    if ip == Ipv6Addr::LOCALHOST {
        return (!allow.loopback).then_some("a loopback address");
    }
    if ip == Ipv6Addr::UNSPECIFIED {
        return Some("an unspecified address");
    }
    if let Some(v4) = embedded_v4(ip) {
        return refusal_v4(v4, allow);
    }
    // AWS's metadata service over IPv6 sits in the unique-local range configuration may allow
    if ip == v6("fd00:ec2::254") {
        return Some("a metadata address");
    }
    if in_v6(ip, v6("fc00::"), 7) || in_v6(ip, v6("fec0::"), 10) {
        return (!allow.private).then_some("a private (unique local) address");
    }
    const ALWAYS: [(&str, u32, &str); 7] = [
        ("fe80::", 10, "a link-local address"),
        ("ff00::", 8, "a multicast address"),
        ("2001:db8::", 32, "a documentation address"),
        ("3fff::", 20, "a documentation address"),
        ("100::", 64, "a discard-only address"),
        ("64:ff9b:1::", 48, "a local-use NAT64 address"),
        (
            "2001::",
            23,
            "an IETF protocol (Teredo, benchmarking) address",
        ),
    ];
    ALWAYS
        .iter()
        .find(|(net, bits, _)| in_v6(ip, v6(net), *bits))
        .map(|(_, _, why)| *why)
}

/// What is wrong with an endpoint URL, in words; `Ok` with it parsed. An IP-literal host is
/// checked here too (it is never resolved); a name is checked at each delivery.
pub fn check_url(url: &str, allow: Allow) -> Result<url::Url, String> {
    let parsed = url::Url::parse(url).map_err(|_| "not an absolute URL".to_owned())?;
    match parsed.scheme() {
        "https" => {}
        "http" if allow.http => {}
        _ => return Err("must be an https:// URL".into()),
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err("must not carry credentials".into());
    }
    if parsed.fragment().is_some() {
        return Err("must not have a fragment".into());
    }
    let refused = match parsed.host() {
        None => return Err("has no host".into()),
        Some(url::Host::Ipv4(ip)) => refusal(IpAddr::V4(ip), allow),
        Some(url::Host::Ipv6(ip)) => refusal(IpAddr::V6(ip), allow),
        Some(url::Host::Domain(_)) => None,
    };
    match refused {
        Some(why) => Err(format!("points to {why}")),
        None => Ok(parsed),
    }
}

/// A refused name, as the delivery log says it.
#[derive(Debug, thiserror::Error)]
#[error("refused by the SSRF guard: {host} resolves to {address}, {why}")]
pub struct Refused {
    pub host: String,
    pub address: IpAddr,
    pub why: &'static str,
}

/// The client's only resolver: one lookup, every address checked, the checked addresses the
/// ones connected to. A name with any refused address is refused whole.
#[derive(Debug, Clone, Copy)]
pub struct Guarded(pub Allow);

impl Resolve for Guarded {
    fn resolve(&self, name: Name) -> Resolving {
        let allow = self.0;
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if found.is_empty() {
                return Err(format!("{host} has no address").into());
            }
            if let Some((address, why)) = found
                .iter()
                .find_map(|a| refusal(a.ip(), allow).map(|why| (a.ip(), why)))
            {
                return Err(Box::new(Refused { host, address, why }) as _);
            }
            Ok(Box::new(found.into_iter()) as Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NONE: Allow = Allow {
        http: false,
        loopback: false,
        private: false,
    };

    fn refused(ip: &str) -> bool {
        refusal(ip.parse().unwrap(), NONE).is_some()
    }

    #[test]
    fn every_forbidden_range_is_refused() {
        for ip in [
            "127.0.0.1",
            "127.255.255.254",
            "10.0.0.1",
            "10.255.255.255",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.0.1",
            "100.64.0.1",
            "100.127.255.255",
            "169.254.169.254",
            "169.254.0.1",
            "0.0.0.0",
            "0.1.2.3",
            "224.0.0.1",
            "239.255.255.250",
            "255.255.255.255",
            "240.0.0.1",
            "192.0.2.1",
            "198.51.100.7",
            "203.0.113.9",
            "198.18.0.1",
            "192.0.0.170",
            "::1",
            "::",
            "fc00::1",
            "fd00:ec2::254",
            "fe80::1",
            "febf::1",
            "ff02::1",
            "2001:db8::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::ffff:169.254.169.254",
            "::ffff:100.64.0.1",
            "::127.0.0.1",
            "::10.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "64:ff9b::7f00:1",
            "64:ff9b:1::1",
            "2002:7f00:1::1",
            "2002:a9fe:a9fe::1",
            "2001::1",
            "100::1",
            "fec0::1",
        ] {
            assert!(refused(ip), "{ip} must be refused");
        }
    }

    #[test]
    fn public_addresses_pass() {
        for ip in [
            "93.184.215.14",
            "1.1.1.1",
            "8.8.8.8",
            "172.32.0.1",
            "172.15.255.255",
            "100.128.0.1",
            "192.169.0.1",
            "2606:4700:4700::1111",
            "2a00:1450:4001:80e::200e",
            "64:ff9b::808:808",
            "2002:808:808::1",
        ] {
            assert!(!refused(ip), "{ip} must pass");
        }
    }

    #[test]
    fn metadata_addresses_inside_allowed_ranges_are_refused_all_the_same() {
        let all = Allow {
            http: true,
            loopback: true,
            private: true,
        };
        for ip in ["100.100.100.200", "fd00:ec2::254", "::ffff:100.100.100.200"] {
            let ip: IpAddr = ip.parse().unwrap();
            assert_eq!(refusal(ip, all), Some("a metadata address"), "{ip}");
        }
    }

    #[test]
    fn configuration_lets_loopback_and_private_through_but_never_metadata() {
        let all = Allow {
            http: true,
            loopback: true,
            private: true,
        };
        for ip in [
            "127.0.0.1",
            "::1",
            "::ffff:127.0.0.1",
            "10.1.2.3",
            "fd12::1",
            "100.64.1.1",
        ] {
            assert_eq!(refusal(ip.parse().unwrap(), all), None, "{ip}");
        }
        for ip in [
            "169.254.169.254",
            "::ffff:169.254.169.254",
            "fe80::1",
            "0.0.0.0",
        ] {
            assert!(refusal(ip.parse().unwrap(), all).is_some(), "{ip}");
        }
        let loopback_only = Allow {
            loopback: true,
            ..NONE
        };
        assert!(refusal("10.0.0.1".parse().unwrap(), loopback_only).is_some());
    }

    #[tokio::test]
    async fn the_resolver_refuses_a_name_with_a_forbidden_address() {
        use std::str::FromStr;
        // a numeric name: resolved without any DNS query
        let name = || Name::from_str("127.0.0.1").unwrap();
        let refused = Guarded(NONE).resolve(name()).await;
        let error = refused.err().expect("refused").to_string();
        assert!(
            error.contains("SSRF guard") && error.contains("loopback"),
            "{error}"
        );
        let allowed = Guarded(Allow {
            loopback: true,
            ..NONE
        });
        let addresses: Vec<SocketAddr> = allowed.resolve(name()).await.unwrap().collect();
        assert_eq!(addresses, [SocketAddr::from(([127, 0, 0, 1], 0))]);
    }

    #[test]
    fn urls_are_https_without_credentials_and_literal_hosts_are_checked() {
        assert!(check_url("https://hooks.example.com/in", NONE).is_ok());
        assert!(check_url("http://hooks.example.com/in", NONE).is_err());
        assert!(check_url("http://hooks.example.com/in", Allow { http: true, ..NONE }).is_ok());
        assert!(check_url("https://user:pw@hooks.example.com/", NONE).is_err());
        assert!(check_url("https://hooks.example.com/#x", NONE).is_err());
        assert!(check_url("ftp://hooks.example.com/", NONE).is_err());
        assert!(check_url("https://127.0.0.1/", NONE).is_err());
        assert!(check_url("https://[::ffff:7f00:1]/", NONE).is_err());
        assert!(check_url("https://169.254.169.254/latest/meta-data", NONE).is_err());
        assert!(check_url("https://[fd00:ec2::254]/", NONE).is_err());
        assert!(check_url("not a url", NONE).is_err());
    }
}
