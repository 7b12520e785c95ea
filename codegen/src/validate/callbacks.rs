//! Checks on `callbacks.yaml`: names, types, dispatch values, and every example against the
//! variant it documents (its `MsgType`/`Event`/`InfoType`/`ChangeType` and every element
//! declared, at every depth).

mod xml;

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use super::short;
use crate::load::Diagnostic;
use crate::model::{CallbackExample, CallbackField, CallbackFile, CallbackType};
use crate::naming::{callback_field_name as rust_name, is_snake_identifier};
use crate::typeref::{TypeRef, is_type_name};

/// Reads an example's plaintext into its fields, as the runtime would.
pub fn example_fields(example: &CallbackExample) -> Result<Map<String, Value>, String> {
    match (&example.xml, &example.json) {
        (Some(text), None) => xml::read(text),
        (None, Some(Value::Object(map))) => Ok(map.clone()),
        (None, Some(_)) => Err("a JSON example must be an object".into()),
        _ => Err("an example has exactly one of `xml` and `json`".into()),
    }
}

/// Where an example must dispatch to.
struct Dispatch<'a> {
    msg_type: Option<&'a str>,
    event: Option<&'a str>,
    info_type: Option<&'a str>,
    change_type: Option<&'a str>,
    /// Other `ChangeType` values that dispatch to the same change type.
    change_aliases: &'a [String],
}

pub fn validate_callbacks(file: &str, spec: &CallbackFile) -> Vec<crate::load::Diagnostic> {
    let mut check = Check {
        file,
        spec,
        out: Vec::new(),
        names: BTreeSet::new(),
    };
    check.run();
    check.out
}

struct Check<'a> {
    file: &'a str,
    spec: &'a CallbackFile,
    out: Vec<Diagnostic>,
    /// Rust item names generated so far, to catch collisions.
    names: BTreeSet<String>,
}

