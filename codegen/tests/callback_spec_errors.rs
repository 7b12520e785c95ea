//! `callbacks.yaml` problems are refused with file and place, and a valid one generates a
//! module, its tests and its schema.

use codegen::load_sources;

const VALID: &str = r#"
title: 接收消息与事件
doc: https://developer.work.weixin.qq.com/document/path/90238
message_header:
  - {name: MsgType, type: string}
  - {name: MsgId, type: string}
event_header:
  - {name: MsgType, type: string}
  - {name: Event, type: string}
info_header:
  - {name: InfoType, type: string}
reply_header:
  - {name: MsgType, type: string}
messages:
  - msg_type: text
    name: Text
    title: 文本消息
    doc: https://developer.work.weixin.qq.com/document/path/90239
    fields:
      - {name: Content, type: string}
    examples:
      - xml: "<xml><MsgType><![CDATA[text]]></MsgType><Content>hi</Content><MsgId>1</MsgId></xml>"
events:
  - event: change_contact
    info_type: change_contact
    name: ChangeContact
    title: 通讯录变更事件
    doc: https://developer.work.weixin.qq.com/document/path/90970
    fields:
      - {name: ChangeType, type: string}
    change_types:
      - change_type: update_party
        name: UpdateParty
        title: 更新部门
        fields:
          - {name: Id, type: integer}
          - {name: Items, type: "array<Item>", item: Item}
        examples:
          - xml: "<xml><MsgType>event</MsgType><Event>change_contact</Event><ChangeType>update_party</ChangeType><Id>2</Id><Items><Item><Name>a</Name></Item></Items></xml>"
          - json: {InfoType: change_contact, ChangeType: update_party, Id: 3}
replies:
  - msg_type: text
    name: Text
    title: 文本消息
    doc: https://developer.work.weixin.qq.com/document/path/90241
    fields:
      - {name: Content, type: string}
    examples:
      - xml: "<xml><MsgType>text</MsgType><Content>ok</Content></xml>"
types:
  Item:
    fields:
      - {name: Name, type: string}
"#;

fn errors(text: &str) -> Vec<String> {
    match load_sources(&[("callbacks.yaml".to_string(), text.to_string())]) {
        Ok(_) => Vec::new(),
        Err(e) => e.0.iter().map(|d| d.to_string()).collect(),
    }
}

fn assert_refused(text: &str, place: &str, message: &str) {
    let found = errors(text);
    assert!(
        found
            .iter()
            .any(|e| e.starts_with(&format!("callbacks.yaml: {place}")) && e.contains(message)),
        "expected `{place}` … `{message}`, got {found:#?}"
    );
}

#[test]
fn the_valid_spec_generates_module_tests_and_schema() {
    let spec = load_sources(&[("callbacks.yaml".to_string(), VALID.to_string())]).unwrap();
    let files = codegen::generate(&spec).unwrap();
    let file = |path: &str| {
        files
            .iter()
            .find(|f| f.path == path)
            .unwrap_or_else(|| panic!("{path} not generated"))
            .contents
            .clone()
    };
    let module = file("wecom-api/src/generated/callbacks.rs");
    for needle in [
        "pub struct TextMessage",
        "pub struct ChangeContactUpdateParty",
        "pub enum ChangeContactEvent",
        "Some(\"update_party\") =>",
        "\"event.change_contact.update_party\"",
        "fn ser_list_in_upper_item",
        "crate::callback::de::wrapped_list(&mut fields, \"Items\", \"Item\")",
        "pub struct TextReply",
        "pub fn to_xml(&self) -> String",
    ] {
        assert!(module.contains(needle), "module lacks {needle}");
    }
    let tests = file("tests/tests/generated/callbacks.rs");
    assert_eq!(tests.matches("#[test]").count(), 4, "one test per example");
    assert!(tests.contains("fn event_change_contact_update_party_1()"));
    assert!(file("spec/callbacks.schema.json").contains("\"change_types\""));
    assert!(file("wecom-api/src/generated/mod.rs").contains("pub(crate) mod callbacks;"));
}

#[test]
fn undeclared_example_elements_are_refused() {
    let text = VALID.replace("<Id>2</Id>", "<Id>2</Id><Extra>x</Extra>");
    assert_refused(
        &text,
        "events[change_contact].change_types[update_party].examples[0].Extra",
        "not an element of the callback",
    );
    let text = VALID.replace("<Name>a</Name>", "<Nom>a</Nom>");
    assert_refused(
        &text,
        "events[change_contact].change_types[update_party].examples[0].Items",
        "not an element of Item",
    );
}

#[test]
fn examples_must_dispatch_where_they_sit() {
    let text = VALID.replace(
        "<ChangeType>update_party</ChangeType>",
        "<ChangeType>delete_party</ChangeType>",
    );
    assert_refused(
        &text,
        "events[change_contact].change_types[update_party].examples[0]",
        "`ChangeType`",
    );
    let text = VALID.replace(
        "<MsgType><![CDATA[text]]></MsgType>",
        "<MsgType>image</MsgType>",
    );
    assert_refused(&text, "messages[text].examples[0]", "`MsgType`");
}

