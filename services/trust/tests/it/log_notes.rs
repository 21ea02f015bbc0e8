//! Signed notes, checkpoints and witness cosignatures: known answers from the C2SP
//! specifications and Go's `golang.org/x/mod/sumdb/note` tests, then round trips and every
//! way a note or a checkpoint is refused.

use accord_trust::EventSigningKey;
use accord_trust::log::checkpoint::{self, Checkpoint};
use accord_trust::log::note::{self, Error};
use accord_trust::log::{
    Hash, KeyName, MemoryTree, Note, NoteVerifier, SignatureType, cosign, leaf_hash,
};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;

/// Go's sumdb note test key (note_test.go): `PRIVATE+KEY+PeterNeumann+c74f20a3+…`.
const PETER_SKEY: &str =
    "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
const PETER_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
const ENOCH_VKEY: &str = "EnochRoot+af0cfe78+ATtqJ7zOtqQtYqOo0CpvDXNlMhV3HeJDpjrASKGLWdop";
const PETER_TEXT: &str = "If you think cryptography is the answer to your problem,\n\
                          then you don't know what your problem is.\n";
const PETER_SIGNATURE: &str = "\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
const ENOCH_SIGNATURE: &str = "\u{2014} EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n";

/// The C2SP signed-note specification's example.
const SPEC_VKEY: &str = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k";
const SPEC_NOTE: &str = "This is an example message.\n\n\u{2014} example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n";

/// The Ed25519 key in a Go note signer key (`PRIVATE+KEY+name+hash+base64(0x01 ‖ seed)`),
/// through the PKCS#8 form our keys load.
fn key_from_go_skey(skey: &str) -> EventSigningKey {
    let encoded = skey.splitn(5, '+').nth(4).unwrap();
    let material = BASE64.decode(encoded).unwrap();
    assert_eq!(material[0], 0x01, "an Ed25519 key");
    let mut der = hex::decode("302e020100300506032b657004220420").unwrap();
    der.extend_from_slice(&material[1..]);
    let pem = format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        BASE64.encode(der)
    );
    EventSigningKey::from_pkcs8_pem(&pem).unwrap()
}

fn name(text: &str) -> KeyName {
    KeyName::parse(text).unwrap()
}

#[test]
fn signing_reproduces_gos_sumdb_note_byte_for_byte() {
    let key = key_from_go_skey(PETER_SKEY);
    let verifier = NoteVerifier::new(
        name("PeterNeumann"),
        SignatureType::Ed25519,
        key.verifying_key(),
    );
    assert_eq!(verifier.vkey(), PETER_VKEY);
    let mut note = Note::new(PETER_TEXT).unwrap();
    note.sign(&name("PeterNeumann"), &key).unwrap();
    assert_eq!(note.to_string(), format!("{PETER_TEXT}\n{PETER_SIGNATURE}"));
}

#[test]
fn the_specifications_example_note_verifies_with_its_verifier_key() {
    let verifier = NoteVerifier::parse_vkey(SPEC_VKEY).unwrap();
    assert_eq!(verifier.vkey(), SPEC_VKEY);
    let note = Note::parse(SPEC_NOTE.as_bytes()).unwrap();
    assert_eq!(note.text(), "This is an example message.\n");
    let verified = note.verify(&[verifier]).unwrap();
    assert_eq!(verified.len(), 1);
    assert_eq!(verified[0].name.as_str(), "example.com/foo");
    assert_eq!(verified[0].key_hash.to_string(), "530d903a");
}

