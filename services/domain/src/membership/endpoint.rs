//! A member node's gRPC endpoint, `https://HOST:PORT`, parsed once so that the directory never
//! lists an address a node cannot dial.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use super::Error;
use crate::coded::parse_traits;

/// The longest endpoint, in characters (ASCII only, so also in bytes).
pub const ENDPOINT_LENGTH_MAX: usize = 255;
/// The longest DNS name, in characters (RFC 1035, without the trailing dot).
const DNS_NAME_LENGTH_MAX: usize = 253;
/// The longest DNS label, in characters (RFC 1035).
const DNS_LABEL_LENGTH_MAX: usize = 63;
const SCHEME: &str = "https://";

/// A node endpoint: `https://`, a host (a lower-case DNS name, an IPv4 address or a bracketed
/// IPv6 address), `:` and a port from 1 to 65535, at most [`ENDPOINT_LENGTH_MAX`] characters.
///
/// One endpoint has one spelling, because the directory that lists it is signed: the scheme
/// and DNS names are lower case, the port has no leading zero, and a trailing `/`, the only
/// thing allowed after the port, is dropped. No user, path, query or fragment.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Endpoint {
    text: String,
    port: u16,
}

impl Endpoint {
    /// Parses `https://HOST:PORT` (an optional trailing `/` is accepted and dropped).
    pub fn parse(text: &str) -> Result<Self, Error> {
        let refused = |flaw: EndpointFlaw| Error::InvalidEndpoint {
            endpoint: text.to_owned(),
            flaw,
        };
        if text.len() > ENDPOINT_LENGTH_MAX {
            return Err(refused(EndpointFlaw::TooLong));
        }
        let authority = text
            .strip_prefix(SCHEME)
            .ok_or(refused(EndpointFlaw::NotHttps))?;
        let authority = authority.strip_suffix('/').unwrap_or(authority);
        let (host, after_host) = split_host(authority).ok_or(refused(EndpointFlaw::Host))?;
        if !is_valid_host(host) {
            return Err(refused(EndpointFlaw::Host));
        }
        let port_text = after_host
            .strip_prefix(':')
            .ok_or(refused(EndpointFlaw::MissingPort))?;
        let digits_end = port_text
            .find(|character: char| !character.is_ascii_digit())
            .unwrap_or(port_text.len());
        let (digits, after_port) = port_text.split_at(digits_end);
        let port = parse_port(digits).ok_or(refused(EndpointFlaw::Port))?;
        if !after_port.is_empty() {
            return Err(refused(EndpointFlaw::AfterPort));
        }
        Ok(Self {
            text: format!("{SCHEME}{authority}"),
            port,
        })
    }

    /// The endpoint, `https://HOST:PORT`, without a trailing `/`.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The host as written: a DNS name, an IPv4 address, or an IPv6 address in brackets.
    pub fn host(&self) -> &str {
        let authority = &self.text[SCHEME.len()..];
        // Invariant: `parse` checked that the authority ends with `:PORT`.
        authority
            .rsplit_once(':')
            .map_or(authority, |(host, _)| host)
    }

    /// The host as TLS names the server: an IPv6 address without its brackets.
    pub fn server_name(&self) -> &str {
        self.host().trim_start_matches('[').trim_end_matches(']')
    }

    /// The port, 1 to 65535.
    pub fn port(&self) -> u16 {
        self.port
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

parse_traits!(Endpoint, Error);

/// What is wrong with a refused endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EndpointFlaw {
    /// Longer than [`ENDPOINT_LENGTH_MAX`] characters.
    TooLong,
    /// Does not start with `https://` (lower case).
    NotHttps,
    /// The host is missing, or is not a lower-case DNS name, an IPv4 address or a bracketed
    /// IPv6 address (a user part, `user@host`, is refused here too).
    Host,
    /// No `:PORT` after the host.
    MissingPort,
    /// The port is not a number from 1 to 65535 written without leading zeros.
    Port,
    /// Something other than a single `/` follows the port (a path, a query, a fragment).
    AfterPort,
}

impl fmt::Display for EndpointFlaw {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            EndpointFlaw::TooLong => "it is longer than 255 characters",
            EndpointFlaw::NotHttps => "it does not start with https://",
            EndpointFlaw::Host => {
                "its host is not a lower-case DNS name, an IPv4 address or a bracketed IPv6 address"
            }
            EndpointFlaw::MissingPort => "it has no :PORT after the host",
            EndpointFlaw::Port => "its port is not a number from 1 to 65535 without leading zeros",
            EndpointFlaw::AfterPort => "something other than a trailing / follows the port",
        })
    }
}

/// Splits `HOST:PORT…` into the host and what follows it (starting with `:` when a port is
/// there), or `None` when a bracketed IPv6 host is not closed.
fn split_host(authority: &str) -> Option<(&str, &str)> {
    if authority.starts_with('[') {
        let close = authority.find(']')?;
        return Some(authority.split_at(close + 1));
    }
    let end = authority.find([':', '/']).unwrap_or(authority.len());
    Some(authority.split_at(end))
}

fn is_valid_host(host: &str) -> bool {
    if let Some(inside) = host.strip_prefix('[') {
        return inside
            .strip_suffix(']')
            .is_some_and(|address| address.parse::<Ipv6Addr>().is_ok());
    }
    if host
        .bytes()
        .all(|byte| byte.is_ascii_digit() || byte == b'.')
    {
        // All digits and dots: an IPv4 address or nothing, never a DNS name.
        return host.parse::<Ipv4Addr>().is_ok();
    }
    is_dns_name(host)
}

/// Lower-case letters, digits and hyphens in dot-separated labels of 1 to 63 characters that
/// neither start nor end with a hyphen (RFC 1123); no trailing dot.
fn is_dns_name(host: &str) -> bool {
    let label_ok = |label: &str| {
        (1..=DNS_LABEL_LENGTH_MAX).contains(&label.len())
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .bytes()
                .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'-')
    };
    host.len() <= DNS_NAME_LENGTH_MAX && host.split('.').all(label_ok)
}

/// 1 to 65535, written without a leading zero (so `0` itself is refused too).
fn parse_port(digits: &str) -> Option<u16> {
    if digits.starts_with('0') {
        return None;
    }
    digits.parse::<u16>().ok()
}
