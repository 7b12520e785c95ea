//! Every kind of spec error is refused, and reported with its file and place.

use codegen::load_sources;

const VALID: &str = r#"
group: demo
title: 演示
endpoints:
  - id: user.get
    title: 读取成员
    doc: https://developer.work.weixin.qq.com/document/path/90196
    method: GET
    path: /cgi-bin/user/get
    query:
      - {name: userid, type: string, required: true}
    response: {kind: json, type: User}
    examples:
      - query: {userid: zhangsan}
        response: {errcode: 0, errmsg: ok, userid: zhangsan, gender: "1", attrs: [{type: 0, text: {value: v}}]}
types:
  User:
    kind: object
    fields:
      - {name: userid, type: string, required: true}
      - {name: gender, type: Gender}
      - {name: attrs, type: array<Attr>}
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
"#;

fn load(files: &[(&str, &str)]) -> Result<codegen::Spec, String> {
    let sources: Vec<(String, String)> = files
        .iter()
        .map(|(name, text)| (name.to_string(), text.to_string()))
        .collect();
    load_sources(&sources).map_err(|e| e.to_string())
}

/// Loads `demo.yaml` with `from` replaced by `to`, and returns the error report.
fn error_after(from: &str, to: &str) -> String {
    assert!(
        VALID.contains(from),
        "test setup: `{from}` is not in the valid spec"
    );
    match load(&[("demo.yaml", &VALID.replacen(from, to, 1))]) {
        Ok(_) => panic!("the spec with `{to}` was accepted"),
        Err(report) => report,
    }
}

fn assert_reports(report: &str, needles: &[&str]) {
    for needle in needles {
        assert!(
            report.contains(needle),
            "`{needle}` missing from:\n{report}"
        );
    }
}

#[test]
fn the_valid_spec_loads() {
    let spec = load(&[("demo.yaml", VALID)]).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(spec.groups[0].spec.endpoints.len(), 1);
}

#[test]
fn yaml_syntax_error_names_line_and_column() {
    let report = error_after("title: 演示", "title: [演示");
    assert_reports(&report, &["demo.yaml: line ", "column"]);
}

#[test]
fn unknown_keys_are_errors() {
    let report = error_after("    method: GET", "    method: GET\n    methd: POST");
    assert_reports(&report, &["demo.yaml: line 9", "unknown field `methd`"]);
}

#[test]
fn missing_required_key_is_an_error() {
    let report = error_after("    title: 读取成员\n", "");
    assert_reports(&report, &["demo.yaml", "missing field `title`"]);
}

#[test]
fn duplicate_endpoint_ids_across_files() {
    let other = VALID
        .replace("group: demo", "group: other")
        .replace("User", "Person");
    let report = load(&[("demo.yaml", VALID), ("other.yaml", &other)]).unwrap_err();
    assert_reports(
        &report,
        &["other.yaml: endpoints[user.get].id: duplicate endpoint id (also in demo.yaml)"],
    );
}

#[test]
fn a_namespace_belongs_to_one_group() {
    let other = VALID
        .replace("group: demo", "group: other")
        .replace("id: user.get", "id: user.find");
    let report = load(&[("demo.yaml", VALID), ("other.yaml", &other)]).unwrap_err();
    assert_reports(&report, &["namespace `user` already belongs to demo.yaml"]);
}

#[test]
fn a_namespace_cannot_shadow_a_client_method() {
    assert_reports(
        &error_after("id: user.get", "id: upload.get"),
        &[
            "endpoints[upload.get].id",
            "would clash with the method Client::upload",
        ],
    );
}

#[test]
fn malformed_ids_and_paths() {
    assert_reports(
        &error_after("id: user.get", "id: UserGet"),
        &["endpoints[UserGet].id", "namespace.method"],
    );
    assert_reports(
        &error_after("path: /cgi-bin/user/get", "path: cgi-bin/user/get"),
        &["endpoints[user.get].path", "must start with `/`"],
    );
    assert_reports(
        &error_after("path: /cgi-bin/user/get", "path: /cgi-bin/user/get?x=1"),
        &["endpoints[user.get].path", "plain path"],
    );
    assert_reports(
        &error_after("doc: https://", "doc: http://"),
        &["endpoints[user.get].doc"],
    );
}

