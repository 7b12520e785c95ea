//! Rust items for the endpoints of a spec group: the namespace accessors on `Client`, one
//! method per endpoint, and the request builder each method returns. Builders are thin: the
//! runtime (`Client::execute_*`) does tokens, retries, errors and decoding for all of them.

use std::collections::BTreeMap;

use proc_macro2::TokenStream;
use quote::quote;

use super::docs::{doc_attrs, endpoint_doc};
use super::names::{CALLS_MODULE, accessor, api_struct, ident};
use super::rust_types::{field_rust_type, rust_type};
use crate::model::{HttpMethod, UploadLimit};
use crate::resolve::{ResolvedEndpoint, ResolvedField, ResolvedGroup};
use crate::typeref::TypeRef;

pub fn operations(group: &ResolvedGroup<'_>) -> TokenStream {
    let spec = group.spec;
    let mut namespaces: BTreeMap<&str, Vec<&ResolvedEndpoint<'_>>> = BTreeMap::new();
    for endpoint in &group.endpoints {
        namespaces
            .entry(endpoint.namespace)
            .or_default()
            .push(endpoint);
    }
    let mut out = TokenStream::new();
    let mut builders = TokenStream::new();
    let mut accessors = TokenStream::new();
    for (namespace, endpoints) in &namespaces {
        let accessor = accessor(namespace);
        let api = api_struct(namespace);
        let accessor_doc = doc_attrs(&format!(
            "`{namespace}` endpoints of {} ({}).",
            spec.title, spec.group
        ));
        accessors.extend(quote! {
            #accessor_doc
            pub fn #accessor(&self) -> #api {
                #api { client: self.clone() }
            }
        });
        let api_doc = doc_attrs(&format!(
            "The `{namespace}` endpoints, from [`Client::{namespace}`](crate::Client::{namespace})."
        ));
        let methods = endpoints.iter().map(|e| method(group, e));
        out.extend(quote! {
            #api_doc
            #[derive(Debug, Clone)]
            pub struct #api {
                client: crate::Client,
            }

            impl #api {
                #(#methods)*
            }
        });
        for endpoint in endpoints {
            builders.extend(builder(endpoint));
        }
    }
    let calls = ident(CALLS_MODULE);
    let calls_doc = doc_attrs(&format!(
        "Request builders of {} ({}): what each method returns. Set optional inputs, then \
         `.await` the builder.",
        spec.title, spec.group
    ));
    quote! {
        impl crate::Client {
            #accessors
        }

        #out

        #calls_doc
        pub mod #calls {
            #[allow(unused_imports)]
            use super::*;

            #builders
        }
    }
}