impl Check<'_> {
    fn error(&mut self, place: &str, message: impl Into<String>) {
        self.out.push(Diagnostic {
            file: self.file.to_string(),
            place: place.to_string(),
            message: message.into(),
        });
    }

    fn item_name(&mut self, at: &str, name: &str) {
        if !is_type_name(name) {
            self.error(at, format!("`{name}` must be UpperCamelCase"));
        } else if name.starts_with("Unknown") {
            self.error(at, "`Unknown` is reserved for what the spec does not list");
        }
    }

    fn rust_item(&mut self, at: &str, item: String) {
        if !self.names.insert(item.clone()) {
            self.error(at, format!("the Rust name `{item}` is used twice"));
        }
    }

    fn run(&mut self) {
        let spec = self.spec;
        if spec.title.trim().is_empty() {
            self.error("title", "empty title");
        }
        if !spec.doc.starts_with("https://") {
            self.error("doc", "the doc link must be an https:// URL");
        }
        for fixed in ["Callback", "Message", "Event", "Reply", "Fields"] {
            self.names.insert(fixed.to_string());
        }
        for (name, def) in &spec.types {
            let at = format!("types.{name}");
            self.item_name(&at, name);
            self.rust_item(&at, name.clone());
            self.fields(&at, &def.fields, &[]);
        }
        self.fields("message_header", &spec.message_header, &[]);
        self.fields("event_header", &spec.event_header, &[]);
        self.fields("info_header", &spec.info_header, &[]);
        self.fields("reply_header", &spec.reply_header, &[]);
        self.messages("messages", &spec.messages, &spec.message_header, "Message");
        self.messages("replies", &spec.replies, &spec.reply_header, "Reply");
        self.events();
        self.unused_types();
    }

    fn messages(
        &mut self,
        section: &str,
        items: &[crate::model::CallbackMessage],
        header: &[CallbackField],
        suffix: &str,
    ) {
        let mut values = BTreeSet::new();
        for item in items {
            let at = format!("{section}[{}]", item.msg_type);
            self.item_name(&format!("{at}.name"), &item.name);
            self.rust_item(&at, format!("{}{suffix}", item.name));
            if item.msg_type.trim().is_empty() || item.msg_type == "event" {
                self.error(&at, "msg_type must be a non-empty value other than `event`");
            }
            if !values.insert(item.msg_type.as_str()) {
                self.error(&at, "duplicate msg_type");
            }
            self.doc_link(&at, &item.doc);
            self.fields(&at, &item.fields, header);
            let dispatch = Dispatch {
                msg_type: Some(&item.msg_type),
                event: None,
                info_type: None,
                change_type: None,
                change_aliases: &[],
            };
            let fields: Vec<&CallbackField> = header.iter().chain(&item.fields).collect();
            self.examples(&at, &item.examples, &dispatch, &fields);
        }
    }

    fn events(&mut self) {
        let spec = self.spec;
        let mut event_values = BTreeSet::new();
        let mut info_values = BTreeSet::new();
        for event in &spec.events {
            let label = event
                .event
                .as_deref()
                .or(event.info_type.as_deref())
                .unwrap_or(&event.name);
            let at = format!("events[{label}]");
            self.item_name(&format!("{at}.name"), &event.name);
            self.rust_item(&at, format!("{}Event", event.name));
            self.doc_link(&at, &event.doc);
            if event.event.is_none() && event.info_type.is_none() {
                self.error(&at, "an event needs `event`, `info_type` or both");
            }
            if let Some(value) = &event.event {
                if !event_values.insert(value.as_str()) {
                    self.error(&at, format!("duplicate event `{value}`"));
                }
            }
            if let Some(value) = &event.info_type {
                if !info_values.insert(value.as_str()) {
                    self.error(&at, format!("duplicate info_type `{value}`"));
                }
            }
            let mut header: Vec<&CallbackField> = Vec::new();
            if event.event.is_some() {
                header.extend(&spec.event_header);
            }
            if event.info_type.is_some() {
                for field in &spec.info_header {
                    if !header.iter().any(|h| h.name == field.name) {
                        header.push(field);
                    }
                }
            }
            let header: Vec<CallbackField> = header.into_iter().cloned().collect();
            self.fields(&at, &event.fields, &header);
            let base: Vec<CallbackField> = header.iter().chain(&event.fields).cloned().collect();
            if event.change_types.is_empty() {
                let dispatch = Dispatch {
                    msg_type: None,
                    event: event.event.as_deref(),
                    info_type: event.info_type.as_deref(),
                    change_type: None,
                    change_aliases: &[],
                };
                let fields: Vec<&CallbackField> = base.iter().collect();
                self.examples(&at, &event.examples, &dispatch, &fields);
                continue;
            }
            if !event.examples.is_empty() {
                self.error(
                    &format!("{at}.examples"),
                    "an event with change types keeps its examples under each change type",
                );
            }
            let mut changes = BTreeSet::new();
            for change in &event.change_types {
                let cat = format!("{at}.change_types[{}]", change.change_type);
                self.item_name(&format!("{cat}.name"), &change.name);
                self.rust_item(&cat, format!("{}{}", event.name, change.name));
                if !changes.insert(change.change_type.as_str()) {
                    self.error(&cat, "duplicate change_type");
                }
                for alias in &change.aliases {
                    if alias.trim().is_empty() {
                        self.error(&format!("{cat}.aliases"), "empty alias");
                    } else if !changes.insert(alias.as_str()) {
                        self.error(
                            &format!("{cat}.aliases"),
                            format!("`{alias}` already dispatches to a change type"),
                        );
                    }
                }
                self.fields(&cat, &change.fields, &base);
                let dispatch = Dispatch {
                    msg_type: None,
                    event: event.event.as_deref(),
                    info_type: event.info_type.as_deref(),
                    change_type: Some(&change.change_type),
                    change_aliases: &change.aliases,
                };
                let fields: Vec<&CallbackField> = base.iter().chain(&change.fields).collect();
                self.examples(&cat, &change.examples, &dispatch, &fields);
            }
        }
    }

    fn doc_link(&mut self, at: &str, doc: &str) {
        if !doc.starts_with("https://") {
            self.error(&format!("{at}.doc"), "the doc link must be an https:// URL");
        }
    }

    /// Field declarations: names, types, and no clash with `outer` (the header and the
    /// event's own fields) or the reserved `extra`.
    fn fields(&mut self, at: &str, fields: &[CallbackField], outer: &[CallbackField]) {
        let mut wire: BTreeSet<&str> = outer.iter().map(|f| f.name.as_str()).collect();
        let mut rust: BTreeSet<String> = outer.iter().map(rust_name).collect();
        rust.insert("extra".into());
        for field in fields {
            let place = format!("{at}.{}", field.name);
            if field.name.trim().is_empty() {
                self.error(&place, "empty field name");
            }
            if !wire.insert(&field.name) {
                self.error(&place, format!("duplicate element `{}`", field.name));
            }
            let name = rust_name(field);
            if !is_snake_identifier(&name) {
                self.error(
                    &place,
                    format!("`{name}` is not a usable Rust name: set `rust_name`"),
                );
            } else if !rust.insert(name.clone()) {
                self.error(
                    &place,
                    format!("the Rust name `{name}` is used twice: set `rust_name`"),
                );
            }
            match TypeRef::parse(&field.type_ref) {
                Ok(type_ref) => {
                    if let Some(target) = type_ref.named() {
                        if !self.spec.types.contains_key(target) {
                            self.error(
                                &format!("{place}.type"),
                                format!("unknown type `{target}`"),
                            );
                        }
                    }
                    if let TypeRef::Array(inner) = &type_ref {
                        if matches!(**inner, TypeRef::Array(_) | TypeRef::Map(_)) {
                            self.error(
                                &format!("{place}.type"),
                                "arrays of arrays are not supported",
                            );
                        }
                    }
                    if matches!(type_ref, TypeRef::Map(_)) {
                        self.error(
                            &format!("{place}.type"),
                            "callbacks have no maps; use a type",
                        );
                    }
                    if field.item.is_some() && !matches!(type_ref, TypeRef::Array(_)) {
                        self.error(&format!("{place}.item"), "`item` is for arrays only");
                    }
                    if field.secret && type_ref != TypeRef::String {
                        self.error(&place, "only a string field can be `secret`");
                    }
                }
                Err(message) => self.error(&format!("{place}.type"), message),
            }
        }
    }

    fn examples(
        &mut self,
        at: &str,
        examples: &[CallbackExample],
        dispatch: &Dispatch<'_>,
        fields: &[&CallbackField],
    ) {
        if examples.is_empty() {
            self.error(
                &format!("{at}.examples"),
                "every variant needs its documented example",
            );
        }
        for (index, example) in examples.iter().enumerate() {
            let place = format!("{at}.examples[{index}]");
            let map = match example_fields(example) {
                Ok(map) => map,
                Err(message) => {
                    self.error(&place, message);
                    continue;
                }
            };
            let text = |key: &str| map.get(key).map(value_text);
            let expect = |key: &str, want: Option<&str>| -> Option<String> {
                let want = want?;
                let got = text(key);
                (got.as_deref().map(str::trim) != Some(want))
                    .then(|| format!("`{key}` is {got:?}, not `{want}`"))
            };
            let mut mismatches: Vec<String> = Vec::new();
            mismatches.extend(expect("MsgType", dispatch.msg_type));
            // An event example is either the application form or the suite form.
            let app = text("MsgType").as_deref() == Some("event");
            if dispatch.event.is_some() || dispatch.info_type.is_some() {
                let problem = if app {
                    match dispatch.event {
                        Some(_) => expect("Event", dispatch.event),
                        None => Some("an application event; this one has only `info_type`".into()),
                    }
                } else {
                    match dispatch.info_type {
                        Some(_) => expect("InfoType", dispatch.info_type),
                        None => Some("`MsgType` is not `event`".into()),
                    }
                };
                mismatches.extend(problem);
            }
            let alias = text("ChangeType")
                .is_some_and(|got| dispatch.change_aliases.iter().any(|a| a == got.trim()));
            if !alias {
                mismatches.extend(expect("ChangeType", dispatch.change_type));
            }
            for mismatch in mismatches {
                self.error(
                    &place,
                    format!("the example does not dispatch here: {mismatch}"),
                );
            }
            let owned: Vec<CallbackField> = fields.iter().map(|f| (*f).clone()).collect();
            self.object(&place, "the callback", &owned, &Value::Object(map));
        }
    }

    /// Every element of `value` is declared in `fields`, and each value fits its type.
    fn object(&mut self, at: &str, what: &str, fields: &[CallbackField], value: &Value) {
        let map = match value {
            Value::Object(map) => map,
            Value::String(s) if s.is_empty() => return,
            other => {
                self.error(
                    at,
                    format!("expected elements of {what}, found {}", short(other)),
                );
                return;
            }
        };
        for (key, item) in map {
            let place = format!("{at}.{key}");
            match fields.iter().find(|f| &f.name == key) {
                None => self.error(
                    &place,
                    format!("`{key}` is not an element of {what}: declare it"),
                ),
                // A bad type is reported on the declaration.
                Some(field) => {
                    if let Ok(type_ref) = TypeRef::parse(&field.type_ref) {
                        self.value(&place, &type_ref, field.item.as_deref(), item);
                    }
                }
            }
        }
    }

    fn value(&mut self, at: &str, type_ref: &TypeRef, item: Option<&str>, value: &Value) {
        let ok = match type_ref {
            TypeRef::String => !matches!(value, Value::Object(_) | Value::Array(_)),
            TypeRef::Integer => {
                is_blank(value) || as_text(value).is_some_and(|t| t.trim().parse::<i64>().is_ok())
            }
            TypeRef::Number => {
                is_blank(value) || as_text(value).is_some_and(|t| t.trim().parse::<f64>().is_ok())
            }
            TypeRef::Boolean | TypeRef::Flag => {
                is_blank(value)
                    || matches!(value, Value::Bool(_))
                    || as_text(value)
                        .is_some_and(|t| matches!(t.trim(), "0" | "1" | "true" | "false"))
            }
            TypeRef::Json | TypeRef::Map(_) => true,
            TypeRef::Array(inner) => {
                let items = match (item, value) {
                    (_, Value::Array(items)) => items.clone(),
                    (Some(name), Value::Object(map)) => {
                        let mut items = Vec::new();
                        for (key, child) in map {
                            if key == name {
                                items.extend(one_or_many(child));
                            } else {
                                self.error(
                                    &format!("{at}.{key}"),
                                    format!("expected `{name}` items"),
                                );
                            }
                        }
                        items
                    }
                    (Some(_), v) if is_blank(v) => Vec::new(),
                    (Some(name), other) => {
                        self.error(
                            at,
                            format!("expected `{name}` items, found {}", short(other)),
                        );
                        return;
                    }
                    (None, other) => vec![other.clone()],
                };
                for (index, element) in items.iter().enumerate() {
                    self.value(&format!("{at}[{index}]"), inner, None, element);
                }
                true
            }
            TypeRef::Named(name) => {
                if let Some(CallbackType { fields, .. }) = self.spec.types.get(name) {
                    self.object(at, name, fields, value);
                }
                true
            }
        };
        if !ok {
            self.error(at, format!("expected {type_ref}, found {}", short(value)));
        }
    }

    fn unused_types(&mut self) {
        let spec = self.spec;
        let mut pending: Vec<String> = Vec::new();
        let mut roots: Vec<&CallbackField> = Vec::new();
        roots.extend(&spec.message_header);
        roots.extend(&spec.event_header);
        roots.extend(&spec.info_header);
        roots.extend(&spec.reply_header);
        for m in spec.messages.iter().chain(&spec.replies) {
            roots.extend(&m.fields);
        }
        for e in &spec.events {
            roots.extend(&e.fields);
            for c in &e.change_types {
                roots.extend(&c.fields);
            }
        }
        pending.extend(roots.iter().filter_map(|f| named(f)));
        let mut used = BTreeSet::new();
        while let Some(name) = pending.pop() {
            if !used.insert(name.clone()) {
                continue;
            }
            if let Some(def) = spec.types.get(&name) {
                pending.extend(def.fields.iter().filter_map(named));
            }
        }
        let unused: Vec<String> = spec
            .types
            .keys()
            .filter(|n| !used.contains(*n))
            .cloned()
            .collect();
        for name in unused {
            self.error(&format!("types.{name}"), "type is not used by any callback");
        }
    }
}

fn named(field: &CallbackField) -> Option<String> {
    TypeRef::parse(&field.type_ref)
        .ok()?
        .named()
        .map(str::to_string)
}

fn value_text(value: &Value) -> String {
    as_text(value).unwrap_or_default()
}

fn as_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn is_blank(value: &Value) -> bool {
    matches!(value, Value::Null) || matches!(value, Value::String(s) if s.trim().is_empty())
}

fn one_or_many(value: &Value) -> Vec<Value> {
    match value {
        Value::Array(items) => items.clone(),
        other => vec![other.clone()],
    }
}
