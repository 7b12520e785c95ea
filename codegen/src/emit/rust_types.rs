//! Rust items for the named types of a spec group: structs, enums and tagged unions.

use proc_macro2::TokenStream;
use quote::quote;

use super::docs::doc_attrs;
use super::names::ident;
use crate::model::{IntEnumValue, StringEnumValue, TypeDef, UnionTag};
use crate::resolve::{FieldShape, ResolvedField, ResolvedGroup, ResolvedType, ResolvedVariant};
use crate::typeref::TypeRef;

pub fn types(group: &ResolvedGroup<'_>) -> TokenStream {
    group
        .types
        .values()
        .filter(|resolved| !resolved.imported)
        .map(|resolved| {
            let name = resolved.name;
            match resolved.def {
                TypeDef::Object { doc, .. } => object(resolved, doc),
                TypeDef::IntEnum { doc, values } => int_enum(name, doc, values),
                TypeDef::StringEnum { doc, values } => string_enum(name, doc, values),
                TypeDef::Union {
                    doc,
                    tag,
                    inline: false,
                    ..
                } => union(name, doc, tag, &resolved.variants),
                TypeDef::Union {
                    doc,
                    tag,
                    inline: true,
                    ..
                } => inline_union(name, doc, tag, &resolved.variants),
            }
        })
        .collect()
}

