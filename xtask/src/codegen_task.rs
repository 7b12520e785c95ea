//! `cargo xtask codegen`: load spec/, emit every generated file, then write or compare them.

use std::collections::BTreeSet;
use std::path::Path;

use codegen::emit::{GENERATED_DIRS, features_block, splice_features};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Write,
    Check,
}

/// Every file the spec determines, with the contents it should have.
pub fn expected_files(root: &Path) -> Result<Vec<(String, String)>, String> {
    let spec = codegen::load_dir(&root.join("spec")).map_err(|e| e.to_string())?;
    let mut files: Vec<(String, String)> = codegen::generate(&spec)?
        .into_iter()
        .map(|f| (f.path, f.contents))
        .collect();
    let cargo_path = "wecom-api/Cargo.toml";
    let cargo_toml =
        std::fs::read_to_string(root.join(cargo_path)).map_err(|e| format!("{cargo_path}: {e}"))?;
    files.push((
        cargo_path.to_string(),
        splice_features(&cargo_toml, &features_block(&spec))?,
    ));
    Ok(files)
}

/// Files that differ from what the spec determines, and files in generated directories that
/// the spec no longer produces.
pub fn stale_files(root: &Path, expected: &[(String, String)]) -> Vec<String> {
    let mut stale = Vec::new();
    for (path, contents) in expected {
        if std::fs::read_to_string(root.join(path)).ok().as_deref() != Some(contents.as_str()) {
            stale.push(format!("{path} is stale"));
        }
    }
    let wanted: BTreeSet<&str> = expected.iter().map(|(p, _)| p.as_str()).collect();
    for orphan in orphans(root, &wanted) {
        stale.push(format!("{orphan} is orphaned (no spec produces it)"));
    }
    stale
}

fn orphans(root: &Path, wanted: &BTreeSet<&str>) -> Vec<String> {
    let mut out = Vec::new();
    for dir in GENERATED_DIRS {
        let Ok(entries) = std::fs::read_dir(root.join(dir)) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = format!("{dir}/{}", entry.file_name().to_string_lossy());
            if !wanted.contains(path.as_str()) {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

pub fn run(root: &Path, mode: Mode) -> Result<String, String> {
    let expected = expected_files(root)?;
    let stale = stale_files(root, &expected);
    match mode {
        Mode::Check if stale.is_empty() => Ok(format!(
            "generated code is up to date ({} files)",
            expected.len()
        )),
        Mode::Check => Err(format!(
            "generated code is out of date:\n  {}\nrun `cargo xtask codegen` and commit the result",
            stale.join("\n  ")
        )),
        Mode::Write => {
            let wanted: BTreeSet<&str> = expected.iter().map(|(p, _)| p.as_str()).collect();
            for orphan in orphans(root, &wanted) {
                std::fs::remove_file(root.join(&orphan)).map_err(|e| format!("{orphan}: {e}"))?;
            }
            for (path, contents) in &expected {
                let target = root.join(path);
                if let Some(parent) = target.parent() {
                    std::fs::create_dir_all(parent).map_err(|e| format!("{path}: {e}"))?;
                }
                if std::fs::read_to_string(&target).ok().as_deref() != Some(contents.as_str()) {
                    std::fs::write(&target, contents).map_err(|e| format!("{path}: {e}"))?;
                }
            }
            Ok(format!(
                "wrote {} generated files ({} changed)",
                expected.len(),
                stale.len()
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `cargo test` fails on stale generated code, as `cargo xtask codegen --check` does.
    #[test]
    fn generated_files_are_up_to_date() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .expect("xtask lives in the workspace");
        let expected = expected_files(root).unwrap_or_else(|e| panic!("{e}"));
        let stale = stale_files(root, &expected);
        assert!(
            stale.is_empty(),
            "generated code is out of date:\n  {}\nrun `cargo xtask codegen` and commit the result",
            stale.join("\n  ")
        );
    }
}
