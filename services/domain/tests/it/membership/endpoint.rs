//! The coded lists of membership, and the node endpoints the directory accepts.

use std::fmt;
use std::str::FromStr;

use accord_domain::UnknownCode;
use accord_domain::membership::{
    CertificateRole, Endpoint, EndpointFlaw, EnrolmentStatus, Error, MemberStatus,
    SigningKeyStatus, StatusReason,
};

/// Every list's codes, as `membership.proto` names its enum values without their prefix.
#[test]
fn codes_are_the_proto_enum_names_without_their_prefix() {
    let codes = |all: &[&'static str]| all.to_vec();
    assert_eq!(
        MemberStatus::ALL.map(MemberStatus::code).to_vec(),
        codes(&["ACTIVE", "SUSPENDED", "REVOKED"])
    );
    assert_eq!(
        StatusReason::ALL.map(StatusReason::code).to_vec(),
        codes(&[
            "SECURITY_INCIDENT",
            "KEY_COMPROMISE",
            "AGREEMENT_BREACH",
            "REQUESTED_BY_MEMBER",
            "LEFT_SCHEME",
            "RESOLVED",
        ])
    );
    assert_eq!(
        EnrolmentStatus::ALL.map(EnrolmentStatus::code).to_vec(),
        codes(&[
            "AWAITING_APPROVALS",
            "READY",
            "USED",
            "EXPIRED",
            "CANCELLED"
        ])
    );
    assert_eq!(
        CertificateRole::ALL.map(CertificateRole::code).to_vec(),
        codes(&["NODE", "GATEWAY"])
    );
    assert_eq!(
        SigningKeyStatus::ALL.map(SigningKeyStatus::code).to_vec(),
        codes(&["ACTIVE", "RETIRED", "REVOKED"])
    );
}

/// `text` parsed as a `T`: `Ok` with the value expected, or refused as unknown in the list
/// named by `Err`.
fn check_code<T>(text: &str, expected: Result<T, &'static str>)
where
    T: FromStr<Err = Error> + PartialEq + fmt::Debug,
{
    let expected = expected.map_err(|list| {
        Error::UnknownCode(UnknownCode {
            list,
            text: text.to_owned(),
        })
    });
    assert_eq!(text.parse::<T>(), expected, "{text:?}");
}

#[test]
fn codes_parse_exactly_and_unknown_ones_are_refused_by_name() {
    check_code("SUSPENDED", Ok(MemberStatus::Suspended));
    check_code("RESOLVED", Ok(StatusReason::Resolved));
    check_code("AWAITING_APPROVALS", Ok(EnrolmentStatus::AwaitingApprovals));
    check_code("GATEWAY", Ok(CertificateRole::Gateway));
    check_code("RETIRED", Ok(SigningKeyStatus::Retired));
    check_code::<MemberStatus>("active", Err("member status"));
    check_code::<MemberStatus>("MEMBER_STATUS_ACTIVE", Err("member status"));
    check_code::<StatusReason>("UNSPECIFIED", Err("member status reason"));
    check_code::<EnrolmentStatus>("", Err("enrolment status"));
    check_code::<CertificateRole>("CLIENT", Err("certificate role"));
    check_code::<SigningKeyStatus>("EXPIRED", Err("signing key status"));
}

fn check(input: &str, expected: Result<&str, EndpointFlaw>) {
    let outcome = Endpoint::parse(input).map(|endpoint| endpoint.to_string());
    let expected = expected
        .map(str::to_owned)
        .map_err(|flaw| Error::InvalidEndpoint {
            endpoint: input.to_owned(),
            flaw,
        });
    assert_eq!(outcome, expected, "{input:?}");
}

#[test]
fn endpoints_are_https_with_a_host_and_a_port_and_nothing_after() {
    use EndpointFlaw::*;
    // Accepted, with the one spelling the directory keeps.
    check(
        "https://node.fr.example:8443",
        Ok("https://node.fr.example:8443"),
    );
    check(
        "https://node.fr.example:443/",
        Ok("https://node.fr.example:443"),
    );
    check("https://localhost:1", Ok("https://localhost:1"));
    check("https://a-b.example:65535", Ok("https://a-b.example:65535"));
    check(
        "https://xn--bcher-kva.example:443",
        Ok("https://xn--bcher-kva.example:443"),
    );
    check("https://node1.example:443", Ok("https://node1.example:443"));
    check("https://10.0.0.1:443", Ok("https://10.0.0.1:443"));
    check("https://[::1]:8443", Ok("https://[::1]:8443"));
    check(
        "https://[2001:db8::1]:443/",
        Ok("https://[2001:db8::1]:443"),
    );
    // Scheme.
    check("http://node.fr.example:443", Err(NotHttps));
    check("HTTPS://node.fr.example:443", Err(NotHttps));
    check("grpcs://node.fr.example:443", Err(NotHttps));
    check("node.fr.example:443", Err(NotHttps));
    check("", Err(NotHttps));
    // Host.
    check("https://", Err(Host));
    check("https://:443", Err(Host));
    check("https://Node.FR.example:443", Err(Host));
    check("https://user@node.fr.example:443", Err(Host));
    check("https://node_fr.example:443", Err(Host));
    check("https://-node.example:443", Err(Host));
    check("https://node-.example:443", Err(Host));
    check("https://node..example:443", Err(Host));
    check("https://.example:443", Err(Host));
    check("https://node.example.:443", Err(Host));
    check("https://999.0.0.1:443", Err(Host));
    check("https://10.0.0:443", Err(Host));
    check("https://010.0.0.1:443", Err(Host));
    check("https://::1:443", Err(Host));
    check("https://[::1:443", Err(Host));
    check("https://[node.fr.example]:443", Err(Host));
    check("https://[10.0.0.1]:443", Err(Host));
    // Port.
    check("https://node.fr.example", Err(MissingPort));
    check("https://node.fr.example/", Err(MissingPort));
    check("https://node.fr.example/v1", Err(MissingPort));
    check("https://[::1]", Err(MissingPort));
    check("https://node.fr.example:", Err(Port));
    check("https://node.fr.example:/", Err(Port));
    check("https://node.fr.example:0", Err(Port));
    check("https://node.fr.example:0443", Err(Port));
    check("https://node.fr.example:65536", Err(Port));
    check("https://node.fr.example:99999999999", Err(Port));
    check("https://node.fr.example:https", Err(Port));
    check("https://node.fr.example:-1", Err(Port));
    // After the port.
    check("https://node.fr.example:443/v1", Err(AfterPort));
    check("https://node.fr.example:443//", Err(AfterPort));
    check("https://node.fr.example:443?region=eu", Err(AfterPort));
    check("https://node.fr.example:443#top", Err(AfterPort));
    check("https://node.fr.example:443:443", Err(AfterPort));
    check("https://node.fr.example:443 ", Err(AfterPort));
}

#[test]
fn endpoints_and_their_labels_have_length_limits() {
    let label_63 = "a".repeat(63);
    let label_64 = "a".repeat(64);
    let with_label = |label: &str| format!("https://{label}.example:443");
    check(&with_label(&label_63), Ok(&with_label(&label_63)));
    check(&with_label(&label_64), Err(EndpointFlaw::Host));
    // "https://" (8) + a host of 243 characters (three labels of 63, one of 51) + ":443" (4).
    let host = format!("{label_63}.{label_63}.{label_63}.{}", "a".repeat(51));
    let longest = format!("https://{host}:443");
    assert_eq!(longest.len(), 255);
    check(&longest, Ok(&longest));
    let too_long = format!("https://{host}:4431");
    assert_eq!(too_long.len(), 256);
    check(&too_long, Err(EndpointFlaw::TooLong));
}

#[test]
fn an_endpoint_tells_its_host_and_port() {
    let endpoint = Endpoint::parse("https://node.fr.example:8443/").unwrap();
    assert_eq!(endpoint.host(), "node.fr.example");
    assert_eq!(endpoint.port(), 8443);
    assert_eq!(endpoint.as_str(), "https://node.fr.example:8443");
    let endpoint: Endpoint = "https://[2001:db8::1]:443".parse().unwrap();
    assert_eq!(endpoint.host(), "[2001:db8::1]");
    assert_eq!(endpoint.port(), 443);
    assert_eq!(
        Endpoint::try_from("https://10.0.0.1:1").map(|endpoint| endpoint.port()),
        Ok(1)
    );
}
