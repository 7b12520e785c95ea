//! Property tests of the callback runtime: arbitrary input never panics, and whatever is
//! encrypted decrypts back to itself. Case counts stay modest so the suite stays fast.

use proptest::prelude::*;
use wecom_api::callback::{
    Callback, CallbackCrypto, CallbackQuery, Reply, encrypted_payload, parse_fields,
};

const KEY: &str = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C";

fn crypto() -> CallbackCrypto {
    CallbackCrypto::new("QDG6eK", KEY, "wx5823bf96d3bd56c7")
        .expect("sample settings")
        .without_max_age()
}

/// 43 characters of the base64 alphabet: any of them is a usable EncodingAESKey.
fn key() -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop::sample::select(
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
                .chars()
                .collect::<Vec<_>>(),
        ),
        43,
    )
    .prop_map(|chars| chars.into_iter().collect())
}

/// Text that XML 1.0 can carry (no control characters but tab and newline).
fn xml_text() -> impl Strategy<Value = String> {
    "[^\\x00-\\x08\\x0b-\\x1f\\r\\u{fffe}\\u{ffff}]{0,60}"
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, .. ProptestConfig::default() })]

    /// Encrypt then decrypt returns the input, for any message, key, token and receive id
    /// (including the empty one), and the reply envelope verifies.
    #[test]
    fn encrypt_then_decrypt_round_trips(
        message in any::<String>(),
        key in key(),
        token in "[A-Za-z0-9]{1,32}",
        receive_id in "[A-Za-z0-9]{0,24}",
        prefix in any::<[u8; 16]>(),
        timestamp in "[0-9]{1,10}",
        nonce in "[A-Za-z0-9]{1,16}",
    ) {
        let c = CallbackCrypto::new(&token, &key, &receive_id).unwrap().without_max_age();
        let encrypted = c.encrypt_with_prefix(message.as_bytes(), prefix).unwrap();
        let signature = c.signature(&timestamp, &nonce, &encrypted);
        prop_assert_eq!(c.decrypt(&signature, &timestamp, &nonce, &encrypted).unwrap(), message.clone());

        let envelope = c.encrypt_reply(&message, &timestamp, &nonce).unwrap();
        let fields = parse_fields(&envelope).unwrap();
        let text = |k: &str| fields.text(k).unwrap_or_default();
        prop_assert_eq!(&text("TimeStamp"), &timestamp);
        let plain = c
            .decrypt(&text("MsgSignature"), &timestamp, &nonce, &text("Encrypt"))
            .unwrap();
        prop_assert_eq!(plain, message);
    }

    /// Arbitrary signatures, timestamps, nonces and ciphertexts are refused or decrypted,
    /// never a panic; with a correct signature over garbage, the framing checks refuse it.
    #[test]
    fn decrypt_never_panics(
        signature in ".{0,48}",
        timestamp in ".{0,12}",
        nonce in ".{0,12}",
        encrypt in "[A-Za-z0-9+/=]{0,200}|.{0,64}",
    ) {
        let c = crypto();
        let _ = c.decrypt(&signature, &timestamp, &nonce, &encrypt);
        let _ = c.verify_url(&signature, &timestamp, &nonce, &encrypt);
        let signed = c.signature(&timestamp, &nonce, &encrypt);
        let _ = c.decrypt(&signed, &timestamp, &nonce, &encrypt);
    }

    /// Correctly signed random ciphertexts of block-aligned length reach the padding and
    /// length checks: refused with an error, never a panic or out-of-bounds slice.
    #[test]
    fn signed_random_blocks_are_refused_cleanly(blocks in proptest::collection::vec(any::<[u8; 32]>(), 1..6)) {
        use base64::Engine as _;
        let raw: Vec<u8> = blocks.concat();
        let encrypt = base64::engine::general_purpose::STANDARD.encode(raw);
        let c = crypto();
        let signed = c.signature("1", "n", &encrypt);
        // Random data almost never frames correctly; when it does, it must still be text.
        if let Err(e) = c.decrypt(&signed, "1", "n", &encrypt) {
            prop_assert!(e.to_string().starts_with("crypto error"), "{}", e);
        }
    }

    /// Whole requests: any query string and body bytes give a result, never a panic.
    #[test]
    fn requests_never_panic(query in ".{0,120}", body in proptest::collection::vec(any::<u8>(), 0..200)) {
        let c = crypto();
        let _ = CallbackQuery::parse(&query);
        let _ = encrypted_payload(&body);
        let _ = c.verify_url_request(&query);
        let _ = c.decrypt_request(&query, &body);
        let _ = c.open_request(&query, &body);
    }

    /// Parsing arbitrary text, or XML made of random tags and text, never panics.
    #[test]
    fn parsing_never_panics(text in ".{0,200}", tags in proptest::collection::vec(("[A-Za-z]{1,6}", xml_text(), any::<bool>()), 0..12)) {
        let _ = Callback::parse(&text);
        let _ = Reply::parse(&text);
        let mut xml = String::from("<xml>");
        let mut open = Vec::new();
        for (tag, body, close) in tags {
            xml.push_str(&format!("<{tag}><![CDATA[{body}]]>"));
            open.push(tag);
            if close {
                if let Some(t) = open.pop() {
                    xml.push_str(&format!("</{t}>"));
                }
            }
        }
        while let Some(t) = open.pop() {
            xml.push_str(&format!("</{t}>"));
        }
        xml.push_str("</xml>");
        prop_assert!(parse_fields(&xml).is_ok(), "{}", xml);
        let _ = Callback::parse(&xml);
    }

    /// A typed text message keeps any content exactly, CDATA terminators included.
    #[test]
    fn text_messages_keep_their_content(content in xml_text(), msg_id in any::<u64>()) {
        let xml = format!(
            "<xml><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[{}]]></Content><MsgId>{msg_id}</MsgId></xml>",
            content.replace("]]>", "]]]]><![CDATA[>")
        );
        let Callback::Message(wecom_api::callback::Message::Text(text)) = Callback::parse(&xml).unwrap() else {
            panic!("not a text message: {xml}")
        };
        prop_assert_eq!(text.content.as_deref(), Some(content.as_str()));
        prop_assert_eq!(text.msg_id, Some(msg_id.to_string()));
    }

    /// Replies written out read back the same, whatever their text.
    #[test]
    fn replies_round_trip(content in xml_text(), to in xml_text(), time in any::<i64>()) {
        for reply in [Reply::text(content.clone()), Reply::update_button(content.clone()), Reply::image(content.clone())] {
            let reply = reply.addressed(to.clone(), "corp", time);
            prop_assert_eq!(Reply::parse(&reply.to_xml()).unwrap(), reply);
        }
    }
}

