//! Whose credential a [`Client`] holds: a corp's app, a third-party suite and the corps that
//! authorised it, a service provider, a downstream corp, a hardware model or device, a
//! group robot. Each kind says how its token is obtained, which endpoints it can call,
//! and which errcodes mean its token was rejected.

use std::fmt;

use super::Client;
use crate::error::{Error, Result};
use crate::operation::Credential;
use crate::token::{TokenKey, TokenKind};

/// The credential a client holds and what it needs to renew it.
pub(crate) enum Principal {
    /// An app (or contacts, customer-contact, ... secret) of a corp, or a 代开发 app whose
    /// permanent code is its secret: `gettoken`.
    Corp { corp_id: String, secret: String },
    /// A corp that authorised a third-party suite: `service/get_corp_token` with the
    /// suite's token.
    AuthorizedCorp {
        suite: Client,
        corp_id: String,
        permanent_code: String,
    },
    /// A downstream (or linked) corp: `corpgroup/corp/gettoken` with the upstream
    /// corp's token.
    Downstream {
        upstream: Client,
        corp_id: String,
        agent_id: i64,
        business_type: i64,
    },
    /// A third-party suite: `service/get_suite_token` with the newest pushed ticket.
    Suite { suite_id: String, secret: String },
    /// A service provider: `service/get_provider_token`.
    Provider { corp_id: String, secret: String },
    /// A hardware model: `openhw/get_model_token` with the newest pushed ticket.
    Model { model_id: String, secret: String },
    /// A hardware device: `openhw/get_device_token` with its model's token.
    Device {
        model: Client,
        device_sn: String,
        device_secret: String,
    },
    /// A group robot: its webhook key is the whole credential.
    Webhook { key: String },
}

/// How long WeCom says a pushed ticket is valid.
pub(crate) const TICKET_LIFETIME_SECS: u64 = 30 * 60;

impl Principal {
    /// The id the client acts for: corp id, suite id, model id or device SN.
    pub(crate) fn id(&self) -> &str {
        match self {
            Principal::Corp { corp_id, .. }
            | Principal::AuthorizedCorp { corp_id, .. }
            | Principal::Downstream { corp_id, .. }
            | Principal::Provider { corp_id, .. } => corp_id,
            Principal::Suite { suite_id, .. } => suite_id,
            Principal::Model { model_id, .. } => model_id,
            Principal::Device { device_sn, .. } => device_sn,
            Principal::Webhook { .. } => "webhook",
        }
    }

    /// What kind of client this is, for errors and `Debug` (never a secret).
    pub(crate) fn describe(&self) -> String {
        match self {
            Principal::Corp { corp_id, .. } => format!("corp {corp_id}"),
            Principal::AuthorizedCorp { suite, corp_id, .. } => {
                format!("corp {corp_id} authorised to suite {}", suite.corp_id())
            }
            Principal::Downstream {
                upstream, corp_id, ..
            } => format!("downstream corp {corp_id} of corp {}", upstream.corp_id()),
            Principal::Suite { suite_id, .. } => format!("suite {suite_id}"),
            Principal::Provider { corp_id, .. } => format!("service provider {corp_id}"),
            Principal::Model { model_id, .. } => format!("hardware model {model_id}"),
            Principal::Device {
                model, device_sn, ..
            } => format!("device {device_sn} of hardware model {}", model.corp_id()),
            Principal::Webhook { .. } => "group robot".to_owned(),
        }
    }

    /// The kind of token this client holds.
    pub(crate) fn token_kind(&self) -> TokenKind {
        match self {
            Principal::Corp { .. }
            | Principal::AuthorizedCorp { .. }
            | Principal::Downstream { .. }
            | Principal::Webhook { .. } => TokenKind::AccessToken,
            Principal::Suite { .. } => TokenKind::SuiteAccessToken,
            Principal::Provider { .. } => TokenKind::ProviderAccessToken,
            Principal::Model { .. } => TokenKind::ModelAccessToken,
            Principal::Device { .. } => TokenKind::DeviceAccessToken,
        }
    }

    /// What a raw call (a path not in the spec) is sent with: this client's own token,
    /// or its webhook key.
    pub(crate) fn own_credential(&self) -> Credential {
        match self {
            Principal::Corp { .. }
            | Principal::AuthorizedCorp { .. }
            | Principal::Downstream { .. } => Credential::AccessToken,
            Principal::Suite { .. } => Credential::SuiteAccessToken,
            Principal::Provider { .. } => Credential::ProviderAccessToken,
            Principal::Model { .. } => Credential::ModelAccessToken,
            Principal::Device { .. } => Credential::DeviceAccessToken,
            Principal::Webhook { .. } => Credential::WebhookKey,
        }
    }

