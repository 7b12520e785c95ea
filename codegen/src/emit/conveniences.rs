//! Constructors and conversions that let people build requests the way they write them:
//! `Text::new("hi")`, `AppMessage::text("hi")`, a `TextNoticeCard` passed where an
//! `AppMessage` is expected. Only what cannot conflict is emitted.

use std::collections::BTreeSet;

use heck::ToSnakeCase;
use proc_macro2::TokenStream;
use quote::quote;

use super::names::ident;
use super::rust_ops::field_argument;
use crate::resolve::{FieldShape, ResolvedField, ResolvedGroup};
use crate::typeref::TypeRef;

/// Most required fields a generated `new` takes.
const MAX_NEW_ARGUMENTS: usize = 3;

pub fn conveniences(group: &ResolvedGroup<'_>) -> TokenStream {
    let mut out = TokenStream::new();
    // (from, to) conversions already implemented: the unions' own variant conversions first.
    let mut froms: BTreeSet<(String, String)> = BTreeSet::new();
    // A content type shared by two variants gets no conversion at all (ambiguous).
    for (name, resolved) in &group.types {
        for v in &resolved.variants {
            if let Some(content) = &v.variant.type_name {
                froms.insert((content.clone(), name.to_string()));
            }
        }
    }
    // Impls go where their `Self` type is printed: an imported type has its own there.
    let request_side: Vec<&str> = group
        .types
        .values()
        .filter(|t| t.request_side && !t.imported)
        .map(|t| t.name)
        .collect();
    for name in &request_side {
        if let Some(crate::model::TypeDef::Object { .. }) = group.def(name) {
            out.extend(constructor(name, group.fields(name)));
        }
    }
    for name in &request_side {
        if let Some(union) = wrapped_union(group, name) {
            let wrapper = ident(name);
            out.extend(from_impl(
                &mut froms,
                &union,
                name,
                |value| quote!(#wrapper::new(#value)),
            ));
            let via = ident(&union);
            for variant in union_contents(group, &union) {
                out.extend(from_impl(
                    &mut froms,
                    &variant,
                    name,
                    |value| quote!(#wrapper::new(#via::from(#value))),
                ));
            }
        }
    }
    for (name, resolved) in &group.types {
        if !group.is_union(name) || !resolved.request_side || resolved.imported {
            continue;
        }
        let union = ident(name);
        let mut constructors = Vec::new();
        for resolved_variant in &resolved.variants {
            let v = resolved_variant.variant;
            let (Some(content), Some(variant)) = (&v.type_name, resolved_variant.name.clone())
            else {
                continue;
            };
            // A variant whose content wraps another union: its contents convert too.
            if let Some(inner) = wrapped_union(group, content) {
                for deep in union_contents(group, &inner) {
                    let content_ident = ident(content);
                    out.extend(from_impl(
                        &mut froms,
                        &deep,
                        name,
                        |value| quote!(Self::from(#content_ident::from(#value))),
                    ));
                }
            }
            if let Some(field) = sole_argument(group, content) {
                let method = ident(&variant.to_snake_case());
                let variant = ident(&variant);
                let content = ident(content);
                let arg = ident(&field.rust_name);
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
fn constructor(name: &str, fields: &[ResolvedField<'_>]) -> TokenStream {
    let required: Vec<&ResolvedField<'_>> = fields.iter().filter(|f| f.rust_required()).collect();
    if required.is_empty() || required.len() > MAX_NEW_ARGUMENTS {
        return TokenStream::new();
    }
    let params = required.iter().map(|f| {
        let name = ident(&f.rust_name);
        let (ty, _) = field_argument(f);
        quote!(#name: #ty)
    });
    let inits = fields.iter().map(|f| {
        let name = ident(&f.rust_name);
        if f.rust_required() {
            let (_, convert) = field_argument(f);
            if convert.is_empty() {
                quote!(#name,)
            } else {
                quote!(#name: #name #convert,)
            }
        } else if f.shape == FieldShape::Optional {
            quote!(#name: None,)
        } else {
            quote!(#name: Default::default(),)
        }
    });
    let ty = ident(name);
    let names: Vec<String> = required.iter().map(|f| format!("`{}`", f.wire)).collect();
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
fn sole_argument<'g, 'a>(
    group: &'g ResolvedGroup<'a>,
    name: &str,
) -> Option<&'g ResolvedField<'a>> {
    if !matches!(group.def(name), Some(crate::model::TypeDef::Object { .. })) {
        return None;
    }
    let mut required = group.fields(name).iter().filter(|f| f.rust_required());
    let first = required.next()?;
    required.next().is_none().then_some(first)
}

/// The union of an object whose only required field is a (flattened) union.
fn wrapped_union(group: &ResolvedGroup<'_>, name: &str) -> Option<String> {
    let field = sole_argument(group, name)?;
    match &field.type_ref {
        TypeRef::Named(union) if field.union_tag.is_some() => Some(union.clone()),
        _ => None,
    }
}

fn union_contents(group: &ResolvedGroup<'_>, union: &str) -> Vec<String> {
    group.types.get(union).map_or_else(Vec::new, |t| {
        t.variants
            .iter()
            .filter_map(|v| v.variant.type_name.clone())
            .collect()
    })
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
