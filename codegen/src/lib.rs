//! The wecom-api generator: the spec model, its loader and validator, the Rust emitter and
//! the OpenAPI exporter. Pure functions: spec text in, file contents out. `xtask` does the I/O.

pub mod emit;
mod jobs;
pub mod load;
pub mod model;
pub mod naming;
pub mod openapi;
pub mod resolve;
pub mod schema;
pub mod share;
pub mod typeref;
pub mod validate;

pub use emit::{GeneratedFile, generate};
pub use load::{Diagnostic, Spec, SpecErrors, load_dir, load_sources, read_sources};
