//! Issue 9, item 6: big downloads stream (to a file, a writer, or chunk by chunk) with a
//! size limit, instead of living in memory under a total timeout that starts them over.

mod runtime_common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use futures::StreamExt;
use httpmock::MockServer;
use runtime_common::*;
use wecom_api::Error;

/// A loopback server that answers gettoken at once and sends every other request's body
/// slowly: `chunks` pieces of `chunk` bytes, `pause` apart. Without `Content-Length` when
/// `announce` is false (the body ends when the connection closes).
struct Trickle {
    url: String,
    downloads: Arc<AtomicUsize>,
}

fn trickle(chunks: usize, chunk: usize, pause: Duration, announce: bool) -> Trickle {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let downloads = Arc::new(AtomicUsize::new(0));
    let count = Arc::clone(&downloads);
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { break };
            let count = Arc::clone(&count);
            std::thread::spawn(move || serve(stream, &count, chunks, chunk, pause, announce));
        }
    });
    Trickle { url, downloads }
}

fn serve(
    mut stream: TcpStream,
    count: &AtomicUsize,
    chunks: usize,
    chunk: usize,
    pause: Duration,
    announce: bool,
) {
    let mut reader = BufReader::new(stream.try_clone().unwrap());
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
        // Skip the headers (GET: no body).
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
                break;
            }
        }
        if path.starts_with("/cgi-bin/gettoken") {
            let body = format!(r#"{{"errcode":0,"access_token":"{TOKEN}","expires_in":7200}}"#);
            let head = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
                body.len()
            );
            if stream.write_all(head.as_bytes()).is_err()
                || stream.write_all(body.as_bytes()).is_err()
            {
                return;
            }
            continue;
        }
        count.fetch_add(1, Ordering::SeqCst);
        let mut head = String::from(
            "HTTP/1.1 200 OK\r\ncontent-type: application/octet-stream\r\n\
             content-disposition: attachment; filename=\"big.bin\"\r\n",
        );
        if announce {
            head.push_str(&format!("content-length: {}\r\n", chunks * chunk));
        } else {
            head.push_str("connection: close\r\n");
        }
        head.push_str("\r\n");
        if stream.write_all(head.as_bytes()).is_err() {
            return;
        }
        for i in 0..chunks {
            std::thread::sleep(pause);
            if stream.write_all(&vec![(i % 251) as u8; chunk]).is_err() {
                return;
            }
        }
        let _ = stream.flush();
        if !announce {
            return;
        }
    }
}

fn expected(chunks: usize, chunk: usize) -> Vec<u8> {
    (0..chunks)
        .flat_map(|i| vec![(i % 251) as u8; chunk])
        .collect()
}

