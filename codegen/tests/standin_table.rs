//! The stand-in's table from the mini spec: what wecom-standin routes and validates by.

use serde_json::{Value, json};

#[test]
fn the_standin_table_carries_each_endpoints_inputs_answer_and_request_types() {
    let spec = codegen::load_sources(&[
        ("mini.yaml".into(), include_str!("mini.yaml").into()),
        (
            "common.yaml".into(),
            include_str!("mini_common.yaml").into(),
        ),
    ])
    .unwrap_or_else(|e| panic!("{e}"));
    let files = codegen::generate(&spec).unwrap_or_else(|e| panic!("{e}"));
    let text = &files
        .iter()
        .find(|f| f.path == "wecom-standin/src/generated/endpoints.json")
        .expect("the stand-in table is generated")
        .contents;
    let table: Value = serde_json::from_str(text).unwrap();
    let endpoint = |id: &str| {
        table["endpoints"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["id"] == id)
            .unwrap_or_else(|| panic!("{id} missing"))
            .clone()
    };

    let get = endpoint("thing.get");
    assert_eq!(get["method"], "GET");
    assert_eq!(get["path"], "/cgi-bin/thing/get");
    assert_eq!(get["credential"], "access_token");
    assert_eq!(
        get["query"],
        json!([
            {"name": "id", "type": "string", "required": true},
            {"name": "level", "type": "Level", "required": false},
        ])
    );
    // The first documented example is the answer and the request the stand-in test sends.
    assert_eq!(get["response"]["name"], "甲");
    assert_eq!(get["example_query"], json!({"id": "a1", "level": 2}));

    let send = endpoint("thing.send");
    assert_eq!(send["body"], json!({"json": "SendRequest"}));
    assert_eq!(send["example_request"]["touser"], "a|b");
    assert_eq!(endpoint("thing.download")["response"], "binary");
    assert!(endpoint("thing.upload")["body"]["multipart"].is_string());

    // Request-side types (and the query's enums) are there; response-only ones are not.
    let types = &table["types"]["mini"];
    assert!(types["SendRequest"]["object"].is_array());
    assert_eq!(types["Level"], "int_enum");
    assert!(types.get("Thing").is_none());
    assert!(types.get("SendResponse").is_none());
}
