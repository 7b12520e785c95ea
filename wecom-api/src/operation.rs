//! Static description of one WeCom endpoint, as emitted by the generator.
//!
//! Generated code declares one `static` [`Operation`] per endpoint and hands a reference to
//! the client; the runtime needs nothing else to authenticate, retry and report the call.

/// HTTP method of an endpoint. WeCom only uses these two.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    /// `GET`: parameters in the query string.
    Get,
    /// `POST`: JSON or multipart body.
    Post,
}

impl Method {
    /// Upper-case name, as used on the wire and in tracing fields.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
        }
    }

    pub(crate) fn to_reqwest(self) -> reqwest::Method {
        match self {
            Method::Get => reqwest::Method::GET,
            Method::Post => reqwest::Method::POST,
        }
    }
}

/// Which credential the runtime adds to the query string.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Credential {
    /// `access_token=...` of a corp (an app's secret, an authorised corp, a downstream corp)
    /// from the token cache; token errcodes trigger one refresh and retry.
    AccessToken,
    /// `corpid=...&corpsecret=...` (only `/cgi-bin/gettoken`).
    CorpSecret,
    /// `suite_access_token` of a third-party app, held by a client built with
    /// [`ClientBuilder::suite`](crate::ClientBuilder::suite). Any other client refuses
    /// the call before sending, as for every kind below.
    SuiteAccessToken,
    /// `provider_access_token` of a service provider
    /// ([`ClientBuilder::provider`](crate::ClientBuilder::provider)).
    ProviderAccessToken,
    /// The provider token sent as `access_token` (`service/get_login_info`).
    ProviderAccessTokenAsAccessToken,
    /// `device_access_token` of a hardware device ([`Client::device`](crate::Client::device)).
    DeviceAccessToken,
    /// `model_access_token` of a hardware model
    /// ([`ClientBuilder::hardware_model`](crate::ClientBuilder::hardware_model)).
    ModelAccessToken,
    /// `key=...`: a group robot's or smart sheet's webhook key, the client's
    /// [`webhook_key`](crate::ClientBuilder::webhook_key). No token.
    WebhookKey,
    /// Nothing: the endpoint is public or carries its own credential.
    None,
}

impl Credential {
    /// The query parameter a token of this kind is sent as, for the token-bearing kinds.
    pub fn query_name(self) -> Option<&'static str> {
        match self {
            Credential::AccessToken | Credential::ProviderAccessTokenAsAccessToken => {
                Some("access_token")
            }
            Credential::SuiteAccessToken => Some("suite_access_token"),
            Credential::ProviderAccessToken => Some("provider_access_token"),
            Credential::DeviceAccessToken => Some("device_access_token"),
            Credential::ModelAccessToken => Some("model_access_token"),
            Credential::CorpSecret | Credential::WebhookKey | Credential::None => None,
        }
    }
}

/// One endpoint. Generated code builds these as `static` items.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Operation {
    /// Stable endpoint id from the spec, e.g. `user.get`. Used in errors and tracing.
    pub id: &'static str,
    /// HTTP method.
    pub method: Method,
    /// Path below the base URL, starting with `/`, without query.
    pub path: &'static str,
    /// Credential the runtime attaches.
    pub credential: Credential,
    /// Whether the call may be sent again after it possibly reached WeCom
    /// (reads and idempotent writes). A message send is not.
    pub retry_safe: bool,
}
