//! [`Fields`]: the elements of a callback as a JSON-like tree, whatever its wire format.

use std::fmt;
use std::ops::{Deref, DerefMut};

use serde_json::{Map, Value};

use crate::redact::{MASK, is_sensitive_key};

/// Elements of a callback by name, as sent: leaves are strings (XML has no numbers), nested
/// elements are objects and repeated elements arrays. JSON callbacks keep their own types.
///
/// Typed callbacks keep the elements they do not know here, and an `Unknown` variant keeps
/// all of them. `Debug` blanks the values of secret-looking keys (tickets, tokens, ...).
#[derive(Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Fields(pub Map<String, Value>);

impl Fields {
    /// The value of a leaf element as text: a string, or a number or boolean written out.
    pub fn text(&self, name: &str) -> Option<String> {
        match self.0.get(name)? {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }

    /// Whether no element is kept.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl Deref for Fields {
    type Target = Map<String, Value>;
    fn deref(&self) -> &Self::Target {
        &self.0
    }
}

impl DerefMut for Fields {
    fn deref_mut(&mut self) -> &mut Self::Target {
        &mut self.0
    }
}

impl From<Map<String, Value>> for Fields {
    fn from(map: Map<String, Value>) -> Self {
        Fields(map)
    }
}

impl fmt::Debug for Fields {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.0.iter().map(|(k, v)| (k, Shown { key: k, value: v })))
            .finish()
    }
}

/// A value as `Debug` shows it: masked under a secret-looking key, at any depth.
struct Shown<'a> {
    key: &'a str,
    value: &'a Value,
}

impl fmt::Debug for Shown<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if is_sensitive_key(self.key) {
            return f.write_str(MASK);
        }
        match self.value {
            Value::Object(map) => f
                .debug_map()
                .entries(map.iter().map(|(k, v)| (k, Shown { key: k, value: v })))
                .finish(),
            Value::Array(items) => f
                .debug_list()
                .entries(items.iter().map(|v| Shown {
                    key: self.key,
                    value: v,
                }))
                .finish(),
            other => write!(f, "{other}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_blanks_secrets_at_any_depth() {
        let fields: Fields = serde_json::from_str(
            r#"{"SuiteTicket":"TICKETVALUE","InfoType":"suite_ticket",
                "ContactSync":{"AccessToken":"TOKENVALUE","ExpiresIn":"1800"},
                "List":[{"Token":"KFTOKEN"}]}"#,
        )
        .unwrap();
        let shown = format!("{fields:?}");
        for secret in ["TICKETVALUE", "TOKENVALUE", "KFTOKEN"] {
            assert!(!shown.contains(secret), "{shown}");
        }
        assert!(
            shown.contains("suite_ticket") && shown.contains("1800"),
            "{shown}"
        );
        assert_eq!(fields.text("InfoType").as_deref(), Some("suite_ticket"));
        assert_eq!(fields.text("ContactSync"), None);
    }
}
