//! Samples from outside the spec are checked like its examples, except that values outside a
//! listed enum and unknown union variants pass (they decode).

use codegen::validate::{SampleSide, check_sample};
use serde_json::json;

const SPEC: &str = r#"
group: demo
title: 演示
endpoints:
  - id: user.create
    title: 创建成员
    doc: https://developer.work.weixin.qq.com/document/path/90195
    method: POST
    path: /cgi-bin/user/create
    request: {kind: json, type: User}
    response: {kind: json, type: Created}
    examples:
      - request: {userid: zhangsan, gender: 1, attrs: [{type: 0, text: {value: v}}]}
        response: {errcode: 0, errmsg: ok, created_at: 1}
types:
  User:
    kind: object
    fields:
      - {name: userid, type: string, required: true, aliases: [user_id]}
      - {name: gender, type: Gender}
      - {name: attrs, type: array<Attr>}
      - {name: department, type: array<integer>, one_or_many: true}
  Gender:
    kind: int_enum
    values:
      - {value: 1, name: Male}
  Attr:
    kind: object
    fields:
      - {name: value, type: AttrValue, required: true}
  AttrValue:
    kind: union
    tag: type
    variants:
      - {tag: 0, key: text, type: Text}
  Text:
    kind: object
    fields:
      - {name: value, type: string}
  Created:
    kind: object
    fields:
      - {name: created_at, type: integer}
"#;

fn problems(side: SampleSide, body: serde_json::Value) -> Vec<String> {
    let spec = codegen::load_sources(&[("demo.yaml".to_string(), SPEC.to_string())])
        .expect("the test spec loads");
    let group = &spec.groups[0];
    let endpoint = &group.spec.endpoints[0];
    check_sample(group, endpoint, side, &body)
        .expect("the endpoint has a JSON body on both sides")
        .into_iter()
        .map(|d| format!("{}: {}", d.place, d.message))
        .collect()
}

#[test]
fn unknown_enum_values_and_variants_pass() {
    let body = json!({"userid": "zhangsan", "gender": 7, "attrs": [{"type": 9}]});
    assert_eq!(problems(SampleSide::Request, body), Vec::<String>::new());
}

#[test]
fn undeclared_missing_and_mistyped_fields_are_named() {
    let body =
        json!({"gender": "male", "nickname": "z", "attrs": [{"type": 0, "text": {"value": 1}}]});
    assert_eq!(
        problems(SampleSide::Request, body),
        vec![
            "request: required field `userid` of User is missing",
            "request.gender: expected Gender (integer), found \"male\"",
            "request.nickname: `nickname` is not a field of User: declare it",
        ]
    );
}

#[test]
fn the_response_envelope_is_not_a_field() {
    let body = json!({"errcode": 0, "errmsg": "ok", "created_at": "x"});
    assert_eq!(
        problems(SampleSide::Response, body),
        vec!["response.created_at: expected integer, found \"x\""]
    );
}

#[test]
fn a_blank_string_is_an_absent_optional_number_as_the_runtime_reads_it() {
    let body = json!({"errcode": 0, "errmsg": "ok", "created_at": " "});
    assert_eq!(problems(SampleSide::Response, body), Vec::<String>::new());
}

#[test]
fn an_alias_and_a_bare_item_count_as_described() {
    let body = json!({"user_id": "zhangsan", "department": 3});
    assert_eq!(problems(SampleSide::Request, body), Vec::<String>::new());
    let body = json!({"userid": "zhangsan", "department": "x"});
    assert_eq!(
        problems(SampleSide::Request, body),
        vec!["request.department: expected integer, found \"x\""]
    );
}