mod endpoint {
    use std::sync::OnceLock;

    use proptest::prelude::*;
    use wecom_api::callback::{
        Callback, CallbackCrypto, Context, Endpoint, HandlerResult, Registry, Reply, Router, Source,
    };

    const KEY: &str = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C";

    fn crypto() -> CallbackCrypto {
        CallbackCrypto::new("QDG6eK", KEY, "wwcorp").expect("sample settings")
    }

    async fn echo(_ctx: Context<()>, callback: Callback) -> HandlerResult {
        Ok(Some(Reply::text(callback.kind())))
    }

    fn endpoint() -> &'static Endpoint<()> {
        static ENDPOINT: OnceLock<Endpoint<()>> = OnceLock::new();
        ENDPOINT.get_or_init(|| {
            let registry = Registry::new();
            registry.insert(Source::new("app", crypto()));
            Endpoint::new(registry, Router::new().fallback(echo), ())
        })
    }

    fn runtime() -> &'static tokio::runtime::Runtime {
        static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
        RUNTIME.get_or_init(|| {
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .expect("runtime")
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 128, .. ProptestConfig::default() })]

        /// Any query and body: an answer with a status, never a panic or a hang.
        #[test]
        fn any_request_gets_an_answer(query in ".{0,200}", body in proptest::collection::vec(any::<u8>(), 0..400)) {
            let answer = runtime().block_on(endpoint().receive(&query, &body));
            prop_assert!([400, 403, 413].contains(&answer.status), "{answer:?}");
            let verified = endpoint().verify(&query);
            prop_assert!([400, 403].contains(&verified.status), "{verified:?}");
        }

        /// Any authenticated plaintext: handled or refused as malformed, never a panic.
        #[test]
        fn any_sealed_plaintext_is_handled_or_refused(plaintext in ".{0,300}", msg in "[a-z_]{0,12}") {
            let xml = format!("<xml><MsgType>{msg}</MsgType><MsgId>{}</MsgId>{plaintext}</xml>", plaintext.len());
            for text in [xml, plaintext] {
                let sealed = crypto().seal_request(&text).unwrap();
                let answer = runtime().block_on(endpoint().receive(&sealed.query, sealed.body.as_bytes()));
                prop_assert!([200, 400].contains(&answer.status), "{answer:?}");
            }
        }
    }
}