/// 2 s of body at 100 ms a chunk, with a 700 ms request timeout: in memory it times out
/// and starts over; streamed it arrives, in one request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_big_file_streams_where_the_in_memory_form_times_out() {
    let server = trickle(20, 8 * 1024, Duration::from_millis(100), true);
    let client = builder(&server.url)
        .timeout(Duration::from_millis(700))
        .build()
        .unwrap();
    let q = [("media_id", "MEDIA")];
    let e = client.download("/cgi-bin/media/get", &q).await.unwrap_err();
    assert!(e.is_timeout(), "{e:?}");
    let attempts = server.downloads.load(Ordering::SeqCst);
    println!("in memory: timed out after {attempts} request(s)");
    assert_eq!(attempts, 1 + fast_retry().max_retries as usize);

    let dir = std::env::temp_dir().join(format!("wecom-hardening-media-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("big.bin");
    let stream = client
        .download_stream("/cgi-bin/media/get", &q)
        .await
        .unwrap();
    assert_eq!(stream.file_name(), Some("big.bin"));
    assert_eq!(stream.content_length(), Some(20 * 8 * 1024));
    let written = stream
        .limit(1024 * 1024)
        .unwrap()
        .save_to_file(&path)
        .await
        .unwrap();
    assert_eq!(written, 20 * 8 * 1024);
    assert_eq!(std::fs::read(&path).unwrap(), expected(20, 8 * 1024));
    assert_eq!(server.downloads.load(Ordering::SeqCst), attempts + 1);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The limit holds with and without `Content-Length`: before reading, or as soon as more
/// has arrived; the in-memory form has its own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn size_limits_hold() {
    // Announced: refused before the body is read.
    let announced = trickle(4, 64 * 1024, Duration::ZERO, true);
    let client = builder(&announced.url)
        .max_download_size(100 * 1024)
        .build()
        .unwrap();
    let q = [("media_id", "MEDIA")];
    let e = client.download("/cgi-bin/media/get", &q).await.unwrap_err();
    assert!(
        matches!(
            e,
            Error::TooLarge {
                what: "download",
                limit: 102_400,
                size: Some(262_144)
            }
        ),
        "{e:?}"
    );
    let stream = client
        .download_stream("/cgi-bin/media/get", &q)
        .await
        .unwrap();
    assert!(matches!(
        stream.limit(1000).unwrap_err(),
        Error::TooLarge { .. }
    ));

    // Unannounced: refused while reading, once past the limit.
    let unannounced = trickle(8, 64 * 1024, Duration::from_millis(5), false);
    let client = builder(&unannounced.url).build().unwrap();
    let mut stream = client
        .download_stream("/cgi-bin/media/get", &q)
        .await
        .unwrap()
        .limit(200 * 1024)
        .unwrap();
    let mut got = 0;
    let err = loop {
        match stream.chunk().await {
            Ok(Some(c)) => got += c.len(),
            Ok(None) => panic!("ended past the limit"),
            Err(e) => break e,
        }
    };
    assert!(matches!(err, Error::TooLarge { .. }), "{err:?}");
    assert!(got <= 200 * 1024);
    // Unlimited, chunk by chunk, into a writer.
    let stream = client
        .download_stream("/cgi-bin/media/get", &q)
        .await
        .unwrap();
    let mut out: Vec<u8> = Vec::new();
    let n = stream.write_to(&mut out).await.unwrap();
    assert_eq!(n as usize, out.len());
    assert_eq!(out, expected(8, 64 * 1024));
}

/// Small files and error envelopes behave as the in-memory form does.
#[tokio::test]
async fn streams_recognise_error_envelopes_and_small_files() {
    let server = MockServer::start_async().await;
    mock_gettoken(&server, TOKEN, 7200).await;
    server
        .mock_async(|when, then| {
            when.path("/cgi-bin/media/get")
                .query_param("media_id", "bad");
            then.status(200)
                .header("content-type", "application/json")
                .body(r#"{"errcode":40007,"errmsg":"invalid media_id"}"#);
        })
        .await;
    server
        .mock_async(|when, then| {
            when.path("/cgi-bin/media/get")
                .query_param("media_id", "txt");
            then.status(200)
                .header("content-type", "text/plain")
                .body("just a text file");
        })
        .await;
    let client = client(&server);
    let e = client
        .download_stream("/cgi-bin/media/get", &[("media_id", "bad")])
        .await
        .unwrap_err();
    assert_eq!(e.errcode(), Some(40007));
    let stream = client.media_stream("txt").await.unwrap();
    let chunks: Vec<_> = stream.into_stream().collect().await;
    let body: Vec<u8> = chunks
        .into_iter()
        .flat_map(|c| c.unwrap().to_vec())
        .collect();
    assert_eq!(body, b"just a text file");
}

#[test]
fn a_trickle_server_speaks_http() {
    // Guards the helper itself: a plain blocking read gets the whole body.
    let server = trickle(2, 4, Duration::ZERO, true);
    let addr = server.url.trim_start_matches("http://");
    let mut s = TcpStream::connect(addr).unwrap();
    s.write_all(b"GET /x HTTP/1.1\r\nhost: x\r\n\r\n").unwrap();
    let mut buf = vec![0u8; 256];
    let mut got = Vec::new();
    while !got.ends_with(&[1, 1, 1, 1]) {
        let n = s.read(&mut buf).unwrap();
        assert!(n > 0);
        got.extend_from_slice(&buf[..n]);
    }
    assert!(String::from_utf8_lossy(&got).contains("content-length: 8"));
}
