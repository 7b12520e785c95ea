//! Maintainer tasks: `cargo xtask codegen [--check]`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

mod audit_samples;
mod bench_codegen;
mod codegen_task;

/// Generating and formatting builds and drops millions of small token trees.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    // `--root DIR` runs a prebuilt xtask on another checkout of the workspace.
    let (root, args) = match args.as_slice() {
        [rest @ .., "--root", dir] => (PathBuf::from(dir), rest),
        rest => (workspace_root(), rest),
    };
    let result = match args {
        ["codegen"] => codegen_task::run(&root, codegen_task::Mode::Write),
        ["codegen", "--check"] => codegen_task::run(&root, codegen_task::Mode::Check),
        ["bench-codegen"] => bench_codegen::run(&root),
        ["audit-samples", dir] => audit_samples::run(&root, Path::new(dir), false),
        ["audit-samples", "--all", dir] => audit_samples::run(&root, Path::new(dir), true),
        _ => Err(USAGE.to_string()),
    };
    match result {
        Ok(summary) => {
            println!("{summary}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("{message}");
            ExitCode::FAILURE
        }
    }
}

const USAGE: &str = "usage:
  cargo xtask codegen           regenerate wecom-api/src/generated, tests/tests/generated,
                                spec/schema.json, spec/openapi.json and the features of
                                wecom-api/Cargo.toml from spec/*.yaml
  cargo xtask codegen --check   fail if any of those is stale or orphaned
  cargo xtask audit-samples [--all] DIR
                                share of fields of documented bodies collected outside
                                the spec (DIR/cgi-bin/<path>.request.json, .response.json)
                                the spec describes with a compatible type; lists the rest
  cargo xtask bench-codegen     time the generator on the real spec and on a synthetic
                                spec of 2,000+ endpoints (run with --release)
  ... --root DIR                the workspace to work on (default: this one)";

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}
