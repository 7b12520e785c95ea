//! Credentials the stand-in issues and checks: tokens of every kind with their lifetime on a
//! clock a test controls, and the secrets, tickets and codes they are issued for.

use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

use crate::validate::Rejection;

/// The kind of a token, which decides where it is accepted and how WeCom refuses it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenKind {
    /// `access_token` of a corp: from gettoken, an authorised corp's (get_corp_token) or a
    /// downstream corp's (corpgroup/corp/gettoken).
    Access,
    /// `suite_access_token` of a third-party suite.
    Suite,
    /// `provider_access_token` of a service provider.
    Provider,
    /// `model_access_token` of a hardware model.
    Model,
    /// `device_access_token` of a device.
    Device,
}

impl TokenKind {
    /// The errcodes WeCom answers for (missing, unknown, expired) tokens of this kind.
    pub fn errcodes(self) -> (i64, i64, i64) {
        match self {
            TokenKind::Suite => (41022, 40082, 42009),
            TokenKind::Model => (710403, 40014, 42001),
            _ => (41001, 40014, 42001),
        }
    }

    fn prefix(self) -> &'static str {
        match self {
            TokenKind::Access => "standin-access",
            TokenKind::Suite => "standin-suite",
            TokenKind::Provider => "standin-provider",
            TokenKind::Model => "standin-model",
            TokenKind::Device => "standin-device",
        }
    }
}

/// A clock that a test can move forward: tokens expire by it.
#[derive(Debug, Default)]
pub struct Clock {
    offset: Duration,
}

impl Clock {
    pub fn now(&self) -> Instant {
        Instant::now() + self.offset
    }

    pub fn advance(&mut self, by: Duration) {
        self.offset += by;
    }
}

struct Issued {
    kind: TokenKind,
    /// Whom the token was issued to (corp id, suite id, ...).
    owner: String,
    expires_at: Instant,
}

/// Everything credential-shaped the stand-in knows.
pub struct Credentials {
    /// When false, only configured pairs, pushed tickets and told codes are accepted.
    pub open: bool,
    pub clock: Clock,
    lifetimes: HashMap<TokenKind, Duration>,
    tokens: HashMap<String, Issued>,
    /// (corp id or suite/model/provider id, secret) pairs accepted when not open.
    secrets: HashSet<(String, String)>,
    /// (suite or model id, ticket) pairs pushed or told.
    tickets: HashSet<(String, String)>,
    /// (auth corp id, permanent code) pairs issued or told.
    permanent_codes: HashSet<(String, String)>,
    webhook_keys: HashSet<String>,
    counter: u64,
}

/// WeCom's documented token lifetime.
pub const DEFAULT_LIFETIME: Duration = Duration::from_secs(7200);

impl Credentials {
    pub fn new(open: bool) -> Self {
        Credentials {
            open,
            clock: Clock::default(),
            lifetimes: HashMap::new(),
            tokens: HashMap::new(),
            secrets: HashSet::new(),
            tickets: HashSet::new(),
            permanent_codes: HashSet::new(),
            webhook_keys: HashSet::new(),
            counter: 0,
        }
    }

    pub fn lifetime(&self, kind: TokenKind) -> Duration {
        self.lifetimes
            .get(&kind)
            .copied()
            .unwrap_or(DEFAULT_LIFETIME)
    }

    pub fn set_lifetime(&mut self, kind: TokenKind, lifetime: Duration) {
        self.lifetimes.insert(kind, lifetime);
    }

    pub fn add_secret(&mut self, id: &str, secret: &str) {
        self.secrets.insert((id.to_owned(), secret.to_owned()));
    }

    pub fn add_ticket(&mut self, id: &str, ticket: &str) {
        self.tickets.insert((id.to_owned(), ticket.to_owned()));
    }

    pub fn add_permanent_code(&mut self, corp_id: &str, code: &str) {
        self.permanent_codes
            .insert((corp_id.to_owned(), code.to_owned()));
    }

    pub fn add_webhook_key(&mut self, key: &str) {
        self.webhook_keys.insert(key.to_owned());
    }

    /// A fresh value no one else holds (tokens, tickets, codes, keys).
    pub fn fresh(&mut self, prefix: &str) -> String {
        self.counter += 1;
        format!("{prefix}-{}-{:016x}", self.counter, rand::random::<u64>())
    }

    /// Issues a token of `kind` to `owner`; returns it with its lifetime in seconds.
    pub fn issue(&mut self, kind: TokenKind, owner: &str) -> (String, u64) {
        let token = self.fresh(kind.prefix());
        let lifetime = self.lifetime(kind);
        self.tokens.insert(
            token.clone(),
            Issued {
                kind,
                owner: owner.to_owned(),
                expires_at: self.clock.now() + lifetime,
            },
        );
        (token, lifetime.as_secs())
    }

    /// The owner of a valid token of one of `kinds`, or WeCom's refusal.
    pub fn check(&self, kinds: &[TokenKind], token: Option<&str>) -> Result<String, Rejection> {
        let (missing, unknown, expired) = kinds
            .first()
            .copied()
            .unwrap_or(TokenKind::Access)
            .errcodes();
        let Some(token) = token.filter(|t| !t.is_empty()) else {
            return Err(Rejection::new(
                missing,
                "missing token, hint: [wecom-standin]",
            ));
        };
        match self.tokens.get(token) {
            Some(issued) if kinds.contains(&issued.kind) => {
                if self.clock.now() >= issued.expires_at {
                    Err(Rejection::new(
                        expired,
                        "token expired, hint: [wecom-standin]",
                    ))
                } else {
                    Ok(issued.owner.clone())
                }
            }
            _ => Err(Rejection::new(
                unknown,
                "invalid token, hint: [wecom-standin]",
            )),
        }
    }

    /// Whether `secret` may be exchanged for `id`'s token.
    pub fn secret_ok(&self, id: &str, secret: &str) -> bool {
        self.open || self.secrets.contains(&(id.to_owned(), secret.to_owned()))
    }

    /// Whether any secret is configured for `id` (an unknown corp id is 40013).
    pub fn knows_id(&self, id: &str) -> bool {
        self.open || self.secrets.iter().any(|(known, _)| known == id)
    }

    pub fn ticket_ok(&self, id: &str, ticket: &str) -> bool {
        self.open || self.tickets.contains(&(id.to_owned(), ticket.to_owned()))
    }

    pub fn permanent_code_ok(&self, corp_id: &str, code: &str) -> bool {
        self.open
            || self
                .permanent_codes
                .contains(&(corp_id.to_owned(), code.to_owned()))
    }

    pub fn webhook_key_ok(&self, key: &str) -> bool {
        !key.is_empty() && (self.open || self.webhook_keys.contains(key))
    }
}
