//! Every WXBizMsgCrypt vector: positive ones decrypt exactly and re-encrypt byte for byte
//! with their recorded random prefix (and reproduce the recorded reply XML); negative ones
//! are refused with an error naming the failed check.

use serde_json::Value;
use wecom_api::callback::CallbackCrypto;

const OFFICIAL: &str = include_str!("../data/callback/callback_vectors.json");
const GENERATED: &str = include_str!("../data/callback/callback_generated.json");
const NEGATIVE: &str = include_str!("../data/callback/callback_negative.json");

fn vectors(text: &str) -> Vec<Value> {
    let doc: Value = serde_json::from_str(text).expect("vector file is JSON");
    doc["vectors"].as_array().expect("a vectors array").clone()
}

fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("{}: no `{key}`", v["id"]))
}

fn crypto(v: &Value) -> CallbackCrypto {
    CallbackCrypto::new(s(v, "token"), s(v, "encoding_aes_key"), s(v, "receive_id"))
        .unwrap_or_else(|e| panic!("{}: {e}", v["id"]))
        .without_max_age() // recorded vectors, most of them years old
}

fn prefix(text: &str) -> [u8; 16] {
    text.as_bytes()
        .try_into()
        .unwrap_or_else(|_| panic!("`{text}` is not a 16-byte prefix"))
}

/// The ciphertext a positive vector carries: `Encrypt`, or `echostr` for URL checks.
fn ciphertext(v: &Value) -> &str {
    v["encrypt"]
        .as_str()
        .or_else(|| v["echostr"].as_str())
        .expect("encrypt or echostr")
}

/// Runs one positive vector; returns what was checked, for the summary.
fn check_positive(v: &Value) -> Vec<&'static str> {
    let id = v["id"].as_str().unwrap_or("?");
    let c = crypto(v);
    let expected = s(v, "expected_plaintext");
    let encrypted = ciphertext(v);
    let mut checked = Vec::new();

    // Decrypt: with the recorded signature where there is one.
    let plain = match v["msg_signature"].as_str() {
        Some(sig) => {
            let (ts, nonce) = (s(v, "timestamp"), s(v, "nonce"));
            if v["kind"] == "verify_url" && v.get("echostr").is_some() {
                c.verify_url(sig, ts, nonce, encrypted)
            } else {
                c.decrypt(sig, ts, nonce, encrypted)
            }
        }
        None => c.decrypt(&c.signature("0", "0", encrypted), "0", "0", encrypted),
    }
    .unwrap_or_else(|e| panic!("{id}: {e}"));
    assert_eq!(plain, expected, "{id}");
    checked.push("decrypt");

    // Whole requests: the raw query string and the POST body as WeCom sent them.
    if let Some(query) = v["raw_query"].as_str() {
        assert_eq!(c.verify_url_request(query).unwrap(), expected, "{id}");
        checked.push("verify_url_request");
    }
    if let (Some(body), Some(sig)) = (v["post_body"].as_str(), v["msg_signature"].as_str()) {
        let query = format!(
            "msg_signature={sig}&timestamp={}&nonce={}",
            s(v, "timestamp"),
            s(v, "nonce")
        );
        assert_eq!(
            c.decrypt_request(&query, body.as_bytes()).unwrap(),
            expected,
            "{id}"
        );
        checked.push("decrypt_request");
    }

    // Byte-for-byte re-encryption with the recorded random prefix.
    let random = v["random16"]
        .as_str()
        .or_else(|| v["decrypted_random16"].as_str())
        .expect("a recorded prefix");
    let message = v["plaintext_in"].as_str().unwrap_or(expected);
    assert_eq!(
        c.encrypt_with_prefix(message.as_bytes(), prefix(random))
            .unwrap(),
        encrypted,
        "{id}: re-encryption"
    );
    checked.push("re-encrypt");
    if let Some(sig) = v["msg_signature"].as_str() {
        assert_eq!(
            c.signature(s(v, "timestamp"), s(v, "nonce"), encrypted),
            sig,
            "{id}"
        );
    }
    if let Some(reply) = v["reply_xml"].as_str() {
        let built = c
            .encrypt_reply_with_prefix(message, s(v, "timestamp"), s(v, "nonce"), prefix(random))
            .unwrap();
        assert_eq!(built, reply, "{id}: reply XML");
        checked.push("reply");
    }
    checked
}

#[test]
fn official_and_peer_vectors_pass() {
    let all = vectors(OFFICIAL);
    assert_eq!(all.len(), 11, "callback_vectors.json changed size");
    for v in &all {
        let checked = check_positive(v);
        assert!(checked.contains(&"re-encrypt"), "{}", v["id"]);
    }
}

#[test]
fn generated_edge_case_vectors_pass() {
    let all = vectors(GENERATED);
    assert_eq!(all.len(), 20, "callback_generated.json changed size");
    for v in &all {
        let checked = check_positive(v);
        assert!(checked.contains(&"reply"), "{}", v["id"]);
        assert!(checked.contains(&"decrypt_request"), "{}", v["id"]);
    }
}

#[test]
fn negative_vectors_are_refused_naming_the_check() {
    let all = vectors(NEGATIVE);
    assert_eq!(all.len(), 7, "callback_negative.json changed size");
    for v in &all {
        let id = s(v, "id");
        let want = match id {
            "bad-signature" => "signature",
            "wrong-receive-id" => "receive id",
            "pad-byte-33" => "padding",
            "msg-len-overflow" => "length field",
            "body-too-short" => "too short",
            "ciphertext-not-block-multiple" | "empty-encrypt" => "multiple of 32",
            other => panic!("no expectation for negative vector {other}"),
        };
        let err = crypto(v)
            .decrypt(
                s(v, "msg_signature"),
                s(v, "timestamp"),
                s(v, "nonce"),
                s(v, "encrypt"),
            )
            .expect_err(id);
        let shown = err.to_string();
        assert!(shown.contains(want), "{id}: `{shown}` should name `{want}`");
        // The failure never shows the token or the key.
        assert!(!shown.contains(s(v, "token")) && !shown.contains(s(v, "encoding_aes_key")));
    }
}

#[test]
fn tampering_with_any_signed_value_is_refused() {
    let v = &vectors(OFFICIAL)[1];
    let c = crypto(v);
    let (sig, ts, nonce, enc) = (
        s(v, "msg_signature"),
        s(v, "timestamp"),
        s(v, "nonce"),
        s(v, "encrypt"),
    );
    assert!(c.decrypt(sig, ts, nonce, enc).is_ok());
    assert!(c.decrypt(sig, "1409659814", nonce, enc).is_err());
    assert!(c.decrypt(sig, ts, "1372623148", enc).is_err());
    let flipped = format!("{}A{}", &enc[..10], &enc[11..]);
    assert!(c.decrypt(sig, ts, nonce, &flipped).is_err());
    let other = CallbackCrypto::new("other", s(v, "encoding_aes_key"), s(v, "receive_id"))
        .unwrap()
        .without_max_age();
    assert!(other.decrypt(sig, ts, nonce, enc).is_err());
}
