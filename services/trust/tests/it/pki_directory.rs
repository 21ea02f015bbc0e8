//! The CA's directory: init, issue, revoke, and the files servers load from it.

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;

use accord_trust::pki::directory::{Error, PkiDirectory, RevocationTarget};
use accord_trust::pki::{IssueRequest, Validity};
use accord_trust::signing::SigningDomain;
use accord_trust::{EventSigningKey, EventVerifyingKey, Identity, PeerIdentity};
use time::{Duration, OffsetDateTime};

use crate::support::state;

const CRL_DAYS: u32 = 30;

fn now() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_764_000_000).unwrap()
}

fn crl_validity(from: OffsetDateTime) -> Validity {
    Validity::days_from(from, CRL_DAYS).unwrap()
}

fn initialised() -> (tempfile::TempDir, PkiDirectory) {
    let folder = tempfile::tempdir().unwrap();
    let directory = PkiDirectory::new(folder.path().join("pki"));
    directory
        .init(
            Validity::days_from(now(), 3650).unwrap(),
            crl_validity(now()),
        )
        .unwrap();
    (folder, directory)
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn node_request(code: &str) -> IssueRequest {
    IssueRequest::new(
        PeerIdentity::Node(state(code)),
        Validity::days_from(now(), 365).unwrap(),
    )
}

#[test]
fn init_writes_the_ca_an_empty_crl_and_keeps_the_key_private() {
    let (_folder, directory) = initialised();

    assert_eq!(mode(&directory.ca_key_path()), 0o600);
    let ca = accord_trust::load_ca(&directory.ca_certificate_path()).unwrap();
    assert_eq!(ca.certificates().len(), 1);
    let crl = accord_trust::load_crl(&directory.crl_path()).unwrap();
    assert!(crl.revoked_serials().unwrap().is_empty());
    assert_eq!(crl.next_update().unwrap(), Some(now() + Duration::days(30)));
    assert!(directory.index().unwrap().is_empty());
}

#[test]
fn init_refuses_to_overwrite_an_existing_ca() {
    let (_folder, directory) = initialised();
    let before = std::fs::read(directory.ca_key_path()).unwrap();

    let error = directory
        .init(Validity::days_from(now(), 10).unwrap(), crl_validity(now()))
        .unwrap_err();

    assert!(matches!(error, Error::AlreadyInitialised(_)));
    assert!(error.is_usage());
    assert_eq!(std::fs::read(directory.ca_key_path()).unwrap(), before);
}

#[test]
fn issuing_a_node_writes_its_certificate_key_and_event_signing_keys() {
    let (_folder, directory) = initialised();

    let files = directory.issue(&node_request("FR"), false).unwrap();

    assert_eq!(
        files.certificate_path,
        directory.certificate_path(&PeerIdentity::Node(state("FR")))
    );
    assert!(files.certificate_path.ends_with("issued/FR-node.pem"));
    assert_eq!(mode(&files.key_path), 0o600);
    let identity = Identity::load(&files.certificate_path, &files.key_path).unwrap();
    assert_eq!(
        identity.peer_identity().unwrap(),
        PeerIdentity::Node(state("FR"))
    );
    let signing = files.signing_key.unwrap();
    assert!(signing.generated);
    assert!(signing.key_path.ends_with("issued/FR-node.signing.key"));
    assert_eq!(mode(&signing.key_path), 0o600);
    let signing_key = EventSigningKey::load(&signing.key_path).unwrap();
    let verifying_key = EventVerifyingKey::load(&signing.verifying_key_path).unwrap();
    assert_eq!(verifying_key.key_id(), signing.key_id);
    let signature = signing_key.sign(SigningDomain::EVENT, b"bytes");
    assert!(
        verifying_key
            .verify(SigningDomain::EVENT, b"bytes", &signature)
            .is_ok()
    );
    let index = directory.index().unwrap();
    assert_eq!(index.len(), 1);
    assert_eq!(index[0].serial, files.certificate.serial);
    assert_eq!(index[0].revoked_at, None);
}

#[test]
fn reissuing_needs_replace_and_keeps_the_event_signing_key() {
    let (_folder, directory) = initialised();
    let first = directory.issue(&node_request("FR"), false).unwrap();

    let refused = directory.issue(&node_request("FR"), false).unwrap_err();
    assert!(matches!(refused, Error::AlreadyIssued(_)));
    let second = directory.issue(&node_request("FR"), true).unwrap();

    assert_ne!(first.certificate.serial, second.certificate.serial);
    let second_signing = second.signing_key.unwrap();
    assert!(!second_signing.generated);
    assert_eq!(first.signing_key.unwrap().key_id, second_signing.key_id);
    assert_eq!(directory.index().unwrap().len(), 2);
}

#[test]
fn revoking_an_identity_lists_all_its_certificates_in_the_new_crl() {
    let (_folder, directory) = initialised();
    let first = directory.issue(&node_request("FR"), false).unwrap();
    let second = directory.issue(&node_request("FR"), true).unwrap();
    let other = directory.issue(&node_request("GB"), false).unwrap();
    let later = now() + Duration::hours(1);

    let revoked = directory
        .revoke(
            &RevocationTarget::Identity(PeerIdentity::Node(state("FR"))),
            later,
            crl_validity(later),
        )
        .unwrap();

    assert_eq!(revoked.len(), 2);
    let crl = accord_trust::load_crl(&directory.crl_path()).unwrap();
    let mut listed = crl.revoked_serials().unwrap();
    listed.sort();
    let mut expected = vec![first.certificate.serial, second.certificate.serial];
    expected.sort();
    assert_eq!(listed, expected);
    assert!(!listed.contains(&other.certificate.serial));
    let again = directory.revoke(
        &RevocationTarget::Identity(PeerIdentity::Node(state("FR"))),
        later,
        crl_validity(later),
    );
    assert!(matches!(again, Err(Error::NothingToRevoke(_))));
}

#[test]
fn revoking_by_serial_names_exactly_one_certificate() {
    let (_folder, directory) = initialised();
    let gateway = PeerIdentity::Gateway(state("FR"));
    let files = directory
        .issue(
            &IssueRequest::new(gateway, Validity::days_from(now(), 30).unwrap()),
            false,
        )
        .unwrap();
    assert!(
        files.signing_key.is_none(),
        "only nodes get event-signing keys"
    );

    let serial = files.certificate.serial.clone();
    directory
        .revoke(
            &RevocationTarget::Serial(serial.clone()),
            now(),
            crl_validity(now()),
        )
        .unwrap();

    let crl = accord_trust::load_crl(&directory.crl_path()).unwrap();
    assert_eq!(crl.revoked_serials().unwrap(), [serial]);
    let unknown = accord_trust::pki::Serial::parse("0badc0de").unwrap();
    let error = directory
        .revoke(
            &RevocationTarget::Serial(unknown),
            now(),
            crl_validity(now()),
        )
        .unwrap_err();
    assert!(matches!(error, Error::UnknownSerial(_)));
    assert!(error.is_usage());
}

#[test]
fn a_directory_without_a_ca_says_so() {
    let folder = tempfile::tempdir().unwrap();
    let directory = PkiDirectory::new(folder.path());

    let error = directory.issue(&node_request("FR"), false).unwrap_err();

    assert!(matches!(error, Error::NotInitialised(_)));
    assert!(error.to_string().contains("accord pki init"), "{error}");
}

#[test]
fn a_refreshed_crl_moves_its_next_update_forward() {
    let (_folder, directory) = initialised();
    let later = now() + Duration::days(20);

    let crl = directory.refresh_crl(crl_validity(later)).unwrap();

    assert_eq!(crl.next_update().unwrap(), Some(later + Duration::days(30)));
    let loaded = accord_trust::load_crl(&directory.crl_path()).unwrap();
    assert_eq!(loaded.der(), crl.der());
}
