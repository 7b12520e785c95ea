//! Issue 9, item 4: an unauthenticated callback body costs memory and time in proportion
//! to nothing but its size limit. A counting allocator (per thread, so parallel tests do
//! not mix) measures the peak of what each call allocates.
//!
//! Figures (printed with `--nocapture`):
//! `cargo test -p wecom-api-tests --test hardening_callback_memory -- --nocapture`

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::time::{Duration, Instant};

use proptest::prelude::*;
use wecom_api::Error;
use wecom_api::callback::{CallbackCrypto, parse_fields};

struct Counting;

thread_local! {
    static CURRENT: Cell<usize> = const { Cell::new(0) };
    static PEAK: Cell<usize> = const { Cell::new(0) };
}

fn add(n: usize) {
    let _ = CURRENT.try_with(|c| {
        let now = c.get().saturating_add(n);
        c.set(now);
        let _ = PEAK.try_with(|p| p.set(p.get().max(now)));
    });
}

fn sub(n: usize) {
    let _ = CURRENT.try_with(|c| c.set(c.get().saturating_sub(n)));
}

// SAFETY: forwards to the system allocator; only counts sizes in thread-local cells.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        add(layout.size());
        // SAFETY: same layout, handed on unchanged.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        sub(layout.size());
        // SAFETY: the pointer came from `System.alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        add(new_size);
        sub(layout.size());
        // SAFETY: as for `System.realloc`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// Runs `f`, returning its result, the peak of bytes it had allocated at once on this
/// thread, and its duration.
fn measure<T>(f: impl FnOnce() -> T) -> (T, usize, Duration) {
    let base = CURRENT.with(Cell::get);
    PEAK.with(|p| p.set(base));
    let started = Instant::now();
    let out = f();
    let took = started.elapsed();
    let peak = PEAK.with(Cell::get).saturating_sub(base);
    (out, peak, took)
}

const KEY: &str = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C";
const QUERY: &str =
    "msg_signature=477715d11cdb4164915debcba66cb864d751f3e6&timestamp=1409659813&nonce=1372623149";

fn crypto() -> CallbackCrypto {
    CallbackCrypto::new("QDG6eK", KEY, "wx5823bf96d3bd56c7")
        .expect("sample settings")
        .without_max_age()
}

/// 16 MiB of small elements, then an `Encrypt` WeCom never signed.
fn hostile_body(size: usize) -> Vec<u8> {
    let mut body = b"<xml>".to_vec();
    while body.len() < size {
        body.extend_from_slice(b"<a>1</a>");
    }
    body.extend_from_slice(
        b"<Encrypt><![CDATA[AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=]]></Encrypt></xml>",
    );
    body
}

const MB: f64 = 1024.0 * 1024.0;

#[test]
fn a_16_mb_hostile_body_costs_next_to_nothing() {
    let body = hostile_body(16 * 1024 * 1024);

    // Before: the whole body became an element tree before the signature was checked
    // (what `encrypted_payload` did by calling `parse_fields`).
    let (tree, before, before_took) = measure(|| {
        let text = std::str::from_utf8(&body).expect("utf-8");
        parse_fields(text).map(|f| f.len())
    });
    assert!(tree.is_ok());

    // After: refused by size before anything is read.
    let (refused, capped, capped_took) = measure(|| crypto().decrypt_request(QUERY, &body));
    assert!(
        matches!(
            refused,
            Err(Error::TooLarge {
                what: "callback body",
                ..
            })
        ),
        "{refused:?}"
    );

    // After, with the cap raised above the body: scanned for Encrypt, then the signature
    // refuses it; nothing in proportion to the body is kept.
    let raised = crypto().with_max_body_size(32 * 1024 * 1024);
    let (scanned, scan_peak, scan_took) = measure(|| raised.decrypt_request(QUERY, &body));
    let err = scanned.expect_err("unsigned");
    assert!(err.to_string().contains("signature"), "{err}");

    println!(
        "FIGURE item 4: 16 MiB hostile body: before (element tree) peak {:.1} MiB in {} ms; \
         after, default 1 MiB cap: peak {} bytes in {} µs; after, cap raised to 32 MiB \
         (scan + signature check): peak {} bytes in {} ms",
        before as f64 / MB,
        before_took.as_millis(),
        capped,
        capped_took.as_micros(),
        scan_peak,
        scan_took.as_millis(),
    );
    assert!(capped < 64 * 1024, "{capped}");
    assert!(scan_peak < 1024 * 1024, "{scan_peak}");
}