#[test]
fn unknown_and_malformed_type_references() {
    assert_reports(
        &error_after("type: array<Attr>", "type: array<Atr>"),
        &["types.User.attrs.type", "unknown type `Atr`"],
    );
    assert_reports(
        &error_after("type: array<Attr>", "type: array<Attr"),
        &["types.User.attrs.type", "is not a type"],
    );
    assert_reports(
        &error_after(
            "response: {kind: json, type: User}",
            "response: {kind: json, type: Nobody}",
        ),
        &["endpoints[user.get].response.type", "unknown type `Nobody`"],
    );
    assert_reports(
        &error_after(
            "response: {kind: json, type: User}",
            "response: {kind: json, type: Gender}",
        ),
        &["must be an object type"],
    );
}

#[test]
fn example_that_does_not_match_its_schema() {
    assert_reports(
        &error_after(
            "userid: zhangsan, gender",
            "userid: zhangsan, nickname: z, gender",
        ),
        &[
            "endpoints[user.get].examples[0].response.nickname",
            "not a field of User",
        ],
    );
    assert_reports(
        &error_after("gender: \"1\"", "gender: \"male\""),
        &["examples[0].response.gender", "expected Gender (integer)"],
    );
    assert_reports(
        &error_after("gender: \"1\"", "gender: 3"),
        &[
            "examples[0].response.gender",
            "3 is not a documented value of Gender",
        ],
    );
    assert_reports(
        &error_after("errmsg: ok, userid: zhangsan, ", "errmsg: ok, "),
        &[
            "examples[0].response",
            "required field `userid` of User is missing",
        ],
    );
    assert_reports(
        &error_after("text: {value: v}", "text: {value: [v]}"),
        &[
            "examples[0].response.attrs[0].text.value",
            "expected string",
        ],
    );
    assert_reports(
        &error_after("{type: 0, text", "{type: 5, text"),
        &[
            "examples[0].response.attrs[0].type",
            "5 is not a declared variant",
        ],
    );
    assert_reports(
        &error_after("query: {userid: zhangsan}", "query: {user: zhangsan}"),
        &[
            "examples[0].query.user",
            "required query parameter `userid` is missing",
        ],
    );
}

#[test]
fn every_endpoint_needs_an_example() {
    let without = VALID.replace(
        "    examples:\n      - query: {userid: zhangsan}\n",
        "    examples: []\n    x:\n      - query: {userid: zhangsan}\n",
    );
    let cut = without.find("    x:").expect("marker");
    let end = without[cut..].find("types:").expect("types") + cut;
    let text = format!("{}{}", &without[..cut], &without[end..]);
    assert_reports(
        &load(&[("demo.yaml", &text)]).unwrap_err(),
        &["needs its documented example"],
    );
}

#[test]
fn bodies_and_parameters_in_the_wrong_place() {
    assert_reports(
        &error_after(
            "    response: {kind: json",
            "    request: {kind: json, type: User}\n    response: {kind: json",
        ),
        &["endpoints[user.get].request", "a GET endpoint has no body"],
    );
    assert_reports(
        &error_after(
            "{name: userid, type: string, required: true}",
            "{name: access_token, type: string}",
        ),
        &["added by the runtime"],
    );
    assert_reports(
        &error_after(
            "{name: userid, type: string, required: true}",
            "{name: userid, type: array<string>, required: true}",
        ),
        &["a query parameter must be a scalar"],
    );
}

#[test]
fn type_definition_errors() {
    assert_reports(
        &error_after(
            "      - {name: gender, type: Gender}",
            "      - {name: gender, type: Gender}\n      - {name: gender, type: string}",
        ),
        &["types.User.gender", "duplicate field `gender`"],
    );
    assert_reports(
        &error_after(
            "{value: 1, name: Male}",
            "{value: 1, name: Male}\n      - {value: 1, name: Female}",
        ),
        &["types.Gender", "duplicate value 1"],
    );
    assert_reports(
        &error_after("{value: 1, name: Male}", "{value: 1, name: male}"),
        &["variant name `male` must be UpperCamelCase"],
    );
    assert_reports(
        &error_after("{tag: 0, key: text, type: Text}", "{tag: 0, type: Text}"),
        &["types.AttrValue.variants[0]", "an integer tag needs `key`"],
    );
    assert_reports(
        &error_after(
            "{name: userid, type: string, required: true}\n      - {name: gender",
            "{name: type, type: string, required: true}\n      - {name: gender",
        ),
        &["`type` is not a usable Rust name: set `rust_name`"],
    );
    assert_reports(
        &error_after(
            "      - {name: value, type: string}",
            "      - {name: value, type: integer, secret: true}",
        ),
        &["only a string field can be `secret`"],
    );
    assert_reports(
        &error_after("type: array<Attr>", "type: array<AttrValue>"),
        &["cannot sit inside array<> or map<>"],
    );
}

