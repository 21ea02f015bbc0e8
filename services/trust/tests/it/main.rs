//! Integration tests of accord-trust: real tonic servers and clients over mTLS on
//! 127.0.0.1, and the CA's directory on a real file system.

mod mtls;
mod pki_directory;
mod support;
