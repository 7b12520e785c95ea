//! Constructors and conversions that let people build requests the way they write them:
//! `Text::new("hi")`, `AppMessage::text("hi")`, a `TextNoticeCard` passed where an
//! `AppMessage` is expected. Only what cannot conflict is emitted.

use std::collections::BTreeSet;

use heck::ToSnakeCase;
use proc_macro2::TokenStream;
use quote::quote;

use super::names::{FieldShape, field_ident, field_shape, field_type, ident, rust_required};
use super::rust_ops::field_argument;
use crate::model::{Field, SpecFile, TypeDef};
use crate::typeref::TypeRef;
use crate::validate::variant_name;

/// Most required fields a generated `new` takes.
const MAX_NEW_ARGUMENTS: usize = 3;

pub fn conveniences(spec: &SpecFile, request_side: &BTreeSet<&str>) -> TokenStream {
    let mut out = TokenStream::new();
    // (from, to) conversions already implemented: the unions' own variant conversions first.
    let mut froms: BTreeSet<(String, String)> = BTreeSet::new();
    // A content type shared by two variants gets no conversion at all (ambiguous).
    for (name, def) in &spec.types {
        if let TypeDef::Union { variants, .. } = def {
            for v in variants {
                if let Some(content) = &v.type_name {
                    froms.insert((content.clone(), name.clone()));
                }
            }
        }
    }
    for name in request_side {
        if let Some(TypeDef::Object { fields, .. }) = spec.types.get(*name) {
            out.extend(constructor(name, fields));
        }
    }
    for name in request_side {
        if let Some(union) = wrapped_union(spec, name) {
            let wrapper = ident(name);
            out.extend(from_impl(
                &mut froms,
                &union,
                name,
                |value| quote!(#wrapper::new(#value)),
            ));
            let via = ident(&union);
            for variant in union_contents(spec, &union) {
                out.extend(from_impl(
                    &mut froms,
                    &variant,
                    name,
                    |value| quote!(#wrapper::new(#via::from(#value))),
                ));
            }
        }
    }
    for (name, def) in &spec.types {
        let TypeDef::Union { variants, .. } = def else {
            continue;
        };
        if !request_side.contains(name.as_str()) {
            continue;
        }
        let union = ident(name);
        let mut constructors = Vec::new();
        for v in variants {
            let (Some(content), Some(variant)) = (&v.type_name, variant_name(v)) else {
                continue;
            };
            // A variant whose content wraps another union: its contents convert too.
            if let Some(inner) = wrapped_union(spec, content) {
                for deep in union_contents(spec, &inner) {
                    let content_ident = ident(content);
                    out.extend(from_impl(
                        &mut froms,
                        &deep,
                        name,
                        |value| quote!(Self::from(#content_ident::from(#value))),
                    ));
                }
            }
            if let Some(field) = sole_argument(spec, content) {
                let method = ident(&variant.to_snake_case());
                let variant = ident(&variant);
                let content = ident(content);
                let arg = field_ident(field);
                let (ty, _) = field_argument(field);
                let doc = format!(
                    " {} (`{name}::{variant}`) from its one required input.",
                    v.doc.trim()
                );
                constructors.push(quote! {
                    #[doc = #doc]
                    pub fn #method(#arg: #ty) -> Self {
                        Self::#variant(#content::new(#arg))
                    }
                });
            }
        }
        if !constructors.is_empty() {
            out.extend(quote! {
                impl #union {
                    #(#constructors)*
                }
            });
        }
    }
    out
}

/// `new` with the required fields as arguments; every optional field unset.
fn constructor(name: &str, fields: &[Field]) -> TokenStream {
    let required: Vec<&Field> = fields.iter().filter(|f| rust_required(f)).collect();
    if required.is_empty() || required.len() > MAX_NEW_ARGUMENTS {
        return TokenStream::new();
    }
    let params = required.iter().map(|f| {
        let name = field_ident(f);
        let (ty, _) = field_argument(f);
        quote!(#name: #ty)
    });
    let inits = fields.iter().map(|f| {
        let name = field_ident(f);
        if rust_required(f) {
            let (_, convert) = field_argument(f);
            if convert.is_empty() {
                quote!(#name,)
            } else {
                quote!(#name: #name #convert,)
            }
        } else if field_shape(f, true) == FieldShape::Optional {
            quote!(#name: None,)
        } else {
            quote!(#name: Default::default(),)
        }
    });
    let ty = ident(name);
    let names: Vec<String> = required.iter().map(|f| format!("`{}`", f.name)).collect();
    let doc = format!(
        " A `{name}` with its required {} set and every optional field unset.",
        names.join(", ")
    );
    quote! {
        impl #ty {
            #[doc = #doc]
            pub fn new(#(#params),*) -> Self {
                Self { #(#inits)* }
            }
        }
    }
}

/// The one argument of a type's generated `new`, when it takes exactly one.
fn sole_argument<'a>(spec: &'a SpecFile, name: &str) -> Option<&'a Field> {
    let Some(TypeDef::Object { fields, .. }) = spec.types.get(name) else {
        return None;
    };
    let mut required = fields.iter().filter(|f| rust_required(f));
    let first = required.next()?;
    required.next().is_none().then_some(first)
}

/// The union of an object whose only required field is a (flattened) union.
fn wrapped_union(spec: &SpecFile, name: &str) -> Option<String> {
    let field = sole_argument(spec, name)?;
    match field_type(field) {
        TypeRef::Named(union) if matches!(spec.types.get(&union), Some(TypeDef::Union { .. })) => {
            Some(union)
        }
        _ => None,
    }
}

fn union_contents(spec: &SpecFile, union: &str) -> Vec<String> {
    match spec.types.get(union) {
        Some(TypeDef::Union { variants, .. }) => variants
            .iter()
            .filter_map(|v| v.type_name.clone())
            .collect(),
        _ => Vec::new(),
    }
}

/// `impl From<from> for to`, unless that conversion exists already.
fn from_impl(
    froms: &mut BTreeSet<(String, String)>,
    from: &str,
    to: &str,
    body: impl FnOnce(TokenStream) -> TokenStream,
) -> TokenStream {
    if from == to || !froms.insert((from.to_string(), to.to_string())) {
        return TokenStream::new();
    }
    let from_ident = ident(from);
    let to_ident = ident(to);
    let body = body(quote!(value));
    quote! {
        impl From<#from_ident> for #to_ident {
            fn from(value: #from_ident) -> Self {
                #body
            }
        }
    }
}
