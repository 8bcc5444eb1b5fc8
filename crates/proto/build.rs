//! Compiles every `.proto` under the workspace's `proto/` with protox (pure Rust,
//! no `protoc` install) and generates prost messages plus tonic clients and servers.
//!
//! `google.rpc.*` comes from tonic-types: its embedded descriptor set supplies the
//! imports (`google/rpc/status.proto`, `google/rpc/error_details.proto`) and the
//! generated code maps the package onto `::tonic_types::pb`. The well-known types
//! are built into protox and map onto `::prost_types`. No googleapis file is copied.

use std::path::{Path, PathBuf};

use prost::Message as _;
use protox::file::{
    ChainFileResolver, DescriptorSetFileResolver, GoogleFileResolver, IncludeFileResolver,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR")?);
    let proto_root = manifest.join("../../proto");
    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    println!("cargo:rerun-if-changed={}", proto_root.display());

    let mut files = Vec::new();
    collect_protos(&proto_root, &proto_root, &mut files)?;
    files.sort();
    for file in &files {
        println!("cargo:rerun-if-changed={}", proto_root.join(file).display());
    }

    let mut resolver = ChainFileResolver::new();
    resolver.add(IncludeFileResolver::new(proto_root.clone()));
    resolver.add(GoogleFileResolver::new());
    resolver.add(DescriptorSetFileResolver::new(google_rpc_descriptors()?));
    let mut compiler = protox::Compiler::with_file_resolver(resolver);
    compiler.include_imports(true).include_source_info(true);
    compiler.open_files(&files)?;
    // encode_file_descriptor_set keeps custom options (fleet.v1.endpoint, …),
    // which prost_types' FileDescriptorSet would drop as unknown fields.
    std::fs::write(
        out.join("fleet_descriptor.bin"),
        compiler.encode_file_descriptor_set(),
    )?;
    let fds = compiler.file_descriptor_set();
    // Imports are extern (`::prost_types`, `::tonic_types::pb`); prost-build still
    // needs their descriptors, and only our packages' modules are included.

    let mut config = tonic_prost_build::Config::new();
    config.enable_type_names();
    config.type_name_domain(["."], "type.googleapis.com");
    tonic_prost_build::configure()
        .build_server(true)
        .build_client(true)
        .extern_path(".google.rpc", "::tonic_types::pb")
        // Deterministic encoding (request hashing for idempotency, stable JSON).
        .btree_map(".")
        .compile_fds_with_config(fds, config)?;
    Ok(())
}

/// Relative paths of every `.proto` under `dir`.
fn collect_protos(
    root: &Path,
    dir: &Path,
    files: &mut Vec<String>,
) -> Result<(), Box<dyn std::error::Error>> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect_protos(root, &path, files)?;
        } else if path.extension().is_some_and(|e| e == "proto") {
            let rel = path.strip_prefix(root)?;
            let rel = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/");
            files.push(rel);
        }
    }
    Ok(())
}

/// tonic-types' descriptors of `google.rpc`, under their canonical import paths
/// (tonic-types names them `status.proto` and `error_details.proto`).
fn google_rpc_descriptors() -> Result<prost_types::FileDescriptorSet, prost::DecodeError> {
    let set = prost_types::FileDescriptorSet::decode(tonic_types::pb::FILE_DESCRIPTOR_SET)?;
    let canonical = |name: &str| -> String {
        if name.starts_with("google/") {
            name.to_owned()
        } else {
            format!("google/rpc/{name}")
        }
    };
    let file = set
        .file
        .into_iter()
        .filter(|f| f.package() == "google.rpc")
        .map(|mut f| {
            f.name = Some(canonical(f.name()));
            f.dependency = f.dependency.iter().map(|d| canonical(d)).collect();
            f
        })
        .collect();
    Ok(prost_types::FileDescriptorSet { file })
}
