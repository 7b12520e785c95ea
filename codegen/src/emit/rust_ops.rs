//! Rust items for the endpoints of a spec group: the namespace accessors on `Client`, one
//! method per endpoint, and the request builder each method returns. Builders are thin: the
//! runtime (`Client::execute_*`) does tokens, retries, errors and decoding for all of them.

use std::collections::BTreeMap;

use proc_macro2::TokenStream;
use quote::quote;

use super::docs::{doc_attrs, endpoint_doc};
use super::names::{
    CALLS_MODULE, CallInputs, FieldShape, accessor, api_struct, builder_struct, call_inputs,
    field_ident, field_shape, field_type, ident, limits_static, operation_static, request_types,
    split_id,
};
use super::rust_types::{derives_default, field_rust_type, rust_type};
use crate::model::{
    Endpoint, Field, HttpMethod, Pagination, ResponseBody, SpecFile, TypeDef, UploadLimit,
};
use crate::typeref::TypeRef;

pub fn operations(spec: &SpecFile) -> TokenStream {
    let mut namespaces: BTreeMap<&str, Vec<&Endpoint>> = BTreeMap::new();
    for endpoint in &spec.endpoints {
        namespaces
            .entry(split_id(endpoint).0)
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
        let methods = endpoints.iter().map(|e| method(spec, e));
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
            builders.extend(builder(spec, endpoint));
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
pub(super) fn field_argument(field: &Field) -> (TokenStream, TokenStream) {
    if field.secret {
        (quote!(impl Into<crate::Secret>), quote!(.into()))
    } else {
        argument(&field_type(field))
    }
}

fn response_type(endpoint: &Endpoint) -> TokenStream {
    match &endpoint.response {
        ResponseBody::Json { type_name } => {
            let name = ident(type_name);
            quote!(#name)
        }
        ResponseBody::Binary => quote!(crate::media::Download),
    }
}

fn query_storage(field: &Field) -> proc_macro2::Ident {
    ident(&format!("query_{}", field_ident(field)))
}

fn method(spec: &SpecFile, endpoint: &Endpoint) -> TokenStream {
    let (_, method_name) = split_id(endpoint);
    let method_name = ident(method_name);
    let builder = builder_struct(endpoint);
    let calls = ident(CALLS_MODULE);
    let inputs = call_inputs(spec, endpoint);
    let docs = doc_attrs(&endpoint_doc(spec, endpoint));
    let path_alias = &endpoint.path;
    let title_alias = &endpoint.title;
    let deprecated = endpoint
        .deprecated
        .as_ref()
        .map(|note| quote!(#[deprecated(note = #note)]));

    let mut params = Vec::new();
    let mut inits = Vec::new();
    for field in &inputs.required_query {
        let name = field_ident(field);
        let storage = query_storage(field);
        let (ty, convert) = field_argument(field);
        params.push(quote!(#name: #ty));
        inits.push(quote!(#storage: #name #convert,));
    }
    for field in &inputs.optional_query {
        let storage = query_storage(field);
        inits.push(quote!(#storage: None,));
    }
    if let Some(body) = &inputs.body {
        let body_type = ident(body.type_name);
        if body.as_struct {
            params.push(quote!(request: #body_type));
            inits.push(quote!(request,));
        } else {
            let required = body.required.iter().map(|field| {
                let name = field_ident(field);
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
            let optional = if rest.is_some() && !derives_default(spec, body.type_name) {
                // Optional fields are Options; list them when the struct has no Default.
                let names = body.optional.iter().map(|f| field_ident(f));
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

fn builder(spec: &SpecFile, endpoint: &Endpoint) -> TokenStream {
    let builder = builder_struct(endpoint);
    let (namespace, method_name) = split_id(endpoint);
    let inputs = call_inputs(spec, endpoint);
    let op = operation_static(endpoint);
    let id = &endpoint.id;
    let path = &endpoint.path;
    let http_method = match endpoint.method {
        HttpMethod::GET => quote!(Get),
        HttpMethod::POST => quote!(Post),
    };
    let credential = ident(endpoint.credential.rust_variant());
    let retry_safe = super::retry_safe(endpoint);
    let response = response_type(endpoint);
    let api = api_struct(namespace);
    let builder_doc = doc_attrs(&format!(
        "Request builder of [`{api}::{method_name}`] ({}): set optional inputs, then `.await` it.",
        endpoint.title
    ));

    let mut fields = Vec::new();
    let mut setters = Vec::new();
    let mut query = Vec::new();
    for field in &inputs.required_query {
        let storage = query_storage(field);
        let ty = field_rust_type(field);
        fields.push(quote!(pub(super) #storage: #ty,));
        let value = if field.secret {
            quote!(self.#storage.expose().to_string())
        } else {
            query_value(spec, &field_type(field), quote!(self.#storage))
        };
        let wire = field.name.as_str();
        query.push(quote!(query.push((#wire, #value));));
    }
    for field in &inputs.optional_query {
        let storage = query_storage(field);
        let type_ref = field_type(field);
        let ty = field_rust_type(field);
        fields.push(quote!(pub(super) #storage: Option<#ty>,));
        let value = if field.secret {
            quote!(value.expose().to_string())
        } else {
            query_value(spec, &type_ref, quote!(value))
        };
        let wire = field.name.as_str();
        query.push(quote!(if let Some(value) = self.#storage { query.push((#wire, #value)); }));
        setters.push(setter(field, quote!(self.#storage)));
    }
    let mut body_arg = quote!(Ok(None));
    if let Some(body) = &inputs.body {
        let body_type = ident(body.type_name);
        fields.push(quote!(pub(super) request: #body_type,));
        body_arg = quote!(crate::client::encode_body(&self.request));
        for field in &body.optional {
            let name = field_ident(field);
            setters.push(setter(field, quote!(self.request.#name)));
        }
    }
    if inputs.multipart.is_some() {
        fields.push(quote!(pub(super) file: crate::media::UploadFile,));
    }
    let paging = endpoint
        .pagination
        .as_ref()
        .map(|p| paging_method(spec, endpoint, &inputs, p));
    let query_len = inputs.required_query.len() + inputs.optional_query.len();
    let query_binding = if query.is_empty() {
        quote!(let query: Vec<(&'static str, String)> = Vec::new();)
    } else {
        quote! {
            let mut query: Vec<(&'static str, String)> = Vec::with_capacity(#query_len);
            #(#query)*
        }
    };
    let defaults = client_defaults(endpoint, &inputs);
    let self_binding = if defaults.is_empty() {
        quote!(self)
    } else {
        quote!(mut self)
    };
    let (limits_item, limits_arg) = upload_limits(endpoint, inputs.upload_limits);
    // The runtime's boxed future is the builder's future as it is: no async block here, so
    // no state machine per endpoint.
    let call = match (&endpoint.response, inputs.multipart) {
        (ResponseBody::Binary, _) => quote!(self.client.execute_download(&#op, query)),
        (ResponseBody::Json { .. }, Some(part)) => quote! {
            self.client.execute_upload::<#response>(&#op, query, #part, #limits_arg, self.file)
        },
        (ResponseBody::Json { .. }, None) => {
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
fn client_defaults(endpoint: &Endpoint, inputs: &CallInputs<'_>) -> TokenStream {
    let query = inputs.optional_query.iter().map(|f| {
        let storage = query_storage(f);
        (f, quote!(self.#storage))
    });
    let body = inputs.body.iter().flat_map(|b| b.optional.iter()).map(|f| {
        let name = field_ident(f);
        (f, quote!(self.request.#name))
    });
    let mut out = TokenStream::new();
    for (field, place) in query.chain(body) {
        let Some(default) = field.client_default else {
            continue;
        };
        let (getter, setting) = match default {
            crate::model::ClientDefault::AgentId => (quote!(agent_id), "ClientBuilder::agent_id"),
        };
        out.extend(quote! {
            if #place.is_none() {
                #place = self.client.#getter();
            }
        });
        if field.required {
            let wire = field.name.as_str();
            let why = format!(
                "{} needs `{wire}`: set it on the call or give the client one with {setting}",
                endpoint.id
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
fn paging_method(
    spec: &SpecFile,
    endpoint: &Endpoint,
    inputs: &CallInputs<'_>,
    pagination: &Pagination,
) -> TokenStream {
    let ResponseBody::Json { type_name } = &endpoint.response else {
        return TokenStream::new();
    };
    let fields: &[Field] = match spec.types.get(type_name) {
        Some(TypeDef::Object { fields, .. }) => fields,
        _ => &[],
    };
    let find = |name: &str| fields.iter().find(|f| f.name == name);
    let (Some(items), Some(next)) = (find(&pagination.items), find(&pagination.next_cursor)) else {
        return TokenStream::new();
    };
    let TypeRef::Array(item_type) = field_type(items) else {
        return TokenStream::new();
    };
    let item_type = rust_type(&item_type);
    let page_type = ident(type_name);
    let items_name = field_ident(items);
    let next_name = field_ident(next);
    let in_request = request_types(spec).contains(type_name.as_str());
    let items_value = if field_shape(items, in_request) == FieldShape::Optional {
        quote!(page.#items_name.unwrap_or_default())
    } else {
        quote!(page.#items_name)
    };
    let next_value = if super::names::rust_required(next) {
        quote!(Some(page.#next_name))
    } else {
        quote!(page.#next_name)
    };
    // The validator checked the cursor is an optional input, so it has a setter.
    let body_optional = inputs.body.iter().flat_map(|b| b.optional.iter());
    let Some(cursor) = inputs
        .optional_query
        .iter()
        .chain(body_optional)
        .find(|f| f.name == pagination.cursor)
    else {
        return TokenStream::new();
    };
    let cursor_setter = field_ident(cursor);
    quote! {
        /// Every item of every page, as a stream: the next page is fetched when the items of
        /// the current one are used up. The stream ends after an error.
        pub fn into_stream(self) -> crate::Paged<#item_type> {
            crate::paging::stream(
                self,
                |call, cursor| call.#cursor_setter(cursor),
                |page: #page_type| (#items_value, #next_value),
            )
        }
    }
}

/// The static upload limits of an endpoint and the expression passing them; `&[]` without.
fn upload_limits(endpoint: &Endpoint, limits: &[UploadLimit]) -> (TokenStream, TokenStream) {
    if limits.is_empty() {
        return (TokenStream::new(), quote!(&[]));
    }
    let name = limits_static(endpoint);
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

fn setter(field: &Field, target: TokenStream) -> TokenStream {
    let name = field_ident(field);
    let docs = doc_attrs(&field.doc);
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
fn query_value(spec: &SpecFile, type_ref: &TypeRef, value: TokenStream) -> TokenStream {
    match type_ref {
        TypeRef::String => quote!(#value),
        TypeRef::Boolean | TypeRef::Flag => quote!(u8::from(#value).to_string()),
        TypeRef::Named(name) => match spec.types.get(name) {
            Some(TypeDef::StringEnum { .. }) => quote!(#value.as_str().to_string()),
            _ => quote!(i64::from(#value).to_string()),
        },
        _ => quote!(#value.to_string()),
    }
}
