//! Hardware cloud-access callbacks (JSON events and commands pushed to the vendor's callback
//! URL): every documented example decodes to its typed variant, unknown kinds keep their
//! fields, credentials stay out of Debug, and a decoded callback writes back its wire shape.

use serde_json::{Value, json};
use wecom_api::hardware::*;

/// The base_info most pages show.
fn base() -> Value {
    json!({
        "req_id": "xxx",
        "device_sn": "xxx",
        "createtime": 1658332800,
        "model_id": "xxx",
        "auth_corpid": "xxx",
        "service_corpid": "xxx"
    })
}

fn event(body: Value) -> Value {
    json!({"msg_type": "event", "base_info": base(), "event": body})
}

fn command(body: Value) -> Value {
    json!({"msg_type": "command", "base_info": base(), "command": body})
}

fn decode(value: &Value) -> HardwareCallback {
    serde_json::from_value(value.clone()).unwrap_or_else(|e| panic!("{value}: {e}"))
}

fn event_kind(value: &Value) -> HardwareEventKind {
    match decode(value).content {
        HardwareCallbackContent::Event(event) => event.kind,
        other => panic!("not an event: {other:?}"),
    }
}

fn command_kind(value: &Value) -> HardwareCommandKind {
    match decode(value).content {
        HardwareCallbackContent::Command(command) => command.kind,
        other => panic!("not a command: {other:?}"),
    }
}

/// 企业绑定设备事件 (page 95987): the auth code is a credential.
#[test]
fn bind_event_carries_its_auth_code_out_of_debug() {
    let value = event(json!({"event_type": "bind", "auth_code": "AUTHCODE42", "verif_code": "v1"}));
    let callback = decode(&value);
    assert_eq!(callback.base_info.device_sn.as_deref(), Some("xxx"));
    assert_eq!(callback.base_info.create_time, Some(1658332800));
    assert_eq!(callback.base_info.service_corp_id.as_deref(), Some("xxx"));
    let HardwareCallbackContent::Event(HardwareEvent {
        kind: HardwareEventKind::Bind(bind),
    }) = &callback.content
    else {
        panic!("{callback:?}")
    };
    assert_eq!(
        bind.auth_code.as_ref().map(|c| c.expose()),
        Some("AUTHCODE42")
    );
    assert_eq!(bind.verif_code.as_deref(), Some("v1"));
    assert!(!format!("{callback:?}").contains("AUTHCODE42"));
}

/// 企业解绑设备事件 (95988) and 获取设备状态指令 (97079): the type alone.
#[test]
fn kinds_without_fields_decode() {
    assert!(matches!(
        event_kind(&event(json!({"event_type": "unbind"}))),
        HardwareEventKind::Unbind(_)
    ));
    assert!(matches!(
        command_kind(&command(json!({"command_type": "fetch_device_status"}))),
        HardwareCommandKind::FetchDeviceStatus(_)
    ));
}

/// 通讯录变更事件 (95989).
#[test]
fn contact_change_lists_the_changed_members() {
    let value = event(json!({
        "event_type": "contact_change",
        "perm_version": 5,
        "create_user": [{"open_userid": "xxxt", "user_type": 0}, {"open_userid": "xxxy", "user_type": 0}],
        "update_user": [{"open_userid": "xxxu", "user_type": 0}],
        "delete_user": [{"open_userid": "xxxi", "user_type": 0}]
    }));
    let HardwareEventKind::ContactChange(change) = event_kind(&value) else {
        panic!("not contact_change")
    };
    assert_eq!(change.perm_version, Some(5));
    let created: Vec<_> = change
        .create_user
        .iter()
        .filter_map(|u| u.open_userid.as_deref())
        .collect();
    assert_eq!(created, ["xxxt", "xxxy"]);
    assert_eq!(change.update_user.len(), 1);
    assert_eq!(
        change.delete_user[0].user_type,
        Some(DeviceUserType::Member)
    );
}

