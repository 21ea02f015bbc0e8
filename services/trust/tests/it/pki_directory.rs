//! The CA's directory: init, issue, revoke, and the files servers load from it.

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;

use accord_trust::pki::directory::{Error, PkiDirectory, RevocationTarget};
use accord_trust::pki::{CertificateAuthority, IssueRequest, Serial, Validity};
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

/// How long the root's CRL is valid: a year, as `accord pki` makes it.
fn root_crl_validity() -> Validity {
    Validity::days_from(now(), 365).unwrap()
}

/// The issuing CA `root` makes in `target` now: valid five years, with the CRL validities
/// above.
fn create_issuing_ca(
    root: &PkiDirectory,
    target: &PkiDirectory,
) -> Result<CertificateAuthority, Error> {
    root.create_issuing_ca(
        target,
        now(),
        Validity::days_from(now(), 1825).unwrap(),
        crl_validity(now()),
        root_crl_validity(),
    )
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
    let unknown = Serial::parse("0badc0de").unwrap();
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

/// The PEM certificates in the file at `path`.
fn certificates_in(path: &Path) -> Vec<rustls::pki_types::CertificateDer<'static>> {
    use rustls::pki_types::pem::PemObject as _;
    rustls::pki_types::CertificateDer::pem_file_iter(path)
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// The CRL file's issuer and the subject of the certificate file at `signer`, as raw DER.
fn crl_issuer_and_signer_subject(directory: &PkiDirectory, signer: &Path) -> (Vec<u8>, Vec<u8>) {
    let crl = accord_trust::load_crl(&directory.crl_path()).unwrap();
    let (_, crl) = x509_parser::parse_x509_crl(crl.der()).unwrap();
    let signer = &certificates_in(signer)[0];
    let (_, signer) = x509_parser::parse_x509_certificate(signer).unwrap();
    (
        crl.issuer().as_raw().to_vec(),
        signer.subject().as_raw().to_vec(),
    )
}

#[test]
fn an_issuing_ca_signs_certificates_and_the_crl_once_the_root_key_is_gone() {
    let (_folder, directory) = initialised();
    let issuing = create_issuing_ca(&directory, &directory).unwrap();
    std::fs::remove_file(directory.ca_key_path()).unwrap();

    let files = directory.issue(&node_request("FR"), false).unwrap();
    directory
        .revoke(
            &RevocationTarget::Serial(files.certificate.serial.clone()),
            now(),
            crl_validity(now()),
        )
        .unwrap();

    assert!(directory.has_issuing_ca());
    assert_eq!(mode(&directory.issuing_ca_key_path()), 0o600);
    let chain = certificates_in(&files.certificate_path);
    assert_eq!(
        chain.len(),
        2,
        "the node's certificate, then the issuing CA's"
    );
    assert_eq!(
        chain[1],
        certificates_in(&directory.issuing_ca_certificate_path())[0]
    );
    let crl = accord_trust::load_crl(&directory.crl_path()).unwrap();
    assert_eq!(crl.revoked_serials().unwrap(), [files.certificate.serial]);
    let (crl_issuer, signer) =
        crl_issuer_and_signer_subject(&directory, &directory.issuing_ca_certificate_path());
    assert_eq!(crl_issuer, signer, "the issuing CA signs the CRL");
    let loaded = directory.authority().unwrap();
    assert!(!loaded.is_root());
    assert_eq!(loaded.certificate_pem(), issuing.certificate_pem());
    assert!(matches!(
        directory.root_authority(),
        Err(Error::NoRootKey(_))
    ));
    directory.refresh_crl(crl_validity(now())).unwrap();
}

#[test]
fn an_issuing_ca_in_a_new_directory_gets_the_roots_certificate_but_never_its_key() {
    let (folder, root_directory) = initialised();
    let online = PkiDirectory::new(folder.path().join("online"));
    create_issuing_ca(&root_directory, &online).unwrap();

    assert!(!online.ca_key_path().exists());
    assert!(
        !root_directory.has_issuing_ca(),
        "the root's directory is unchanged"
    );
    assert_eq!(
        std::fs::read(online.ca_certificate_path()).unwrap(),
        std::fs::read(root_directory.ca_certificate_path()).unwrap()
    );
    assert!(online.index().unwrap().is_empty());
    let (crl_issuer, signer) =
        crl_issuer_and_signer_subject(&online, &online.issuing_ca_certificate_path());
    assert_eq!(crl_issuer, signer);
    let files = online.issue(&node_request("FR"), false).unwrap();
    assert_eq!(certificates_in(&files.certificate_path).len(), 2);
    assert!(root_directory.index().unwrap().is_empty());
    let again = create_issuing_ca(&root_directory, &online);
    assert!(matches!(again, Err(Error::IssuingCaExists(_))), "{again:?}");
    // The root's own directory, however spelled, is not a new one: the issuing CA joins it.
    let roots_own = PkiDirectory::new(folder.path().join("online").join("..").join("pki"));
    let joined = create_issuing_ca(&root_directory, &roots_own);
    assert!(joined.is_ok(), "{joined:?}");
    assert!(root_directory.has_issuing_ca());
    let other_root = PkiDirectory::new(folder.path().join("other"));
    let ca_validity = Validity::days_from(now(), 1825).unwrap();
    other_root.init(ca_validity, crl_validity(now())).unwrap();
    let over_another_ca = create_issuing_ca(&root_directory, &other_root);
    assert!(matches!(over_another_ca, Err(Error::AlreadyInitialised(_))));
}

#[test]
fn an_issuing_ca_waits_until_no_certificate_from_the_directory_is_valid_and_unrevoked() {
    let (_folder, directory) = initialised();
    let expired = Validity::new(now() - Duration::days(10), now() - Duration::days(1)).unwrap();
    let gateway = PeerIdentity::Gateway(state("FR"));
    directory
        .issue(&IssueRequest::new(gateway, expired), false)
        .unwrap();
    let valid = directory.issue(&node_request("FR"), false).unwrap();
    let make = || create_issuing_ca(&directory, &directory);

    let refused = make().unwrap_err();
    directory
        .revoke(
            &RevocationTarget::Serial(valid.certificate.serial),
            now(),
            crl_validity(now()),
        )
        .unwrap();

    assert!(
        matches!(refused, Error::StillValidCertificates { count: 1, .. }),
        "only the valid one counts: {refused:?}"
    );
    assert!(refused.is_usage());
    assert!(!directory.has_issuing_ca());
    make().unwrap();
}

#[test]
fn a_root_without_its_key_or_forbidding_a_ca_below_makes_no_issuing_ca() {
    let (_folder, directory) = initialised();
    let root_key = std::fs::read(directory.ca_key_path()).unwrap();
    std::fs::remove_file(directory.ca_key_path()).unwrap();
    let without_key = create_issuing_ca(&directory, &directory).unwrap_err();
    assert!(
        matches!(without_key, Error::NoRootKey(_)),
        "{without_key:?}"
    );
    assert!(without_key.is_usage());
    std::fs::write(directory.ca_key_path(), root_key).unwrap();

    // A root made before roots allowed a CA below them: path length 0.
    let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256).unwrap();
    let mut params = rcgen::CertificateParams::default();
    params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Constrained(0));
    params.key_usages = vec![
        rcgen::KeyUsagePurpose::KeyCertSign,
        rcgen::KeyUsagePurpose::CrlSign,
    ];
    let legacy_root = params.self_signed(&key).unwrap();
    std::fs::write(directory.ca_certificate_path(), legacy_root.pem()).unwrap();
    std::fs::write(directory.ca_key_path(), key.serialize_pem()).unwrap();
    let forbidden = create_issuing_ca(&directory, &directory).unwrap_err();
    assert!(
        matches!(
            forbidden,
            Error::Authority(accord_trust::pki::Error::NoCaBelow)
        ),
        "{forbidden:?}"
    );
    assert!(forbidden.is_usage());
    assert!(!directory.has_issuing_ca());
}

