//! Fields an official page writes two ways (its table and its example) decode either way, and
//! are written the one way the spec chose: a list sent as its one item (`one_or_many`) and a
//! name spelled differently (`aliases`).

use serde_json::json;
use wecom_api::external_pay::Order;
use wecom_api::hr::StaffFieldRef;
use wecom_api::meeting::ControlSetNicknamesRequest;
use wecom_api::oa::{AdvancedApprovalStatus, AdvancedProcessNode, CheckinRange};
use wecom_api::wedoc::{SheetProperties, SmartsheetViewResponse};

#[test]
fn a_list_sent_as_its_one_item_reads_as_a_list_of_one() {
    // 97323's example as WeCom's page writes it: promotion_detail and goods_detail bare.
    let order: Order = serde_json::from_value(json!({
        "mchid": "1900000109",
        "out_trade_no": "20231027000000001",
        "promotion_detail": {
            "coupon_id": "coupon_001",
            "amount": 10,
            "goods_detail": {"goods_id": "item_001", "quantity": 1, "unit_price": 100}
        }
    }))
    .expect("the page's own example decodes");
    assert_eq!(order.promotion_detail.len(), 1);
    let promotion = &order.promotion_detail[0];
    assert_eq!(promotion.coupon_id.as_deref(), Some("coupon_001"));
    assert_eq!(promotion.goods_detail.len(), 1);
    assert_eq!(promotion.goods_detail[0].unit_price, Some(100));
    // Written back as the list the table describes.
    let written = serde_json::to_value(&order).unwrap();
    assert!(written["promotion_detail"].is_array());
    assert!(written["promotion_detail"][0]["goods_detail"].is_array());

    // The list form still reads, and an item that does not fit is named by its path.
    let order: Order =
        serde_json::from_value(json!({"promotion_detail": [{"amount": 1}, {"amount": 2}]}))
            .unwrap();
    assert_eq!(order.promotion_detail.len(), 2);
    let error = serde_json::from_value::<Order>(json!({"promotion_detail": {"amount": "x"}}))
        .unwrap_err()
        .to_string();
    assert!(error.contains("promotion_detail.amount"), "{error}");

    // 93384: its table types range.userid as a string, its example sends a list.
    let range: CheckinRange = serde_json::from_value(json!({"userid": "icef"})).unwrap();
    assert_eq!(range.userid, Some(vec!["icef".to_string()]));
    let range: CheckinRange =
        serde_json::from_value(json!({"userid": ["icef", "LiJingZhong"]})).unwrap();
    assert_eq!(range.userid.map(|u| u.len()), Some(2));
}

#[test]
fn a_name_spelled_two_ways_reads_under_either_and_is_written_as_chosen() {
    // 99880's example writes node_status in one node where its table says node_apv_status.
    let node: AdvancedProcessNode =
        serde_json::from_value(json!({"node_status": 3, "node_apv_rel": 1})).unwrap();
    assert_eq!(node.node_apv_status, AdvancedApprovalStatus::from(3));
    let written = serde_json::to_value(&node).unwrap();
    assert_eq!(written["node_apv_status"], 3);
    assert!(written.get("node_status").is_none());
    // Required under either name: neither is an error naming the table's spelling.
    let error = serde_json::from_value::<AdvancedProcessNode>(json!({"node_apv_rel": 1}))
        .unwrap_err()
        .to_string();
    assert!(error.contains("node_apv_status"), "{error}");

    // set_nicknames: the table spells the list opereated_users, the example operated_users.
    let request: ControlSetNicknamesRequest = serde_json::from_value(json!({
        "meetingid": "m1",
        "opereated_users": [{"tmp_openid": "MSOPENID", "instance_id": 1, "nickname": "nick"}]
    }))
    .unwrap();
    assert_eq!(request.operated_users.len(), 1);
    assert!(serde_json::to_value(&request).unwrap()["operated_users"].is_array());

    // 99132's example writes sud_idx for sub_idx.
    let field: StaffFieldRef =
        serde_json::from_value(json!({"fieldid": 11004, "sud_idx": 1})).unwrap();
    assert_eq!(field.sub_idx, Some(1));
}

#[test]
fn answers_the_pages_show_empty_decode() {
    // update_view's example answers `"view": {}`; batch_update's add_sheet_response
    // `"properties": {}`.
    let answer: SmartsheetViewResponse =
        serde_json::from_value(json!({"errcode": 0, "errmsg": "ok", "view": {}})).unwrap();
    assert_eq!(answer.view.and_then(|v| v.view_id), None);
    let properties: SheetProperties = serde_json::from_value(json!({})).unwrap();
    assert_eq!(properties.sheet_id, None);
}
