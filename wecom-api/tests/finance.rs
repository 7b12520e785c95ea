//! The Finance SDK wrapper against a stand-in library built here with `cc`
//! (finance_support/mock_sdk.c), and against WeCom's real library when
//! `WECOM_FINANCE_SDK_LIB` points at it (CI sets it).

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use base64::Engine;
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::pkcs8::{EncodePrivateKey, LineEnding};
use rsa::rand_core::OsRng;
use rsa::{Pkcs1v15Encrypt, RsaPrivateKey, RsaPublicKey};
use wecom_api::Secret;
use wecom_api::archive::ArchivedContent;
use wecom_api::finance::{
    Archive, ArchiveBackend, Checkpoint, FinanceError, FinanceSdk, InProcessBackend, KeyRing,
    MemoryCheckpoint, NetworkOptions, PulledMessage, Puller, SdkCode, StuckCall, WorkerBackend,
    WorkerConfig,
};

/// The stand-in library, built once per test binary.
fn mock_library() -> &'static Path {
    static LIB: OnceLock<PathBuf> = OnceLock::new();
    LIB.get_or_init(|| {
        let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/finance_support/mock_sdk.c");
        let out =
            std::env::temp_dir().join(format!("wecom-finance-mock-{}.so", std::process::id()));
        let status = std::process::Command::new("cc")
            .args(["-shared", "-fPIC", "-O1", "-o"])
            .arg(&out)
            .arg(&source)
            .status()
            .expect("cc runs");
        assert!(status.success(), "building the mock Finance SDK failed");
        out
    })
}

/// Objects the stand-in library allocated and nobody freed yet (read from the same
/// loaded copy the wrapper uses: dlopen hands back the same library).
fn live_objects() -> std::ffi::c_long {
    let lib = unsafe { libloading::Library::new(mock_library()) }.expect("mock loads");
    let count: libloading::Symbol<unsafe extern "C" fn() -> std::ffi::c_long> =
        unsafe { lib.get(b"MockLiveObjects\0") }.expect("counter");
    unsafe { count() }
}

/// A scripted directory for the stand-in (its corp id), removed on drop.
struct Script(PathBuf);