/// 设备型号 model_ticket 推送事件 (96053): its base_info has no device_sn; the ticket is secret.
#[test]
fn model_ticket_push_decodes_and_hides_the_ticket() {
    let value = json!({
        "msg_type": "event",
        "base_info": {"req_id": "xxx", "createtime": 1658332800, "model_id": "xxx", "service_corpid": "xxx"},
        "event": {"event_type": "model_ticket", "model_ticket": "TICKET-SEEKRIT"}
    });
    let callback = decode(&value);
    assert_eq!(callback.base_info.device_sn, None);
    assert_eq!(callback.base_info.model_id.as_deref(), Some("xxx"));
    let HardwareCallbackContent::Event(HardwareEvent {
        kind: HardwareEventKind::ModelTicket(push),
    }) = &callback.content
    else {
        panic!("{callback:?}")
    };
    assert_eq!(
        push.model_ticket.as_ref().map(|t| t.expose()),
        Some("TICKET-SEEKRIT")
    );
    assert!(!format!("{callback:?}").contains("SEEKRIT"));
}

/// 查询设备SN合法性事件 (96130): the example writes event/event_type, the table
/// command/command_type; both read the same type, and the reply is typed.
#[test]
fn verify_device_reads_in_both_spellings_and_its_reply_serializes() {
    let as_event = json!({
        "msg_type": "event",
        "base_info": {"req_id": "xxx", "createtime": 1658332800, "auth_corpid": "xxx", "service_corpid": "xxx"},
        "event": {"event_type": "verify_device", "device_sn_md5": "md5"}
    });
    let HardwareEventKind::VerifyDevice(query) = event_kind(&as_event) else {
        panic!("not verify_device")
    };
    assert_eq!(query.device_sn_md5.as_deref(), Some("md5"));

    let as_command = command(json!({"command_type": "verify_device", "device_sn_md5": "md5"}));
    let HardwareCommandKind::VerifyDevice(query) = command_kind(&as_command) else {
        panic!("not verify_device")
    };
    assert_eq!(query.device_sn_md5.as_deref(), Some("md5"));

    let reply: HardwareVerifyDeviceReply =
        serde_json::from_value(json!({"is_valid": true, "modelid": "XXX"})).expect("reply");
    assert!(reply.is_valid);
    assert_eq!(
        serde_json::to_value(&reply).expect("json"),
        json!({"is_valid": true, "modelid": "XXX"})
    );
}

/// 固件升级指令 (96011), 识别信息录入指令 (96009), 远程开门指令 (96010).
#[test]
fn device_commands_carry_their_operation_ids() {
    let HardwareCommandKind::UpdateFirmware(upgrade) = command_kind(&command(
        json!({"command_type": "update_firmware", "oper_id": "op1"}),
    )) else {
        panic!("not update_firmware")
    };
    assert_eq!(upgrade.oper_id.as_deref(), Some("op1"));

    let HardwareCommandKind::EnterPage(enter) = command_kind(&command(json!({
        "command_type": "enter_page", "page_type": "fa", "oper_id": "xxxxx", "open_userid": "xx", "user_type": 0
    }))) else {
        panic!("not enter_page")
    };
    assert_eq!(enter.page_type, Some(HardwareBioPageType::Face));
    assert_eq!(enter.oper_id.as_deref(), Some("xxxxx"));
    assert_eq!(enter.user_type, Some(DeviceUserType::Member));

    let HardwareCommandKind::RemoteOpenDoor(open) = command_kind(&command(json!({
        "command_type": "remote_open_door", "open_userid": "xxxx", "oper_id": "op2"
    }))) else {
        panic!("not remote_open_door")
    };
    assert_eq!(open.oper_id.as_deref(), Some("op2"));
    assert_eq!(open.open_userid.as_deref(), Some("xxxx"));
}

/// 用户扫码指令 (97390; the page's example ends with one `}` too many, dropped here).
#[test]
fn user_scan_decodes_and_hides_its_auth_code() {
    let value = command(json!({
        "command_type": "user_scan",
        "oper_id": "xxxxx",
        "open_userid": "xx",
        "state": "STATE",
        "user_type": 1,
        "auth_code": "SCAN-CODE-77",
        "expires_in": 300,
        "auth_code_type": 1
    }));
    let callback = decode(&value);
    let HardwareCallbackContent::Command(HardwareCommand {
        kind: HardwareCommandKind::UserScan(scan),
    }) = &callback.content
    else {
        panic!("{callback:?}")
    };
    assert_eq!(scan.user_type, Some(HardwareScanUserType::Admin));
    assert_eq!(scan.state.as_deref(), Some("STATE"));
    assert_eq!(scan.expires_in, Some(300));
    assert_eq!(
        scan.auth_code.as_ref().map(|c| c.expose()),
        Some("SCAN-CODE-77")
    );
    assert!(!format!("{callback:?}").contains("SCAN-CODE-77"));

    let reply = HardwareUserScanReply { online_status: 1 };
    assert_eq!(
        serde_json::to_value(&reply).expect("json"),
        json!({"online_status": 1})
    );
}