    /// Where this client's token lives in the store. Each kind of issuer has its own
    /// fingerprint input, so suites, authorised corps, providers and downstream corps
    /// never share a key, whatever their ids.
    pub(crate) fn token_key(&self) -> TokenKey {
        let kind = self.token_kind();
        match self {
            Principal::Corp { corp_id, secret } | Principal::Provider { corp_id, secret } => {
                TokenKey::new(kind, corp_id.as_str(), secret)
            }
            Principal::Suite { suite_id, secret } => TokenKey::new(kind, suite_id.as_str(), secret),
            Principal::Model { model_id, secret } => TokenKey::new(kind, model_id.as_str(), secret),
            Principal::AuthorizedCorp {
                suite,
                corp_id,
                permanent_code,
            } => TokenKey::new(
                kind,
                corp_id.as_str(),
                &format!("suite\0{}\0{permanent_code}", suite.corp_id()),
            ),
            Principal::Downstream {
                upstream,
                corp_id,
                agent_id,
                business_type,
            } => TokenKey::new(
                kind,
                corp_id.as_str(),
                &format!(
                    "corpgroup\0{}\0{agent_id}\0{business_type}",
                    upstream.inner.tokens.key().fingerprint()
                ),
            ),
            Principal::Device {
                model,
                device_sn,
                device_secret,
            } => TokenKey::new(
                kind,
                device_sn.as_str(),
                &format!("model\0{}\0{device_secret}", model.corp_id()),
            ),
            Principal::Webhook { key } => TokenKey::new(kind, "webhook", key),
        }
    }

    /// The pushed ticket this client's token is obtained with, if any: its kind and the
    /// store key (per suite or model id, never per secret or ticket, so every push lands
    /// on the key every process reads).
    pub(crate) fn ticket_key(&self) -> Option<TokenKey> {
        match self {
            Principal::Suite { suite_id, .. } => {
                Some(TokenKey::new(TokenKind::SuiteTicket, suite_id.as_str(), ""))
            }
            Principal::Model { model_id, .. } => {
                Some(TokenKey::new(TokenKind::ModelTicket, model_id.as_str(), ""))
            }
            _ => None,
        }
    }

    /// Whether this client sends what `credential` asks for: `Ok(true)` with its token,
    /// `Ok(false)` without one (the endpoint carries its own credential), or an error
    /// naming what the endpoint needs and which client holds it.
    pub(crate) fn sends_token(&self, credential: Credential, endpoint: &str) -> Result<bool> {
        let holds = match credential {
            Credential::None => return Ok(false),
            Credential::CorpSecret => {
                return match self {
                    Principal::Corp { .. } => Ok(false),
                    _ => Err(self.refuse(
                        endpoint,
                        "a corp id and secret",
                        "Client::builder().corp_id(..).secret(..)",
                    )),
                };
            }
            Credential::WebhookKey => {
                return match self {
                    Principal::Webhook { .. } => Ok(false),
                    _ => Err(self.refuse(
                        endpoint,
                        "a webhook key",
                        "Client::builder().webhook_key(..)",
                    )),
                };
            }
            Credential::AccessToken => matches!(
                self,
                Principal::Corp { .. }
                    | Principal::AuthorizedCorp { .. }
                    | Principal::Downstream { .. }
            ),
            Credential::SuiteAccessToken => matches!(self, Principal::Suite { .. }),
            Credential::ProviderAccessToken | Credential::ProviderAccessTokenAsAccessToken => {
                matches!(self, Principal::Provider { .. })
            }
            Credential::ModelAccessToken => matches!(self, Principal::Model { .. }),
            Credential::DeviceAccessToken => matches!(self, Principal::Device { .. }),
        };
        if holds {
            return Ok(true);
        }
        let (what, how) = match credential {
            Credential::SuiteAccessToken => (
                "a suite_access_token",
                "Client::builder().suite(suite_id, suite_secret)",
            ),
            Credential::ProviderAccessToken | Credential::ProviderAccessTokenAsAccessToken => (
                "a provider_access_token",
                "Client::builder().provider(corp_id, provider_secret)",
            ),
            Credential::ModelAccessToken => (
                "a model_access_token",
                "Client::builder().hardware_model(model_id, model_secret)",
            ),
            Credential::DeviceAccessToken => (
                "a device_access_token",
                "a hardware model client's .device(device_sn, device_secret)",
            ),
            _ => (
                "a corp's access_token",
                "Client::builder().corp_id(..).secret(..), a suite client's .authorized_corp(..) \
                 or a corp client's .downstream_corp(..)",
            ),
        };
        Err(self.refuse(endpoint, what, how))
    }

    fn refuse(&self, endpoint: &str, what: &str, how: &str) -> Error {
        Error::invalid_argument(
            "credential",
            format!(
                "{endpoint} needs {what}, which this client ({}) does not hold; use {how} \
                 (nothing was sent)",
                self.describe()
            ),
        )
    }

    /// Whether `error` says this client's token was rejected, so that it is refreshed
    /// once and the call sent again.
    pub(crate) fn rejects_token(&self, error: &Error) -> bool {
        let codes: &[i64] = match self.token_kind() {
            // 40082 invalid suite_token, 42009 suite token expired. The provider token is
            // reported with the same codes, and (WeCom's staff say) 42001 when it expired.
            TokenKind::SuiteAccessToken | TokenKind::ProviderAccessToken => {
                &[40082, 42009, 40014, 42001]
            }
            _ => &crate::error::TOKEN_ERRCODES,
        };
        error.errcode().is_some_and(|c| codes.contains(&c))
    }
}

impl fmt::Debug for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.describe())
    }
}
