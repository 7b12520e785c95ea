//! Links that send a user to WeCom to log in: OAuth2 inside WeCom (网页授权) and web login
//! outside it (企业微信登录 / SSO, and the legacy QR-code login).
//!
//! Every parameter is percent-encoded as a URI component (`redirect_uri` included, as
//! WeCom asks), so a redirect URI with its own query survives the round trip.
//!
//! ```
//! use wecom_api::oauth::{AuthorizeUrl, Scope};
//! let url = AuthorizeUrl::new("wwcorp", "https://app.example.com/cb?from=menu")
//!     .scope(Scope::PrivateInfo)
//!     .agent_id(1000002)
//!     .state("s1")
//!     .build()?;
//! assert_eq!(
//!     url,
//!     "https://open.weixin.qq.com/connect/oauth2/authorize?appid=wwcorp\
//!      &redirect_uri=https%3A%2F%2Fapp.example.com%2Fcb%3Ffrom%3Dmenu\
//!      &response_type=code&scope=snsapi_privateinfo&state=s1&agentid=1000002#wechat_redirect"
//! );
//! # Ok::<(), wecom_api::Error>(())
//! ```

use crate::error::{Error, Result};

const AUTHORIZE: &str = "https://open.weixin.qq.com/connect/oauth2/authorize";
const SSO_LOGIN: &str = "https://login.work.weixin.qq.com/wwlogin/sso/login";
const QR_CONNECT: &str = "https://open.work.weixin.qq.com/wwopen/sso/qrConnect";

/// WeCom's limit on an OAuth2 `state`, in bytes.
const STATE_MAX: usize = 128;

/// What the in-app OAuth2 link asks for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Scope {
    /// `snsapi_base`: silent, gives the member's UserId.
    #[default]
    Base,
    /// `snsapi_privateinfo`: asks the member, gives details such as avatar and QR code.
    /// Needs the app's agentid.
    PrivateInfo,
}

impl Scope {
    /// The value WeCom expects.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Base => "snsapi_base",
            Scope::PrivateInfo => "snsapi_privateinfo",
        }
    }
}

/// Language of the login page.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Lang {
    /// `zh`.
    Zh,
    /// `en`.
    En,
}

impl Lang {
    /// The value WeCom expects.
    pub fn as_str(self) -> &'static str {
        match self {
            Lang::Zh => "zh",
            Lang::En => "en",
        }
    }
}

/// The OAuth2 link for a page opened inside WeCom
/// (`https://open.weixin.qq.com/connect/oauth2/authorize?...#wechat_redirect`,
/// [构造网页授权链接](https://developer.work.weixin.qq.com/document/path/91022)).
/// WeCom redirects to `redirect_uri?code=CODE&state=STATE`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub struct AuthorizeUrl {
    corp_id: String,
    redirect_uri: String,
    scope: Scope,
    state: String,
    agent_id: Option<i64>,
}

impl AuthorizeUrl {
    /// A `snsapi_base` link of `corp_id` back to `redirect_uri`, with an empty state.
    pub fn new(corp_id: impl Into<String>, redirect_uri: impl Into<String>) -> Self {
        AuthorizeUrl {
            corp_id: corp_id.into(),
            redirect_uri: redirect_uri.into(),
            scope: Scope::Base,
            state: String::new(),
            agent_id: None,
        }
    }

    /// The scope (default [`Scope::Base`]).
    pub fn scope(mut self, scope: Scope) -> Self {
        self.scope = scope;
        self
    }

    /// Returned unchanged with the code: `a-zA-Z0-9`, at most 128 characters (WeCom's
    /// rule); use it against CSRF.
    pub fn state(mut self, state: impl Into<String>) -> Self {
        self.state = state.into();
        self
    }

    /// The app's agentid: required with [`Scope::PrivateInfo`], recommended otherwise.
    pub fn agent_id(mut self, agent_id: i64) -> Self {
        self.agent_id = Some(agent_id);
        self
    }

    /// The link. Fails with [`Error::InvalidArgument`] on an empty corp id, a
    /// `redirect_uri` that is not an absolute http(s) URL, a `state` outside WeCom's rule,
    /// or [`Scope::PrivateInfo`] without an agentid.
    pub fn build(&self) -> Result<String> {
        non_empty(&self.corp_id, "corp_id")?;
        check_redirect(&self.redirect_uri)?;
        if self.state.len() > STATE_MAX || !self.state.bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Err(Error::invalid_argument(
                "state",
                "WeCom allows only a-z, A-Z and 0-9, at most 128 characters",
            ));
        }
        if self.scope == Scope::PrivateInfo && self.agent_id.is_none() {
            return Err(Error::invalid_argument(
                "agent_id",
                "is required with scope snsapi_privateinfo",
            ));
        }
        let mut q = Query::new(AUTHORIZE);
        q.push("appid", &self.corp_id);
        q.push("redirect_uri", &self.redirect_uri);
        q.push("response_type", "code");
        q.push("scope", self.scope.as_str());
        q.push("state", &self.state);
        if let Some(id) = self.agent_id {
            q.push("agentid", &id.to_string());
        }
        // Must come last: WeCom's client looks for it.
        Ok(q.finish() + "#wechat_redirect")
    }
}

