//! A network whose certificates an issuing CA signs, below a root every party trusts
//! alone: chains presented and verified over real mTLS, revocation at both levels (the
//! issuing CA's CRL revoking certificates, the root's revoking issuing CAs), and the CA's
//! directory run without the root's key.

use std::sync::Arc;

use accord_trust::channel::ClientTls;
use accord_trust::pki::directory::{PkiDirectory, RevocationTarget};
use accord_trust::pki::{IssueRequest, Validity};
use accord_trust::{Crl, Identity, PeerIdentity};

use crate::support::{
    Refusal, TestNetwork, assert_refused_before_any_handler, call_act, start_server, state,
};

/// Client TLS presenting `identity`, expecting FR's node on `localhost`, and checking the
/// server's certificate against `crls` too.
fn client_checking(network: &TestNetwork, identity: &Identity, crls: &[Crl]) -> ClientTls {
    let config = accord_trust::tls::client_config_with_crls(identity, &network.ca(), crls);
    ClientTls::from_config(Arc::new(config.unwrap()), "localhost")
        .unwrap()
        .expect_peer(PeerIdentity::Node(state("FR")))
}

#[tokio::test]
async fn nodes_the_issuing_ca_certified_with_or_without_a_csr_serve_each_other_trusting_only_the_root()
 {
    let root = TestNetwork::new();
    let network = root.issuing_network();
    assert_eq!(network.ca().certificates(), root.ca().certificates());
    assert_eq!(network.ca().certificates().len(), 1, "the root alone");
    let crls = network.crls(&[]);
    for (label, server_from_csr, client_from_csr) in [
        ("server issued, client from a CSR", false, true),
        ("server from a CSR, client issued", true, false),
    ] {
        let certify = |peer: PeerIdentity, from_csr: bool| {
            let validity = Validity::days_from(network.now, 1).unwrap();
            let (identity, _) = if from_csr {
                network.identity_from_csr(peer)
            } else {
                network.identity_valid(peer, validity)
            };
            assert_eq!(
                identity.certificate_chain().len(),
                2,
                "{label}: leaf + issuing CA"
            );
            identity
        };
        let server_identity = certify(PeerIdentity::Node(state("FR")), server_from_csr);
        let client_identity = certify(PeerIdentity::Node(state("GB")), client_from_csr);
        let server = start_server(&server_identity, &network.ca(), &crls).await;

        let client = client_checking(&network, &client_identity, &crls);
        let peer = call_act(&server, &client, "GB").await;

        assert_eq!(peer.unwrap(), "spiffe://accord/state/GB", "{label}");
        assert_eq!(server.counters.work_done(), 1, "{label}");
    }
}

#[tokio::test]
async fn a_certificate_the_issuing_cas_crl_revokes_is_refused_and_the_others_are_served() {
    let network = TestNetwork::new().issuing_network();
    let (revoked, revoked_serial) = network.identity_from_csr(PeerIdentity::Node(state("GB")));
    let (kept, _) = network.identity_from_csr(PeerIdentity::Node(state("BE")));
    let server_identity = network.identity(PeerIdentity::Node(state("FR")));
    let crls = network.crls(&[revoked_serial]);

    let server = start_server(&server_identity, &network.ca(), &crls).await;
    assert_refused_before_any_handler(
        "revoked",
        call_act(&server, &network.client(&revoked), "GB").await,
        &server,
        &["CertificateRevoked"],
    );
    let served = call_act(&server, &network.client(&kept), "BE").await;

    assert_eq!(served.unwrap(), "spiffe://accord/state/BE");
}

#[tokio::test]
async fn a_client_checking_crls_refuses_a_server_the_issuing_ca_revoked() {
    let network = TestNetwork::new().issuing_network();
    let validity = Validity::days_from(network.now, 1).unwrap();
    let (server_identity, server_serial) =
        network.identity_valid(PeerIdentity::Node(state("FR")), validity);
    let server = start_server(&server_identity, &network.ca(), &network.crls(&[])).await;
    let client_identity = network.identity(PeerIdentity::Node(state("GB")));

    let revoking = network.crls(&[server_serial]);
    let client = client_checking(&network, &client_identity, &revoking);
    let refusal = call_act(&server, &client, "GB").await.unwrap_err();

    // The client refuses during its own handshake: no late TLS 1.3 rejection here.
    assert!(matches!(refusal, Refusal::Connect(_)), "{refusal:?}");
    assert!(format!("{refusal:?}").contains("Revoked"), "{refusal:?}");
    assert_eq!(server.counters.handler_calls(), 0);
}