/// Kinds this version does not know keep every field; so does an unknown msg_type.
#[test]
fn unknown_kinds_keep_their_fields() {
    let HardwareEventKind::Unknown(fields) = event_kind(&event(
        json!({"event_type": "delete_bio_info", "open_userid": "u1"}),
    )) else {
        panic!("an unlisted event_type is typed")
    };
    assert_eq!(fields.get("open_userid"), Some(&json!("u1")));
    assert_eq!(fields.get("event_type"), Some(&json!("delete_bio_info")));

    let value = json!({"msg_type": "notice", "base_info": base(), "notice": {"x": 1}});
    let HardwareCallbackContent::Unknown(fields) = decode(&value).content else {
        panic!("an unlisted msg_type is typed")
    };
    assert_eq!(fields.get("notice"), Some(&json!({"x": 1})));
}

/// A decoded callback serializes back to what was sent.
#[test]
fn callbacks_write_back_their_wire_shape() {
    for value in [
        event(json!({"event_type": "bind", "auth_code": "a", "verif_code": "v"})),
        event(json!({"event_type": "unbind"})),
        command(json!({"command_type": "remote_open_door", "open_userid": "u", "oper_id": "o"})),
    ] {
        let back = serde_json::to_value(decode(&value)).expect("serialize");
        assert_eq!(back, value);
    }
}

/// A callback without its base_info, or with a field of the wrong type, is refused, and the
/// error names the field.
#[test]
fn malformed_callbacks_name_the_field() {
    let missing =
        json!({"msg_type": "command", "command": {"command_type": "fetch_device_status"}});
    let err = serde_json::from_value::<HardwareCallback>(missing).expect_err("no base_info");
    assert!(err.to_string().contains("base_info"), "{err}");

    let wrong = command(json!({"command_type": "user_scan", "expires_in": "soon"}));
    let err = serde_json::from_value::<HardwareCallback>(wrong).expect_err("text expires_in");
    assert!(err.to_string().contains("expires_in"), "{err}");
}

/// A hardware push through the callback endpoint: `Callback::parse` types it as
/// `Callback::Hardware`, and a router hands it to the handler registered for it.
#[tokio::test]
async fn a_sealed_push_reaches_the_hardware_handler_through_the_endpoint() {
    use std::sync::{Arc, Mutex};
    use wecom_api::callback::{
        Callback, CallbackCrypto, Context, Endpoint, HandlerResult, Registry, Router, Source,
    };

    let push = event(json!({"event_type": "unbind"})).to_string();
    let parsed = Callback::parse(&push).expect("parse");
    assert_eq!(parsed.kind(), "hardware");
    assert!(matches!(parsed, Callback::Hardware(_)), "{parsed:?}");

    type Seen = Arc<Mutex<Vec<String>>>;
    async fn on_push(ctx: Context<Seen>, push: HardwareCallback) -> HandlerResult {
        let what = match push.content {
            HardwareCallbackContent::Event(e) => format!("{:?}", e.kind),
            other => format!("{other:?}"),
        };
        ctx.state().lock().expect("seen").push(what);
        Ok(None)
    }
    let crypto = CallbackCrypto::new(
        "QDG6eK",
        "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C",
        "wwservicecorp",
    )
    .expect("settings");
    let registry = Registry::new();
    registry.insert(Source::new("hardware", crypto.clone()));
    let seen = Seen::default();
    let endpoint = Endpoint::new(registry, Router::new().on(on_push), seen.clone());
    let sealed = crypto.seal_json_request(&push).expect("seal");
    let answer = endpoint
        .receive(&sealed.query, sealed.body.as_bytes())
        .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let seen = seen.lock().expect("seen").clone();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert!(seen[0].contains("Unbind"), "{seen:?}");
}
