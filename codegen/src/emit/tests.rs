//! Integration tests for a spec group: one per documented example. Each serves the documented
//! response from a mock WeCom, calls the generated method with the documented inputs, checks
//! the request WeCom would receive and that the response decodes with no field lost.

use proc_macro2::TokenStream;
use quote::quote;
use serde_json::Value;

use super::names::ident;
use crate::model::{Credential, Example, HttpMethod};
use crate::resolve::{ResolvedEndpoint, ResolvedField, ResolvedGroup};
use crate::typeref::TypeRef;

pub fn group_tests(group: &ResolvedGroup<'_>) -> TokenStream {
    let module = ident(&group.spec.group);
    let tests = group.endpoints.iter().flat_map(|endpoint| {
        endpoint
            .endpoint
            .examples
            .iter()
            .enumerate()
            .map(move |(index, example)| example_test(endpoint, index, example))
    });
    // A group of types only has no example to run against the mock.
    let support = (!group.endpoints.is_empty())
        .then(|| quote! { use crate::support::{Credential, MockWeCom}; });
    quote! {
        #![allow(deprecated)]
        #support
        #[allow(unused_imports)]
        use wecom_api::#module::*;

        #(#tests)*
    }
}

fn example_test(resolved: &ResolvedEndpoint<'_>, index: usize, example: &Example) -> TokenStream {
    let endpoint = resolved.endpoint;
    let test_name = ident(&format!("{}_example_{index}", resolved.snake_id));
    let namespace = ident(resolved.namespace);
    let method = ident(resolved.method_name);
    let http_method = match resolved.http_method {
        HttpMethod::GET => "GET",
        HttpMethod::POST => "POST",
    };
    let path = &endpoint.path;
    let inputs = &resolved.inputs;
    let query_pairs = example.query.iter().map(|(name, value)| {
        let text = match value {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        quote!((#name, #text))
    });
    let request_json = example
        .request
        .as_ref()
        .map(|r| serde_json::to_string_pretty(r).unwrap_or_default());
    let expected_body = match &request_json {
        Some(json) => {
            let json = raw_str(json);
            quote!(Some(#json))
        }
        None => quote!(None),
    };
    let response_json =
        raw_str(&serde_json::to_string_pretty(&example.response).unwrap_or_default());

    let mut setup = TokenStream::new();
    let mut args = Vec::new();
    let mut setters = Vec::new();
    for field in &inputs.required_query {
        args.push(query_literal(field, example.query.get(field.wire)));
    }
    for field in &inputs.optional_query {
        if let Some(value) = example.query.get(field.wire) {
            let name = ident(&field.rust_name);
            let value = query_literal(field, Some(value));
            setters.push(quote!(.#name(#value)));
        }
    }
    let builder = ident(&resolved.builder);
    let mut optional_body = TokenStream::new();
    if let (Some(body), Some(json)) = (&inputs.body, &request_json) {
        let body_type = ident(body.type_name);
        let json = raw_str(json);
        setup.extend(quote! {
            let body: #body_type = serde_json::from_str(#json).expect("the documented request decodes");
            crate::support::assert_typed(&body);
        });
        if body.as_struct {
            args.push(quote!(body));
        } else {
            for field in &body.required {
                let name = ident(&field.rust_name);
                args.push(quote!(body.#name));
            }
        }
        // A request struct passed whole already carries its optional fields.
        let optional: &[ResolvedField<'_>] = if body.as_struct { &[] } else { &body.optional };
        for field in optional {
            let name = ident(&field.rust_name);
            optional_body.extend(quote! {
                if let Some(value) = body.#name {
                    call = call.#name(value);
                }
            });
        }
    }
    let mut upload_check = TokenStream::new();
    if let Some(part) = inputs.multipart {
        let (file_name, size) = super::example_upload(inputs.upload_limits, &example.query);
        let content = if size == super::EXAMPLE_UPLOAD.len() as u64 {
            let bytes = proc_macro2::Literal::byte_string(super::EXAMPLE_UPLOAD);
            quote!(#bytes.to_vec())
        } else {
            let size = proc_macro2::Literal::u64_unsuffixed(size);
            quote!(vec![b'x'; #size])
        };
        setup.extend(quote! {
            let content: Vec<u8> = #content;
        });
        args.push(quote!(wecom_api::media::UploadFile::from_bytes(#file_name, content.clone())));
        upload_check = quote!(mock.assert_upload(#part, #file_name, &content););
    }
    let call = quote! {
        #[allow(unused_mut)]
        let mut call: calls::#builder = client.#namespace().#method(#(#args),*) #(#setters)*;
        #optional_body
    };
    let id = resolved.id;
    let variant = ident(resolved.credential.rust_variant());
    let credential = quote!(Credential::#variant);
    let start = match resolved.credential {
        Credential::AccessToken => quote!(MockWeCom::start()),
        Credential::CorpSecret | Credential::None => quote!(MockWeCom::bare()),
        // The server issues that kind's token (or none, for a webhook key) and its
        // client holds that credential.
        _ => quote!(MockWeCom::holding(#credential)),
    };
    let body = match resolved.response {
        Some(_) => quote! {
            let mock = server
                .expect_call(#credential, #http_method, #path, &[#(#query_pairs),*], #expected_body, #response_json)
                .await;
            let client = server.client();
            #setup
            #call
            let response = call.await.expect(concat!(#id, " succeeds on its documented response"));
            mock.assert_async().await;
            #upload_check
            crate::support::assert_decoded(#response_json, &response);
        },
        None => quote! {
            let mock = server
                .expect_download(#credential, #http_method, #path, &[#(#query_pairs),*], b"example file")
                .await;
            let client = server.client();
            #setup
            #call
            let file = call.await.expect(concat!(#id, " returns the file"));
            mock.assert_async().await;
            assert_eq!(file.bytes.as_ref(), b"example file");
        },
    };
    quote! {
        #[tokio::test]
        async fn #test_name() {
            let server = #start.await;
            #body
        }
    }
}

/// A raw string literal, so JSON reads as JSON in the generated tests.
fn raw_str(text: &str) -> TokenStream {
    let mut hashes = String::from("#");
    while text.contains(&format!("\"{hashes}")) {
        hashes.push('#');
    }
    format!("r{hashes}\"{text}\"{hashes}")
        .parse()
        .unwrap_or_else(|_| quote!(#text))
}

/// A Rust expression for a query parameter of the example.
fn query_literal(field: &ResolvedField<'_>, value: Option<&Value>) -> TokenStream {
    let text = match value {
        Some(Value::String(s)) => s.clone(),
        Some(other) => other.to_string(),
        None => String::new(),
    };
    match &field.type_ref {
        TypeRef::String => quote!(#text),
        TypeRef::Integer => {
            let n = proc_macro2::Literal::i64_unsuffixed(text.trim().parse().unwrap_or_default());
            quote!(#n)
        }
        TypeRef::Number => {
            let n: f64 = text.trim().parse().unwrap_or_default();
            quote!(#n)
        }
        TypeRef::Boolean | TypeRef::Flag => {
            let b = matches!(text.trim(), "1" | "true");
            quote!(#b)
        }
        TypeRef::Named(name) => {
            let ty = ident(name);
            if field.string_enum {
                quote!(#ty::from(#text))
            } else {
                let n =
                    proc_macro2::Literal::i64_unsuffixed(text.trim().parse().unwrap_or_default());
                quote!(#ty::from(#n))
            }
        }
        _ => quote!(Default::default()),
    }
}