#[tokio::test]
async fn a_certificate_presented_without_its_issuing_ca_is_refused() {
    let network = TestNetwork::new().issuing_network();
    let server = start_server(
        &network.identity(PeerIdentity::Node(state("FR"))),
        &network.ca(),
        &network.crls(&[]),
    )
    .await;
    let validity = Validity::days_from(network.now, 1).unwrap();
    let request = IssueRequest::new(PeerIdentity::Node(state("GB")), validity);
    let issued = network.authority.issue(&request).unwrap();
    let leaf_alone = Identity::from_pem(&issued.certificate.certificate_pem, &issued.key_pem);

    let outcome = call_act(&server, &network.client(&leaf_alone.unwrap()), "GB").await;

    assert_refused_before_any_handler("leaf alone", outcome, &server, &["UnknownCA"]);
}

#[tokio::test]
async fn a_certificate_from_another_issuing_ca_of_the_root_is_served_only_with_its_crl() {
    let root = TestNetwork::new();
    let network = root.issuing_network();
    let other_network = root.issuing_network();
    let server_identity = network.identity(PeerIdentity::Node(state("FR")));
    let stranger = other_network.identity(PeerIdentity::Node(state("GB")));

    // Its chain reaches the root, but the server holds no CRL from its issuer: its status is
    // unknown, which rustls refuses with the alert it sends for an unknown CA.
    let server = start_server(&server_identity, &network.ca(), &network.crls(&[])).await;
    let outcome = call_act(&server, &network.client(&stranger), "GB").await;
    assert_refused_before_any_handler("unknown status", outcome, &server, &["UnknownCA"]);

    let mut all_crls = network.crls(&[]);
    all_crls.push(other_network.crl(&[]));
    let server = start_server(&server_identity, &network.ca(), &all_crls).await;
    let served = call_act(&server, &network.client(&stranger), "GB").await;
    assert_eq!(served.unwrap(), "spiffe://accord/state/GB");
}

#[tokio::test]
async fn every_certificate_below_an_issuing_ca_the_root_revoked_is_refused() {
    let root = TestNetwork::new();
    let network = root.issuing_network();
    let revoked_network = root.issuing_network();
    let server_identity = network.identity(PeerIdentity::Node(state("FR")));
    let below_revoked = [
        revoked_network.identity(PeerIdentity::Node(state("GB"))),
        revoked_network
            .identity_from_csr(PeerIdentity::Node(state("BE")))
            .0,
    ];
    let kept = network.identity(PeerIdentity::Node(state("NL")));
    let issuing_crls = [network.crl(&[]), revoked_network.crl(&[])];
    let with_root_crl = |root_crl| {
        let mut crls = issuing_crls.to_vec();
        crls.push(root_crl);
        crls
    };

    let before = with_root_crl(root.crl(&[]));
    let server = start_server(&server_identity, &network.ca(), &before).await;
    let served = call_act(&server, &network.client(&below_revoked[0]), "GB").await;
    assert_eq!(
        served.unwrap(),
        "spiffe://accord/state/GB",
        "before the revocation"
    );

    let after = with_root_crl(root.crl(&[revoked_network.authority.serial().clone()]));
    let server = start_server(&server_identity, &network.ca(), &after).await;
    for (identity, code) in below_revoked.iter().zip(["GB", "BE"]) {
        let outcome = call_act(&server, &network.client(identity), code).await;
        assert_refused_before_any_handler(code, outcome, &server, &["CertificateRevoked"]);
    }
    let served = call_act(&server, &network.client(&kept), "NL").await;
    assert_eq!(served.unwrap(), "spiffe://accord/state/NL");
}

#[tokio::test]
async fn without_the_roots_crl_the_status_of_the_issuing_ca_is_unknown_and_refused() {
    let network = TestNetwork::new().issuing_network();
    let server_identity = network.identity(PeerIdentity::Node(state("FR")));
    let client_identity = network.identity(PeerIdentity::Node(state("GB")));

    let issuing_crl_alone = [network.crl(&[])];
    let server = start_server(&server_identity, &network.ca(), &issuing_crl_alone).await;
    let outcome = call_act(&server, &network.client(&client_identity), "GB").await;

    assert_refused_before_any_handler("no root CRL", outcome, &server, &["UnknownCA"]);
}

#[tokio::test]
async fn a_certificate_from_another_roots_issuing_ca_is_refused() {
    let network = TestNetwork::new().issuing_network();
    let foreign_root = TestNetwork::new();
    let foreign_network = foreign_root.issuing_network();
    let server_identity = network.identity(PeerIdentity::Node(state("FR")));
    let foreign = foreign_network.identity(PeerIdentity::Node(state("GB")));
    let mut crls = network.crls(&[]);
    crls.extend(foreign_network.crls(&[]));

    let server = start_server(&server_identity, &network.ca(), &crls).await;
    let outcome = call_act(&server, &network.client(&foreign), "GB").await;

    // Both roots bear the same name, so the path reaches ours and fails on its signature.
    let alerts = ["UnknownCA", "DecryptError", "BadCertificate"];
    assert_refused_before_any_handler("another root", outcome, &server, &alerts);
    let kept = network.identity(PeerIdentity::Node(state("BE")));
    let served = call_act(&server, &network.client(&kept), "BE").await;
    assert_eq!(served.unwrap(), "spiffe://accord/state/BE");
}

