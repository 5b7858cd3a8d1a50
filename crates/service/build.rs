// PostgreSQL tests are compiled as ignored (with the reason shown by `cargo test`) unless
// PROMPTER_TEST_PG_URL names a server to create throw-away databases on.
fn main() {
    println!("cargo::rustc-check-cfg=cfg(prompter_pg)");
    println!("cargo::rerun-if-env-changed=PROMPTER_TEST_PG_URL");
    if std::env::var("PROMPTER_TEST_PG_URL").is_ok_and(|v| !v.is_empty()) {
        println!("cargo::rustc-cfg=prompter_pg");
    }
}
