//! The root CA's part of a PKI directory: making issuing CAs, revoking them, and the root's
//! own CRL.
//!
//! Everything here needs the root's private key (`ca.key`), so it runs where the root
//! lives — offline, once an issuing CA signs. The root's CRL (`root-crl.pem`) is its own
//! record of what it revoked: re-signing it keeps what it lists. The first one it signs
//! also lists the certificates the root revoked before any issuing CA existed (from the
//! index), which stay revoked. What this module does not do: issue node, gateway or
//! operator certificates, or sign the issuing CA's CRL (the directory's own methods do).

use std::path::PathBuf;

use time::OffsetDateTime;

use super::{Error, PkiDirectory, create_folder, next_number, read_text, write_number};
use crate::credentials::{self, Crl, PRIVATE_FILE_MODE, PUBLIC_FILE_MODE, write_file_atomically};
use crate::pki::{CertificateAuthority, Revocation, Serial, Validity, first_pem_block};

/// The PEM label of a CRL.
const CRL_LABEL: &str = "X509 CRL";

impl PkiDirectory {
    /// The root's CRL, revoking issuing CAs.
    pub fn root_crl_path(&self) -> PathBuf {
        self.root.join("root-crl.pem")
    }

    fn root_crl_number_path(&self) -> PathBuf {
        self.root.join("root-crl.number")
    }

    /// Where the root keeps the certificate of the issuing CA with `serial` it made.
    pub fn issuing_ca_record_path(&self, serial: &Serial) -> PathBuf {
        self.root.join("issuing-cas").join(format!("{serial}.pem"))
    }

    /// Loads the root CA, with its key (needed only for what this module does, once an
    /// issuing CA signs).
    pub fn root_authority(&self) -> Result<CertificateAuthority, Error> {
        let certificate_path = self.ca_certificate_path();
        if !certificate_path.exists() {
            return Err(Error::NotInitialised(self.root.clone()));
        }
        let key_path = self.ca_key_path();
        if !key_path.exists() {
            return Err(Error::NoRootKey(key_path));
        }
        Ok(CertificateAuthority::from_pem(
            &read_text(&certificate_path)?,
            &read_text(&key_path)?,
        )?)
    }

    /// Makes an issuing CA valid over `ca_validity` (within the root's), signed by this
    /// directory's root, records it under `issuing-cas/`, re-signs the root's CRL (valid
    /// over `root_crl_validity`), and writes the issuing CA into `target` — this directory,
    /// or a new one that then gets a copy of the root's certificate and CRL (not its key),
    /// an empty index and `issued/`. `target`'s CRL is re-signed by the issuing CA, valid
    /// over `crl_validity`, followed by the root's; from then on the issuing CA signs
    /// everything in `target`. Needs the root's key; refuses if `target` holds an issuing
    /// CA already (or, when new, any CA), if the root forbids a CA below it, or while a
    /// certificate the root issued from this directory is valid at `now` and unrevoked.
    pub fn create_issuing_ca(
        &self,
        target: &PkiDirectory,
        now: OffsetDateTime,
        ca_validity: Validity,
        crl_validity: Validity,
        root_crl_validity: Validity,
    ) -> Result<CertificateAuthority, Error> {
        let same_directory = self.is_same_folder(target);
        target.refuse_existing_issuing_ca(same_directory)?;
        let root = self.root_authority()?;
        self.refuse_still_valid(now)?;
        let issuing = root.issue_intermediate(ca_validity)?;
        let record_path = self.issuing_ca_record_path(issuing.serial());
        if let Some(folder) = record_path.parent() {
            create_folder(folder)?;
        }
        let certificate = issuing.certificate_pem().as_bytes();
        write_file_atomically(&record_path, certificate, PUBLIC_FILE_MODE)?;
        self.sign_root_crl(&root, &self.root_revocations()?, root_crl_validity)?;
        create_folder(&target.issued_folder())?;
        let entries = if same_directory {
            self.index()?
        } else {
            for (from, to) in [
                (self.ca_certificate_path(), target.ca_certificate_path()),
                (self.root_crl_path(), target.root_crl_path()),
            ] {
                write_file_atomically(&to, &credentials::read_file(&from)?, PUBLIC_FILE_MODE)?;
            }
            target.write_index(&[])?;
            Vec::new()
        };
        let key = issuing.key_pem();
        write_file_atomically(
            &target.issuing_ca_key_path(),
            key.as_bytes(),
            PRIVATE_FILE_MODE,
        )?;
        let certificate_path = target.issuing_ca_certificate_path();
        write_file_atomically(&certificate_path, certificate, PUBLIC_FILE_MODE)?;
        target.sign_crl(&issuing, &entries, crl_validity)?;
        Ok(issuing)
    }

