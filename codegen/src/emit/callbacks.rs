//! Rust for `spec/callbacks.yaml`: a struct per message, event, change type and reply, the
//! enums that dispatch on `MsgType`, `Event`, `InfoType` and `ChangeType`, reply XML writers,
//! and one test per documented example.

use std::collections::BTreeSet;

use heck::ToSnakeCase;
use proc_macro2::{Literal, TokenStream};
use quote::quote;

use super::docs::doc_attrs;
use super::names::ident;
use crate::model::{CallbackExample, CallbackField, CallbackFile, CallbackMessage, CallbackType};
use crate::naming::callback_field_name as rust_name;
use crate::typeref::TypeRef;

/// One generated struct: its name, documentation and elements in wire order.
struct Item<'a> {
    name: String,
    doc: String,
    fields: Vec<&'a CallbackField>,
}

/// A dispatched variant: enum variant name, struct, kind string, examples.
struct Variant<'a> {
    variant: String,
    doc: String,
    kind: String,
    target: Target<'a>,
}

enum Target<'a> {
    /// A struct, with its examples.
    Struct(String, &'a [CallbackExample]),
    /// An event with change types: the sub-enum and its variants.
    Changes(String, Vec<Variant<'a>>),
}

fn link(title: &str, doc: &str) -> String {
    format!("{title} ([official documentation]({doc}))")
}

fn messages<'a>(
    items: &'a [CallbackMessage],
    header: &'a [CallbackField],
    suffix: &str,
    section: &str,
    structs: &mut Vec<Item<'a>>,
) -> Vec<(String, Variant<'a>)> {
    items
        .iter()
        .map(|m| {
            let name = format!("{}{suffix}", m.name);
            let mut doc = link(&m.title, &m.doc);
            if !m.description.trim().is_empty() {
                doc = format!("{doc}\n\n{}", m.description.trim());
            }
            structs.push(Item {
                name: name.clone(),
                doc: doc.clone(),
                fields: header.iter().chain(&m.fields).collect(),
            });
            let variant = Variant {
                variant: m.name.clone(),
                doc: format!("`{}`: {}", m.msg_type, link(&m.title, &m.doc)),
                kind: format!("{section}.{}", m.name.to_snake_case()),
                target: Target::Struct(name, &m.examples),
            };
            (m.msg_type.clone(), variant)
        })
        .collect()
}

/// Event variants, each with its `Event` and `InfoType` values.
#[allow(clippy::type_complexity)]
fn events<'a>(
    spec: &'a CallbackFile,
    structs: &mut Vec<Item<'a>>,
) -> Vec<(Option<String>, Option<String>, Variant<'a>)> {
    spec.events
        .iter()
        .map(|e| {
            let mut header: Vec<&CallbackField> = Vec::new();
            if e.event.is_some() {
                header.extend(&spec.event_header);
            }
            if e.info_type.is_some() {
                for field in &spec.info_header {
                    if !header.iter().any(|h| h.name == field.name) {
                        header.push(field);
                    }
                }
            }
            let values = match (&e.event, &e.info_type) {
                (Some(a), Some(b)) if a == b => format!("`{a}`"),
                (Some(a), Some(b)) => format!("`{a}` (InfoType `{b}`)"),
                (Some(a), None) => format!("`{a}`"),
                (None, Some(b)) => format!("InfoType `{b}`"),
                (None, None) => String::new(),
            };
            let mut doc = link(&e.title, &e.doc);
            if !e.description.trim().is_empty() {
                doc = format!("{doc}\n\n{}", e.description.trim());
            }
            let name = event_struct_name(&e.name);
            let snake = e.name.to_snake_case();
            let target = if e.change_types.is_empty() {
                structs.push(Item {
                    name: name.clone(),
                    doc: doc.clone(),
                    fields: header.iter().copied().chain(&e.fields).collect(),
                });
                Target::Struct(name, &e.examples)
            } else {
                let changes = e
                    .change_types
                    .iter()
                    .map(|c| {
                        let struct_name = format!("{}{}", e.name, c.name);
                        let mut cdoc = format!("{}: {}", c.title, link(&e.title, &e.doc));
                        if !c.description.trim().is_empty() {
                            cdoc = format!("{cdoc}\n\n{}", c.description.trim());
                        }
                        structs.push(Item {
                            name: struct_name.clone(),
                            doc: cdoc,
                            fields: header
                                .iter()
                                .copied()
                                .chain(&e.fields)
                                .chain(&c.fields)
                                .collect(),
                        });
                        let also: String = c.aliases.iter().map(|a| format!(", `{a}`")).collect();
                        Variant {
                            variant: c.name.clone(),
                            doc: format!("`{}`{also}: {}", c.change_type, c.title),
                            kind: format!("event.{snake}.{}", c.name.to_snake_case()),
                            target: Target::Struct(struct_name, &c.examples),
                        }
                    })
                    .collect();
                Target::Changes(name, changes)
            };
            let variant = Variant {
                variant: e.name.clone(),
                doc: format!("{values}: {}", link(&e.title, &e.doc)),
                kind: format!("event.{snake}"),
                target,
            };
            (e.event.clone(), e.info_type.clone(), variant)
        })
        .collect()
}