#[test]
fn read_options_are_checked() {
    assert_reports(
        &error_after(
            "      - {name: gender, type: Gender}",
            "      - {name: gender, type: Gender, aliases: [userid]}",
        ),
        &[
            "types.User.gender.aliases",
            "`userid` is already a name or alias of a field of this type",
        ],
    );
    assert_reports(
        &error_after(
            "      - {name: gender, type: Gender}",
            "      - {name: gender, type: Gender, one_or_many: true}",
        ),
        &[
            "types.User.gender.one_or_many",
            "only an `array<T>` field can be read from one item",
        ],
    );
    assert_reports(
        &error_after(
            "{name: value, type: AttrValue, required: true}",
            "{name: value, type: AttrValue, required: true, aliases: [v]}",
        ),
        &["types.Attr.value", "a union is flattened into its object"],
    );
    assert_reports(
        &error_after(
            "      - {name: userid, type: string, required: true}\n    response",
            "      - {name: userid, type: string, required: true, aliases: [user_id]}\n    response",
        ),
        &[
            "endpoints[user.get].query[0]",
            "a query parameter is only sent",
        ],
    );
}

#[test]
fn aliases_and_single_items_are_read_in_examples() {
    let spec = VALID
        .replacen(
            "      - {name: userid, type: string, required: true}\n      - {name: gender",
            "      - {name: userid, type: string, required: true, aliases: [user_id]}\n      - {name: gender",
            1,
        )
        .replacen(
            "{name: attrs, type: array<Attr>}",
            "{name: attrs, type: array<Attr>, one_or_many: true}",
            1,
        )
        .replacen(
            "userid: zhangsan, gender: \"1\", attrs: [{type: 0, text: {value: v}}]",
            "user_id: zhangsan, gender: \"1\", attrs: {type: 0, text: {value: v}}",
            1,
        );
    assert!(spec.contains("user_id: zhangsan"), "test setup");
    load(&[("demo.yaml", &spec)])
        .expect("an alias and a bare item are read as the runtime reads them");
}

#[test]
fn pagination_must_name_real_fields() {
    let paged = "    pagination: {cursor: cursor, next_cursor: next, items: attrs}\n    examples:";
    let report = error_after("    examples:", paged);
    assert_reports(
        &report,
        &[
            "endpoints[user.get].pagination.cursor: `cursor` is not an input of the endpoint",
            "endpoints[user.get].pagination.next_cursor: `next` is not a string field",
        ],
    );
    assert!(
        !report.contains("pagination.items"),
        "attrs is an array field:\n{report}"
    );
}

#[test]
fn unused_types_and_group_names() {
    assert_reports(
        &error_after(
            "  Text:\n",
            "  Spare:\n    kind: object\n    fields: []\n  Text:\n",
        ),
        &["types.Spare", "not used by any endpoint"],
    );
    assert_reports(
        &error_after("group: demo", "group: Demo"),
        &["`Demo` is not a snake_case name"],
    );
    let report = load(&[("wrong.yaml", VALID)]).unwrap_err();
    assert_reports(
        &report,
        &["wrong.yaml: group: group `demo` must live in demo.yaml"],
    );
}

#[test]
fn a_group_of_types_only_exports_every_type() {
    let types_only = "group: kinds\ntitle: 类型\nendpoints: []\ntypes:\n  Spare:\n    kind: object\n    fields:\n      - {name: v, type: string}\n";
    let spec = load(&[("kinds.yaml", types_only)]).expect("a group of types only loads");
    assert!(format!("{spec:?}").contains("Spare"));
    // Its types are printed; its test file has no example, so no mock to import.
    let files = codegen::generate(&spec).expect("generates");
    let module = files
        .iter()
        .find(|f| f.path == "wecom-api/src/generated/kinds.rs")
        .expect("the group's module");
    assert!(module.contents.contains("pub struct Spare"));
    let tests = files
        .iter()
        .find(|f| f.path == "tests/tests/generated/kinds.rs")
        .expect("the group's test file");
    assert!(
        !tests.contents.contains("crate::support"),
        "{}",
        tests.contents
    );
    // A type that names an unknown one is still refused there.
    let broken = types_only.replace("type: string", "type: Missing");
    assert_reports(
        &load(&[("kinds.yaml", &broken)]).unwrap_err(),
        &["kinds.yaml", "unknown type `Missing`"],
    );
}