#[test]
fn known_signers_are_verified_unknown_ones_ignored_and_not_counted() {
    let peter = NoteVerifier::parse_vkey(PETER_VKEY).unwrap();
    let enoch = NoteVerifier::parse_vkey(ENOCH_VKEY).unwrap();
    let bytes = format!("{PETER_TEXT}\n{PETER_SIGNATURE}{ENOCH_SIGNATURE}");
    let note = Note::parse(bytes.as_bytes()).unwrap();
    assert_eq!(note.text(), PETER_TEXT);
    assert_eq!(note.signatures().len(), 2);
    let only_peter = note.verify(std::slice::from_ref(&peter)).unwrap();
    assert_eq!(only_peter.len(), 1);
    assert_eq!(only_peter[0].name.as_str(), "PeterNeumann");
    let both = note.verify(&[peter.clone(), enoch.clone()]).unwrap();
    let names: Vec<&str> = both
        .iter()
        .map(|signature| signature.name.as_str())
        .collect();
    assert_eq!(names, ["PeterNeumann", "EnochRoot"]);
    assert_eq!(note.verify(&[]), Err(Error::NoVerifiedSignature));
    let repeated = format!("{PETER_TEXT}\n{PETER_SIGNATURE}{PETER_SIGNATURE}");
    let repeated = Note::parse(repeated.as_bytes()).unwrap();
    assert_eq!(
        repeated.verify(std::slice::from_ref(&peter)).unwrap().len(),
        1,
        "counted once"
    );
    let ambiguous = note.verify(&[enoch.clone(), peter.clone(), enoch]);
    assert!(matches!(ambiguous, Err(Error::AmbiguousKey { .. })));
}

#[test]
fn a_known_signature_that_fails_refuses_the_whole_note() {
    let peter = NoteVerifier::parse_vkey(PETER_VKEY).unwrap();
    let forged = format!("{}ABCD{}", &PETER_SIGNATURE[..60], &PETER_SIGNATURE[60..]);
    let bytes = format!("{PETER_TEXT}\n{forged}");
    let outcome = Note::parse(bytes.as_bytes())
        .unwrap()
        .verify(std::slice::from_ref(&peter));
    assert!(
        matches!(outcome, Err(Error::InvalidSignature { .. })),
        "{outcome:?}"
    );
    let tampered_text = PETER_TEXT.replace("answer", "Answer");
    let bytes = format!("{tampered_text}\n{PETER_SIGNATURE}");
    let outcome = Note::parse(bytes.as_bytes()).unwrap().verify(&[peter]);
    assert!(
        matches!(outcome, Err(Error::InvalidSignature { .. })),
        "{outcome:?}"
    );
}

#[test]
fn malformed_notes_are_refused() {
    let good_line = PETER_SIGNATURE;
    let bad_name = "\u{2014} Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";
    #[rustfmt::skip]
    let rows: Vec<(&str, Vec<u8>)> = vec![
        ("no signature block", PETER_TEXT.into()),
        ("a blank line and nothing after", format!("{PETER_TEXT}\n").into()),
        ("no final newline", format!("{PETER_TEXT}\n{}", &good_line[..good_line.len() - 1]).into()),
        ("a control character", format!("\x01{PETER_TEXT}\n{good_line}").into()),
        ("a carriage return", format!("a\r\n\n{good_line}").into()),
        ("a tab", format!("a\tb\n\n{good_line}").into()),
        ("invalid UTF-8", [b"\xff".as_slice(), format!("{PETER_TEXT}\n{good_line}").as_bytes()].concat()),
        ("a space in the key name", format!("{PETER_TEXT}\n{bad_name}").into()),
        ("a line after the signatures", format!("{PETER_TEXT}\n{good_line}Unexpected line.\n").into()),
        ("a hyphen for the em dash", format!("{PETER_TEXT}\n- PeterNeumann x08go/ZJku\n").into()),
        ("no signature after the name", format!("{PETER_TEXT}\n\u{2014} PeterNeumann\n").into()),
        ("an empty signature", format!("{PETER_TEXT}\n\u{2014} PeterNeumann \n").into()),
        ("a plus in the key name", format!("{PETER_TEXT}\n\u{2014} a+b AAAAAAA=\n").into()),
        ("a signature of four bytes", format!("{PETER_TEXT}\n\u{2014} a AAAAAA==\n").into()),
        ("non-canonical base64", format!("{PETER_TEXT}\n\u{2014} a AAAAAAB=\n").into()),
        ("base64 padding missing", format!("{PETER_TEXT}\n\u{2014} a AAAAAAA\n").into()),
        ("two spaces", format!("{PETER_TEXT}\n\u{2014} a  AAAAAAA=\n").into()),
        ("101 signatures", format!("{PETER_TEXT}\n{}", good_line.repeat(101)).into()),
    ];
    for (label, bytes) in rows {
        let outcome = Note::parse(&bytes);
        assert!(outcome.is_err(), "{label}: accepted {outcome:?}");
    }
    let minimal = format!("{PETER_TEXT}\n\u{2014} a AAAAAAA=\n");
    assert!(
        Note::parse(minimal.as_bytes()).is_ok(),
        "a key hash and one byte is well formed"
    );
    let hundred = format!("{PETER_TEXT}\n{}", good_line.repeat(100));
    assert!(
        Note::parse(hundred.as_bytes()).is_ok(),
        "100 signatures are allowed"
    );
    let long = format!("{}\n\n{good_line}", "x".repeat(note::NOTE_LENGTH_MAX_BYTES));
    assert_eq!(Note::parse(long.as_bytes()), Err(Error::TooLong));
}