impl Script {
    fn new(name: &str) -> Script {
        let dir = std::env::temp_dir().join(format!("wecom-finance-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        Script(dir)
    }
    fn corp_id(&self) -> String {
        self.0.to_string_lossy().into_owned()
    }
    fn put(&self, name: &str, content: impl AsRef<[u8]>) {
        std::fs::write(self.0.join(name), content).expect("write script file");
    }
}

impl Drop for Script {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// One RSA key pair for all tests (1024 bits: fast; the scheme is the same).
fn key() -> &'static RsaPrivateKey {
    static KEY: OnceLock<RsaPrivateKey> = OnceLock::new();
    KEY.get_or_init(|| RsaPrivateKey::new(&mut OsRng, 1024).expect("key generation"))
}

fn key_ring(version: u32) -> KeyRing {
    let mut ring = KeyRing::new();
    let pem = key().to_pkcs8_pem(LineEnding::LF).expect("pem");
    ring.add_pem(version, &pem).expect("pkcs8 key");
    ring
}

/// One archived message as GetChatData returns it: the random key RSA-encrypted with the
/// public key, the message "encrypted" for the stand-in's DecryptData.
fn encrypted_item(
    seq: u64,
    version: u32,
    random_key: &str,
    message: &serde_json::Value,
) -> serde_json::Value {
    let public = RsaPublicKey::from(key());
    let cipher = public
        .encrypt(&mut OsRng, Pkcs1v15Encrypt, random_key.as_bytes())
        .expect("encrypt");
    serde_json::json!({
        "seq": seq,
        "msgid": message["msgid"],
        "publickey_ver": version,
        "encrypt_random_key": base64::engine::general_purpose::STANDARD.encode(cipher),
        "encrypt_chat_msg": format!("{random_key}|{message}"),
    })
}

fn text_message(msgid: &str, content: &str) -> serde_json::Value {
    serde_json::json!({
        "msgid": msgid, "action": "send", "from": "XuJinSheng", "tolist": ["icefog"],
        "roomid": "", "msgtime": 1547087894783u64, "msgtype": "text", "text": {"content": content}
    })
}

fn batch(items: &[serde_json::Value]) -> String {
    serde_json::json!({"errcode": 0, "errmsg": "ok", "chatdata": items}).to_string()
}

fn net(timeout_secs: u32) -> NetworkOptions {
    NetworkOptions {
        timeout_secs,
        ..NetworkOptions::default()
    }
}

fn in_process(script: &Script) -> Arc<dyn ArchiveBackend> {
    let sdk = FinanceSdk::open(
        mock_library(),
        &script.corp_id(),
        &Secret::from("archive-secret"),
    )
    .expect("mock opens");
    Arc::new(InProcessBackend::new(sdk))
}

fn worker_config(script: &Script) -> WorkerConfig {
    WorkerConfig {
        worker_exe: PathBuf::from(env!("CARGO_BIN_EXE_wecom-finance-worker")),
        library: mock_library().to_path_buf(),
        corp_id: script.corp_id(),
        secret: Secret::from("archive-secret"),
    }
}

fn worker(script: &Script) -> Arc<WorkerBackend> {
    Arc::new(WorkerBackend::new(worker_config(script)))
}

#[test]
fn a_missing_library_is_a_clear_error() {
    let err = FinanceSdk::open(
        Path::new("/nowhere/libWeWorkFinanceSdk_C.so"),
        "ww1",
        &Secret::from("s"),
    )
    .expect_err("no library there");
    let text = err.to_string();
    assert!(matches!(err, FinanceError::Load { .. }), "{err:?}");
    assert!(
        text.contains("/nowhere/libWeWorkFinanceSdk_C.so") && text.contains("no such file"),
        "{text}"
    );
}

#[test]
fn a_library_without_the_sdk_functions_is_refused_by_name() {
    // Any shared library that is not the SDK: the test's own stand-in lacks nothing, so
    // use the C library.
    let libc = [
        "/lib/x86_64-linux-gnu/libc.so.6",
        "/lib/aarch64-linux-gnu/libc.so.6",
        "/lib64/libc.so.6",
    ]
    .into_iter()
    .map(Path::new)
    .find(|p| p.is_file());
    let Some(libc) = libc else {
        eprintln!("note: no libc.so.6 at a known path; skipped");
        return;
    };
    let err = FinanceSdk::open(libc, "ww1", &Secret::from("s")).expect_err("libc is not the SDK");
    assert!(err.to_string().contains("missing function NewSdk"), "{err}");
}

#[test]
fn sdk_codes_carry_their_documented_meaning_and_retry_advice() {
    assert_eq!(SdkCode(10001).meaning(), Some("网络错误，网络请求错误"));
    assert!(
        SdkCode(10001).is_retryable()
            && SdkCode(10002).is_retryable()
            && SdkCode(10003).is_retryable()
    );
    for code in [
        10000, 10004, 10005, 10006, 10007, 10008, 10009, 10010, 10011,
    ] {
        assert!(SdkCode(code).meaning().is_some(), "{code}");
        assert!(!SdkCode(code).is_retryable(), "{code}");
    }
    assert_eq!(SdkCode(42).meaning(), None);
    assert_eq!(
        SdkCode(10007).to_string(),
        "10007 (找不到消息加密版本的私钥，需要重新传入私钥对)"
    );
}

#[test]
fn the_key_ring_reads_pkcs1_and_pkcs8_and_refuses_unknown_versions() {
    let mut ring = KeyRing::new();
    ring.add_pem(1, &key().to_pkcs1_pem(LineEnding::LF).expect("pem"))
        .expect("pkcs1");
    ring.add_pem(2, &key().to_pkcs8_pem(LineEnding::LF).expect("pem"))
        .expect("pkcs8");
    assert_eq!(ring.versions(), vec![1, 2]);
    let bad = ring.add_pem(
        3,
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----",
    );
    assert!(
        matches!(bad, Err(FinanceError::Key { version: 3, .. })),
        "{bad:?}"
    );

    let item = encrypted_item(1, 2, "random-key-16byt", &text_message("m1", "hi"));
    let cipher = item["encrypt_random_key"].as_str().expect("str");
    for version in [1, 2] {
        assert_eq!(
            ring.decrypt_random_key(version, cipher)
                .expect("decrypts")
                .expose(),
            "random-key-16byt"
        );
    }
    let unknown = ring.decrypt_random_key(7, cipher).expect_err("no key 7");
    assert!(
        unknown
            .to_string()
            .contains("no private key of version 7 in the key ring (have [1, 2])"),
        "{unknown}"
    );
    let garbage = ring
        .decrypt_random_key(1, "not base64!")
        .expect_err("garbage");
    assert!(garbage.to_string().contains("not base64"), "{garbage}");
    let other = RsaPrivateKey::new(&mut OsRng, 1024).expect("key");
    let mut wrong = KeyRing::new();
    wrong.add_key(2, other);
    assert!(matches!(
        wrong.decrypt_random_key(2, cipher),
        Err(FinanceError::Key { version: 2, .. })
    ));
    assert!(
        !format!("{ring:?}").contains("BEGIN"),
        "Debug shows versions only"
    );
}

#[tokio::test]
async fn in_process_fetch_decrypt_and_decode_end_to_end() {
    let script = Script::new("e2e");
    script.put(
        "chat_0.json",
        batch(&[
            encrypted_item(1, 3, "k-one", &text_message("m1", "hello")),
            encrypted_item(2, 3, "k-two", &text_message("m2", "world")),
        ]),
    );
    let archive = Archive::new(in_process(&script), key_ring(3), net(5));
    let items = archive.fetch(0, 100).await.expect("fetch");
    assert_eq!(items.iter().map(|i| i.seq).collect::<Vec<_>>(), vec![1, 2]);
    let record = archive.decrypt(&items[1]).await.expect("decrypt");
    assert_eq!(record.seq, 2);
    assert_eq!(record.message.msgid, "m2");
    assert_eq!(record.message.from_id.as_deref(), Some("XuJinSheng"));
    match &record.message.content {
        Some(ArchivedContent::Text(text)) => assert_eq!(text.content.as_deref(), Some("world")),
        other => panic!("not text: {other:?}"),
    }
    assert!(archive.fetch(2, 100).await.expect("fetch").is_empty());
    let over = archive.fetch(0, 1001).await.expect_err("limit over 1000");
    assert!(over.to_string().contains("limit 1001"), "{over}");
}

#[tokio::test]
async fn sdk_codes_reach_the_caller_typed() {
    let script = Script::new("codes");
    script.put("fail_5", "");
    let mut wrong_key = encrypted_item(1, 3, "k-one", &text_message("m1", "x"));
    wrong_key["encrypt_chat_msg"] = "another-key|{}".into();
    script.put("chat_0.json", batch(&[wrong_key]));
    let archive = Archive::new(in_process(&script), key_ring(3), net(5));

    let network = archive.fetch(5, 10).await.expect_err("scripted 10001");
    assert_eq!(network.sdk_code(), Some(SdkCode(10001)));
    assert!(network.is_retryable());
    assert!(
        network
            .to_string()
            .contains("GetChatData returned 10001 (网络错误"),
        "{network}"
    );

    let items = archive.fetch(0, 10).await.expect("fetch");
    let decrypt = archive.decrypt(&items[0]).await.expect_err("wrong key");
    assert_eq!(decrypt.sdk_code(), Some(SdkCode(10006)));
    assert!(!decrypt.is_retryable());

    let mut unknown = items[0].clone();
    unknown.publickey_ver = 9;
    assert!(matches!(
        archive.decrypt(&unknown).await,
        Err(FinanceError::UnknownKeyVersion { version: 9, .. })
    ));

    let api =
        wecom_api::finance::parse_chat_data(br#"{"errcode":301042,"errmsg":"ip not allowed"}"#)
            .expect_err("errcode");
    assert!(
        matches!(
            api,
            FinanceError::Api {
                errcode: 301042,
                ..
            }
        ),
        "{api:?}"
    );
}

#[tokio::test]
async fn media_is_streamed_in_pieces_and_every_native_object_is_freed() {
    let script = Script::new("media");
    let content: Vec<u8> = (0u8..=250).collect();
    script.put("media_FILEID", &content);
    let backend = in_process(&script);
    let archive = Archive::new(backend, key_ring(1), net(5));
    let mut out = Vec::new();
    let written = archive
        .download_media("FILEID", &mut out)
        .await
        .expect("download");
    assert_eq!(written, content.len() as u64);
    assert_eq!(out, content);
    let path = script.0.join("out.bin");
    archive
        .download_media_to_file("FILEID", &path)
        .await
        .expect("to file");
    assert_eq!(std::fs::read(&path).expect("read"), content);
    let missing = archive
        .download_media("NOPE", &mut Vec::new())
        .await
        .expect_err("no such file");
    assert_eq!(missing.sdk_code(), Some(SdkCode(10005)));
}

#[test]
fn native_objects_are_freed_exactly_once() {
    // Serial, in its own SDK: slices, media objects and the SDK itself balance out.
    let script = Script::new("leaks");
    script.put(
        "chat_0.json",
        batch(&[encrypted_item(1, 1, "k", &text_message("m1", "x"))]),
    );
    script.put("media_F", b"0123456789");
    let before = live_objects();
    {
        let sdk =
            FinanceSdk::open(mock_library(), &script.corp_id(), &Secret::from("s")).expect("open");
        let net = net(5);
        for _ in 0..50 {
            sdk.get_chat_data(0, 10, &net).expect("chat");
            sdk.decrypt_data(&Secret::from("k"), "k|{\"msgid\":\"m\"}")
                .expect("decrypt");
            let _ = sdk
                .decrypt_data(&Secret::from("k"), "wrong|{}")
                .expect_err("10006");
            sdk.get_media_chunk("F", "4", &net).expect("media");
            let _ = sdk.get_media_chunk("MISSING", "", &net).expect_err("10005");
        }
        assert!(live_objects() > before, "the open SDK is live");
    }
    // Other tests run in parallel on the same library; their objects come and go, so
    // wait for the count to settle back.
    let deadline = Instant::now() + Duration::from_secs(20);
    while live_objects() > before && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        live_objects() <= before,
        "objects leaked: {} > {before}",
        live_objects()
    );
}

#[tokio::test]
async fn a_crash_in_the_worker_fails_the_call_and_later_calls_go_on() {
    let script = Script::new("crash");
    script.put(
        "chat_0.json",
        batch(&[encrypted_item(1, 1, "k1", &text_message("m1", "before"))]),
    );
    script.put("crash_1", "");
    script.put(
        "chat_2.json",
        batch(&[encrypted_item(3, 1, "k3", &text_message("m3", "after"))]),
    );
    let backend = worker(&script);
    let archive = Archive::new(backend.clone(), key_ring(1), net(5));

    let first = archive.fetch(0, 10).await.expect("fetch");
    let record = archive
        .decrypt(&first[0])
        .await
        .expect("decrypt in the worker");
    assert_eq!(record.message.msgid, "m1");
    assert_eq!(backend.starts(), 1);

    let crash = archive.fetch(1, 10).await.expect_err("the worker crashes");
    match &crash {
        FinanceError::WorkerCrashed { call, status } => {
            assert_eq!(*call, "GetChatData");
            assert!(
                status.contains("signal") || status.contains("SIGSEGV"),
                "{status}"
            );
        }
        other => panic!("not a crash: {other:?}"),
    }
    assert!(crash.is_retryable());

    let later = archive
        .fetch(2, 10)
        .await
        .expect("a new worker serves the next call");
    let record = archive.decrypt(&later[0]).await.expect("decrypt");
    assert_eq!(record.message.msgid, "m3");
    assert_eq!(backend.starts(), 2);

    let mut media = Vec::new();
    script.put("media_M", b"worker media bytes");
    archive
        .download_media("M", &mut media)
        .await
        .expect("media through the worker");
    assert_eq!(media, b"worker media bytes");
}

#[tokio::test]
async fn a_slow_call_does_not_hold_up_another_in_a_pool_of_workers() {
    let script = Script::new("pool");
    // GetChatData after seq 7 sleeps 5 s inside the SDK before answering.
    script.put("slow_7", "5000");
    script.put(
        "chat_7.json",
        batch(&[encrypted_item(8, 1, "k8", &text_message("m8", "slow"))]),
    );
    script.put(
        "chat_0.json",
        batch(&[encrypted_item(1, 1, "k1", &text_message("m1", "fast"))]),
    );
    let backend = Arc::new(WorkerBackend::with_pool_size(worker_config(&script), 2));
    assert_eq!(backend.pool_size(), 2);
    let archive = Archive::new(backend.clone(), key_ring(1), net(20));
    let slow = tokio::spawn({
        let archive = archive.clone();
        async move { archive.fetch(7, 10).await }
    });
    let fast = archive.fetch(0, 10).await.expect("the fast call");
    assert_eq!(fast[0].seq, 1);
    assert!(
        !slow.is_finished(),
        "the fast call answered while the slow one was still in the SDK"
    );
    let slow = slow.await.expect("no panic").expect("the slow call");
    assert_eq!(slow[0].seq, 8);
    assert_eq!(backend.starts(), 2, "one worker per call in flight");
    assert_eq!(
        WorkerBackend::with_pool_size(worker_config(&script), 0).pool_size(),
        1
    );
}

#[tokio::test]
async fn a_crash_in_a_pool_fails_only_the_call_on_that_worker() {
    let script = Script::new("poolcrash");
    script.put("slow_7", "5000");
    script.put(
        "chat_7.json",
        batch(&[encrypted_item(8, 1, "k8", &text_message("m8", "slow"))]),
    );
    script.put("crash_1", "");
    script.put(
        "chat_0.json",
        batch(&[encrypted_item(1, 1, "k1", &text_message("m1", "after"))]),
    );
    let backend = Arc::new(WorkerBackend::with_pool_size(worker_config(&script), 2));
    let archive = Archive::new(backend.clone(), key_ring(1), net(20));
    let slow = tokio::spawn({
        let archive = archive.clone();
        async move { archive.fetch(7, 10).await }
    });
    let crash = archive.fetch(1, 10).await.expect_err("that worker crashes");
    assert!(
        matches!(
            crash,
            FinanceError::WorkerCrashed {
                call: "GetChatData",
                ..
            }
        ),
        "{crash:?}"
    );
    assert!(
        !slow.is_finished(),
        "the other worker's call is still running"
    );
    let after = archive
        .fetch(0, 10)
        .await
        .expect("a new worker takes the crashed one's place");
    assert_eq!(after[0].seq, 1);
    let slow = slow
        .await
        .expect("no panic")
        .expect("the call on the other worker was not touched by the crash");
    assert_eq!(slow[0].seq, 8);
    assert_eq!(backend.starts(), 3, "two workers, one restart");
}

#[tokio::test]
async fn a_hung_worker_call_ends_at_its_timeout_and_the_worker_is_replaced() {
    let script = Script::new("hang");
    // The stand-in sleeps 60 s in GetChatData after seq 4 and in GetMediaData of "STUCK".
    script.put("hang_4", "");
    script.put("hang_media_STUCK", "");
    script.put("media_OK", b"bytes after the restart");
    let backend = worker(&script);
    let archive = Archive::new(backend.clone(), key_ring(1), net(1));
    let started = Instant::now();
    let err = archive.fetch(4, 10).await.expect_err("hangs");
    assert!(
        matches!(
            err,
            FinanceError::Timeout {
                call: "GetChatData",
                seconds: 3,
                stuck: StuckCall::WorkerKilled,
            }
        ),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        "Finance SDK GetChatData did not finish within 3 s: its worker process was killed; \
         the next call starts a new one"
    );
    assert!(err.is_retryable());
    // Far below the stand-in's 60 s: the call was not left to run out.
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "took {:?}",
        started.elapsed()
    );
    assert!(archive.fetch(0, 10).await.expect("next call").is_empty());
    assert_eq!(backend.starts(), 2);

    let err = archive
        .download_media("STUCK", &mut Vec::new())
        .await
        .expect_err("GetMediaData hangs");
    assert!(
        matches!(
            err,
            FinanceError::Timeout {
                call: "GetMediaData",
                stuck: StuckCall::WorkerKilled,
                ..
            }
        ),
        "{err:?}"
    );
    let mut media = Vec::new();
    archive
        .download_media("OK", &mut media)
        .await
        .expect("a new worker serves the next download");
    assert_eq!(media, b"bytes after the restart");
    assert_eq!(backend.starts(), 3);
}

#[tokio::test]
async fn in_process_a_stuck_call_times_out_but_cannot_be_stopped() {
    let script = Script::new("stuckinproc");
    // Longer than the 3 s deadline of a 1 s SDK timeout, short enough to wait out.
    script.put("slow_4", "4500");
    script.put(
        "chat_4.json",
        batch(&[encrypted_item(5, 1, "k5", &text_message("m5", "late"))]),
    );
    let archive = Archive::new(in_process(&script), key_ring(1), net(1));
    let err = archive.fetch(4, 10).await.expect_err("past its deadline");
    assert!(
        matches!(
            err,
            FinanceError::Timeout {
                call: "GetChatData",
                seconds: 3,
                stuck: StuckCall::StillRunning,
            }
        ),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(
        text.contains("cannot be stopped in this process") && text.contains("WorkerBackend"),
        "{text}"
    );
    // The native call still held the handle; once it returns, later calls go on.
    assert!(
        archive
            .fetch(0, 10)
            .await
            .expect("after the stuck call returned")
            .is_empty()
    );
}

#[tokio::test]
async fn the_worker_reports_a_bad_library_or_init_failure() {
    let script = Script::new("badinit");
    let backend = WorkerBackend::new(WorkerConfig {
        worker_exe: PathBuf::from(env!("CARGO_BIN_EXE_wecom-finance-worker")),
        library: mock_library().to_path_buf(),
        corp_id: script.corp_id(),
        secret: Secret::from(""),
    });
    let err = backend
        .get_chat_data(0, 10, net(1))
        .await
        .expect_err("empty secret");
    assert_eq!(err.sdk_code(), Some(SdkCode(10000)), "{err:?}");
    let missing = WorkerBackend::new(WorkerConfig {
        worker_exe: PathBuf::from(env!("CARGO_BIN_EXE_wecom-finance-worker")),
        library: PathBuf::from("/nowhere/lib.so"),
        corp_id: "ww".into(),
        secret: Secret::from("top-secret-value"),
    });
    let err = missing
        .get_chat_data(0, 10, net(1))
        .await
        .expect_err("no library");
    assert!(err.to_string().contains("/nowhere/lib.so"), "{err}");
    assert!(!format!("{missing:?} {err:?} {err}").contains("top-secret-value"));
}

#[test]
fn secrets_stay_out_of_debug() {
    let options = NetworkOptions {
        proxy: "http://user:proxy-pass@10.0.0.1:8080".into(),
        proxy_password: Secret::from("proxy-secret"),
        timeout_secs: 5,
    };
    let shown = format!("{options:?}");
    assert!(
        !shown.contains("proxy-secret") && !shown.contains("proxy-pass"),
        "{shown}"
    );
    let config = WorkerConfig {
        worker_exe: "w".into(),
        library: "l".into(),
        corp_id: "ww1".into(),
        secret: Secret::from("archive-secret-value"),
    };
    assert!(!format!("{config:?}").contains("archive-secret-value"));
}

type Seen = Arc<std::sync::Mutex<Vec<(u64, String)>>>;

fn recorder(
    seen: &Seen,
    fail_on: Option<u64>,
) -> impl FnMut(PulledMessage) -> std::future::Ready<Result<(), String>> {
    let seen = seen.clone();
    let mut failed = false;
    move |pulled: PulledMessage| {
        if Some(pulled.seq) == fail_on && !failed {
            failed = true;
            return std::future::ready(Err("handler refuses once".to_string()));
        }
        let text = match pulled.message {
            Ok(message) => message.msgid,
            Err(e) => format!("error: {e}"),
        };
        seen.lock().expect("lock").push((pulled.seq, text));
        std::future::ready(Ok(()))
    }
}

#[tokio::test]
async fn the_puller_delivers_in_order_at_least_once_and_stops_cleanly() {
    let script = Script::new("puller");
    // Out of order in the answer; seq 3 has a key version the ring lacks.
    script.put(
        "chat_0.json",
        batch(&[
            encrypted_item(2, 1, "k2", &text_message("m2", "b")),
            encrypted_item(1, 1, "k1", &text_message("m1", "a")),
            encrypted_item(3, 9, "k3", &text_message("m3", "c")),
        ]),
    );
    // The stand-in answers by the exact seq asked; WeCom answers what follows it.
    script.put(
        "chat_1.json",
        batch(&[
            encrypted_item(2, 1, "k2", &text_message("m2", "b")),
            encrypted_item(3, 9, "k3", &text_message("m3", "c")),
        ]),
    );
    script.put(
        "chat_3.json",
        batch(&[encrypted_item(4, 1, "k4", &text_message("m4", "d"))]),
    );
    let checkpoint = MemoryCheckpoint::new(0);
    let archive = Archive::new(in_process(&script), key_ring(1), net(5));
    let puller = Puller::new(archive.clone(), Arc::new(checkpoint.clone()))
        .batch_size(2)
        .idle_wait(Duration::from_secs(3600));
    let seen: Seen = Arc::default();

    // The handler fails on seq 2: the run ends there, the checkpoint stays at 1.
    let err = puller
        .run(recorder(&seen, Some(2)))
        .await
        .expect_err("handler failed");
    assert!(
        matches!(err, FinanceError::Handler { seq: 2, .. }),
        "{err:?}"
    );
    assert_eq!(checkpoint.get(), 1);

    // The next run delivers seq 2 again, then the rest, then waits; a wake makes it
    // fetch again, and a stop ends it.
    let stopper = puller.stopper();
    let waker = puller.waker();
    let run = tokio::spawn({
        let seen = seen.clone();
        async move {
            let puller = puller;
            puller.run(recorder(&seen, None)).await
        }
    });
    let deadline = Instant::now() + Duration::from_secs(20);
    while checkpoint.get() < 4 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    script.put(
        "chat_4.json",
        batch(&[encrypted_item(5, 1, "k5", &text_message("m5", "e"))]),
    );
    waker.wake();
    while checkpoint.get() < 5 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stopper.stop();
    tokio::time::timeout(Duration::from_secs(10), run)
        .await
        .expect("stops promptly")
        .expect("no panic")
        .expect("clean stop");
    let seen = seen.lock().expect("lock").clone();
    assert_eq!(
        seen.iter().map(|(seq, _)| *seq).collect::<Vec<_>>(),
        vec![1, 2, 3, 4, 5]
    );
    assert_eq!(seen[1].1, "m2");
    assert!(
        seen[2].1.contains("no private key of version 9"),
        "{:?}",
        seen[2]
    );
    assert_eq!(checkpoint.get(), 5);
}

#[tokio::test]
async fn the_puller_rides_out_a_worker_crash() {
    let script = Script::new("pullcrash");
    script.put(
        "chat_0.json",
        batch(&[encrypted_item(1, 1, "k1", &text_message("m1", "a"))]),
    );
    script.put("crash_once_1", "");
    script.put(
        "chat_1.json",
        batch(&[encrypted_item(2, 1, "k2", &text_message("m2", "b"))]),
    );
    let backend = worker(&script);
    let checkpoint = MemoryCheckpoint::new(0);
    let puller = Puller::new(
        Archive::new(backend.clone(), key_ring(1), net(5)),
        Arc::new(checkpoint.clone()),
    )
    .retry_wait(Duration::from_millis(50))
    .idle_wait(Duration::from_secs(3600));
    let stopper = puller.stopper();
    let seen: Seen = Arc::default();
    let run = tokio::spawn({
        let seen = seen.clone();
        async move { puller.run(recorder(&seen, None)).await }
    });
    let deadline = Instant::now() + Duration::from_secs(30);
    while checkpoint.get() < 2 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    stopper.stop();
    run.await.expect("no panic").expect("clean stop");
    assert_eq!(
        seen.lock()
            .expect("lock")
            .iter()
            .map(|(s, _)| *s)
            .collect::<Vec<_>>(),
        vec![1, 2]
    );
    assert_eq!(backend.starts(), 2, "one crash, one restart");
}

#[cfg(feature = "redis")]
#[tokio::test]
async fn the_redis_checkpoint_persists_the_seq() {
    use wecom_api::finance::RedisCheckpoint;
    let Ok(port) = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
    else {
        panic!("no free port");
    };
    let mut server = match std::process::Command::new("redis-server")
        .args([
            "--port",
            &port.to_string(),
            "--save",
            "",
            "--appendonly",
            "no",
            "--bind",
            "127.0.0.1",
        ])
        .stdout(std::process::Stdio::null())
        .spawn()
    {
        Ok(server) => server,
        Err(e) => {
            eprintln!("note: redis-server not available ({e}); skipped");
            return;
        }
    };
    let url = format!("redis://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(10);
    let checkpoint = loop {
        match RedisCheckpoint::connect(&url, "finance:seq:ww1").await {
            Ok(checkpoint) => break checkpoint,
            Err(e) if Instant::now() > deadline => panic!("redis did not start: {e}"),
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    };
    assert_eq!(checkpoint.load().await.expect("load"), 0);
    checkpoint.save(42).await.expect("save");
    let again = RedisCheckpoint::connect(&url, "finance:seq:ww1")
        .await
        .expect("connect");
    assert_eq!(again.load().await.expect("load"), 42);
    let _ = server.kill();
    let _ = server.wait();
}

/// The network-error class of the SDK's codes (10001–10003, doc 91774: worth retrying).
fn assert_network_error(err: &FinanceError, call: &str) {
    match err {
        FinanceError::Sdk { call: at, code } => {
            assert_eq!(*at, call, "{err}");
            assert!(
                (10001..=10003).contains(&code.0) && code.is_retryable(),
                "{call} failed with {code}, not a network error (10001–10003)"
            );
        }
        other => panic!("{call}: expected a network error code, got {other:?}"),
    }
}

/// A proxy address nothing listens on, so the SDK's requests fail even where the
/// machine could reach WeCom.
fn dead_proxy_net(timeout_secs: u32) -> NetworkOptions {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .expect("a free loopback port");
    NetworkOptions {
        proxy: format!("http://127.0.0.1:{port}"),
        timeout_secs,
        ..NetworkOptions::default()
    }
}

/// WeCom's real library (CI downloads it; see .ci/run). Without a way to WeCom (a proxy
/// nothing listens on, so the result is the same with or without network), NewSdk and Init work and GetChatData fails with a code of
/// the network-error class within its timeout, in process and in a worker.
#[tokio::test]
async fn the_real_library_loads_and_maps_its_offline_error() {
    let Some(path) = std::env::var_os("WECOM_FINANCE_SDK_LIB") else {
        eprintln!("note: WECOM_FINANCE_SDK_LIB is not set; the real Finance SDK test is skipped");
        return;
    };
    let path = PathBuf::from(path);
    // The SDK timeout, our 2 s of grace, and 2 s of slack for a busy machine.
    let timeout_secs = 3;
    let bound = Duration::from_secs(u64::from(timeout_secs) + 2 + 2);
    let sdk = FinanceSdk::open(
        &path,
        "wwfinancetestcorp",
        &Secret::from("not-a-real-secret"),
    )
    .expect("the real library loads and initialises offline");
    let backend: Arc<dyn ArchiveBackend> = Arc::new(InProcessBackend::new(sdk));
    let started = Instant::now();
    let err = backend
        .get_chat_data(0, 10, dead_proxy_net(timeout_secs))
        .await
        .expect_err("no way to WeCom, no real corp");
    let elapsed = started.elapsed();
    eprintln!("real library answered {err} after {elapsed:?}");
    assert_network_error(&err, "GetChatData");
    assert!(elapsed <= bound, "took {elapsed:?}, over {bound:?}");

    // Through the worker too: same library, another process (its start is not timed).
    let worker = WorkerBackend::new(WorkerConfig {
        worker_exe: PathBuf::from(env!("CARGO_BIN_EXE_wecom-finance-worker")),
        library: path,
        corp_id: "wwfinancetestcorp".into(),
        secret: Secret::from("not-a-real-secret"),
    });
    let err = worker
        .get_chat_data(0, 10, dead_proxy_net(timeout_secs))
        .await
        .expect_err("no way to WeCom");
    assert_network_error(&err, "GetChatData");
    let started = Instant::now();
    let err = worker
        .get_chat_data(0, 10, dead_proxy_net(timeout_secs))
        .await
        .expect_err("no way to WeCom");
    let elapsed = started.elapsed();
    assert_network_error(&err, "GetChatData");
    assert!(elapsed <= bound, "took {elapsed:?}, over {bound:?}");
    assert_eq!(worker.starts(), 1, "an SDK error is not a crash");
}