#[test]
fn duplicate_errcodes() {
    let errcodes = "errcodes:\n  - {code: 1, meaning: a}\n  - {code: 1, meaning: b}\n";
    let report = load(&[("demo.yaml", VALID), ("errcodes.yaml", errcodes)]).unwrap_err();
    assert_reports(
        &report,
        &["errcodes.yaml: errcodes[1]: duplicate errcode 1"],
    );
}

#[test]
fn every_problem_is_reported_in_one_run() {
    let broken = VALID
        .replacen("path: /cgi-bin/user/get", "path: cgi-bin/user/get", 1)
        .replacen("type: array<Attr>", "type: array<Atr>", 1);
    let report = load(&[("demo.yaml", &broken)]).unwrap_err();
    assert_reports(&report, &["must start with `/`", "unknown type `Atr`"]);
}

/// `VALID` with `AttrValue` made inline and each `(from, to)` applied.
fn inline_variant(edits: &[(&str, &str)]) -> Result<codegen::Spec, String> {
    let mut text = VALID.replacen(
        "    tag: type\n    variants:",
        "    tag: type\n    inline: true\n    variants:",
        1,
    );
    for (from, to) in edits {
        assert!(
            text.contains(from),
            "test setup: `{from}` is not in the spec"
        );
        text = text.replacen(from, to, 1);
    }
    load(&[("demo.yaml", &text)])
}

#[test]
fn inline_unions_hold_their_fields_beside_the_tag() {
    let named = (
        "{tag: 0, key: text, type: Text}",
        "{tag: 0, name: Plain, type: Text}",
    );
    let flat = ("{type: 0, text: {value: v}}", "{type: 0, value: v}");
    let spec = inline_variant(&[named, flat]).unwrap_or_else(|e| panic!("{e}"));
    assert!(matches!(
        spec.groups[0].spec.types.get("AttrValue"),
        Some(codegen::model::TypeDef::Union { inline: true, .. })
    ));
    assert_reports(
        &inline_variant(&[
            named,
            ("{type: 0, text: {value: v}}", "{type: 0, value: v, x: 1}"),
        ])
        .unwrap_err(),
        &["`x` is not a field of Text"],
    );
    assert_reports(
        &inline_variant(&[
            named,
            ("{type: 0, text: {value: v}}", "{type: 0, value: [v]}"),
        ])
        .unwrap_err(),
        &["expected string"],
    );
    assert_reports(
        &inline_variant(&[flat]).unwrap_err(),
        &[
            "types.AttrValue.variants[0]",
            "an inline union has no `key`",
        ],
    );
    assert_reports(
        &inline_variant(&[
            ("{tag: 0, key: text, type: Text}", "{tag: 0, type: Text}"),
            flat,
        ])
        .unwrap_err(),
        &["an integer tag of an inline union needs `name`"],
    );
}

const UPLOAD: &str = r#"
group: demo
title: 演示
endpoints:
  - id: media.upload
    title: 上传临时素材
    doc: https://developer.work.weixin.qq.com/document/path/90253
    method: POST
    path: /cgi-bin/media/upload
    query:
      - {name: type, type: MediaType, required: true, rust_name: kind}
    request:
      kind: multipart
      part: media
      limits:
        - {param: type, value: image, max_bytes: 10485760, min_bytes: 6, extensions: [jpg, png]}
        - {max_bytes: 20971520}
    response: {kind: json, type: Uploaded}
    examples:
      - query: {type: image}
        response: {errcode: 0, errmsg: ok, media_id: m}
types:
  MediaType:
    kind: string_enum
    values:
      - {value: image, name: Image}
      - {value: file, name: File}
  Uploaded:
    kind: object
    fields:
      - {name: media_id, type: string}
"#;

/// Loads the upload spec with `from` replaced by `to`, and returns the error report.
fn upload_error_after(from: &str, to: &str) -> String {
    assert!(
        UPLOAD.contains(from),
        "test setup: `{from}` is not in the upload spec"
    );
    match load(&[("demo.yaml", &UPLOAD.replacen(from, to, 1))]) {
        Ok(_) => panic!("the spec with `{to}` was accepted"),
        Err(report) => report,
    }
}

#[test]
fn a_group_cannot_take_a_runtime_module_name() {
    let token = VALID.replace("group: demo", "group: token");
    let report = load(&[("token.yaml", &token)]).unwrap_err();
    assert_reports(
        &report,
        &["token.yaml: group: `token` is a module of the runtime"],
    );
}

