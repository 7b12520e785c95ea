//! The resolved model of the mini spec: the facts every emitter prints, checked where they
//! are computed.

use codegen::resolve::{FieldShape, Imports, ResolvedGroup};
use codegen::typeref::TypeRef;

#[test]
fn resolves_types_and_endpoints_once() {
    let spec = codegen::load_sources(&[
        ("mini.yaml".into(), include_str!("mini.yaml").into()),
        (
            "common.yaml".into(),
            include_str!("mini_common.yaml").into(),
        ),
    ])
    .unwrap_or_else(|e| panic!("{e}"));
    let shared = &spec.groups[0].shared;
    let imports = Imports {
        imported: Some(shared),
        request_side: None,
    };
    let group = ResolvedGroup::with_imports(&spec.groups[0].spec, &imports);

    // The types of the shared-types file the group names, printed there, not here.
    let imported: Vec<&str> = group
        .types
        .values()
        .filter(|t| t.imported)
        .map(|t| t.name)
        .collect();
    assert_eq!(imported, ["Color", "Text", "Uploaded"]);

    // Request side: reachable from `thing.send`'s body, union contents included.
    let request_side: Vec<&str> = group
        .types
        .values()
        .filter(|t| t.request_side)
        .map(|t| t.name)
        .collect();
    assert_eq!(
        request_side,
        [
            "Body",
            "Card",
            "CardKind",
            "Notice",
            "SendRequest",
            "Text",
            "Vote"
        ]
    );

    // An optional list is empty when absent in a response type, `Option` in a request.
    let tags = &group.fields("Thing")[3];
    assert_eq!(
        (tags.wire, tags.shape),
        ("tags", FieldShape::EmptyWhenAbsent)
    );
    assert_eq!(tags.type_ref, TypeRef::Array(Box::new(TypeRef::Integer)));
    let body = &group.fields("SendRequest")[1];
    assert_eq!(
        (body.shape, body.union_tag),
        (FieldShape::Plain, Some("msgtype"))
    );
    let token = &group.fields("SendResponse")[1];
    assert!(token.secret && token.shape == FieldShape::Optional);

    let upload = group
        .endpoints
        .iter()
        .find(|e| e.id == "thing.upload")
        .unwrap_or_else(|| panic!("thing.upload is resolved"));
    assert_eq!(
        (upload.builder.as_str(), upload.op_static.as_str()),
        ("ThingUpload", "OP_THING_UPLOAD")
    );
    assert_eq!(upload.limits_static, "LIMITS_THING_UPLOAD");
    assert_eq!(upload.inputs.multipart, Some("media"));
    assert_eq!(upload.inputs.required_query[0].rust_name, "kind");
    assert!(!upload.retry_safe);

    let list = group
        .endpoints
        .iter()
        .find(|e| e.id == "thing.list")
        .unwrap_or_else(|| panic!("thing.list is resolved"));
    let paging = list
        .paging
        .as_ref()
        .unwrap_or_else(|| panic!("thing.list pages"));
    assert_eq!(
        (paging.items.as_str(), paging.cursor_setter.as_str()),
        ("names", "cursor")
    );
    assert!(!paging.items_optional && !paging.next_cursor_required);
}
