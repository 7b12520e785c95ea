//! Issue 9, items 4 and 5: callbacks are authenticated before they are parsed, bodies are
//! capped, replays can be refused, a failed handler does not swallow WeCom's retry, and
//! no credential of a callback shows in `Debug`.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use wecom_api::Error;
use wecom_api::callback::{Callback, CallbackCrypto, Claim, DEFAULT_MAX_BODY, Dedup, Event};

const KEY: &str = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C";
const CORP: &str = "wx5823bf96d3bd56c7";

fn crypto() -> CallbackCrypto {
    CallbackCrypto::new("QDG6eK", KEY, CORP).expect("sample settings")
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A callback POST as WeCom sends it: query string and XML body.
fn request(c: &CallbackCrypto, plaintext: &str, timestamp: u64) -> (String, Vec<u8>) {
    let encrypt = c
        .encrypt_with_prefix(plaintext.as_bytes(), *b"0123456789abcdef")
        .unwrap();
    let ts = timestamp.to_string();
    let signature = c.signature(&ts, "nonce1", &encrypt);
    let query = format!("msg_signature={signature}&timestamp={ts}&nonce=nonce1");
    let body = format!(
        "<xml><ToUserName><![CDATA[{CORP}]]></ToUserName>\
         <Encrypt><![CDATA[{encrypt}]]></Encrypt><AgentID>1</AgentID></xml>"
    );
    (query, body.into_bytes())
}

const TEXT: &str = "<xml><ToUserName>c</ToUserName><FromUserName>u</FromUserName>\
    <CreateTime>1</CreateTime><MsgType>text</MsgType><Content>hi</Content>\
    <MsgId>42</MsgId></xml>";

#[test]
fn a_signed_callback_opens_in_xml_and_json() {
    let c = crypto();
    let (query, body) = request(&c, TEXT, now());
    let callback = c.open_request(&query, &body).unwrap();
    assert_eq!(callback.dedup_key(), "msgid:42");
    // The same Encrypt in a JSON body.
    let xml = String::from_utf8(body).unwrap();
    let encrypt = xml
        .split("<![CDATA[")
        .nth(2)
        .and_then(|s| s.split("]]>").next())
        .unwrap();
    let json = format!(r#"{{"tousername":"c","agentid":1,"Encrypt":"{encrypt}"}}"#);
    assert!(c.open_request(&query, json.as_bytes()).is_ok());
}

#[test]
fn oversized_bodies_are_refused_unread_with_a_clear_error() {
    let c = crypto();
    let big = vec![b'x'; DEFAULT_MAX_BODY + 1];
    let err = c.decrypt_request("a=b", &big).unwrap_err();
    // The size is checked before the query: nothing else is looked at.
    assert!(
        matches!(err, Error::TooLarge { what: "callback body", limit, size: Some(_) } if limit == DEFAULT_MAX_BODY as u64),
        "{err:?}"
    );
    let shown = err.to_string();
    assert!(
        shown.contains("callback body") && shown.contains("1048576"),
        "{shown}"
    );

    // The cap is configurable, both ways.
    let (query, body) = request(&c, TEXT, now());
    let small = crypto().with_max_body_size(body.len() - 1);
    assert!(matches!(
        small.open_request(&query, &body).unwrap_err(),
        Error::TooLarge { .. }
    ));
    assert!(
        crypto()
            .with_max_body_size(body.len())
            .open_request(&query, &body)
            .is_ok()
    );
}

#[test]
fn junk_bodies_are_refused_without_panicking() {
    let c = crypto();
    let (query, _) = request(&c, TEXT, now());
    let junk: &[&[u8]] = &[
        b"",
        b"   ",
        b"\xff\xfe\x00",
        b"<xml>",
        b"<xml><Encrypt>",
        b"<xml><Encrypt></xml>",
        b"<xml><Encrypt>!!!not base64!!!</Encrypt></xml>",
        b"<xml><Encrypt>QUJD</Encrypt></xml>",
        b"<xml><Encrypt/></xml>",
        b"</xml>",
        b"<<<<>>>>",
        b"{",
        b"{\"encrypt\":",
        b"{\"encrypt\":null}",
        b"{\"encrypt\":{\"a\":1}}",
        b"[\"encrypt\"]",
        b"{\"encrypt\":\"QUJD\"} trailing",
        b"<!DOCTYPE xml [<!ENTITY a \"aaaa\">]><xml><Encrypt>&a;</Encrypt></xml>",
    ];
    for body in junk {
        let err = c.decrypt_request(&query, body).unwrap_err();
        // None of it is quoted back.
        assert!(!format!("{err} {err:?}").contains("QUJD"), "{err}");
    }
}

#[test]
fn a_replay_inside_the_window_is_a_duplicate_outside_it_is_refused() {
    // The default windows line up: dedup remembers at least as long as a timestamp is fresh.
    let c = crypto();
    assert!(wecom_api::callback::DEFAULT_DEDUP_WINDOW >= c.max_age().expect("on by default"));
    let dedup = Dedup::default();
    let (query, body) = request(&c, TEXT, now() - 200);
    let first = c.open_request(&query, &body).unwrap();
    let Claim::New(claim) = dedup.claim(&first.dedup_key()) else {
        panic!("new")
    };
    claim.done();
    // Replayed 100 s later, still inside the 300 s window: caught by dedup.
    let replay = c.open_request(&query, &body).unwrap();
    assert!(matches!(dedup.claim(&replay.dedup_key()), Claim::Done));
    // Replayed when the timestamp is 400 s old: refused before dedup.
    let (query, body) = request(&c, TEXT, now() - 400);
    assert!(c.open_request(&query, &body).is_err());
}

#[test]
fn the_freshness_window_refuses_replays() {
    let c = crypto().with_max_age(Duration::from_secs(300));
    let (query, body) = request(&c, TEXT, now());
    assert!(c.open_request(&query, &body).is_ok());

    for (what, ts) in [
        ("an hour old", now() - 3600),
        ("an hour ahead", now() + 3600),
    ] {
        let (query, body) = request(&c, TEXT, ts);
        let err = c.open_request(&query, &body).unwrap_err();
        assert!(err.to_string().contains("replay"), "{what}: {err}");
        // On by default (5 minutes); only an explicit opt-out opens it.
        let err = crypto().open_request(&query, &body).unwrap_err();
        assert!(
            err.to_string().contains("replay"),
            "{what} by default: {err}"
        );
        assert!(
            crypto()
                .without_max_age()
                .open_request(&query, &body)
                .is_ok(),
            "{what}"
        );
    }
    // A forged timestamp fails the signature first: the window is not an oracle.
    let (query, body) = request(&c, TEXT, now() - 3600);
    let forged = query.replace(&format!("timestamp={}", now() - 3600), "timestamp=1");
    let err = c.open_request(&forged, &body).unwrap_err();
    assert!(err.to_string().contains("signature"), "{err}");
}

#[test]
fn a_failed_handler_does_not_swallow_the_retry() {
    let c = crypto();
    let dedup = Dedup::default();
    let (query, body) = request(&c, TEXT, now());
    let mut handled = 0;
    // WeCom sends the callback, then retries it (up to three times).
    for (delivery, handler_fails) in [(1, true), (2, false), (3, false)] {
        let callback = c.open_request(&query, &body).unwrap();
        let claim = match dedup.claim(&callback.dedup_key()) {
            Claim::New(claim) => claim,
            Claim::Done => {
                assert_eq!(delivery, 3, "only the retry after a success is skipped");
                continue;
            }
            Claim::InProgress => panic!("no attempt is running"),
        };
        if handler_fails {
            drop(claim); // the handler returned an error: WeCom's retry must be handled
            continue;
        }
        handled += 1;
        claim.done();
    }
    assert_eq!(handled, 1);

    // The one-step form, with `forget` on failure.
    let key = "event:sys:1:abc";
    assert!(dedup.first_time(key));
    dedup.forget(key);
    assert!(dedup.first_time(key));
    assert!(!dedup.first_time(key));
}

/// Every element name of `spec/callbacks.yaml` (`name: X` in a field list).
fn spec_field_names() -> Vec<String> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../spec/callbacks.yaml");
    let text = std::fs::read_to_string(path).expect("spec/callbacks.yaml");
    let mut names: Vec<String> = text
        .split("{ name: ")
        .skip(1)
        .filter_map(|rest| {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            (!name.is_empty()).then_some(name)
        })
        .collect();
    names.sort();
    names.dedup();
    names
}

/// Element names that look like credentials but are not (reviewed one by one).
const NOT_SECRET: [&str; 5] = [
    "ErrCode",      // an error code
    "ScanCodeInfo", // the scan result container (type, result)
    "EventKey",     // a menu key
    "QuestionKey",  // a form question id
    "ChangeType",
];

fn looks_like_a_credential(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    [
        "token",
        "ticket",
        "secret",
        "aeskey",
        "password",
        "code",
        "sessionkey",
    ]
    .iter()
    .any(|w| n.ends_with(w))
}

#[test]
fn every_credential_like_element_of_the_spec_is_masked_in_debug() {
    let names: Vec<String> = spec_field_names()
        .into_iter()
        .filter(|n| looks_like_a_credential(n) && !NOT_SECRET.contains(&n.as_str()))
        .collect();
    for expected in [
        "AuthCode",
        "SuiteTicket",
        "AccessToken",
        "Token",
        "WelcomeCode",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} in {names:?}"
        );
    }
    // An InfoType this version does not know keeps every element as sent, whatever its
    // case; third-party ones (PermanentCode, auth_code) are not in the spec yet.
    let mut xml = String::from(
        "<xml><SuiteId>ww1</SuiteId><InfoType>not_yet_known</InfoType><TimeStamp>1</TimeStamp>",
    );
    let mut all = names.clone();
    all.extend(
        [
            "PermanentCode",
            "permanent_code",
            "auth_code",
            "SUITE_TICKET",
            "EncodingAESKey",
        ]
        .map(String::from),
    );
    for name in &all {
        xml.push_str(&format!("<{name}>SENTINEL-{name}</{name}>"));
    }
    xml.push_str("<Nested><Item><AuthCode>SENTINEL-deep</AuthCode></Item></Nested></xml>");
    let callback = Callback::parse(&xml).unwrap();
    assert!(
        matches!(callback, Callback::Event(Event::Unknown(_))),
        "{callback:?}"
    );
    let shown = format!("{callback:?}");
    assert!(!shown.contains("SENTINEL"), "{shown}");
    assert!(shown.contains("not_yet_known"), "{shown}");
}

#[test]
fn typed_suite_callbacks_hide_their_credentials() {
    let create = "<xml><SuiteId>ww4asffe99e54c0f4c</SuiteId>\
        <AuthCode><![CDATA[AUTHCODE-SECRET-1]]></AuthCode>\
        <InfoType>create_auth</InfoType><TimeStamp>1403610513</TimeStamp>\
        <PermanentCode>PERMANENT-SECRET-2</PermanentCode></xml>";
    let ticket = "<xml><SuiteId>ww4asffe99e54c0f4c</SuiteId><InfoType>suite_ticket</InfoType>\
        <TimeStamp>1403610513</TimeStamp><SuiteTicket>SUITE-TICKET-SECRET-3</SuiteTicket></xml>";
    for xml in [create, ticket] {
        let callback = Callback::parse(xml).unwrap();
        let shown = format!("{callback:?} {:?}", callback.to_fields());
        assert!(!shown.contains("SECRET"), "{shown}");
    }
}