    /// Revokes the issuing CA with `serial` as of `now`, in the root's CRL, re-signed valid
    /// over `root_crl_validity`; every certificate below that issuing CA is then refused by
    /// parties loading the new CRL. When this directory is run by an issuing CA too, its
    /// `crl.pem` takes the new root CRL at once. Needs the root's key.
    pub fn revoke_issuing_ca(
        &self,
        serial: &Serial,
        now: OffsetDateTime,
        root_crl_validity: Validity,
    ) -> Result<Crl, Error> {
        let root = self.root_authority()?;
        if !self.issuing_ca_record_path(serial).exists() {
            return Err(Error::UnknownIssuingCa(serial.clone()));
        }
        let mut revocations = self.root_revocations()?;
        if revocations.iter().any(|revoked| &revoked.serial == serial) {
            let already = format!("issuing CA {serial} is already revoked");
            return Err(Error::NothingToRevoke(already));
        }
        revocations.push(Revocation {
            serial: serial.clone(),
            revoked_at: now,
        });
        let crl = self.sign_root_crl(&root, &revocations, root_crl_validity)?;
        self.rebundle_crl()?;
        Ok(crl)
    }

    /// Re-signs the root's CRL, valid over `root_crl_validity`, keeping what it revokes —
    /// before its `nextUpdate`, or parties refuse every certificate below the root. When
    /// this directory is run by an issuing CA too, its `crl.pem` takes the new root CRL.
    /// Needs the root's key.
    pub fn refresh_root_crl(&self, root_crl_validity: Validity) -> Result<Crl, Error> {
        let root = self.root_authority()?;
        let crl = self.sign_root_crl(&root, &self.root_revocations()?, root_crl_validity)?;
        self.rebundle_crl()?;
        Ok(crl)
    }

    /// What the root revoked: as its CRL lists it, or, before it signed one, the revoked
    /// certificates of the index (those the root issued).
    pub fn root_revocations(&self) -> Result<Vec<Revocation>, Error> {
        let path = self.root_crl_path();
        if path.exists() {
            return Ok(credentials::load_crl(&path)?.revocations()?);
        }
        let revoked = self.index()?.into_iter().filter_map(|entry| {
            Some(Revocation {
                revoked_at: entry.revoked_at?,
                serial: entry.serial,
            })
        });
        Ok(revoked.collect())
    }

    fn sign_root_crl(
        &self,
        root: &CertificateAuthority,
        revocations: &[Revocation],
        validity: Validity,
    ) -> Result<Crl, Error> {
        let number_path = self.root_crl_number_path();
        let number = next_number(&number_path)?;
        let signed = root.revocation_list(revocations, number, validity)?;
        write_file_atomically(
            &self.root_crl_path(),
            signed.pem.as_bytes(),
            PUBLIC_FILE_MODE,
        )?;
        write_number(&number_path, number)?;
        Ok(signed.crl)
    }

    /// Under an issuing CA, rewrites `crl.pem` with its issuing CA's CRL as it stands and
    /// the root's CRL as `root-crl.pem` holds it now; otherwise does nothing.
    fn rebundle_crl(&self) -> Result<(), Error> {
        if !self.has_issuing_ca() {
            return Ok(());
        }
        let current = read_text(&self.crl_path())?;
        let issuing_crl = first_pem_block(&current, CRL_LABEL)
            .ok_or(Error::Credentials(credentials::Error::CrlSyntax))?;
        self.write_crl_bundle(&issuing_crl)
    }

    /// Refuses while a certificate the root issued from here is valid at `now` and
    /// unrevoked (see the directory's module docs).
    fn refuse_still_valid(&self, now: OffsetDateTime) -> Result<(), Error> {
        if self.has_issuing_ca() {
            return Ok(()); // the certificates of the index are the issuing CA's
        }
        let still_valid = self
            .index()?
            .iter()
            .filter(|entry| entry.revoked_at.is_none() && entry.not_after > now)
            .count();
        if still_valid > 0 {
            return Err(Error::StillValidCertificates {
                directory: self.root.clone(),
                count: still_valid,
            });
        }
        Ok(())
    }

    /// Refuses to write an issuing CA over one, or a new directory's files over a CA.
    fn refuse_existing_issuing_ca(&self, same_directory: bool) -> Result<(), Error> {
        if self.issuing_ca_certificate_path().exists() || self.issuing_ca_key_path().exists() {
            return Err(Error::IssuingCaExists(self.root.clone()));
        }
        if !same_directory && (self.ca_certificate_path().exists() || self.index_path().exists()) {
            return Err(Error::AlreadyInitialised(self.root.clone()));
        }
        Ok(())
    }

    fn is_same_folder(&self, other: &PkiDirectory) -> bool {
        if self.root == other.root {
            return true;
        }
        match (self.root.canonicalize(), other.root.canonicalize()) {
            (Ok(mine), Ok(theirs)) => mine == theirs,
            _ => false,
        }
    }
}