#[test]
fn the_last_blank_line_separates_text_from_signatures() {
    let key = EventSigningKey::generate().unwrap();
    for text in [
        "one\n\ntwo\n",
        "trailing blank\n\n",
        "\u{2014} looks like a signature\n",
    ] {
        let mut note = Note::new(text).unwrap();
        note.sign(&name("example.com/log"), &key).unwrap();
        let parsed = Note::parse(note.to_string().as_bytes()).unwrap();
        assert_eq!(parsed.text(), text);
        assert_eq!(parsed, note);
    }
}

#[test]
fn verifier_keys_refuse_every_mangling() {
    assert!(NoteVerifier::parse_vkey(PETER_VKEY).is_ok());
    let bytes = PETER_VKEY.as_bytes();
    for start in 0..bytes.len() {
        for end in start + 1..=bytes.len() {
            if (start, end) != (0, bytes.len()) {
                let part = &PETER_VKEY[start..end];
                assert!(NoteVerifier::parse_vkey(part).is_err(), "accepted {part:?}");
            }
        }
    }
    for position in 0..bytes.len() {
        let mut mangled = bytes.to_vec();
        mangled[position] += 1;
        let mangled = String::from_utf8(mangled).unwrap();
        assert!(
            NoteVerifier::parse_vkey(&mangled).is_err(),
            "accepted {mangled:?}"
        );
    }
    // From Go's tests: a key of the wrong length, and an unknown algorithm, each with a
    // key hash adjusted to match.
    let wrong_length = "PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==";
    let unknown_type = "PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
    assert!(NoteVerifier::parse_vkey(wrong_length).is_err());
    assert!(NoteVerifier::parse_vkey(unknown_type).is_err());
}

/// The log's key and checkpoint for a small tree.
fn signed_checkpoint(origin: &str, tree_size: u64) -> (EventSigningKey, NoteVerifier, Checkpoint) {
    let key = EventSigningKey::generate().unwrap();
    let log = NoteVerifier::new(name(origin), SignatureType::Ed25519, key.verifying_key());
    let tree =
        MemoryTree::from_leaf_hashes((0..tree_size).map(|index| leaf_hash(&index.to_be_bytes())));
    let checkpoint = Checkpoint::new(&name(origin), tree_size, tree.root_hash(tree_size).unwrap());
    (key, log, checkpoint)
}

#[test]
fn a_checkpoint_survives_sign_parse_and_verify() {
    let (key, log, checkpoint) = signed_checkpoint("accord.example/coordinator", 42);
    let note = checkpoint.sign(&key).unwrap();
    let text = note.to_string();
    assert!(text.starts_with("accord.example/coordinator\n42\n"));
    assert!(text.contains("\n\n\u{2014} accord.example/coordinator "));
    let opened = Checkpoint::open(text.as_bytes(), &log, &[]).unwrap();
    assert_eq!(opened.checkpoint, checkpoint);
    assert!(opened.cosignatures.is_empty());
    let with_extension = checkpoint
        .clone()
        .with_extensions(vec!["accord round 7".into()])
        .unwrap();
    let note = with_extension.sign(&key).unwrap();
    let opened = Checkpoint::open(note.to_string().as_bytes(), &log, &[]).unwrap();
    assert_eq!(opened.checkpoint.extensions(), ["accord round 7"]);
}

