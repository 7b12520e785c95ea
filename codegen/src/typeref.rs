//! Type references as written in spec files (`array<integer>`, `map<Tag>`, `UserGetResponse`).

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TypeRef {
    String,
    Integer,
    Number,
    Boolean,
    /// A 0/1 integer on the wire, `bool` in Rust.
    Flag,
    /// Free-form JSON.
    Json,
    Array(Box<TypeRef>),
    Map(Box<TypeRef>),
    Named(String),
}

impl TypeRef {
    /// Parses a type reference; the error says what is wrong with it.
    pub fn parse(text: &str) -> Result<TypeRef, String> {
        let text = text.trim();
        if let Some(inner) = strip_wrapper(text, "array") {
            return Ok(TypeRef::Array(Box::new(TypeRef::parse(inner)?)));
        }
        if let Some(inner) = strip_wrapper(text, "map") {
            return Ok(TypeRef::Map(Box::new(TypeRef::parse(inner)?)));
        }
        match text {
            "string" => Ok(TypeRef::String),
            "integer" => Ok(TypeRef::Integer),
            "number" => Ok(TypeRef::Number),
            "boolean" => Ok(TypeRef::Boolean),
            "flag" => Ok(TypeRef::Flag),
            "json" => Ok(TypeRef::Json),
            "" => Err("empty type".to_string()),
            name if is_type_name(name) => Ok(TypeRef::Named(name.to_string())),
            other => Err(format!(
                "`{other}` is not a type: use string, integer, number, boolean, flag, json, \
                 array<T>, map<T> or an UpperCamelCase type name"
            )),
        }
    }

    /// Named types this reference mentions, at any depth.
    pub fn named(&self) -> Option<&str> {
        match self {
            TypeRef::Named(name) => Some(name),
            TypeRef::Array(inner) | TypeRef::Map(inner) => inner.named(),
            _ => None,
        }
    }
}

fn strip_wrapper<'a>(text: &'a str, wrapper: &str) -> Option<&'a str> {
    text.strip_prefix(wrapper)?
        .strip_prefix('<')?
        .strip_suffix('>')
}

/// UpperCamelCase ASCII identifier.
pub fn is_type_name(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_uppercase())
        && chars.all(|c| c.is_ascii_alphanumeric())
}

impl fmt::Display for TypeRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TypeRef::String => f.write_str("string"),
            TypeRef::Integer => f.write_str("integer"),
            TypeRef::Number => f.write_str("number"),
            TypeRef::Boolean => f.write_str("boolean"),
            TypeRef::Flag => f.write_str("flag"),
            TypeRef::Json => f.write_str("json"),
            TypeRef::Array(inner) => write!(f, "array<{inner}>"),
            TypeRef::Map(inner) => write!(f, "map<{inner}>"),
            TypeRef::Named(name) => f.write_str(name),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_nested_references() {
        assert_eq!(
            TypeRef::parse("array<map<Tag>>"),
            Ok(TypeRef::Array(Box::new(TypeRef::Map(Box::new(
                TypeRef::Named("Tag".into())
            )))))
        );
        assert_eq!(TypeRef::parse("integer"), Ok(TypeRef::Integer));
    }

    #[test]
    fn rejects_malformed_references() {
        assert!(TypeRef::parse("array<>").is_err());
        assert!(TypeRef::parse("array<string").is_err());
        assert!(TypeRef::parse("lowerCase").is_err());
        assert!(TypeRef::parse("Bad-Name").is_err());
    }
}
