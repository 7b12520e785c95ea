//! Quickstart: read a member and the department tree, then send a message.
//!
//! `cargo run -p wecom-standin --example quickstart`
//!
//! With `WECOM_CORP_ID` and `WECOM_SECRET` set, it calls the real WeCom (set `WECOM_USERID` to
//! a member your app can see; default `zhangsan`). Without them, it starts `wecom-standin`, a
//! local WeCom generated from the spec that answers every endpoint with its documented
//! example, so it runs anywhere and shows the real traffic.

use wecom_api::message::AppMessage;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let corp_id = std::env::var("WECOM_CORP_ID").ok();
    let secret = std::env::var("WECOM_SECRET").ok();
    let userid = std::env::var("WECOM_USERID").unwrap_or_else(|_| "zhangsan".into());

    // Kept alive until the end of main: the stand-in stops when dropped.
    let mut stand_in = None;
    let client = match (corp_id, secret) {
        (Some(corp_id), Some(secret)) => {
            println!("calling the real WeCom as corp {corp_id}");
            wecom_api::Client::builder()
                .corp_id(corp_id)
                .secret(secret)
                .build()?
        }
        _ => {
            let local = wecom_standin::Standin::start().await?;
            println!(
                "WECOM_CORP_ID/WECOM_SECRET unset: using wecom-standin, a local WeCom, at {}",
                local.base_url()
            );
            let client = wecom_api::Client::builder()
                .corp_id("ww0123456789abcdef")
                .secret("local-stand-in-secret")
                .agent_id(1000002)
                .base_url(local.base_url())
                .build()?;
            stand_in = Some(local);
            client
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

    if let Some(local) = &stand_in {
        // Only against the stand-in: a real message would reach a real member.
        let sent = client
            .message()
            .send(AppMessage::text("部署完成"))
            .touser(userid.as_str())
            .await?;
        println!("message sent: msgid {:?}", sent.msgid);

        // Errors carry the endpoint and WeCom's errcode: here the stand-in is told to refuse.
        local.fault_times(
            "user.get",
            1,
            wecom_standin::Fault::Errcode(60111, "userid not found".into()),
        );
        match client.user().get("nobody-here").await {
            Ok(user) => println!("unexpectedly found {}", user.userid),
            Err(error) => println!("as expected: {error} (errcode {:?})", error.errcode()),
        }

        println!("what the client sent:");
        for record in local.records() {
            println!("  {} {} body {:?}", record.method, record.path, record.body);
        }
    }
    Ok(())
}
