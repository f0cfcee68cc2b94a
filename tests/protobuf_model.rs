//! `src/encoding/protobuf/model.rs` is what rust-protobuf generates from
//! `proto/metrics.proto`, byte for byte.
//!
//! After changing the schema, rewrite the generated file with:
//!
//! ```sh
//! PROMCLIENT_REGENERATE=1 cargo test --all-features --test protobuf_model
//! ```

use std::path::Path;

#[test]
fn generated_model_matches_the_schema() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = tempfile::tempdir().expect("temp dir");
    protobuf_codegen::Codegen::new()
        .pure()
        .include(root.join("proto"))
        .input(root.join("proto/metrics.proto"))
        .out_dir(out.path())
        .customize(
            protobuf_codegen::Customize::default()
                .lite_runtime(true)
                .gen_mod_rs(false),
        )
        .run()
        .expect("rust-protobuf generates the model from proto/metrics.proto");
    let generated = std::fs::read_to_string(out.path().join("metrics.rs")).expect("generated file");
    let checked_in = root.join("src/encoding/protobuf/model.rs");
    if std::env::var_os("PROMCLIENT_REGENERATE").is_some() {
        std::fs::write(&checked_in, &generated).expect("write the generated model");
        return;
    }
    let current = std::fs::read_to_string(&checked_in).unwrap_or_default();
    assert!(
        current == generated,
        "{} is not what proto/metrics.proto generates; rewrite it with \
         `PROMCLIENT_REGENERATE=1 cargo test --all-features --test protobuf_model`",
        checked_in.display()
    );
}