/// `directory` as a running FR node would load it: its certificate file, the root alone,
/// the CRL file.
async fn fr_node_from_files(directory: &PkiDirectory) -> crate::support::RunningServer {
    let fr = PeerIdentity::Node(state("FR"));
    let identity =
        Identity::load(&directory.certificate_path(&fr), &directory.key_path(&fr)).unwrap();
    let ca = accord_trust::load_ca(&directory.ca_certificate_path()).unwrap();
    let crls = accord_trust::load_crls(&directory.crl_path()).unwrap();
    assert_eq!(crls.len(), 2, "the issuing CA's CRL, then the root's");
    start_server(&identity, &ca, &crls).await
}

/// A client loading `peer`'s files from `directory` and trusting its `ca.pem`.
fn client_from_files(directory: &PkiDirectory, peer: &PeerIdentity) -> ClientTls {
    let identity =
        Identity::load(&directory.certificate_path(peer), &directory.key_path(peer)).unwrap();
    assert_eq!(
        identity.certificate_chain().len(),
        2,
        "{peer}: leaf + issuing CA"
    );
    let ca = accord_trust::load_ca(&directory.ca_certificate_path()).unwrap();
    ClientTls::new(&identity, &ca, "localhost").unwrap()
}

#[tokio::test]
async fn a_directory_whose_root_key_is_gone_issues_and_revokes_for_real_servers() {
    let folder = tempfile::tempdir().unwrap();
    let directory = PkiDirectory::new(folder.path().join("pki"));
    let now = accord_trust::clock::wall_clock_now();
    let days = |count| Validity::days_from(now, count).unwrap();
    directory.init(days(3650), days(30)).unwrap();
    directory
        .create_issuing_ca(&directory, now, days(1825), days(30), days(365))
        .unwrap();
    std::fs::remove_file(directory.ca_key_path()).unwrap();
    let [fr, gb, be] = ["FR", "GB", "BE"].map(|code| PeerIdentity::Node(state(code)));
    for peer in [&fr, &gb, &be] {
        let request = IssueRequest::new(peer.clone(), days(1));
        directory.issue(&request, false).unwrap();
    }

    directory
        .revoke(&RevocationTarget::Identity(gb.clone()), now, days(30))
        .unwrap();

    let server = fr_node_from_files(&directory).await;
    let outcome = call_act(&server, &client_from_files(&directory, &gb), "GB").await;
    assert_refused_before_any_handler("GB revoked", outcome, &server, &["CertificateRevoked"]);
    let served = call_act(&server, &client_from_files(&directory, &be), "BE").await;
    assert_eq!(served.unwrap(), "spiffe://accord/state/BE");
    assert!(!directory.ca_key_path().exists());
}

#[tokio::test]
async fn an_issuing_ca_the_offline_root_revokes_is_refused_once_its_directory_ships_the_new_crl() {
    let folder = tempfile::tempdir().unwrap();
    let root_directory = PkiDirectory::new(folder.path().join("root"));
    let online = PkiDirectory::new(folder.path().join("online"));
    let now = accord_trust::clock::wall_clock_now();
    let days = |count| Validity::days_from(now, count).unwrap();
    root_directory.init(days(3650), days(30)).unwrap();
    let issuing = root_directory
        .create_issuing_ca(&online, now, days(1825), days(30), days(365))
        .unwrap();
    assert!(
        !online.ca_key_path().exists(),
        "the root's key never leaves its directory"
    );
    let [fr, gb] = ["FR", "GB"].map(|code| PeerIdentity::Node(state(code)));
    for peer in [&fr, &gb] {
        online
            .issue(&IssueRequest::new(peer.clone(), days(1)), false)
            .unwrap();
    }
    let server = fr_node_from_files(&online).await;
    let served = call_act(&server, &client_from_files(&online, &gb), "GB").await;
    assert_eq!(served.unwrap(), "spiffe://accord/state/GB");

    root_directory
        .revoke_issuing_ca(issuing.serial(), now, days(365))
        .unwrap();
    std::fs::copy(root_directory.root_crl_path(), online.root_crl_path()).unwrap();
    online.refresh_crl(days(30)).unwrap();

    let server = fr_node_from_files(&online).await;
    let outcome = call_act(&server, &client_from_files(&online, &gb), "GB").await;
    assert_refused_before_any_handler(
        "issuing CA revoked",
        outcome,
        &server,
        &["CertificateRevoked"],
    );
    let refused = online
        .issue(&IssueRequest::new(gb, days(1)), true)
        .unwrap_err();
    assert!(
        refused.to_string().contains("revoked by the root"),
        "{refused}"
    );
}
