//! Decode throughput of a 1,000-message archive batch: the GetChatData answer (envelope of
//! encrypted items) and the decrypted messages into `archive::ArchivedMessage`, each
//! against a baseline in the same run: the same bytes into an untyped `serde_json::Value`.
//! `cargo bench -p wecom-api --no-default-features --features finance --bench finance_decode`

use std::hint::black_box;
use std::time::{Duration, Instant};

use wecom_api::finance::{decode_message, parse_chat_data};

const KINDS: &[&str] = &[
    r#""msgtype":"text","text":{"content":"请把上周的报价单再发我一份，谢谢"}"#,
    r#""msgtype":"image","image":{"md5sum":"50de8e5ae8ffe4f1df7a93841f71993a","filesize":70961,"sdkfileid":"CtYBMzA2OTAyMDEwMjA0NjIzMDYwMDIwMTAwMDIwNGI3ZmU0MDZlMDIwMzBmNTliMTAy"}"#,
    r#""msgtype":"file","file":{"md5sum":"18e93fc2ea884df23b3d2d3b8667b9f0","filename":"资料.docx","fileext":"docx","filesize":18181,"sdkfileid":"E4ODRkZjIzYjNkMmQzYjg2NjdiOWYw"}"#,
    r#""msgtype":"mixed","mixed":{"item":[{"type":"text","content":"{\"content\":\"你好\"}"},{"type":"image","content":"{\"md5sum\":\"368b\",\"filesize\":13177,\"sdkfileid\":\"CtYB\"}"}]}"#,
    r#""msgtype":"chatrecord","chatrecord":{"title":"群聊","item":[{"type":"ChatRecordText","msgtime":1603875610,"content":"{\"content\":\"test\"}","from_chatroom":false}]}"#,
    r#""msgtype":"revoke","revoke":{"pre_msgid":"14822339130152506326_1603875615"}"#,
    r#""msgtype":"location","location":{"longitude":116.586285899,"latitude":39.911125799,"address":"北京市","title":"管理中心","zoom":15}"#,
    r#""msgtype":"brand_new_type","brand_new_type":{"anything":[1,2,3]}"#,
];

fn messages() -> Vec<String> {
    (0..1000)
        .map(|i| {
            format!(
                r#"{{"msgid":"{i}_1603875612","action":"send","from":"kenshin","tolist":["icefog","wmErxtDgAAhteCglUZH2kUt3rq431qmg"],"roomid":"wrErxtDgAA0jgXE5a-5OQdhGNF6Zi-7A","msgtime":1603875612041,{}}}"#,
                KINDS[i % KINDS.len()]
            )
        })
        .collect()
}

fn answer() -> String {
    let items: Vec<String> = (1..=1000)
        .map(|seq| {
            format!(
                r#"{{"seq":{seq},"msgid":"CAQQ2fbb4QUY0On2rYSAgAMgip/yzgs={seq}","publickey_ver":3,"encrypt_random_key":"{}","encrypt_chat_msg":"{}"}}"#,
                "A".repeat(344),
                "B".repeat(600)
            )
        })
        .collect();
    format!(
        r#"{{"errcode":0,"errmsg":"ok","chatdata":[{}]}}"#,
        items.join(",")
    )
}

fn median_of(rounds: usize, mut f: impl FnMut()) -> Duration {
    let mut times: Vec<Duration> = (0..rounds)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .collect();
    times.sort();
    times[rounds / 2]
}

fn main() {
    let messages = messages();
    let answer = answer();
    let decrypted = median_of(31, || {
        for m in &messages {
            black_box(decode_message(black_box(m.as_bytes())).expect("decodes"));
        }
    });
    let decrypted_value = median_of(31, || {
        for m in &messages {
            black_box(
                serde_json::from_slice::<serde_json::Value>(black_box(m.as_bytes())).expect("json"),
            );
        }
    });
    let envelope = median_of(31, || {
        black_box(parse_chat_data(black_box(answer.as_bytes())).expect("parses"));
    });
    let envelope_value = median_of(31, || {
        black_box(
            serde_json::from_slice::<serde_json::Value>(black_box(answer.as_bytes()))
                .expect("json"),
        );
    });
    let bytes: usize = messages.iter().map(String::len).sum();
    println!(
        "decrypted messages -> ArchivedMessage: 1000 in {:.2} ms = {:.0} msg/s ({:.1} MB/s)",
        decrypted.as_secs_f64() * 1e3,
        1000.0 / decrypted.as_secs_f64(),
        bytes as f64 / decrypted.as_secs_f64() / 1e6
    );
    println!(
        "  baseline, the same 1000 messages -> serde_json::Value: {:.2} ms; typed/Value time ratio {:.2}",
        decrypted_value.as_secs_f64() * 1e3,
        decrypted.as_secs_f64() / decrypted_value.as_secs_f64()
    );
    println!(
        "GetChatData answer (1000 items, {} KB) -> EncryptedChatData: {:.2} ms = {:.0} items/s",
        answer.len() / 1000,
        envelope.as_secs_f64() * 1e3,
        1000.0 / envelope.as_secs_f64()
    );
    println!(
        "  baseline, the same answer -> serde_json::Value: {:.2} ms; typed/Value time ratio {:.2}",
        envelope_value.as_secs_f64() * 1e3,
        envelope.as_secs_f64() / envelope_value.as_secs_f64()
    );
}