#[test]
fn a_checkpoint_with_a_tampered_body_or_signature_or_another_logs_key_is_refused() {
    let (key, log, checkpoint) = signed_checkpoint("accord.example/coordinator", 42);
    let text = checkpoint.sign(&key).unwrap().to_string();
    let grown = text.replacen("\n42\n", "\n43\n", 1);
    let outcome = Checkpoint::open(grown.as_bytes(), &log, &[]);
    assert!(matches!(
        outcome,
        Err(checkpoint::Error::Note(Error::InvalidSignature { .. }))
    ));
    let signature_start = text.rfind(' ').unwrap() + 1;
    let mut flipped = text.clone().into_bytes();
    flipped[signature_start + 10] = if flipped[signature_start + 10] == b'A' {
        b'B'
    } else {
        b'A'
    };
    let outcome = Checkpoint::open(&flipped, &log, &[]);
    assert!(
        matches!(outcome, Err(checkpoint::Error::Note(_))),
        "{outcome:?}"
    );
    let (_, other_log, _) = signed_checkpoint("accord.example/coordinator", 1);
    let outcome = Checkpoint::open(text.as_bytes(), &other_log, &[]);
    assert!(
        matches!(outcome, Err(checkpoint::Error::NotSignedByLog(_))),
        "{outcome:?}"
    );
    let (_, elsewhere, _) = signed_checkpoint("elsewhere.example/log", 1);
    let outcome = Checkpoint::open(text.as_bytes(), &elsewhere, &[]);
    assert!(
        matches!(outcome, Err(checkpoint::Error::OriginMismatch { .. })),
        "{outcome:?}"
    );
}

#[test]
fn checkpoint_texts_are_parsed_strictly() {
    // The valid and invalid bodies of transparency-dev/formats' checkpoint tests, where
    // they apply to 32-byte root hashes, and the C2SP rules beside them.
    let root = "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=";
    let parsed =
        Checkpoint::parse(&format!("example.com/behind-the-sofa\n20852163\n{root}\n")).unwrap();
    assert_eq!(parsed.origin(), "example.com/behind-the-sofa");
    assert_eq!(parsed.tree_size(), 20_852_163);
    assert_eq!(BASE64.encode(parsed.root_hash().as_bytes()), root);
    let extended = Checkpoint::parse(&format!("Log\n9944\n{root}\nlots\nof\nlines\n")).unwrap();
    assert_eq!(extended.extensions(), ["lots", "of", "lines"]);
    let rows = [
        "Head\n9944\n".to_owned(),
        format!("\n9944\n{root}\n"),
        format!("Log\n123\n{root}"),
        format!("Log\nbananas\n{root}\n"),
        format!("Log\n-34\n{root}\n"),
        format!("Log\n3438945738945739845734895735\n{root}\n"),
        format!("Log\n0123\n{root}\n"),
        "Log\n123\nThisIsn'tBase64\n".to_owned(),
        "Log\n123\nYmFuYW5hcw==\n".to_owned(),
        format!("Log\n9944\n{root}\n\n\n\n"),
        format!("Log\n9944\n{root}\nfine\n\nnot fine\n"),
    ];
    for text in rows {
        assert!(Checkpoint::parse(&text).is_err(), "accepted {text:?}");
    }
    let empty =
        Checkpoint::parse("Log\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n").unwrap();
    assert_eq!(*empty.root_hash(), accord_trust::log::empty_root());
}

