// The corpus replay test (tests/corpus_replay.rs) is compiled as ignored, with the reason shown by
// `cargo test`, when the shared provider corpus is not next to the checkout: a skip then shows in
// the test summary instead of passing silently. Evaluated when PROMPTER_PROVIDER_CORPUS changes
// (not on every build: a missing path would re-run this script, and rebuild the crate, each time).
use std::path::PathBuf;

fn main() {
    println!("cargo::rustc-check-cfg=cfg(prompter_corpus)");
    println!("cargo::rerun-if-env-changed=PROMPTER_PROVIDER_CORPUS");
    println!("cargo::rerun-if-changed=build.rs");
    let dir = std::env::var_os("PROMPTER_PROVIDER_CORPUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"))
                .join("../../../shared/provider_corpus")
        });
    if dir.join("INDEX.md").is_file() {
        println!("cargo::rustc-cfg=prompter_corpus");
    }
}