/// The generated module `wecom-api/src/generated/callbacks.rs`.
pub fn module(spec: &CallbackFile) -> TokenStream {
    let mut structs: Vec<Item> = spec
        .types
        .iter()
        .map(|(name, CallbackType { doc, fields })| Item {
            name: name.clone(),
            doc: doc.clone(),
            fields: fields.iter().collect(),
        })
        .collect();
    let message_variants = messages(
        &spec.messages,
        &spec.message_header,
        "Message",
        "message",
        &mut structs,
    );
    let reply_variants = messages(
        &spec.replies,
        &spec.reply_header,
        "Reply",
        "reply",
        &mut structs,
    );
    let event_variants = events(spec, &mut structs);

    let list_helpers = list_helpers(&structs);
    let struct_items = structs.iter().map(struct_item);

    let message_enum = dispatch_enum(
        "Message",
        "Messages an application receives, by `MsgType`.",
        "message",
        &message_variants.iter().map(|(_, v)| v).collect::<Vec<_>>(),
        &[(
            "from_fields",
            "Dispatches on `MsgType`.",
            "MsgType",
            message_variants
                .iter()
                .map(|(tag, v)| (tag.clone(), v))
                .collect(),
        )],
    );
    let reply_enum = dispatch_enum(
        "Reply",
        "Passive replies, by `MsgType`: build one, then encrypt it with \
         [`Reply::encrypt`](crate::callback::Reply::encrypt).",
        "reply",
        &reply_variants.iter().map(|(_, v)| v).collect::<Vec<_>>(),
        &[(
            "from_fields",
            "Dispatches on `MsgType`.",
            "MsgType",
            reply_variants
                .iter()
                .map(|(tag, v)| (tag.clone(), v))
                .collect(),
        )],
    );
    let event_enum = dispatch_enum(
        "Event",
        "Events an application (by `Event`) or a suite (by `InfoType`) receives.",
        "event",
        &event_variants.iter().map(|(_, _, v)| v).collect::<Vec<_>>(),
        &[
            (
                "from_event_fields",
                "Dispatches an application event (`MsgType` = `event`) on `Event`.",
                "Event",
                event_variants
                    .iter()
                    .filter_map(|(e, _, v)| Some((e.clone()?, v)))
                    .collect(),
            ),
            (
                "from_info_fields",
                "Dispatches a suite notification on `InfoType`.",
                "InfoType",
                event_variants
                    .iter()
                    .filter_map(|(_, i, v)| Some((i.clone()?, v)))
                    .collect(),
            ),
        ],
    );
    let change_enums = event_variants
        .iter()
        .filter_map(|(_, _, v)| match &v.target {
            Target::Changes(name, changes) => {
                let event = spec
                    .events
                    .iter()
                    .find(|e| event_struct_name(&e.name) == *name)?;
                let tags = event
                    .change_types
                    .iter()
                    .zip(changes)
                    .flat_map(|(c, v)| {
                        std::iter::once(&c.change_type)
                            .chain(&c.aliases)
                            .map(move |tag| (tag.clone(), v))
                    })
                    .collect();
                Some(dispatch_enum(
                    name,
                    &format!("{}, by `ChangeType`.", link(&event.title, &event.doc)),
                    &v.kind,
                    &changes.iter().collect::<Vec<_>>(),
                    &[(
                        "from_fields",
                        "Dispatches on `ChangeType`.",
                        "ChangeType",
                        tags,
                    )],
                ))
            }
            Target::Struct(..) => None,
        });
    let reply_writers = reply_writers(spec);
    let routed = from_callback_impls(&message_variants, &event_variants);

    quote! {
        //! Callback messages, events and passive replies.

        use crate::callback::Fields;

        #list_helpers
        #(#struct_items)*
        #message_enum
        #event_enum
        #(#change_enums)*
        #reply_enum
        #reply_writers
        #routed

        /// A decrypted callback: a message, an event, or something this version does not know.
        #[derive(Debug, Clone, PartialEq)]
        pub enum Callback {
            /// A message (`MsgType` other than `event`).
            Message(Message),
            /// An application event (`MsgType` = `event`) or a suite notification (`InfoType`).
            Event(Event),
            /// A hardware push (智慧硬件: JSON with `msg_type` and `base_info`, then an `event`
            /// or a `command`), typed by the `hardware` group.
            #[cfg(all(feature = "hardware", not(test)))]
            Hardware(crate::generated::hardware::HardwareCallback),
            /// Neither `MsgType` nor `InfoType`: every element, as sent.
            Unknown(Fields),
        }

        impl Callback {
            /// Dispatches on `MsgType`, then `Event`, `InfoType` and `ChangeType`. Unknown
            /// values give `Unknown` variants; only a known variant whose elements do not
            /// fit their documented types is an error.
            pub fn from_fields(fields: Fields) -> crate::Result<Self> {
                let msg_type = crate::callback::de::tag(&fields, "MsgType");
                match msg_type.as_deref() {
                    Some("event") => Event::from_event_fields(fields).map(Self::Event),
                    Some(_) => Message::from_fields(fields).map(Self::Message),
                    None if fields.contains_key("InfoType") => {
                        Event::from_info_fields(fields).map(Self::Event)
                    }
                    #[cfg(all(feature = "hardware", not(test)))]
                    None if fields.contains_key("msg_type") && fields.contains_key("base_info") => {
                        crate::callback::de::typed(fields, "hardware").map(Self::Hardware)
                    }
                    None => Ok(Self::Unknown(fields)),
                }
            }

            /// What was received, as `message.text`, `event.change_contact.create_user`,
            /// `event.unknown`, ...: stable names for logs and routing.
            pub fn kind(&self) -> &'static str {
                match self {
                    Self::Message(inner) => inner.kind(),
                    Self::Event(inner) => inner.kind(),
                    #[cfg(all(feature = "hardware", not(test)))]
                    Self::Hardware(_) => "hardware",
                    Self::Unknown(_) => "unknown",
                }
            }
        }

        impl serde::Serialize for Callback {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                match self {
                    Self::Message(inner) => inner.serialize(serializer),
                    Self::Event(inner) => inner.serialize(serializer),
                    #[cfg(all(feature = "hardware", not(test)))]
                    Self::Hardware(inner) => inner.serialize(serializer),
                    Self::Unknown(fields) => fields.serialize(serializer),
                }
            }
        }
    }
}