#[test]
fn example_values_must_fit_their_types() {
    let text = VALID.replace("<Id>2</Id>", "<Id>two</Id>");
    assert_refused(
        &text,
        "events[change_contact].change_types[update_party].examples[0].Id",
        "expected integer",
    );
    let text = VALID.replace("<Content>hi</Content>", "<Content><A>1</A></Content>");
    assert_refused(
        &text,
        "messages[text].examples[0].Content",
        "expected string",
    );
    let text = VALID.replace(
        "<xml><MsgType><![CDATA[text]]>",
        "<xml><MsgType><![CDATA[text]]></Oops>",
    );
    assert_refused(&text, "messages[text].examples[0]", "malformed XML");
}

#[test]
fn declarations_are_checked() {
    assert_refused(&VALID.replace("name: Text\n    title: 文本消息\n    doc: https://developer.work.weixin.qq.com/document/path/90239", "name: text\n    title: 文本消息\n    doc: https://developer.work.weixin.qq.com/document/path/90239"), "messages[text].name", "UpperCamelCase");
    assert_refused(
        &VALID.replace("{name: Id, type: integer}", "{name: Id, type: Missing}"),
        "events[change_contact].change_types[update_party].Id.type",
        "unknown type `Missing`",
    );
    assert_refused(
        &VALID.replace(
            "{name: Id, type: integer}",
            "{name: Id, type: integer, item: X}",
        ),
        "events[change_contact].change_types[update_party].Id.item",
        "arrays only",
    );
    assert_refused(&VALID.replace("      - {name: Content, type: string}\n    examples:\n      - xml: \"<xml><MsgType><![CDATA[text]]>", "      - {name: MsgId, type: string}\n    examples:\n      - xml: \"<xml><MsgType><![CDATA[text]]>"), "messages[text].MsgId", "duplicate element `MsgId`");
    assert_refused(
        &VALID.replace(
            "  - {name: Content, type: string}\n    examples:\n      - xml: \"<xml><MsgType>text",
            "  - {name: type, type: string}\n    examples:\n      - xml: \"<xml><MsgType>text",
        ),
        "replies[text].type",
        "not a usable Rust name",
    );
    assert_refused(
        &format!("{VALID}  Unused:\n    fields: []\n"),
        "types.Unused",
        "not used",
    );
    assert_refused(&VALID.replace("    examples:\n      - xml: \"<xml><MsgType>text</MsgType><Content>ok</Content></xml>\"\n", ""), "replies[text].examples", "documented example");
    assert_refused(
        &VALID.replace(
            "doc: https://developer.work.weixin.qq.com/document/path/90241",
            "doc: nowhere",
        ),
        "replies[text].doc",
        "https://",
    );
    assert_refused(
        &VALID.replace(
            "  - event: change_contact\n    info_type: change_contact\n    name:",
            "  - name:",
        ),
        "events[ChangeContact]",
        "needs `event`, `info_type` or both",
    );
}

#[test]
fn unknown_keys_are_refused_with_a_line() {
    let found = errors(&VALID.replace(
        "title: 接收消息与事件",
        "title: 接收消息与事件\nsurprise: 1",
    ));
    assert!(
        found
            .iter()
            .any(|e| e.starts_with("callbacks.yaml: line ") && e.contains("surprise")),
        "{found:#?}"
    );
}

#[test]
fn aliases_dispatch_to_their_change_type() {
    // An example spelled as the alias validates and is routed by both spellings.
    let with_alias = VALID
        .replace(
            "      - change_type: update_party\n",
            "      - change_type: update_party\n        aliases: [update_partty]\n",
        )
        .replace(
            "json: {InfoType: change_contact, ChangeType: update_party, Id: 3}",
            "json: {InfoType: change_contact, ChangeType: update_partty, Id: 3}",
        );
    assert_eq!(errors(&with_alias), Vec::<String>::new());
    let spec = load_sources(&[("callbacks.yaml".to_string(), with_alias)]).unwrap();
    let files = codegen::generate(&spec).unwrap();
    let module = &files
        .iter()
        .find(|f| f.path == "wecom-api/src/generated/callbacks.rs")
        .expect("module")
        .contents;
    assert!(
        module.contains("Some(\"update_party\") =>"),
        "table spelling"
    );
    assert!(
        module.contains("Some(\"update_partty\") =>"),
        "alias spelling"
    );

    let clash = VALID.replace(
        "      - change_type: update_party\n",
        "      - change_type: update_party\n        aliases: [update_party]\n",
    );
    assert_refused(
        &clash,
        "events[change_contact].change_types[update_party].aliases",
        "already dispatches",
    );
    let blank = VALID.replace(
        "      - change_type: update_party\n",
        "      - change_type: update_party\n        aliases: [\" \"]\n",
    );
    assert_refused(
        &blank,
        "events[change_contact].change_types[update_party].aliases",
        "empty alias",
    );
}