/// The Rust type of a type reference.
pub fn rust_type(type_ref: &TypeRef) -> TokenStream {
    match type_ref {
        TypeRef::String => quote!(String),
        TypeRef::Integer => quote!(i64),
        TypeRef::Number => quote!(f64),
        TypeRef::Boolean | TypeRef::Flag => quote!(bool),
        TypeRef::Json => quote!(serde_json::Value),
        TypeRef::Array(inner) => {
            let inner = rust_type(inner);
            quote!(Vec<#inner>)
        }
        TypeRef::Map(inner) => {
            let inner = rust_type(inner);
            quote!(std::collections::BTreeMap<String, #inner>)
        }
        TypeRef::Named(name) => {
            let name = ident(name);
            quote!(#name)
        }
    }
}

/// The Rust type of a field: its type, or `Secret` for a secret string.
pub fn field_rust_type(field: &ResolvedField<'_>) -> TokenStream {
    if field.secret {
        quote!(crate::Secret)
    } else {
        rust_type(&field.type_ref)
    }
}

/// A field's rustdoc: its spec doc, and how it is read when the wire differs from its type.
fn field_doc(field: &ResolvedField<'_>) -> String {
    let mut doc = field.doc.to_string();
    if !field.aliases.is_empty() {
        let names: Vec<String> = field.aliases.iter().map(|a| format!("`{a}`")).collect();
        doc.push_str(&format!(
            "\n\nAlso read from {}, a spelling the official page uses too; written as `{}`.",
            names.join(", "),
            field.wire
        ));
    }
    if field.one_or_many {
        doc.push_str("\n\nA single item on the wire is read as a list of one.");
    }
    doc
}

/// `Deserialize` for a generated type: any self-describing input, read through `Decode`.
fn deserialize_via_decode(name: &proc_macro2::Ident) -> TokenStream {
    quote! {
        impl<'de> serde::Deserialize<'de> for #name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                crate::de::deserialize(deserializer)
            }
        }
    }
}

fn object(resolved: &ResolvedType<'_>, doc: &str) -> TokenStream {
    let name = ident(resolved.name);
    let fields = &resolved.fields;
    let docs = doc_attrs(doc);
    let default = resolved.derives_default.then(|| quote!(Default,));
    let accessors = separated_lists(&name, fields);
    let deserialize = deserialize_via_decode(&name);
    let field_defs = fields.iter().map(|field| {
        let type_ref = &field.type_ref;
        let rust_name = ident(&field.rust_name);
        let docs = doc_attrs(&field_doc(field));
        let mut ty = field_rust_type(field);
        let shape = field.shape;
        if shape == FieldShape::Optional {
            ty = quote!(Option<#ty>);
        }
        // Only serialization is derived; reading is the `Decode` implementation below.
        let mut serde_args = Vec::new();
        if field.union_tag.is_some() {
            serde_args.push(quote!(flatten));
        } else {
            if field.rust_name != field.wire {
                let wire = field.wire;
                serde_args.push(quote!(rename = #wire));
            }
            match shape {
                FieldShape::Plain => {}
                FieldShape::Optional => {
                    serde_args.push(quote!(skip_serializing_if = "Option::is_none"))
                }
                FieldShape::EmptyWhenAbsent => {
                    let is_empty = if matches!(type_ref, TypeRef::Map(_)) {
                        "std::collections::BTreeMap::is_empty"
                    } else {
                        "Vec::is_empty"
                    };
                    serde_args.push(quote!(skip_serializing_if = #is_empty));
                }
            }
            // A flag is `bool` in Rust and 0/1 on the wire.
            if *type_ref == TypeRef::Flag && !field.secret {
                let path = match shape {
                    FieldShape::Optional => "crate::de::opt_flag::serialize",
                    _ => "crate::de::flag::serialize",
                };
                serde_args.push(quote!(serialize_with = #path));
            }
        }
        let serde_attr = (!serde_args.is_empty()).then(|| quote!(#[serde(#(#serde_args),*)]));
        quote! {
            #docs
            #serde_attr
            pub #rust_name: #ty,
        }
    });
    // Named fields are taken out first: a flattened union reads the members left.
    let (flattened, named): (Vec<&ResolvedField<'_>>, Vec<&ResolvedField<'_>>) =
        fields.iter().partition(|field| field.union_tag.is_some());
    let binding = if !named.is_empty() {
        quote!(let mut fields =)
    } else if !flattened.is_empty() {
        quote!(let fields =)
    } else {
        TokenStream::new()
    };
    let reads = named.iter().chain(&flattened).map(|field| {
        let rust_name = ident(&field.rust_name);
        let wire = field.wire;
        // A field pages spell two ways is read under whichever the object has.
        let name = if field.aliases.is_empty() {
            quote!(#wire)
        } else {
            let aliases = field.aliases.iter().map(String::as_str);
            quote!(fields.named(&[#wire, #(#aliases),*]))
        };
        // A list sent as its one item is read as a list of one.
        let as_read = field
            .one_or_many
            .then(|| quote!(::<crate::de::OneOrMany<_>>));
        let read = match (field.shape, field.union_tag) {
            (FieldShape::Optional, Some(tag)) => quote!(fields.flattened_optional(#tag)?),
            (_, Some(_)) => quote!(fields.flattened()?),
            (FieldShape::Plain, None) => quote!(fields.required #as_read(#name)?),
            (FieldShape::Optional, None) => quote!(fields.optional #as_read(#name)?),
            (FieldShape::EmptyWhenAbsent, None) => quote!(fields.or_empty #as_read(#name)?),
        };
        let read = match (field.one_or_many, field.shape) {
            (false, _) => read,
            (true, FieldShape::Optional) => {
                quote!(#read.map(crate::de::OneOrMany::into_vec))
            }
            (true, _) => quote!(#read.into_vec()),
        };
        quote!(#rust_name: #read,)
    });
    quote! {
        #docs
        #[derive(Debug, Clone, #default PartialEq, serde::Serialize)]
        pub struct #name {
            #(#field_defs)*
        }

        impl crate::de::Decode for #name {
            fn decode(value: crate::de::Node<'_>) -> Result<Self, crate::de::DecodeError> {
                #binding crate::de::Fields::of(value)?;
                Ok(Self {
                    #(#reads)*
                })
            }
        }

        #deserialize

        #accessors
    }
}

/// `<field>_list()` for each string field that joins a list with a separator.
fn separated_lists(name: &proc_macro2::Ident, fields: &[ResolvedField<'_>]) -> TokenStream {
    let methods: Vec<TokenStream> = fields
        .iter()
        .filter(|f| f.type_ref == TypeRef::String && !f.secret)
        .filter_map(|f| {
            let separator = f.separator?;
            let field = ident(&f.rust_name);
            let method = ident(&format!("{field}_list"));
            let doc = format!(
                " The parts of `{}` (joined by `{separator}` on the wire); empty parts are skipped.",
                f.wire
            );
            let value = if f.shape == FieldShape::Plain {
                quote!(self.#field.as_str())
            } else {
                quote!(self.#field.as_deref().unwrap_or_default())
            };
            Some(quote! {
                #[doc = #doc]
                pub fn #method(&self) -> Vec<&str> {
                    #value.split(#separator).filter(|part| !part.is_empty()).collect()
                }
            })
        })
        .collect();
    if methods.is_empty() {
        return TokenStream::new();
    }
    quote!(impl #name { #(#methods)* })
}

fn int_enum(name: &str, doc: &str, values: &[IntEnumValue]) -> TokenStream {
    let name = ident(name);
    let deserialize = deserialize_via_decode(&name);
    let docs = doc_attrs(doc);
    let variants = values.iter().map(|v| {
        let variant = ident(&v.name);
        let docs = doc_attrs(&format!("`{}`: {}", v.value, v.doc));
        quote!(#docs #variant,)
    });
    let from_int = values.iter().map(|v| {
        let variant = ident(&v.name);
        let value = proc_macro2::Literal::i64_unsuffixed(v.value);
        quote!(#value => Self::#variant,)
    });
    let to_int = values.iter().map(|v| {
        let variant = ident(&v.name);
        let value = proc_macro2::Literal::i64_unsuffixed(v.value);
        quote!(#name::#variant => #value,)
    });
    quote! {
        #docs
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum #name {
            #(#variants)*
            /// A value this version of the crate does not know, kept as sent.
            Unknown(i64),
        }

        impl From<i64> for #name {
            fn from(value: i64) -> Self {
                match value {
                    #(#from_int)*
                    other => Self::Unknown(other),
                }
            }
        }

        impl From<#name> for i64 {
            fn from(value: #name) -> Self {
                match value {
                    #(#to_int)*
                    #name::Unknown(other) => other,
                }
            }
        }

        impl serde::Serialize for #name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_i64(i64::from(*self))
            }
        }

        impl crate::de::Decode for #name {
            fn decode(value: crate::de::Node<'_>) -> Result<Self, crate::de::DecodeError> {
                <i64 as crate::de::Decode>::decode(value).map(Self::from)
            }
        }

        #deserialize
    }
}

fn string_enum(name: &str, doc: &str, values: &[StringEnumValue]) -> TokenStream {
    let name = ident(name);
    let deserialize = deserialize_via_decode(&name);
    let docs = doc_attrs(doc);
    let variants = values.iter().map(|v| {
        let variant = ident(&v.name);
        let docs = doc_attrs(&format!("`{}`: {}", v.value, v.doc));
        quote!(#docs #variant,)
    });
    let from_str = values.iter().map(|v| {
        let variant = ident(&v.name);
        let value = &v.value;
        quote!(#value => Self::#variant,)
    });
    let as_str = values.iter().map(|v| {
        let variant = ident(&v.name);
        let value = &v.value;
        quote!(Self::#variant => #value,)
    });
    quote! {
        #docs
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum #name {
            #(#variants)*
            /// A value this version of the crate does not know, kept as sent.
            Unknown(String),
        }

        impl #name {
            /// The value on the wire.
            pub fn as_str(&self) -> &str {
                match self {
                    #(#as_str)*
                    Self::Unknown(other) => other,
                }
            }
        }

        impl From<&str> for #name {
            fn from(value: &str) -> Self {
                match value {
                    #(#from_str)*
                    other => Self::Unknown(other.to_string()),
                }
            }
        }

        impl serde::Serialize for #name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl crate::de::Decode for #name {
            fn decode(value: crate::de::Node<'_>) -> Result<Self, crate::de::DecodeError> {
                <String as crate::de::Decode>::decode(value).map(|value| Self::from(value.as_str()))
            }
        }

        #deserialize
    }
}

fn union(name: &str, doc: &str, tag: &str, variants: &[ResolvedVariant<'_>]) -> TokenStream {
    let name = ident(name);
    let deserialize = deserialize_via_decode(&name);
    let missing_tag = format!("missing field `{tag}`");
    let docs = doc_attrs(doc);
    let mut variant_defs = Vec::new();
    let mut serialize_arms = Vec::new();
    let mut deserialize_arms = Vec::new();
    let mut from_impls = Vec::new();
    for resolved in variants {
        let v = resolved.variant;
        let Some(variant) = resolved.name.as_deref().map(ident) else {
            continue; // refused by the validator
        };
        let tag_value = match &v.tag {
            UnionTag::Int(n) => {
                let n = proc_macro2::Literal::i64_unsuffixed(*n);
                quote!(crate::union::Tag::Int(#n))
            }
            UnionTag::Str(s) => quote!(crate::union::Tag::Str(#s)),
        };
        match (&v.type_name, resolved.key) {
            (Some(type_name), Some(key)) => {
                let content = ident(type_name);
                let docs = doc_attrs(&format!(
                    "`{tag}` {}, content under `{key}`. {}",
                    tag_text(&v.tag),
                    v.doc
                ));
                variant_defs.push(quote!(#docs #variant(#content),));
                serialize_arms.push(quote!(Self::#variant(content) => crate::union::serialize(serializer, #tag, #tag_value, #key, content),));
                deserialize_arms.push(quote!(if crate::union::matches(&fields, #tag, #tag_value) { return crate::union::content(&fields, #key).map(Self::#variant); }));
                // Two variants with one content type: which one `from` means is ambiguous.
                if !resolved.shared_content {
                    from_impls.push(quote! {
                        impl From<#content> for #name {
                            fn from(content: #content) -> Self {
                                Self::#variant(content)
                            }
                        }
                    });
                }
            }
            (None, _) => {
                // No content: the tag alone is the whole value.
                let docs = doc_attrs(&format!(
                    "`{tag}` {}, without content. {}",
                    tag_text(&v.tag),
                    v.doc
                ));
                variant_defs.push(quote!(#docs #variant,));
                serialize_arms.push(quote!(Self::#variant => crate::union::serialize_tag(serializer, #tag, #tag_value),));
                deserialize_arms.push(quote!(if crate::union::matches(&fields, #tag, #tag_value) { return Ok(Self::#variant); }));
            }
            (Some(_), None) => {} // refused by the validator
        }
    }
    quote! {
        #docs
        #[derive(Debug, Clone, PartialEq)]
        pub enum #name {
            #(#variant_defs)*
            /// A variant this version of the crate does not know: every field, as sent.
            Unknown(serde_json::Map<String, serde_json::Value>),
        }

        #(#from_impls)*

        impl serde::Serialize for #name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                match self {
                    #(#serialize_arms)*
                    Self::Unknown(fields) => serde::Serialize::serialize(fields, serializer),
                }
            }
        }

        impl crate::de::Decode for #name {
            fn decode(value: crate::de::Node<'_>) -> Result<Self, crate::de::DecodeError> {
                let fields = crate::de::Fields::of(value)?;
                if !fields.contains(#tag) {
                    return Err(crate::de::DecodeError::here(#missing_tag));
                }
                #(#deserialize_arms)*
                Ok(Self::Unknown(fields.into_map()))
            }
        }

        #deserialize
    }
}

/// A union whose variants' fields sit beside the tag: `{"card_type": "text_notice", ...}`.
fn inline_union(name: &str, doc: &str, tag: &str, variants: &[ResolvedVariant<'_>]) -> TokenStream {
    let name = ident(name);
    let deserialize = deserialize_via_decode(&name);
    let missing_tag = format!("missing field `{tag}`");
    let docs = doc_attrs(doc);
    let rows: Vec<_> = variants
        .iter()
        .filter_map(|resolved| {
            let v = resolved.variant;
            let variant = ident(resolved.name.as_deref()?);
            let content = ident(v.type_name.as_deref()?);
            let (tag_value, tag_json) = match &v.tag {
                UnionTag::Int(n) => {
                    let n = proc_macro2::Literal::i64_unsuffixed(*n);
                    (
                        quote!(crate::union::Tag::Int(#n)),
                        quote!(serde_json::Value::from(#n)),
                    )
                }
                UnionTag::Str(s) => (
                    quote!(crate::union::Tag::Str(#s)),
                    quote!(serde_json::Value::from(#s)),
                ),
            };
            let context = format!("in the fields of `{tag}` {}", tag_text(&v.tag));
            Some((resolved, variant, content, tag_value, tag_json, context))
        })
        .collect();
    let variant_defs = rows.iter().map(|(v, variant, content, ..)| {
        let docs = doc_attrs(&format!(
            "`{tag}` {}, its fields beside the tag. {}",
            tag_text(&v.variant.tag),
            v.variant.doc
        ));
        quote!(#docs #variant(#content),)
    });
    let serialize_arms = rows.iter().map(|(_, variant, _, _, tag_json, _)| {
        quote!(Self::#variant(content) => (#tag_json, serde_json::to_value(content)),)
    });
    let deserialize_arms = rows.iter().map(|(_, variant, _, tag_value, _, context)| {
        quote! {
            if crate::union::matches(&fields, #tag, #tag_value) {
                return crate::union::inline_content(&fields, #context).map(Self::#variant);
            }
        }
    });
    let from_impls = rows
        .iter()
        .filter(|(v, ..)| v.variant.type_name.is_some() && !v.shared_content)
        .map(|(_, variant, content, ..)| {
            quote! {
                impl From<#content> for #name {
                    fn from(content: #content) -> Self {
                        Self::#variant(content)
                    }
                }
            }
        });
    quote! {
        #docs
        #[derive(Debug, Clone, PartialEq)]
        pub enum #name {
            #(#variant_defs)*
            /// A variant this version of the crate does not know: every field, as sent.
            Unknown(serde_json::Map<String, serde_json::Value>),
        }

        #(#from_impls)*

        impl serde::Serialize for #name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                let (tag, content) = match self {
                    #(#serialize_arms)*
                    Self::Unknown(fields) => return serde::Serialize::serialize(fields, serializer),
                };
                let mut fields = match content.map_err(serde::ser::Error::custom)? {
                    serde_json::Value::Object(fields) => fields,
                    _ => return Err(serde::ser::Error::custom(concat!(#tag, " union content is not an object"))),
                };
                fields.insert(#tag.to_string(), tag);
                serde::Serialize::serialize(&fields, serializer)
            }
        }

        impl crate::de::Decode for #name {
            fn decode(value: crate::de::Node<'_>) -> Result<Self, crate::de::DecodeError> {
                let fields = crate::de::Fields::of(value)?;
                if !fields.contains(#tag) {
                    return Err(crate::de::DecodeError::here(#missing_tag));
                }
                #(#deserialize_arms)*
                Ok(Self::Unknown(fields.into_map()))
            }
        }

        #deserialize
    }
}

fn tag_text(tag: &UnionTag) -> String {
    match tag {
        UnionTag::Int(n) => n.to_string(),
        UnionTag::Str(s) => format!("`{s}`"),
    }
}
