//! Rust names the emitters print beside the resolved model's own (namespaces, modules).

use heck::ToUpperCamelCase;
use proc_macro2::{Ident, Span};

pub fn ident(name: &str) -> Ident {
    Ident::new(name, Span::call_site())
}

/// Accessor on `Client` for a namespace: `user`.
pub fn accessor(namespace: &str) -> Ident {
    ident(namespace)
}

/// The struct returned by the accessor: `UserApi`.
pub fn api_struct(namespace: &str) -> Ident {
    ident(&format!("{}Api", namespace.to_upper_camel_case()))
}

/// Name of the module holding a group's request builders (apart from the request and
/// response types in rustdoc's index).
pub const CALLS_MODULE: &str = "calls";