/// How a value of a type is taken as an argument, and turned into the stored type.
fn argument(type_ref: &TypeRef) -> (TokenStream, TokenStream) {
    match type_ref {
        TypeRef::String => (quote!(impl Into<String>), quote!(.into())),
        TypeRef::Integer => (quote!(i64), quote!()),
        TypeRef::Number => (quote!(f64), quote!()),
        TypeRef::Boolean | TypeRef::Flag => (quote!(bool), quote!()),
        TypeRef::Json => (quote!(impl Into<serde_json::Value>), quote!(.into())),
        TypeRef::Array(inner) => {
            let inner = rust_type(inner);
            (
                quote!(impl IntoIterator<Item = impl Into<#inner>>),
                quote!(.into_iter().map(Into::into).collect()),
            )
        }
        TypeRef::Map(_) => (rust_type(type_ref), quote!()),
        TypeRef::Named(name) => {
            let name = ident(name);
            (quote!(impl Into<#name>), quote!(.into()))
        }
    }
}

/// `argument` for a field, where a secret string is taken as `impl Into<Secret>`.
pub(super) fn field_argument(field: &ResolvedField<'_>) -> (TokenStream, TokenStream) {
    if field.secret {
        (quote!(impl Into<crate::Secret>), quote!(.into()))
    } else {
        argument(&field.type_ref)
    }
}

fn response_type(resolved: &ResolvedEndpoint<'_>) -> TokenStream {
    match resolved.response {
        Some(type_name) => {
            let name = ident(type_name);
            quote!(#name)
        }
        None => quote!(crate::media::Download),
    }
}

/// The builder field holding a query parameter: `query_userid`.
fn query_storage(rust_name: &str) -> proc_macro2::Ident {
    ident(&format!("query_{rust_name}"))
}

fn method(group: &ResolvedGroup<'_>, resolved: &ResolvedEndpoint<'_>) -> TokenStream {
    let endpoint = resolved.endpoint;
    let method_name = ident(resolved.method_name);
    let builder = ident(&resolved.builder);
    let calls = ident(CALLS_MODULE);
    let inputs = &resolved.inputs;
    let docs = doc_attrs(&endpoint_doc(group, resolved));
    let path_alias = &endpoint.path;
    let title_alias = &endpoint.title;
    let deprecated = endpoint
        .deprecated
        .as_ref()
        .map(|note| quote!(#[deprecated(note = #note)]));

    let mut params = Vec::new();
    let mut inits = Vec::new();
    for field in &inputs.required_query {
        let name = ident(&field.rust_name);
        let storage = query_storage(&field.rust_name);
        let (ty, convert) = field_argument(field);
        params.push(quote!(#name: #ty));
        inits.push(quote!(#storage: #name #convert,));
    }
    for field in &inputs.optional_query {
        let storage = query_storage(&field.rust_name);
        inits.push(quote!(#storage: None,));
    }
    if let Some(body) = &inputs.body {
        let body_type = ident(body.type_name);
        if body.as_struct {
            params.push(quote!(request: #body_type));
            inits.push(quote!(request,));
        } else {
            let required = body.required.iter().map(|field| {
                let name = ident(&field.rust_name);
                let (ty, convert) = field_argument(field);
                params.push(quote!(#name: #ty));
                if convert.is_empty() {
                    quote!(#name,)
                } else {
                    quote!(#name: #name #convert,)
                }
            });
            let required: Vec<_> = required.collect();
            let rest = (!body.optional.is_empty()).then(|| quote!(..Default::default()));
            let optional = if rest.is_some() && !body.derives_default {
                // Optional fields are Options; list them when the struct has no Default.
                let names = body.optional.iter().map(|f| ident(&f.rust_name));
                quote!(#(#names: None,)*)
            } else {
                rest.unwrap_or_default()
            };
            inits.push(quote!(request: #body_type { #(#required)* #optional },));
        }
    }
    if inputs.multipart.is_some() {
        params.push(quote!(file: crate::media::UploadFile));
        inits.push(quote!(file,));
    }
    quote! {
        #docs
        #[doc(alias = #path_alias)]
        #[doc(alias = #title_alias)]
        #deprecated
        pub fn #method_name(&self, #(#params),*) -> #calls::#builder {
            #calls::#builder {
                client: self.client.clone(),
                #(#inits)*
            }
        }
    }
}

fn builder(resolved: &ResolvedEndpoint<'_>) -> TokenStream {
    let endpoint = resolved.endpoint;
    let builder = ident(&resolved.builder);
    let method_name = resolved.method_name;
    let inputs = &resolved.inputs;
    let op = ident(&resolved.op_static);
    let id = resolved.id;
    let path = &endpoint.path;
    let http_method = match resolved.http_method {
        HttpMethod::GET => quote!(Get),
        HttpMethod::POST => quote!(Post),
    };
    let credential = ident(resolved.credential.rust_variant());
    let retry_safe = resolved.retry_safe;
    let response = response_type(resolved);
    let api = api_struct(resolved.namespace);
    let builder_doc = doc_attrs(&format!(
        "Request builder of [`{api}::{method_name}`] ({}): set optional inputs, then `.await` it.",
        endpoint.title
    ));

    let mut fields = Vec::new();
    let mut setters = Vec::new();
    let mut query = Vec::new();
    for field in &inputs.required_query {
        let storage = query_storage(&field.rust_name);
        let ty = field_rust_type(field);
        fields.push(quote!(pub(super) #storage: #ty,));
        let value = if field.secret {
            quote!(self.#storage.expose().to_string())
        } else {
            query_value(field, quote!(self.#storage))
        };
        let wire = field.wire;
        query.push(quote!(query.push((#wire, #value));));
    }
    for field in &inputs.optional_query {
        let storage = query_storage(&field.rust_name);
        let ty = field_rust_type(field);
        fields.push(quote!(pub(super) #storage: Option<#ty>,));
        let value = if field.secret {
            quote!(value.expose().to_string())
        } else {
            query_value(field, quote!(value))
        };
        let wire = field.wire;
        query.push(quote!(if let Some(value) = self.#storage { query.push((#wire, #value)); }));
        setters.push(setter(field, quote!(self.#storage)));
    }
    let mut body_arg = quote!(Ok(None));
    if let Some(body) = &inputs.body {
        let body_type = ident(body.type_name);
        fields.push(quote!(pub(super) request: #body_type,));
        body_arg = quote!(crate::client::encode_body(&self.request));
        for field in &body.optional {
            let name = ident(&field.rust_name);
            setters.push(setter(field, quote!(self.request.#name)));
        }
    }
    if inputs.multipart.is_some() {
        fields.push(quote!(pub(super) file: crate::media::UploadFile,));
    }
    let paging = resolved.paging.as_ref().map(paging_method);
    let query_len = inputs.required_query.len() + inputs.optional_query.len();
    let query_binding = if query.is_empty() {
        quote!(let query: Vec<(&'static str, String)> = Vec::new();)
    } else {
        quote! {
            let mut query: Vec<(&'static str, String)> = Vec::with_capacity(#query_len);
            #(#query)*
        }
    };
    let defaults = client_defaults(resolved);
    let self_binding = if defaults.is_empty() {
        quote!(self)
    } else {
        quote!(mut self)
    };
    let (limits_item, limits_arg) = upload_limits(&resolved.limits_static, inputs.upload_limits);
    // The runtime's boxed future is the builder's future as it is: no async block here, so
    // no state machine per endpoint.
    let call = match (resolved.response, inputs.multipart) {
        (None, _) => quote!(self.client.execute_download(&#op, query)),
        (Some(_), Some(part)) => quote! {
            self.client.execute_upload::<#response>(&#op, query, #part, #limits_arg, self.file)
        },
        (Some(_), None) => {
            quote!(self.client.execute_json::<#response>(&#op, query, #body_arg))
        }
    };
    quote! {
        static #op: crate::operation::Operation = crate::operation::Operation {
            id: #id,
            method: crate::operation::Method::#http_method,
            path: #path,
            credential: crate::operation::Credential::#credential,
            retry_safe: #retry_safe,
        };

        #limits_item

        #builder_doc
        #[derive(Debug, Clone)]
        #[must_use = "a request does nothing until it is awaited"]
        pub struct #builder {
            pub(super) client: crate::Client,
            #(#fields)*
        }

        impl #builder {
            #(#setters)*
            #paging
        }

        impl std::future::IntoFuture for #builder {
            type Output = crate::Result<#response>;
            type IntoFuture = crate::BoxFuture<Self::Output>;

            fn into_future(#self_binding) -> Self::IntoFuture {
                #defaults
                #query_binding
                #call
            }
        }
    }
}

/// Statements filling the inputs that default from the client (`agentid`), and refusing the
/// call before sending when a required one is still unset.
fn client_defaults(resolved: &ResolvedEndpoint<'_>) -> TokenStream {
    let mut out = TokenStream::new();
    for input in &resolved.client_defaults {
        let place = if input.in_body {
            let name = ident(&input.rust_name);
            quote!(self.request.#name)
        } else {
            let storage = query_storage(&input.rust_name);
            quote!(self.#storage)
        };
        let (getter, setting) = match input.default {
            crate::model::ClientDefault::AgentId => (quote!(agent_id), "ClientBuilder::agent_id"),
        };
        out.extend(quote! {
            if #place.is_none() {
                #place = self.client.#getter();
            }
        });
        if input.required {
            let wire = input.wire;
            let why = format!(
                "{} needs `{wire}`: set it on the call or give the client one with {setting}",
                resolved.id
            );
            out.extend(quote! {
                if #place.is_none() {
                    return crate::client::refused(crate::Error::InvalidArgument {
                        what: #wire.into(),
                        why: #why.into(),
                    });
                }
            });
        }
    }
    out
}

/// `into_stream`: every item of every page, fetched on demand.
fn paging_method(paging: &crate::resolve::Paging<'_>) -> TokenStream {
    let item_type = rust_type(&paging.item_type);
    let page_type = ident(paging.page_type);
    let items_name = ident(&paging.items);
    let next_name = ident(&paging.next_cursor);
    let items_value = if paging.items_optional {
        quote!(page.#items_name.unwrap_or_default())
    } else {
        quote!(page.#items_name)
    };
    let next_value = if paging.next_cursor_required {
        quote!(Some(page.#next_name))
    } else {
        quote!(page.#next_name)
    };
    let cursor_setter = ident(&paging.cursor_setter);
    // Absent from a page, "more" falls back to the cursor rule.
    let more_value = match &paging.has_more {
        None => quote!(true),
        Some(h) if !h.inverted => {
            let name = ident(&h.rust_name);
            match (h.required, h.boolean) {
                (true, true) => quote!(page.#name),
                (true, false) => quote!(page.#name != 0),
                (false, true) => quote!(page.#name.unwrap_or(true)),
                (false, false) => quote!(page.#name.is_none_or(|more| more != 0)),
            }
        }
        Some(h) => {
            let name = ident(&h.rust_name);
            match (h.required, h.boolean) {
                (true, true) => quote!(!page.#name),
                (true, false) => quote!(page.#name == 0),
                (false, true) => quote!(!page.#name.unwrap_or(false)),
                (false, false) => quote!(page.#name.is_none_or(|last| last == 0)),
            }
        }
    };
    let end_doc = match &paging.has_more {
        Some(h) => format!(
            "It ends after the page whose `{}` says no more pages follow (or whose next \
             cursor is empty), or after an error.",
            h.rust_name
        ),
        None => "It ends after a page with an empty next cursor, or after an error.".to_string(),
    };
    quote! {
        /// Every item of every page, as a stream: the next page is fetched when the items of
        /// the current one are used up.
        #[doc = #end_doc]
        /// [`Paged::last_cursor`](crate::Paged::last_cursor) is the newest cursor WeCom
        /// returned, to keep and resume from.
        pub fn into_stream(self) -> crate::Paged<#item_type> {
            crate::paging::stream(
                self,
                |call, cursor| call.#cursor_setter(cursor),
                |page: #page_type| {
                    let more = #more_value;
                    (#items_value, #next_value, more)
                },
            )
        }
    }
}

/// The static upload limits of an endpoint and the expression passing them; `&[]` without.
fn upload_limits(name: &str, limits: &[UploadLimit]) -> (TokenStream, TokenStream) {
    if limits.is_empty() {
        return (TokenStream::new(), quote!(&[]));
    }
    let name = ident(name);
    let items = limits.iter().map(|limit| {
        let when = match (&limit.param, &limit.value) {
            (Some(param), Some(value)) => quote!(Some((#param, #value))),
            _ => quote!(None),
        };
        let min = proc_macro2::Literal::u64_unsuffixed(limit.min_bytes);
        let max = proc_macro2::Literal::u64_unsuffixed(limit.max_bytes);
        let extensions = &limit.extensions;
        quote! {
            crate::media::UploadLimit {
                when: #when,
                min_bytes: #min,
                max_bytes: #max,
                extensions: &[#(#extensions),*],
            }
        }
    });
    let item = quote! {
        static #name: &[crate::media::UploadLimit] = &[#(#items),*];
    };
    (item, quote!(#name))
}

fn setter(field: &ResolvedField<'_>, target: TokenStream) -> TokenStream {
    let name = ident(&field.rust_name);
    let docs = doc_attrs(field.doc);
    let (ty, convert) = field_argument(field);
    quote! {
        #docs
        pub fn #name(mut self, value: #ty) -> Self {
            #target = Some(value #convert);
            self
        }
    }
}

/// The query string text of a stored parameter value.
fn query_value(field: &ResolvedField<'_>, value: TokenStream) -> TokenStream {
    match &field.type_ref {
        TypeRef::String => quote!(#value),
        TypeRef::Boolean | TypeRef::Flag => quote!(u8::from(#value).to_string()),
        TypeRef::Named(_) if field.string_enum => quote!(#value.as_str().to_string()),
        TypeRef::Named(_) => quote!(i64::from(#value).to_string()),
        _ => quote!(#value.to_string()),
    }
}