/// `FromCallback` for every message and event struct and every `ChangeType` family, so a
/// router can hand each handler the type it asked for.
fn from_callback_impls(
    messages: &[(String, Variant)],
    events: &[(Option<String>, Option<String>, Variant)],
) -> TokenStream {
    let one = |ty: &str, kind: &str, pattern: TokenStream| {
        let ty = ident(ty);
        quote! {
            impl crate::callback::FromCallback for #ty {
                const KIND: &'static str = #kind;
                fn from_callback(callback: Callback) -> Result<Self, Callback> {
                    match callback {
                        #pattern => Ok(inner),
                        other => Err(other),
                    }
                }
            }
        }
    };
    let mut out = TokenStream::new();
    for (_, v) in messages {
        if let Target::Struct(name, _) = &v.target {
            let variant = ident(&v.variant);
            out.extend(one(
                name,
                &v.kind,
                quote!(Callback::Message(Message::#variant(inner))),
            ));
        }
    }
    for (_, _, v) in events {
        let variant = ident(&v.variant);
        match &v.target {
            Target::Struct(name, _) => {
                out.extend(one(
                    name,
                    &v.kind,
                    quote!(Callback::Event(Event::#variant(inner))),
                ));
            }
            Target::Changes(sub, changes) => {
                out.extend(one(
                    sub,
                    &v.kind,
                    quote!(Callback::Event(Event::#variant(inner))),
                ));
                let sub_ident = ident(sub);
                for c in changes {
                    if let Target::Struct(name, _) = &c.target {
                        let change = ident(&c.variant);
                        out.extend(one(
                            name,
                            &c.kind,
                            quote!(Callback::Event(Event::#variant(#sub_ident::#change(inner)))),
                        ));
                    }
                }
            }
        }
    }
    out
}

/// The helper for items named `item`; `Item` and `item` both occur, so case is kept apart.
fn item_fn_name(item: &str) -> String {
    let case = if item.starts_with(|c: char| c.is_ascii_uppercase()) {
        "upper_"
    } else {
        ""
    };
    format!("list_in_{case}{}", item.to_snake_case())
}

/// Serialize helpers for arrays wrapped in an item element (reading is in `Decode`).
fn list_helpers(structs: &[Item]) -> TokenStream {
    let items: BTreeSet<&str> = structs
        .iter()
        .flat_map(|s| s.fields.iter().filter_map(|f| f.item.as_deref()))
        .collect();
    items
        .into_iter()
        .map(|item| {
            let ser = ident(&format!("ser_{}", item_fn_name(item)));
            quote! {
                fn #ser<S: serde::Serializer, T: serde::Serialize>(
                    value: &Option<Vec<T>>,
                    serializer: S,
                ) -> Result<S::Ok, S::Error> {
                    crate::callback::de::serialize_wrapped(value, serializer, #item)
                }
            }
        })
        .collect()
}

fn element_type(type_ref: &TypeRef) -> TokenStream {
    match type_ref {
        TypeRef::String => quote!(String),
        TypeRef::Integer => quote!(i64),
        TypeRef::Number => quote!(f64),
        TypeRef::Boolean | TypeRef::Flag => quote!(bool),
        TypeRef::Json | TypeRef::Map(_) => quote!(serde_json::Value),
        TypeRef::Array(inner) => {
            let inner = element_type(inner);
            quote!(Vec<#inner>)
        }
        TypeRef::Named(name) => {
            let name = ident(name);
            quote!(#name)
        }
    }
}

fn field_type(field: &CallbackField) -> TypeRef {
    TypeRef::parse(&field.type_ref).unwrap_or(TypeRef::Json)
}

fn struct_item(item: &Item) -> TokenStream {
    let name = ident(&item.name);
    let docs = doc_attrs(&item.doc);
    let mut reads = Vec::new();
    let fields: Vec<TokenStream> = item
        .fields
        .iter()
        .map(|field| {
            let type_ref = field_type(field);
            let rust = ident(&rust_name(field));
            let wire = &field.name;
            let docs = doc_attrs(&field.doc);
            let ty = if field.secret {
                quote!(crate::Secret)
            } else {
                element_type(&type_ref)
            };
            let mut args = vec![
                quote!(rename = #wire),
                quote!(skip_serializing_if = "Option::is_none"),
            ];
            // XML has no arrays and no null: lists may be one element or wrapped in
            // item elements, and an empty element is an absent object.
            let read = match (&type_ref, &field.item) {
                (TypeRef::Named(_), _) if !field.secret => {
                    quote!(crate::callback::de::object(&mut fields, #wire)?)
                }
                (TypeRef::Array(_), Some(wrapper)) if !field.secret => {
                    let ser = format!("ser_{}", item_fn_name(wrapper));
                    args.push(quote!(serialize_with = #ser));
                    quote!(crate::callback::de::wrapped_list(&mut fields, #wire, #wrapper)?)
                }
                (TypeRef::Array(_), None) if !field.secret => {
                    quote!(crate::callback::de::list(&mut fields, #wire)?)
                }
                _ => quote!(fields.optional(#wire)?),
            };
            reads.push(quote!(#rust: #read,));
            quote! {
                #docs
                #[serde(#(#args),*)]
                pub #rust: Option<#ty>,
            }
        })
        .collect();
    quote! {
        #docs
        #[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
        pub struct #name {
            #(#fields)*
            /// Elements this version of the crate does not know, as sent.
            #[serde(flatten)]
            pub extra: Fields,
        }

        impl crate::de::Decode for #name {
            fn decode(value: crate::de::Node<'_>) -> Result<Self, crate::de::DecodeError> {
                let mut fields = crate::de::Fields::of(value)?;
                Ok(Self {
                    #(#reads)*
                    extra: Fields(fields.into_map()),
                })
            }
        }

        impl<'de> serde::Deserialize<'de> for #name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                crate::de::deserialize(deserializer)
            }
        }
    }
}

type Tags<'a> = Vec<(String, &'a Variant<'a>)>;

/// An enum over variants, its constructors (one per dispatch key), `kind()` and `Serialize`.
fn dispatch_enum(
    name: &str,
    doc: &str,
    kind_prefix: &str,
    variants: &[&Variant],
    constructors: &[(&str, &str, &str, Tags)],
) -> TokenStream {
    let enum_name = ident(name);
    let docs = doc_attrs(doc);
    let defs = variants.iter().map(|v| {
        let variant = ident(&v.variant);
        let docs = doc_attrs(&v.doc);
        let target = ident(match &v.target {
            Target::Struct(s, _) | Target::Changes(s, _) => s,
        });
        quote!(#docs #variant(#target),)
    });
    let unknown_kind = format!("{kind_prefix}.unknown");
    let kinds = variants.iter().map(|v| {
        let variant = ident(&v.variant);
        match &v.target {
            Target::Struct(..) => {
                let kind = &v.kind;
                quote!(Self::#variant(_) => #kind,)
            }
            Target::Changes(..) => quote!(Self::#variant(inner) => inner.kind(),),
        }
    });
    let sers = variants.iter().map(|v| {
        let variant = ident(&v.variant);
        quote!(Self::#variant(inner) => inner.serialize(serializer),)
    });
    let ctors = constructors.iter().map(|(fn_name, fn_doc, key, tags)| {
        let fn_name = ident(fn_name);
        let arms = tags.iter().map(|(tag, v)| {
            let variant = ident(&v.variant);
            let build = match &v.target {
                Target::Struct(..) => {
                    let kind = &v.kind;
                    quote!(Self::#variant(crate::callback::de::typed(fields, #kind)?))
                }
                Target::Changes(sub, _) => {
                    let sub = ident(sub);
                    quote!(Self::#variant(#sub::from_fields(fields)?))
                }
            };
            quote!(Some(#tag) => #build,)
        });
        quote! {
            #[doc = #fn_doc]
            pub fn #fn_name(fields: Fields) -> crate::Result<Self> {
                let tag = crate::callback::de::tag(&fields, #key);
                Ok(match tag.as_deref() {
                    #(#arms)*
                    _ => Self::Unknown(fields),
                })
            }
        }
    });
    quote! {
        #docs
        #[derive(Debug, Clone, PartialEq)]
        pub enum #enum_name {
            #(#defs)*
            /// A value this version of the crate does not know: every element, as sent.
            Unknown(Fields),
        }

        impl #enum_name {
            #(#ctors)*

            /// Stable name of the variant (`event.change_contact.create_user`, ...).
            pub fn kind(&self) -> &'static str {
                match self {
                    #(#kinds)*
                    Self::Unknown(_) => #unknown_kind,
                }
            }
        }

        impl serde::Serialize for #enum_name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                match self {
                    #(#sers)*
                    Self::Unknown(fields) => fields.serialize(serializer),
                }
            }
        }
    }
}

/// `write_fields` for every reply and the types replies use, and `Reply::to_xml`.
fn reply_writers(spec: &CallbackFile) -> TokenStream {
    let mut types = BTreeSet::new();
    let mut pending: Vec<&CallbackField> = spec
        .reply_header
        .iter()
        .chain(spec.replies.iter().flat_map(|r| &r.fields))
        .collect();
    while let Some(field) = pending.pop() {
        if let Some(name) = field_type(field).named() {
            if types.insert(name.to_string()) {
                if let Some(def) = spec.types.get(name) {
                    pending.extend(&def.fields);
                }
            }
        }
    }
    let type_writers = types.iter().filter_map(|name| {
        let def = spec.types.get(name)?;
        Some(writer(name, &def.fields.iter().collect::<Vec<_>>(), None))
    });
    let reply_structs = spec.replies.iter().map(|r| {
        let fields: Vec<&CallbackField> = spec.reply_header.iter().chain(&r.fields).collect();
        writer(&format!("{}Reply", r.name), &fields, Some(&r.msg_type))
    });
    let arms = spec.replies.iter().map(|r| {
        let variant = ident(&r.name);
        quote!(Self::#variant(inner) => inner.write_fields(&mut writer),)
    });
    quote! {
        #(#type_writers)*
        #(#reply_structs)*

        impl Reply {
            /// The plaintext reply XML (`<xml>...</xml>`), before encryption.
            pub fn to_xml(&self) -> String {
                let mut writer = crate::callback::xml::XmlWriter::new();
                writer.start("xml");
                match self {
                    #(#arms)*
                    Self::Unknown(fields) => {
                        for (key, value) in fields.iter() {
                            writer.value(key, value);
                        }
                    }
                }
                writer.end("xml");
                writer.finish()
            }
        }
    }
}

/// The statements writing one value of `type_ref` as element `name`.
fn write_value(type_ref: &TypeRef, secret: bool, name: &str, value: TokenStream) -> TokenStream {
    match type_ref {
        TypeRef::String if secret => quote!(writer.cdata(#name, #value.expose());),
        TypeRef::String => quote!(writer.cdata(#name, #value);),
        TypeRef::Integer | TypeRef::Number | TypeRef::Boolean => {
            quote!(writer.plain(#name, #value);)
        }
        TypeRef::Flag => {
            quote!(writer.plain(#name, u8::from(*#value));)
        }
        TypeRef::Json | TypeRef::Map(_) | TypeRef::Array(_) => quote!(writer.value(#name, #value);),
        TypeRef::Named(_) => quote! {
            writer.start(#name);
            #value.write_fields(writer);
            writer.end(#name);
        },
    }
}

fn writer(name: &str, fields: &[&CallbackField], msg_type: Option<&str>) -> TokenStream {
    let struct_name = ident(name);
    let statements = fields.iter().map(|field| {
        let rust = ident(&rust_name(field));
        let wire = field.name.as_str();
        let type_ref = field_type(field);
        if let (Some(msg_type), "MsgType") = (msg_type, wire) {
            return quote!(writer.cdata("MsgType", self.#rust.as_deref().unwrap_or(#msg_type)););
        }
        let body = match (&type_ref, &field.item) {
            (TypeRef::Array(inner), Some(item)) => {
                let each = write_value(inner, false, item, quote!(element));
                quote! {
                    writer.start(#wire);
                    for element in value {
                        #each
                    }
                    writer.end(#wire);
                }
            }
            (TypeRef::Array(inner), None) => {
                let each = write_value(inner, false, wire, quote!(element));
                quote!(for element in value { #each })
            }
            _ => write_value(&type_ref, field.secret, wire, quote!(value)),
        };
        quote! {
            if let Some(value) = &self.#rust {
                #body
            }
        }
    });
    quote! {
        impl #struct_name {
            pub(crate) fn write_fields(&self, writer: &mut crate::callback::xml::XmlWriter) {
                #(#statements)*
                for (key, value) in self.extra.iter() {
                    writer.value(key, value);
                }
            }
        }
    }
}

/// The generated tests `tests/tests/generated/callbacks.rs`: one per documented example.
pub fn tests(spec: &CallbackFile) -> TokenStream {
    let mut structs = Vec::new();
    let mut cases: Vec<(String, bool, &CallbackExample)> = Vec::new();
    for (_, v) in messages(
        &spec.messages,
        &spec.message_header,
        "Message",
        "message",
        &mut structs,
    ) {
        collect(&v, false, &mut cases);
    }
    for (_, _, v) in events(spec, &mut structs) {
        collect(&v, false, &mut cases);
    }
    for (_, v) in messages(
        &spec.replies,
        &spec.reply_header,
        "Reply",
        "reply",
        &mut structs,
    ) {
        collect(&v, true, &mut cases);
    }
    let mut counts = std::collections::BTreeMap::new();
    let tests = cases.iter().map(|(kind, reply, example)| {
        let index = counts.entry(kind.clone()).or_insert(0usize);
        let test_name = ident(&format!("{}_{index}", kind.replace('.', "_")));
        *index += 1;
        let text = match (&example.xml, &example.json) {
            (Some(xml), _) => xml.clone(),
            (None, Some(json)) => serde_json::to_string_pretty(json).unwrap_or_default(),
            (None, None) => String::new(),
        };
        let text = Literal::string(&text);
        let check = if *reply {
            quote!(check_reply)
        } else {
            quote!(check_callback)
        };
        let docs = doc_attrs(example.name.as_deref().unwrap_or_default());
        quote! {
            #docs
            #[test]
            fn #test_name() {
                #check(#text, #kind);
            }
        }
    });
    quote! {
        //! One test per documented callback example: it parses to its variant, and no
        //! element is lost or changed on the way (compared loosely: XML sends numbers as text).

        use serde_json::Value;
        use wecom_api::callback::{Callback, Reply, parse_fields};

        /// `typed` holds what `sent` holds: numbers may have been text, a lone element may
        /// have become a one-item list, and an empty element may have become absent.
        fn same(sent: &Value, typed: &Value) -> bool {
            match (sent, typed) {
                (Value::Object(a), Value::Object(b)) => {
                    b.keys().all(|k| a.contains_key(k))
                        && a.iter().all(|(k, v)| match b.get(k) {
                            Some(w) => same(v, w),
                            None => v.as_str().is_some_and(|s| s.trim().is_empty()),
                        })
                }
                (Value::Array(a), Value::Array(b)) => {
                    a.len() == b.len() && a.iter().zip(b).all(|(v, w)| same(v, w))
                }
                (v, Value::Array(b)) if b.len() == 1 => same(v, &b[0]),
                (Value::String(s), Value::Number(n)) => {
                    s.trim().parse::<f64>().ok() == n.as_f64()
                }
                (Value::String(s), Value::Bool(b)) => {
                    matches!((s.trim(), b), ("1" | "true", true) | ("0" | "false", false))
                }
                (Value::Number(n), Value::String(s)) => n.to_string() == *s,
                (v, w) => v == w,
            }
        }

        fn check_callback(text: &str, kind: &str) {
            let callback = Callback::parse(text).expect("the example parses");
            assert_eq!(callback.kind(), kind, "{text}");
            let sent = Value::Object(parse_fields(text).expect("fields").0);
            let typed = Value::Object(callback.to_fields().0);
            assert!(same(&sent, &typed), "sent {sent:#}\ntyped {typed:#}");
        }

        fn check_reply(text: &str, kind: &str) {
            let reply = Reply::parse(text).expect("the example parses");
            assert_eq!(reply.kind(), kind, "{text}");
            let sent = Value::Object(parse_fields(text).expect("fields").0);
            let typed = serde_json::to_value(&reply).expect("serializes");
            assert!(same(&sent, &typed), "sent {sent:#}\ntyped {typed:#}");
            // Written back out, the reply reads the same.
            let again = Reply::parse(&reply.to_xml()).expect("the written reply parses");
            assert_eq!(again, reply);
        }

        #(#tests)*
    }
}

fn collect<'a>(v: &Variant<'a>, reply: bool, cases: &mut Vec<(String, bool, &'a CallbackExample)>) {
    match &v.target {
        Target::Struct(_, examples) => {
            cases.extend(examples.iter().map(|e| (v.kind.clone(), reply, e)));
        }
        Target::Changes(_, changes) => {
            for c in changes {
                collect(c, reply, cases);
            }
        }
    }
}

/// The struct of an event: `Subscribe` → `SubscribeEvent`; a name that already ends in
/// `Event` is kept (`TemplateCardEvent`, not `TemplateCardEventEvent`).
fn event_struct_name(name: &str) -> String {
    if name.ends_with("Event") {
        name.to_string()
    } else {
        format!("{name}Event")
    }
}