#[test]
fn upload_limits_are_checked() {
    load(&[("demo.yaml", UPLOAD)]).unwrap_or_else(|e| panic!("{e}"));
    let place = "endpoints[media.upload].request.limits[0]";
    assert_reports(
        &upload_error_after("{param: type, value: image", "{param: kind, value: image"),
        &[&format!(
            "{place}.param: `kind` is not a declared query parameter"
        )],
    );
    assert_reports(
        &upload_error_after("{param: type, value: image", "{param: type, value: gif"),
        &[
            &format!("{place}.value"),
            "`gif` is not a documented value of MediaType",
        ],
    );
    assert_reports(
        &upload_error_after("{param: type, value: image, ", "{param: type, "),
        &[place, "`param` and `value` go together"],
    );
    assert_reports(
        &upload_error_after("min_bytes: 6", "min_bytes: 20000000"),
        &[&format!(
            "{place}.min_bytes: 20000000 is above max_bytes 10485760"
        )],
    );
    assert_reports(
        &upload_error_after("max_bytes: 10485760, min_bytes: 6", "max_bytes: 0"),
        &[&format!("{place}.max_bytes: must be above 0")],
    );
    assert_reports(
        &upload_error_after("[jpg, png]", "[.JPG, png, png]"),
        &[
            "`.JPG` must be lower case letters or digits",
            "duplicate extension `png`",
        ],
    );
    assert_reports(
        &upload_error_after(
            "- {max_bytes: 20971520}",
            "- {max_bytes: 1}\n        - {max_bytes: 2}",
        ),
        &[
            "endpoints[media.upload].request.limits[2]",
            "another limit has the same condition",
        ],
    );
    assert_reports(
        &upload_error_after("{max_bytes: 20971520}", "{max_bytes: 20971520, size: 1}"),
        &["unknown field `size`"],
    );
    assert_reports(
        &upload_error_after("part: media", "part: \"me dia\""),
        &["endpoints[media.upload].request.part"],
    );
}

#[test]
fn union_variants_without_content() {
    // A variant without `type` is its tag alone; examples may use it.
    let text = VALID
        .replacen(
            "{tag: 0, key: text, type: Text}",
            "{tag: 0, key: text, type: Text}\n      - {tag: 9, name: Nothing}",
            1,
        )
        .replacen(
            "attrs: [{type: 0, text: {value: v}}]",
            "attrs: [{type: 0, text: {value: v}}, {type: 9}]",
            1,
        );
    load(&[("demo.yaml", &text)]).unwrap_or_else(|e| panic!("{e}"));
    assert_reports(
        &error_after("{tag: 0, key: text, type: Text}", "{tag: 0, key: text}"),
        &["types.AttrValue.variants[0]", "has no content"],
    );
    assert_reports(
        &error_after("{tag: 0, key: text, type: Text}", "{tag: 0}"),
        &[
            "types.AttrValue.variants[0]",
            "an integer tag and no content needs `name`",
        ],
    );
}

#[test]
fn a_confirmation_names_its_page_and_each_unconfirmed_field_with_a_reason() {
    let report = error_after(
        "    response: {kind: json, type: User}\n",
        "    response: {kind: json, type: User}\n    confirmed:\n      page: developer.work.weixin.qq.com/document/path/90196\n      request: true\n      unconfirmed:\n        - {field: userid, why: ''}\n",
    );
    assert_reports(
        &report,
        &[
            "endpoints[user.get].confirmed.page: the page compared must be an https:// URL",
            "confirmed.unconfirmed[0].field: `userid` must start with `query.`, `request.` or `response.`",
            "confirmed.unconfirmed[0].why: say why",
        ],
    );
}

/// A shared-types file with one type the demo group uses.
const COMMON: &str = r#"
group: common
title: 共用
types:
  Text:
    kind: object
    fields:
      - {name: value, type: string}
"#;

/// The demo group without its own `Text`: it takes the common one.
fn demo_without_text() -> String {
    let own_text = "  Text:\n    kind: object\n    fields:\n      - {name: value, type: string}\n";
    assert!(VALID.contains(own_text), "test setup: demo's Text changed");
    VALID.replace(own_text, "")
}

