//! Quickstart: read a member and the department tree.
//!
//! `cargo run -p wecom-api --example quickstart`
//!
//! With `WECOM_CORP_ID` and `WECOM_SECRET` set, it calls the real WeCom (set `WECOM_USERID` to
//! a member your app can see; default `zhangsan`). Without them, it starts a local stand-in of
//! WeCom that answers with the documented examples, so it runs anywhere.

use httpmock::MockServer;
use serde_json::json;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let corp_id = std::env::var("WECOM_CORP_ID").ok();
    let secret = std::env::var("WECOM_SECRET").ok();
    let userid = std::env::var("WECOM_USERID").unwrap_or_else(|_| "zhangsan".into());

    // Kept alive until the end of main: the stand-in stops when dropped.
    let stand_in;
    let client = match (corp_id, secret) {
        (Some(corp_id), Some(secret)) => {
            println!("calling the real WeCom as corp {corp_id}");
            wecom_api::Client::builder()
                .corp_id(corp_id)
                .secret(secret)
                .build()?
        }
        _ => {
            stand_in = local_wecom().await;
            println!(
                "WECOM_CORP_ID/WECOM_SECRET unset: using a local stand-in of WeCom at {}",
                stand_in.base_url()
            );
            wecom_api::Client::builder()
                .corp_id("ww0123456789abcdef")
                .secret("local-stand-in-secret")
                .base_url(stand_in.base_url())
                .build()?
        }
    };

    // The access token is fetched, cached and refreshed by the client.
    let user = client.user().get(&userid).await?;
    println!(
        "member {}: name {:?}, departments {:?}, position {:?}",
        user.userid, user.name, user.department, user.position
    );

    let departments = client.department().list().await?;
    for department in departments.department {
        println!(
            "department {} {:?} (parent {:?})",
            department.id, department.name, department.parentid
        );
    }

    // Errors carry the endpoint and WeCom's errcode.
    match client.user().get("nobody-here").await {
        Ok(user) => println!("unexpectedly found {}", user.userid),
        Err(error) => println!("as expected: {error} (errcode {:?})", error.errcode()),
    }
    Ok(())
}

/// Answers gettoken, user/get and department/list with the documented examples.
async fn local_wecom() -> MockServer {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.path("/cgi-bin/gettoken");
            then.json_body(json!({
                "errcode": 0, "errmsg": "ok", "access_token": "local-token", "expires_in": 7200
            }));
        })
        .await;
    server
        .mock_async(|when, then| {
            when.path("/cgi-bin/user/get")
                .query_param("userid", "nobody-here");
            then.json_body(
                json!({"errcode": 60111, "errmsg": "invalid string value `nobody-here`"}),
            );
        })
        .await;
    server
        .mock_async(|when, then| {
            when.path("/cgi-bin/user/get");
            then.json_body(json!({
                "errcode": 0, "errmsg": "ok", "userid": "zhangsan", "name": "张三",
                "department": [1, 2], "order": [1, 2], "position": "后台工程师",
                "gender": "1", "status": 1, "main_department": 1
            }));
        })
        .await;
    server
        .mock_async(|when, then| {
            when.path("/cgi-bin/department/list");
            then.json_body(json!({
                "errcode": 0, "errmsg": "ok",
                "department": [
                    {"id": 2, "name": "广州研发中心", "name_en": "RDGZ", "parentid": 1, "order": 10},
                    {"id": 3, "name": "邮箱产品部", "name_en": "mail", "parentid": 2, "order": 40}
                ]
            }));
        })
        .await;
    server
}
