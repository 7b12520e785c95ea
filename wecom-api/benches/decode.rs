//! CPU cost of decoding typed responses, against parsing the same body into a
//! `serde_json::Value` in the same run (what a raw caller pays at least).
//!
//! Three ways per body: `Value` (the baseline), the client's path (`decode_json_body`: one
//! parse into a tape, then the type's fields), and serde (`serde_json::from_str::<T>`, what
//! users' own code gets from the generated `Deserialize`: a `Value`, then the same fields).
//!
//! Run: `cargo bench -p wecom-api --bench decode --no-default-features --features contacts,kf`
//! (`BENCH_DECODES` changes the count for `user.get`, default 200000; the lists get a
//! fiftieth). Prints nanoseconds per decode and the ratios to the baseline.

use std::hint::black_box;
use std::time::Instant;

use wecom_api::contacts::{DepartmentListResponse, User, UserListIdResponse};
use wecom_api::de::decode_json_body;
use wecom_api::kf::KfSyncMsgResponse;

/// `user.get`'s documented response, with WeCom's loose typing (`"gender":"1"`).
const USER_JSON: &str = r#"{"errcode":0,"errmsg":"ok","userid":"zhangsan","name":"张三","department":[1,2],"order":[1,2],"position":"后台工程师","mobile":"13800000000","gender":"1","email":"zhangsan@gzdev.com","biz_mail":"zhangsan@qyycs2.wecom.work","is_leader_in_dept":[1,0],"direct_leader":["lisi","wangwu"],"avatar":"http://wx.qlogo.cn/mmopen/ajNVdqHZLLA3WJ6DSZUfiakYe37PKnQhBIeOQBO4czqrnZDS79FH5Wm5m4X69TBicnHFlhiafvDwklOpZeXYQQ2icg/0","thumb_avatar":"http://wx.qlogo.cn/mmopen/ajNVdqHZLLA3WJ6DSZUfiakYe37PKnQhBIeOQBO4czqrnZDS79FH5Wm5m4X69TBicnHFlhiafvDwklOpZeXYQQ2icg/100","telephone":"020-123456","alias":"jackzhang","address":"广州市海珠区新港中路","open_userid":"xxxxxx","main_department":1,"extattr":{"attrs":[{"type":0,"name":"文本名称","text":{"value":"文本"}},{"type":1,"name":"网页名称","web":{"url":"http://www.test.com","title":"标题"}}]},"status":1,"qr_code":"https://open.work.weixin.qq.com/wwopen/userQRCode?vcode=xxx","external_position":"产品经理","external_profile":{"external_corp_name":"企业简称","wechat_channels":{"nickname":"视频号名称","status":1},"external_attr":[{"type":0,"name":"文本名称","text":{"value":"文本"}}]}}"#;

fn departments_json() -> String {
    let items: Vec<String> = (1..=200)
        .map(|id| {
            format!(
                r#"{{"id":{id},"name":"部门{id}","name_en":"dept{id}","department_leader":["u{id}"],"parentid":1,"order":{id}}}"#
            )
        })
        .collect();
    format!(
        r#"{{"errcode":0,"errmsg":"ok","department":[{}]}}"#,
        items.join(",")
    )
}

fn member_ids_json() -> String {
    let items: Vec<String> = (1..=1000)
        .map(|i| format!(r#"{{"userid":"user{i:04}","department":{}}}"#, i % 50 + 1))
        .collect();
    format!(
        r#"{{"errcode":0,"errmsg":"ok","next_cursor":"xxxxxxx","dept_user":[{}]}}"#,
        items.join(",")
    )
}

fn kf_page_json() -> String {
    let items: Vec<String> = (1..=200)
        .map(|i| {
            if i % 4 == 0 {
                format!(
                    r#"{{"msgid":"from_msgid_{i}","send_time":1615478585,"origin":4,"msgtype":"event","event":{{"event_type":"enter_session","open_kfid":"wkAJ2GCAAASSm4_FhToWMFea0xAFfd3Q","external_userid":"wmAJ2GCAAAme1XQRC-NI-q0_ZM9ukoAw","scene":"123","scene_param":"abc","welcome_code":"aaaaaa"}}}}"#
                )
            } else {
                format!(
                    r#"{{"msgid":"from_msgid_{i}","open_kfid":"wkAJ2GCAAASSm4_FhToWMFea0xAFfd3Q","external_userid":"wmAJ2GCAAAme1XQRC-NI-q0_ZM9ukoAw","send_time":1615478585,"origin":3,"servicer_userid":"Zhangsan","msgtype":"text","text":{{"content":"你好，第{i}条消息","menu_id":"101"}}}}"#
                )
            }
        })
        .collect();
    format!(
        r#"{{"errcode":0,"errmsg":"ok","next_cursor":"4gw7MepFLfgF2VC5npN","has_more":1,"msg_list":[{}]}}"#,
        items.join(",")
    )
}

fn per_decode_ns(count: usize, mut decode: impl FnMut()) -> f64 {
    let start = Instant::now();
    for _ in 0..count {
        decode();
    }
    start.elapsed().as_nanos() as f64 / count as f64
}

/// Times the three ways of reading `body` as `T`; `client_path` is `decode_json_body::<T>`.
fn compare<T: serde::de::DeserializeOwned>(
    name: &str,
    body: &str,
    count: usize,
    client_path: fn(&[u8]) -> wecom_api::Result<T>,
    check: fn(&T) -> bool,
) {
    let client_path = |body: &str| client_path(body.as_bytes());
    // Warm up, and check every way decodes at all.
    assert!(check(&client_path(body).expect("client path")), "{name}");
    assert!(
        check(&serde_json::from_str::<T>(body).expect("serde")),
        "{name}"
    );
    let value = per_decode_ns(count, || {
        black_box(serde_json::from_str::<serde_json::Value>(black_box(body)).ok());
    });
    let client = per_decode_ns(count, || {
        black_box(client_path(black_box(body)).ok());
    });
    let serde = per_decode_ns(count, || {
        black_box(serde_json::from_str::<T>(black_box(body)).ok());
    });
    println!(
        "{name}: Value {value:.0} ns; client path {client:.0} ns ({:.2}x); serde {serde:.0} ns ({:.2}x)",
        client / value,
        serde / value
    );
}

fn main() {
    let count: usize = std::env::var("BENCH_DECODES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200_000);
    compare(
        "user.get",
        USER_JSON,
        count,
        decode_json_body::<User>,
        |u| u.userid == "zhangsan",
    );
    compare(
        "department.list (200)",
        &departments_json(),
        count / 50,
        decode_json_body::<DepartmentListResponse>,
        |d| d.department.len() == 200,
    );
    compare(
        "user.list_id (1,000 ids)",
        &member_ids_json(),
        count / 50,
        decode_json_body::<UserListIdResponse>,
        |p| p.dept_user.len() == 1000,
    );
    compare(
        "kf sync_msg (200 messages)",
        &kf_page_json(),
        count / 50,
        decode_json_body::<KfSyncMsgResponse>,
        |p| p.msg_list.len() == 200,
    );
}