#[test]
fn a_group_uses_a_type_of_the_common_file() {
    let demo = demo_without_text();
    let spec =
        load(&[("common.yaml", COMMON), ("demo.yaml", &demo)]).unwrap_or_else(|e| panic!("{e}"));
    let group = &spec.groups[0];
    assert!(group.shared.contains("Text"));
    assert!(group.spec.types.contains_key("Text"));
    assert!(spec.common.is_some());
}

#[test]
fn a_type_defined_in_common_and_in_a_group_names_both_places() {
    let report = load(&[("common.yaml", COMMON), ("demo.yaml", VALID)]).unwrap_err();
    assert_reports(
        &report,
        &["demo.yaml: types.Text: `Text` is also defined in common.yaml (types.Text)"],
    );
}

#[test]
fn a_common_type_no_group_uses_is_an_error() {
    let common = format!(
        "{COMMON}  Unused:\n    kind: object\n    fields:\n      - {{name: a, type: string}}\n"
    );
    let demo = demo_without_text();
    let report = load(&[("common.yaml", &common), ("demo.yaml", &demo)]).unwrap_err();
    assert_reports(
        &report,
        &["common.yaml: types.Unused: type is not used by any group"],
    );
}

#[test]
fn the_common_file_holds_types_only_and_refers_to_common_types_only() {
    // The demo group's whole file, endpoints included, as the shared-types file.
    let common = VALID.replace("group: demo", "group: common");
    let report = load(&[("common.yaml", &common)]).unwrap_err();
    assert_reports(
        &report,
        &["common.yaml: endpoints: the shared-types file holds types only"],
    );
    let common = COMMON
        .replace("group: common", "group: shared")
        .replace("type: string}", "type: Attr}");
    let report = load(&[
        ("common.yaml", &common),
        ("demo.yaml", &demo_without_text()),
    ])
    .unwrap_err();
    assert_reports(
        &report,
        &[
            "common.yaml: group: the shared-types file is the group `common`",
            "common.yaml: types.Text.value.type: unknown type `Attr`",
        ],
    );
}

#[test]
fn a_page_end_field_must_be_a_number_or_flag_of_the_response() {
    let spec = VALID
        .replace(
            "    query:\n      - {name: userid, type: string, required: true}\n",
            "    query:\n      - {name: userid, type: string, required: true}\n      - {name: cursor, type: string}\n",
        )
        .replace(
            "    response: {kind: json, type: User}\n",
            "    response: {kind: json, type: User}\n    pagination: {cursor: cursor, next_cursor: userid, items: attrs, has_more: userid, last_page: gender}\n",
        );
    let report = load(&[("demo.yaml", &spec)]).unwrap_err();
    assert_reports(
        &report,
        &[
            "pagination.has_more: `userid` is not an integer, boolean or flag field of the response",
            "pagination.last_page: `gender` is not an integer, boolean or flag field of the response",
            "pagination.last_page: give `has_more` or `last_page`, not both",
        ],
    );
}

#[test]
fn roots_count_as_used_and_must_name_a_type() {
    // A type no endpoint names loads once `roots` lists it (with what it uses).
    let rooted = VALID.replacen(
        "types:\n",
        "roots: [Pushed]\ntypes:\n  Pushed:\n    kind: object\n    fields:\n      - {name: inner, type: Inner}\n  Inner:\n    kind: object\n    fields: []\n",
        1,
    );
    assert!(load(&[("demo.yaml", &rooted)]).is_ok());
    assert_reports(
        &error_after("types:\n", "roots: [Missing]\ntypes:\n"),
        &["roots[0]", "unknown type `Missing`"],
    );
}

#[test]
fn types_confirmed_names_known_types_and_fields() {
    let record = "confirmed:\n  - page: https://developer.work.weixin.qq.com/document/path/100719\n    types: [User, Attr]\n    unconfirmed:\n      - {field: User.gender, why: the page shows no table}\n    notes: [compared with the page's example]\ntypes:\n";
    assert!(load(&[("demo.yaml", &VALID.replacen("types:\n", record, 1))]).is_ok());
    let bad = "confirmed:\n  - page: http://example.com\n    types: [Missing]\n    unconfirmed:\n      - {field: gender, why: x}\n      - {field: User.gender, why: \" \"}\ntypes:\n";
    assert_reports(
        &error_after("types:\n", bad),
        &[
            "confirmed[0].page: the page compared must be an https:// URL",
            "confirmed[0].types[0]: unknown type `Missing`",
            "confirmed[0].unconfirmed[0].field: `gender` must be `Type.field`",
            "confirmed[0].unconfirmed[1].why: say why",
        ],
    );
}
