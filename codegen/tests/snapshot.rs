//! Snapshot of everything the emitters produce for a small spec that uses every feature of
//! the format, with some of its types taken from a shared-types file. Update with `UPDATE_EXPECT=1 cargo test -p wecom-codegen --test snapshot`.

use expect_test::expect_file;

#[test]
fn emitted_files_match_the_snapshots() {
    let spec = codegen::load_sources(&[
        ("mini.yaml".into(), include_str!("mini.yaml").into()),
        (
            "common.yaml".into(),
            include_str!("mini_common.yaml").into(),
        ),
    ])
    .unwrap_or_else(|e| panic!("{e}"));
    let files = codegen::generate(&spec).unwrap_or_else(|e| panic!("{e}"));
    let file = |path: &str| {
        files
            .iter()
            .find(|f| f.path == path)
            .map(|f| f.contents.clone())
            .unwrap_or_else(|| panic!("{path} was not generated"))
    };
    expect_file!["snapshots/mini.rs"].assert_eq(&file("wecom-api/src/generated/mini.rs"));
    expect_file!["snapshots/mini_tests.rs"].assert_eq(&file("tests/tests/generated/mini.rs"));
    expect_file!["snapshots/mini_common.rs"].assert_eq(&file("wecom-api/src/generated/common.rs"));
    expect_file!["snapshots/mini_mod.rs"].assert_eq(&file("wecom-api/src/generated/mod.rs"));
    expect_file!["snapshots/mini_openapi.json"].assert_eq(&file("spec/openapi.json"));
}
