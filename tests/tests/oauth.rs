//! OAuth2 and web-login links: every reference vector, and what a redirect URI becomes on
//! the way.

use serde::Deserialize;
use wecom_api::oauth::{AuthorizeUrl, QrConnectUrl, Scope, SsoLoginUrl};

/// The reference vectors (copied from the project's shared reference material).
const VECTORS: &str = include_str!("../vectors/oauth_url_vectors.json");

#[derive(Deserialize)]
struct Vectors {
    vectors: Vec<Vector>,
}

#[derive(Deserialize)]
struct Vector {
    id: String,
    kind: String,
    corpid: Option<String>,
    appid: Option<String>,
    login_type: Option<String>,
    redirect_uri: String,
    scope: Option<String>,
    state: String,
    agentid: Option<i64>,
    built_url: String,
    expected_url_from_doc: Option<String>,
}

/// `%xx` escapes in lowercase: the documentation's examples use either case.
fn normalize_escapes(url: &str) -> String {
    let mut out = String::with_capacity(url.len());
    let mut chars = url.chars();
    while let Some(c) = chars.next() {
        out.push(c);
        if c == '%' {
            for h in chars.by_ref().take(2) {
                out.push(h.to_ascii_lowercase());
            }
        }
    }
    out
}

fn build(v: &Vector) -> String {
    let corpid = || v.corpid.clone().expect("corpid");
    let agentid = || v.agentid.expect("agentid");
    let built = match v.kind.as_str() {
        "oauth2_authorize" => {
            let scope = match v.scope.as_deref() {
                Some("snsapi_base") => Scope::Base,
                Some("snsapi_privateinfo") => Scope::PrivateInfo,
                other => panic!("{}: scope {other:?}", v.id),
            };
            let mut b = AuthorizeUrl::new(corpid(), &v.redirect_uri)
                .scope(scope)
                .state(&v.state);
            if let Some(id) = v.agentid {
                b = b.agent_id(id);
            }
            b.build()
        }
        "sso_qrconnect_legacy" => QrConnectUrl::new(corpid(), agentid(), &v.redirect_uri)
            .state(&v.state)
            .build(),
        "sso_login" => {
            let appid = v.appid.clone().expect("appid");
            let b = match v.login_type.as_deref() {
                Some("CorpApp") => SsoLoginUrl::corp_app(appid, agentid(), &v.redirect_uri),
                Some("ServiceApp") => SsoLoginUrl::service_app(appid, &v.redirect_uri),
                other => panic!("{}: login_type {other:?}", v.id),
            };
            b.state(&v.state).build()
        }
        other => panic!("{}: unknown kind {other}", v.id),
    };
    built.unwrap_or_else(|e| panic!("{}: {e}", v.id))
}

#[test]
fn every_url_vector() {
    let v: Vectors = serde_json::from_str(VECTORS).unwrap();
    assert_eq!(v.vectors.len(), 5);
    let mut from_doc = 0;
    for t in &v.vectors {
        let url = build(t);
        assert_eq!(url, t.built_url, "{}", t.id);
        if let Some(doc) = &t.expected_url_from_doc {
            assert_eq!(normalize_escapes(&url), normalize_escapes(doc), "{}", t.id);
            from_doc += 1;
        }
        // Decoded, the parameters are exactly what was given.
        let parsed = reqwest::Url::parse(&url).unwrap();
        let param = |k: &str| {
            parsed
                .query_pairs()
                .find(|(name, _)| name == k)
                .map(|(_, v)| v.into_owned())
        };
        assert_eq!(
            param("redirect_uri").as_deref(),
            Some(t.redirect_uri.as_str()),
            "{}",
            t.id
        );
        assert_eq!(
            param("state").as_deref(),
            Some(t.state.as_str()),
            "{}",
            t.id
        );
        assert_eq!(
            param("agentid"),
            t.agentid.map(|a| a.to_string()),
            "{}",
            t.id
        );
    }
    assert_eq!(from_doc, 2, "both documented examples are checked");
}

#[test]
fn vector_copy_matches_the_reference() {
    let shared = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/reference/vectors/oauth_url_vectors.json"
    );
    match std::fs::read_to_string(shared) {
        Ok(reference) => assert_eq!(
            reference, VECTORS,
            "tests/vectors/oauth_url_vectors.json is stale"
        ),
        Err(_) => eprintln!("note: {shared} not found; checked the copy only"),
    }
}

#[test]
fn awkward_redirect_uris_survive_the_round_trip() {
    let redirect = "https://app.example.com/回调?next=/a b&x=1+2#frag";
    let url = AuthorizeUrl::new("wwcorp", redirect)
        .state("S1")
        .build()
        .unwrap();
    assert!(url.ends_with("#wechat_redirect"), "{url}");
    assert!(!url.contains(' ') && !url.contains('+'), "{url}");
    // Only one `#`, the marker: the redirect's own fragment is encoded.
    assert_eq!(url.matches('#').count(), 1, "{url}");
    let parsed = reqwest::Url::parse(&url).unwrap();
    let got: Vec<(String, String)> = parsed
        .query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    assert_eq!(
        got,
        [
            ("appid".to_string(), "wwcorp".to_string()),
            ("redirect_uri".into(), redirect.into()),
            ("response_type".into(), "code".into()),
            ("scope".into(), "snsapi_base".into()),
            ("state".into(), "S1".into()),
        ]
    );
    assert_eq!(parsed.fragment(), Some("wechat_redirect"));
}