/// Who logs in with [`SsoLoginUrl`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum LoginType {
    CorpApp,
    ServiceApp,
}

/// The web login link for a site outside WeCom
/// (`https://login.work.weixin.qq.com/wwlogin/sso/login?...`,
/// [Web登录组件](https://developer.work.weixin.qq.com/document/path/98171)).
/// WeCom redirects to `redirect_uri?code=CODE&state=STATE`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub struct SsoLoginUrl {
    login_type: LoginType,
    appid: String,
    agent_id: Option<i64>,
    redirect_uri: String,
    state: String,
    lang: Option<Lang>,
}

impl SsoLoginUrl {
    /// Login to a self-built (or agent-developed) app: `login_type=CorpApp`, the corp id
    /// and the app's agentid.
    pub fn corp_app(
        corp_id: impl Into<String>,
        agent_id: i64,
        redirect_uri: impl Into<String>,
    ) -> Self {
        SsoLoginUrl {
            login_type: LoginType::CorpApp,
            appid: corp_id.into(),
            agent_id: Some(agent_id),
            redirect_uri: redirect_uri.into(),
            state: String::new(),
            lang: None,
        }
    }

    /// Login to a service provider: `login_type=ServiceApp` and the login suite id.
    pub fn service_app(suite_id: impl Into<String>, redirect_uri: impl Into<String>) -> Self {
        SsoLoginUrl {
            login_type: LoginType::ServiceApp,
            appid: suite_id.into(),
            agent_id: None,
            redirect_uri: redirect_uri.into(),
            state: String::new(),
            lang: None,
        }
    }

    /// Returned unchanged with the code; use it against CSRF.
    pub fn state(mut self, state: impl Into<String>) -> Self {
        self.state = state.into();
        self
    }

    /// Language of the login page (default: the browser's).
    pub fn lang(mut self, lang: Lang) -> Self {
        self.lang = Some(lang);
        self
    }

    /// The link. Fails with [`Error::InvalidArgument`] on an empty appid or a
    /// `redirect_uri` that is not an absolute http(s) URL.
    pub fn build(&self) -> Result<String> {
        non_empty(&self.appid, "appid")?;
        check_redirect(&self.redirect_uri)?;
        let mut q = Query::new(SSO_LOGIN);
        q.push(
            "login_type",
            match self.login_type {
                LoginType::CorpApp => "CorpApp",
                LoginType::ServiceApp => "ServiceApp",
            },
        );
        q.push("appid", &self.appid);
        if let Some(id) = self.agent_id {
            q.push("agentid", &id.to_string());
        }
        q.push("redirect_uri", &self.redirect_uri);
        q.push("state", &self.state);
        if let Some(lang) = self.lang {
            q.push("lang", lang.as_str());
        }
        Ok(q.finish())
    }
}

/// The legacy QR-code login link (`https://open.work.weixin.qq.com/wwopen/sso/qrConnect`),
/// still served; new sites use [`SsoLoginUrl`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub struct QrConnectUrl {
    corp_id: String,
    agent_id: i64,
    redirect_uri: String,
    state: String,
    lang: Option<Lang>,
}

impl QrConnectUrl {
    /// Login with a QR code to the app `agent_id` of `corp_id`.
    pub fn new(corp_id: impl Into<String>, agent_id: i64, redirect_uri: impl Into<String>) -> Self {
        QrConnectUrl {
            corp_id: corp_id.into(),
            agent_id,
            redirect_uri: redirect_uri.into(),
            state: String::new(),
            lang: None,
        }
    }

    /// Returned unchanged with the code; use it against CSRF.
    pub fn state(mut self, state: impl Into<String>) -> Self {
        self.state = state.into();
        self
    }

    /// Language of the login page.
    pub fn lang(mut self, lang: Lang) -> Self {
        self.lang = Some(lang);
        self
    }