#[test]
fn the_root_revokes_only_issuing_cas_it_made_and_its_crl_rides_in_the_crl_file() {
    let (_folder, directory) = initialised();
    let issuing = create_issuing_ca(&directory, &directory).unwrap();
    let unknown = Serial::parse("0badc0de").unwrap();

    let refused = directory.revoke_issuing_ca(&unknown, now(), root_crl_validity());
    directory
        .revoke_issuing_ca(issuing.serial(), now(), root_crl_validity())
        .unwrap();
    let again = directory.revoke_issuing_ca(issuing.serial(), now(), root_crl_validity());

    assert!(
        matches!(refused, Err(Error::UnknownIssuingCa(_))),
        "{refused:?}"
    );
    assert!(matches!(again, Err(Error::NothingToRevoke(_))), "{again:?}");
    let crls = accord_trust::load_crls(&directory.crl_path()).unwrap();
    assert_eq!(crls.len(), 2, "the issuing CA's CRL, then the root's");
    assert!(crls[0].revoked_serials().unwrap().is_empty());
    assert_eq!(
        crls[1].revoked_serials().unwrap(),
        [issuing.serial().clone()]
    );
    let refreshed = directory.refresh_root_crl(root_crl_validity()).unwrap();
    assert_eq!(
        refreshed.revoked_serials().unwrap(),
        [issuing.serial().clone()]
    );
    let issued = directory.issue(&node_request("FR"), false).unwrap_err();
    assert!(matches!(issued, Error::IssuingCaRevoked(_)), "{issued:?}");
}
