//! CPU cost of decoding a typed response, against parsing the same body into a
//! `serde_json::Value` in the same run (the floor any decoder of this body pays).
//!
//! Run: `cargo bench -p wecom-api --bench decode` (`BENCH_DECODES` changes the count,
//! default 200000). Prints nanoseconds per decode and the ratio to the baseline.

use std::hint::black_box;
use std::time::Instant;

use wecom_api::contacts::{DepartmentListResponse, User};

/// `user.get`'s documented response, with WeCom's loose typing (`"gender":"1"`).
const USER_JSON: &str = r#"{"errcode":0,"errmsg":"ok","userid":"zhangsan","name":"张三","department":[1,2],"order":[1,2],"position":"后台工程师","mobile":"13800000000","gender":"1","email":"zhangsan@gzdev.com","biz_mail":"zhangsan@qyycs2.wecom.work","is_leader_in_dept":[1,0],"direct_leader":["lisi","wangwu"],"avatar":"http://wx.qlogo.cn/mmopen/ajNVdqHZLLA3WJ6DSZUfiakYe37PKnQhBIeOQBO4czqrnZDS79FH5Wm5m4X69TBicnHFlhiafvDwklOpZeXYQQ2icg/0","thumb_avatar":"http://wx.qlogo.cn/mmopen/ajNVdqHZLLA3WJ6DSZUfiakYe37PKnQhBIeOQBO4czqrnZDS79FH5Wm5m4X69TBicnHFlhiafvDwklOpZeXYQQ2icg/100","telephone":"020-123456","alias":"jackzhang","address":"广州市海珠区新港中路","open_userid":"xxxxxx","main_department":1,"extattr":{"attrs":[{"type":0,"name":"文本名称","text":{"value":"文本"}},{"type":1,"name":"网页名称","web":{"url":"http://www.test.com","title":"标题"}}]},"status":1,"qr_code":"https://open.work.weixin.qq.com/wwopen/userQRCode?vcode=xxx","external_position":"产品经理","external_profile":{"external_corp_name":"企业简称","wechat_channels":{"nickname":"视频号名称","status":1},"external_attr":[{"type":0,"name":"文本名称","text":{"value":"文本"}}]}}"#;

fn department_list_json() -> String {
    let departments: Vec<String> = (1..=200)
        .map(|id| {
            format!(
                r#"{{"id":{id},"name":"部门{id}","name_en":"dept{id}","department_leader":["u{id}"],"parentid":1,"order":{id}}}"#
            )
        })
        .collect();
    format!(
        r#"{{"errcode":0,"errmsg":"ok","department":[{}]}}"#,
        departments.join(",")
    )
}

fn per_decode_ns(count: usize, mut decode: impl FnMut()) -> f64 {
    let start = Instant::now();
    for _ in 0..count {
        decode();
    }
    start.elapsed().as_nanos() as f64 / count as f64
}

fn main() {
    let count: usize = std::env::var("BENCH_DECODES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200_000);
    let departments = department_list_json();
    for (name, body, count) in [
        ("user.get", USER_JSON, count),
        ("department.list (200)", departments.as_str(), count / 50),
    ] {
        // Warm up, and check both decode at all.
        let _: serde_json::Value = serde_json::from_str(body).expect("value");
        let typed = |body: &str| -> bool {
            if name == "user.get" {
                black_box(serde_json::from_str::<User>(body)).is_ok()
            } else {
                black_box(serde_json::from_str::<DepartmentListResponse>(body)).is_ok()
            }
        };
        assert!(typed(body), "{name} decodes");
        let value = per_decode_ns(count, || {
            black_box(serde_json::from_str::<serde_json::Value>(black_box(body)).ok());
        });
        let typed_ns = per_decode_ns(count, || {
            typed(black_box(body));
        });
        println!(
            "{name}: baseline (parse into serde_json::Value) {value:.0} ns, typed {typed_ns:.0} ns: {:.2}x the baseline",
            typed_ns / value
        );
    }
}
