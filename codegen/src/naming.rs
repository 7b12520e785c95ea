//! Rust names derived from spec names: fields, union variants, and what counts as a usable
//! identifier. The validator checks these names and the resolver hands them to the
//! emitters, so both take them from here.

use heck::{ToSnakeCase, ToUpperCamelCase};

use crate::model::{CallbackField, Field, UnionTag, UnionVariant};

/// The Rust name of a field: its `rust_name`, else the wire name in snake_case.
pub fn rust_field_name(field: &Field) -> String {
    rust_name_or_snake(&field.name, field.rust_name.as_deref())
}

/// The Rust name of a callback field, by the same rule as `rust_field_name`.
pub fn callback_field_name(field: &CallbackField) -> String {
    rust_name_or_snake(&field.name, field.rust_name.as_deref())
}

fn rust_name_or_snake(wire: &str, rust_name: Option<&str>) -> String {
    rust_name.map_or_else(|| wire.to_snake_case(), str::to_string)
}

/// The key holding a union variant's content.
pub fn variant_key(variant: &UnionVariant) -> Option<&str> {
    match (&variant.key, &variant.tag) {
        (Some(key), _) => Some(key),
        (None, UnionTag::Str(tag)) => Some(tag),
        (None, UnionTag::Int(_)) => None,
    }
}

/// The Rust name of a union variant: its `name`, else its key (or string tag) in
/// UpperCamelCase.
pub fn variant_name(variant: &UnionVariant) -> Option<String> {
    variant
        .name
        .clone()
        .or_else(|| variant_key(variant).map(ToUpperCamelCase::to_upper_camel_case))
}

/// A snake_case ASCII identifier that is not a Rust keyword.
pub fn is_snake_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase() || c == '_')
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !RUST_KEYWORDS.contains(&name)
}

const RUST_KEYWORDS: &[&str] = &[
    "as", "async", "await", "break", "const", "continue", "crate", "dyn", "else", "enum", "extern",
    "false", "fn", "for", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub",
    "ref", "return", "self", "static", "struct", "super", "trait", "true", "type", "unsafe", "use",
    "where", "while", "abstract", "become", "box", "do", "final", "macro", "override", "priv",
    "typeof", "unsized", "virtual", "yield", "try", "gen",
];
