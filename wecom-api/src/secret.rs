//! [`Secret`]: a string that never shows itself in `Debug`.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::redact::MASK;

/// A secret string from or for WeCom (an access token, a ticket, a secret).
///
/// Serializes as the plain string (it has to reach WeCom), but `Debug` prints `***` and
/// there is no `Display`, so it cannot end up in a log by accident. Read it with
/// [`expose`](Self::expose).
///
/// ```
/// let s = wecom_api::Secret::from("tok-123");
/// assert_eq!(format!("{s:?}"), "Secret(***)");
/// assert_eq!(s.expose(), "tok-123");
/// ```
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value.
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret value. Take care where it goes.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The secret value, owned.
    pub fn into_inner(self) -> String {
        self.0
    }

    /// Whether the value is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({MASK})")
    }
}

impl From<String> for Secret {
    fn from(v: String) -> Self {
        Secret(v)
    }
}

impl From<&str> for Secret {
    fn from(v: &str) -> Self {
        Secret(v.to_owned())
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        crate::de::string(d).map(Secret)
    }
}

#[cfg(test)]
mod tests {
    use super::Secret;

    #[test]
    fn round_trips_but_hides_itself() {
        #[derive(serde::Serialize, serde::Deserialize, Debug)]
        struct R {
            access_token: Secret,
        }
        let r: R = serde_json::from_str(r#"{"access_token":"TOKVAL"}"#).unwrap();
        assert_eq!(r.access_token.expose(), "TOKVAL");
        assert!(!format!("{r:?}").contains("TOKVAL"));
        assert_eq!(
            serde_json::to_string(&r).unwrap(),
            r#"{"access_token":"TOKVAL"}"#
        );
        assert_eq!(Secret::from(String::from("x")), Secret::new("x"));
    }
}