#[test]
fn a_non_string_encrypt_in_json_is_skipped_unbuilt() {
    // 1 MiB of `{"encrypt":[0,0,...]}`: the value was once built as a serde_json::Value
    // (about 16x its size) before being found not to be a string.
    let mut body = b"{\"encrypt\":[0".to_vec();
    while body.len() < 1024 * 1024 - 16 {
        body.extend_from_slice(b",0");
    }
    body.extend_from_slice(b"]}");
    let (out, peak, _) = measure(|| crypto().decrypt_request(QUERY, &body));
    assert!(out.unwrap_err().to_string().contains("no Encrypt"));
    assert!(
        peak < 64 * 1024,
        "peak {peak} bytes for a {} byte body",
        body.len()
    );
}

#[test]
fn deep_nesting_is_refused_cheaply() {
    // 700 KB: under the 1 MiB cap, so the scan itself is what refuses it.
    let depth = 100_000;
    let mut xml = "<a>".repeat(depth);
    xml.push_str(&"</a>".repeat(depth));
    let (out, peak, _) = measure(|| crypto().decrypt_request(QUERY, xml.as_bytes()));
    assert!(out.unwrap_err().to_string().contains("nested"));
    assert!(peak < 64 * 1024, "{peak}");

    let json = "[".repeat(depth) + &"]".repeat(depth);
    let (out, peak, _) = measure(|| crypto().decrypt_request(QUERY, json.as_bytes()));
    assert!(out.is_err());
    assert!(peak < 64 * 1024, "{peak}");
    // A value that is skipped: serde_json keeps one byte per open bracket, so at most
    // the body's size (itself capped).
    let json = format!("{{\"a\":{}{}}}", "[".repeat(depth), "]".repeat(depth));
    let (out, peak, _) = measure(|| crypto().decrypt_request(QUERY, json.as_bytes()));
    assert!(out.is_err());
    assert!(peak <= json.len(), "{peak}");
}

/// Pieces of callback bodies, shuffled into random documents.
fn piece() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "<xml>",
        "</xml>",
        "<Encrypt>",
        "</Encrypt>",
        "<Encrypt/>",
        "<a>",
        "</a>",
        "<b x=\"1\">",
        "</b>",
        "<![CDATA[",
        "]]>",
        "&amp;",
        "&#x4e2d;",
        "&bogus;",
        "<!-- c -->",
        "<?pi x?>",
        "QUJD",
        "x",
        " ",
        "\n",
        "{",
        "}",
        "[",
        "]",
        ",",
        ":",
        "\"",
        "\"encrypt\"",
        "\"Encrypt\":\"QUJD\"",
        "1",
        "\u{feff}",
        "中",
    ])
}

fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..4096),
        (proptest::collection::vec(piece(), 0..400), 1usize..40)
            .prop_map(|(pieces, times)| { pieces.concat().repeat(times).into_bytes() }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]

    /// Any body: refused (nothing is signed) without a panic, with a peak allocation
    /// bounded by its size, and quickly (a generous bound: it is a hang check).
    #[test]
    fn any_body_is_refused_within_bounds(body in body()) {
        let crypto = crypto();
        let (out, peak, took) = measure(|| crypto.decrypt_request(QUERY, &body));
        prop_assert!(out.is_err());
        prop_assert!(peak <= 2 * body.len() + 64 * 1024, "peak {} for {} bytes", peak, body.len());
        prop_assert!(took < Duration::from_secs(5), "{:?}", took);
    }
}
