//! Generates Accord's v1 gRPC code from `accord/v1/*.proto` with protox, a pure-Rust protobuf
//! compiler, so building needs no system `protoc`.
//!
//! Writes the prost messages and the tonic clients and servers for package `accord.v1`, and
//! the encoded file descriptor set (`accord_v1_descriptor.bin`) that server reflection serves.
//! It does not lint the API: `buf lint` in this folder does that.

use std::error::Error;
use std::path::{Path, PathBuf};

/// The package folder whose `.proto` files are compiled, relative to this crate, which is
/// also the include root (imports read `accord/v1/common.proto`).
const PACKAGE_DIR: &str = "accord/v1";

/// The descriptor set's file name in `OUT_DIR`; `lib.rs` includes it by the same name.
const DESCRIPTOR_FILE_NAME: &str = "accord_v1_descriptor.bin";

fn main() -> Result<(), Box<dyn Error>> {
    let proto_root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?);
    let package_dir = proto_root.join(PACKAGE_DIR);
    let proto_files = proto_files_sorted(&package_dir)?;

    println!("cargo:rerun-if-changed={}", package_dir.display());
    for proto_file in &proto_files {
        println!("cargo:rerun-if-changed={}", proto_file.display());
    }

    let mut compiler = protox::Compiler::new([&proto_root])?;
    // Source info carries the proto comments into the generated Rust docs and into the
    // descriptor that reflection clients read.
    compiler.include_source_info(true);
    // prost needs the imported well-known types (Timestamp) in the set to resolve them, and
    // reflection clients need them to resolve our files' imports.
    compiler.include_imports(true);
    for proto_file in &proto_files {
        compiler.open_file(proto_file)?;
    }

    let out_dir = PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(
        out_dir.join(DESCRIPTOR_FILE_NAME),
        compiler.encode_file_descriptor_set(),
    )?;

    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        .compile_fds(compiler.file_descriptor_set())?;
    Ok(())
}

/// Every `.proto` file directly in `package_dir`, sorted so that the output does not depend
/// on the order the file system lists them in.
fn proto_files_sorted(package_dir: &Path) -> Result<Vec<PathBuf>, Box<dyn Error>> {
    let mut proto_files = Vec::new();
    for entry in std::fs::read_dir(package_dir)? {
        let path = entry?.path();
        if path
            .extension()
            .is_some_and(|extension| extension == "proto")
        {
            proto_files.push(path);
        }
    }
    proto_files.sort();
    Ok(proto_files)
}