#[test]
fn witnesses_cosign_a_checkpoint_and_their_cosignatures_verify() {
    let (key, log, checkpoint) = signed_checkpoint("accord.example/coordinator", 42);
    let mut note = checkpoint.sign(&key).unwrap();
    let witness_key = EventSigningKey::generate().unwrap();
    let witness_name = name("accord.example/witness/FR");
    let witness = NoteVerifier::new(
        witness_name.clone(),
        SignatureType::CosignatureV1,
        witness_key.verifying_key(),
    );
    cosign(&mut note, &witness_name, &witness_key, 1_767_225_600).unwrap();
    let stranger_key = EventSigningKey::generate().unwrap();
    cosign(
        &mut note,
        &name("stranger.example/w"),
        &stranger_key,
        1_767_225_601,
    )
    .unwrap();
    let text = note.to_string();
    let opened = Checkpoint::open(text.as_bytes(), &log, std::slice::from_ref(&witness)).unwrap();
    assert_eq!(
        opened.cosignatures.len(),
        1,
        "the stranger is ignored and not counted"
    );
    assert_eq!(opened.cosignatures[0].name, witness_name);
    assert_eq!(opened.cosignatures[0].timestamp, Some(1_767_225_600));
    let plain_witness = NoteVerifier::new(
        witness_name.clone(),
        SignatureType::Ed25519,
        witness_key.verifying_key(),
    );
    let opened =
        Checkpoint::open(text.as_bytes(), &log, std::slice::from_ref(&plain_witness)).unwrap();
    assert!(
        opened.cosignatures.is_empty(),
        "a cosigner's key hash is not a plain key's"
    );
    let outcome = Checkpoint::open(text.as_bytes(), &plain_witness, &[]);
    assert!(
        outcome.is_err(),
        "a cosignature never passes as the log's signature"
    );
    let witness_vkey = NoteVerifier::parse_vkey(&witness.vkey()).unwrap();
    assert_eq!(witness_vkey, witness);
    // Cosigning again replaces the witness's line rather than adding one.
    cosign(&mut note, &witness_name, &witness_key, 1_767_225_700).unwrap();
    assert_eq!(note.signatures().len(), 3);
}

#[test]
fn a_tampered_cosignature_refuses_the_checkpoint() {
    let (key, log, checkpoint) = signed_checkpoint("accord.example/coordinator", 7);
    let mut note = checkpoint.sign(&key).unwrap();
    let witness_key = EventSigningKey::generate().unwrap();
    let witness_name = name("accord.example/witness/GB");
    cosign(&mut note, &witness_name, &witness_key, 1_767_225_600).unwrap();
    let witness = NoteVerifier::new(
        witness_name,
        SignatureType::CosignatureV1,
        witness_key.verifying_key(),
    );
    let line = note.signatures()[1].clone();
    let mut bytes = line.signature().to_vec();
    bytes[7] ^= 1; // the timestamp's last byte: the signed message changes
    let mut retimed = note.clone();
    retimed
        .add_signature(note::NoteSignature::new(
            line.name().clone(),
            line.key_hash(),
            bytes,
        ))
        .unwrap();
    let outcome = Checkpoint::open(retimed.to_string().as_bytes(), &log, &[witness]);
    assert!(
        matches!(
            outcome,
            Err(checkpoint::Error::Note(Error::InvalidSignature { .. }))
        ),
        "{outcome:?}"
    );
}

#[test]
fn the_specifications_cosignature_line_carries_its_timestamp() {
    let example = "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n\
        \u{2014} example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URYN7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n\
        \u{2014} witness.example.com/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dlrDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==\n";
    let note = Note::parse(example.as_bytes()).unwrap();
    let cosignature = &note.signatures()[1];
    assert_eq!(cosignature.name().as_str(), "witness.example.com/w1");
    assert_eq!(cosignature.key_hash().to_string(), "8d66cf3f");
    let timestamp = u64::from_be_bytes(cosignature.signature()[..8].try_into().unwrap());
    assert_eq!(
        timestamp, 1_679_315_147,
        "the time of the specification's signed message"
    );
    assert_eq!(cosignature.signature().len(), 8 + 64);
    let checkpoint = Checkpoint::parse(note.text()).unwrap();
    assert_eq!(checkpoint.tree_size(), 20_852_163);
    let _: &Hash = checkpoint.root_hash();
}
