//! What a running stand-in holds: credentials, records, faults, overrides, the unknown-field
//! log. One mutex: requests are short and tests want a consistent view.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::time::Duration;

use serde_json::Value;

use crate::credentials::Credentials;

/// One request the stand-in received.
#[derive(Clone, PartialEq)]
pub struct Record {
    /// `GET` or `POST`.
    pub method: String,
    pub path: String,
    /// The spec's endpoint id, when the path is one.
    pub endpoint: Option<String>,
    /// Query parameters, credential included (tests may assert on it; Debug masks it).
    pub query: Vec<(String, String)>,
    /// The body parsed as JSON; `None` when empty or not JSON (multipart, malformed).
    pub body: Option<Value>,
    /// The body's size in bytes.
    pub body_len: usize,
}

impl Record {
    /// The value of a query parameter.
    pub fn query_param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Query keys and body fields whose values never show in Debug.
const SECRET_KEYS: &[&str] = &[
    "access_token",
    "suite_access_token",
    "provider_access_token",
    "model_access_token",
    "device_access_token",
    "key",
    "corpsecret",
    "secret",
    "code",
    "ticket",
];

/// Whether a query or body key holds a credential.
pub fn is_secret_key(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    SECRET_KEYS.contains(&key.as_str())
        || key.ends_with("secret")
        || key.ends_with("_token")
        || key.ends_with("ticket")
        || key.ends_with("_code")
        || key == "encodingaeskey"
}

impl fmt::Debug for Record {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let query: Vec<String> = self
            .query
            .iter()
            .map(|(k, v)| {
                if is_secret_key(k) {
                    format!("{k}=***")
                } else {
                    format!("{k}={v}")
                }
            })
            .collect();
        // Bodies carry secrets (suite_secret, permanent_code): only their size is shown.
        f.debug_struct("Record")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("endpoint", &self.endpoint)
            .field("query", &query)
            .field("body_len", &self.body_len)
            .finish()
    }
}

/// A body field the spec does not know, sent to an endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownField {
    pub endpoint: String,
    /// Dotted path in the body (`text.contentx`, `articles[0].foo`).
    pub field: String,
}

/// A failure to answer with instead of the endpoint's normal answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// errcode -1, 系统繁忙.
    Busy,
    /// errcode 45009, 接口调用超过限制.
    RateLimited,
    /// errcode 45033, 接口并发调用超过限制.
    ConcurrencyLimited,
    /// Any errcode, with its message.
    Errcode(i64, String),
    /// HTTP 429 with `Retry-After` in seconds.
    TooManyRequests { retry_after_secs: u64 },
    /// Wait, then answer normally.
    Slow(Duration),
    /// Close the connection without a complete answer.
    Drop,
}

/// Which calls a fault applies to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Every endpoint.
    Any,
    /// One endpoint, by spec id (`user.get`) or path (`/cgi-bin/user/get`).
    Endpoint(String),
}

impl From<&str> for Target {
    fn from(value: &str) -> Self {
        Target::Endpoint(value.to_owned())
    }
}

impl From<String> for Target {
    fn from(value: String) -> Self {
        Target::Endpoint(value)
    }
}

pub(crate) struct FaultRule {
    pub target: Target,
    /// How many more calls it applies to; `None`: until cleared.
    pub remaining: Option<usize>,
    pub fault: Fault,
}

pub(crate) struct State {
    pub credentials: Credentials,
    pub records: VecDeque<Record>,
    pub max_records: usize,
    pub dropped_records: u64,
    pub unknown_fields: VecDeque<UnknownField>,
    pub faults: Vec<FaultRule>,
    pub overrides: HashMap<String, Value>,
}

impl State {
    pub fn record(&mut self, record: Record) {
        if self.max_records == 0 {
            self.dropped_records += 1;
            return;
        }
        while self.records.len() >= self.max_records {
            self.records.pop_front();
            self.dropped_records += 1;
        }
        self.records.push_back(record);
    }

    pub fn note_unknown(&mut self, endpoint: &str, fields: Vec<String>) {
        for field in fields {
            while self.unknown_fields.len() >= self.max_records.max(1) {
                self.unknown_fields.pop_front();
            }
            self.unknown_fields.push_back(UnknownField {
                endpoint: endpoint.to_owned(),
                field,
            });
        }
    }

    /// The fault for this call of `id` at `path`, consuming one use of a counted rule.
    pub fn take_fault(&mut self, id: &str, path: &str) -> Option<Fault> {
        let index = self.faults.iter().position(|rule| match &rule.target {
            Target::Any => true,
            Target::Endpoint(target) => target == id || target == path,
        })?;
        let rule = &mut self.faults[index];
        let fault = rule.fault.clone();
        if let Some(remaining) = &mut rule.remaining {
            *remaining -= 1;
            if *remaining == 0 {
                self.faults.remove(index);
            }
        }
        Some(fault)
    }
}