    /// The link. Fails with [`Error::InvalidArgument`] on an empty corp id or a
    /// `redirect_uri` that is not an absolute http(s) URL.
    pub fn build(&self) -> Result<String> {
        non_empty(&self.corp_id, "corp_id")?;
        check_redirect(&self.redirect_uri)?;
        let mut q = Query::new(QR_CONNECT);
        q.push("appid", &self.corp_id);
        q.push("agentid", &self.agent_id.to_string());
        q.push("redirect_uri", &self.redirect_uri);
        q.push("state", &self.state);
        if let Some(lang) = self.lang {
            q.push("lang", lang.as_str());
        }
        Ok(q.finish())
    }
}

/// `base?k=v&k=v`, each key and value percent-encoded.
struct Query {
    out: String,
    first: bool,
}

impl Query {
    fn new(base: &str) -> Self {
        Query {
            out: base.to_owned(),
            first: true,
        }
    }

    fn push(&mut self, key: &str, value: &str) {
        self.out.push(if self.first { '?' } else { '&' });
        self.first = false;
        encode_into(&mut self.out, key);
        self.out.push('=');
        encode_into(&mut self.out, value);
    }

    fn finish(self) -> String {
        self.out
    }
}

/// Percent-encodes `s` as a URI component: everything but `A-Z a-z 0-9 - _ . ~`, as
/// UTF-8 bytes, with uppercase hex (so a space is `%20`, never `+`).
pub fn encode_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    encode_into(&mut out, s);
    out
}

fn encode_into(out: &mut String, s: &str) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in s.as_bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0xf)]));
        }
    }
}

fn non_empty(value: &str, what: &'static str) -> Result<()> {
    if value.trim().is_empty() {
        return Err(Error::invalid_argument(what, "must not be empty"));
    }
    Ok(())
}

/// WeCom redirects only to an absolute http(s) URL on a trusted domain; the domain is
/// WeCom's to check, the shape ours.
fn check_redirect(uri: &str) -> Result<()> {
    let bad = |why: &'static str| Err(Error::invalid_argument("redirect_uri", why));
    match reqwest::Url::parse(uri) {
        Err(_) => bad("is not an absolute URL"),
        Ok(u) if u.scheme() != "http" && u.scheme() != "https" => bad("must be http or https"),
        Ok(u) if u.host_str().is_none_or(str::is_empty) => bad("has no host"),
        Ok(_) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn component_encoding() {
        assert_eq!(encode_component("aZ09-_.~"), "aZ09-_.~");
        assert_eq!(
            encode_component("a b+c/d?e=f&g#h@"),
            "a%20b%2Bc%2Fd%3Fe%3Df%26g%23h%40"
        );
        assert_eq!(encode_component("中"), "%E4%B8%AD");
        // An already-encoded value is encoded again: it is a value, not a URL.
        assert_eq!(encode_component("%41"), "%2541");
    }

    #[test]
    fn refusals_name_the_argument() {
        let what = |r: Result<String>| match r {
            Err(Error::InvalidArgument { what, .. }) => what.into_owned(),
            other => panic!("{other:?}"),
        };
        let ok = "https://a.example/cb";
        assert_eq!(what(AuthorizeUrl::new("", ok).build()), "corp_id");
        assert_eq!(what(AuthorizeUrl::new("ww", "/cb").build()), "redirect_uri");
        assert_eq!(
            what(AuthorizeUrl::new("ww", "ftp://a/").build()),
            "redirect_uri"
        );
        assert_eq!(
            what(AuthorizeUrl::new("ww", ok).state("a b").build()),
            "state"
        );
        assert_eq!(
            what(AuthorizeUrl::new("ww", ok).state("x".repeat(129)).build()),
            "state"
        );
        assert!(
            AuthorizeUrl::new("ww", ok)
                .state("x".repeat(128))
                .build()
                .is_ok()
        );
        assert_eq!(
            what(
                AuthorizeUrl::new("ww", ok)
                    .scope(Scope::PrivateInfo)
                    .build()
            ),
            "agent_id"
        );
        assert_eq!(what(SsoLoginUrl::service_app(" ", ok).build()), "appid");
        assert_eq!(
            what(QrConnectUrl::new("ww", 1, "mailto:x@y").build()),
            "redirect_uri"
        );
    }

    #[test]
    fn lang_goes_last() {
        let u = SsoLoginUrl::corp_app("ww", 7, "https://a.example/")
            .state("s")
            .lang(Lang::En)
            .build()
            .unwrap();
        assert!(u.ends_with("&state=s&lang=en"), "{u}");
        let u = QrConnectUrl::new("ww", 7, "https://a.example/")
            .lang(Lang::Zh)
            .build()
            .unwrap();
        assert!(u.ends_with("&state=&lang=zh"), "{u}");
    }
}
