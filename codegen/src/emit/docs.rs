//! Rustdoc text for generated items.

use proc_macro2::TokenStream;
use quote::quote;
use serde_json::Value;

use crate::model::{Credential, HttpMethod, SpecFile, UploadLimit};
use crate::resolve::{ResolvedEndpoint, ResolvedGroup};
use crate::typeref::TypeRef;

/// `#[doc = "..."]` attributes, one per line of `text`; nothing for empty text.
pub fn doc_attrs(text: &str) -> TokenStream {
    let text = text.trim();
    if text.is_empty() {
        return TokenStream::new();
    }
    let lines = text.lines().map(|line| {
        let line = text_literal(&format!(" {}", line.trim_end()));
        quote!(#[doc = #line])
    });
    quote!(#(#lines)*)
}

/// A string literal for `text`. Docs are most of what the generator prints, and
/// `Literal::string` escapes every character through `char::escape_debug` (a Unicode table
/// lookup per Chinese character); text with nothing to escape is quoted as it is.
fn text_literal(text: &str) -> proc_macro2::Literal {
    let plain = !text.contains(['"', '\\']) && !text.chars().any(char::is_control);
    if plain {
        if let Ok(literal) = format!("\"{text}\"").parse() {
            return literal;
        }
    }
    proc_macro2::Literal::string(text)
}

/// Which client can make the call: the credential it sends.
fn credential_doc(credential: Credential) -> &'static str {
    match credential {
        Credential::AccessToken => {
            "Credential: a corp's `access_token` (a client built with `.corp_id(..).secret(..)`, \
             or made by `authorized_corp` or `downstream_corp`).\n\n"
        }
        Credential::CorpSecret => "Credential: the corp id and secret themselves.\n\n",
        Credential::SuiteAccessToken => {
            "Credential: the `suite_access_token` of a suite client \
             (`Client::builder().suite(..)`).\n\n"
        }
        Credential::ProviderAccessToken | Credential::ProviderAccessTokenAsAccessToken => {
            "Credential: the `provider_access_token` of a provider client \
             (`Client::builder().provider(..)`).\n\n"
        }
        Credential::ModelAccessToken => {
            "Credential: the `model_access_token` of a hardware model client \
             (`Client::builder().hardware_model(..)`).\n\n"
        }
        Credential::DeviceAccessToken => {
            "Credential: the `device_access_token` of a device client (a model client's \
             `device(..)`).\n\n"
        }
        Credential::WebhookKey => {
            "Credential: a group robot's webhook key (`Client::builder().webhook_key(..)`); \
             no token.\n\n"
        }
        Credential::None => "Credential: none; any client can make the call.\n\n",
    }
}

/// The documentation of an endpoint's method: title, description, method and path, the
/// official page, a call example and the documented response.
pub fn endpoint_doc(group: &ResolvedGroup<'_>, resolved: &ResolvedEndpoint<'_>) -> String {
    let spec = group.spec;
    let endpoint = resolved.endpoint;
    let method = match resolved.http_method {
        HttpMethod::GET => "GET",
        HttpMethod::POST => "POST",
    };
    let mut doc = format!("{}\n\n", endpoint.title);
    if let Some(note) = &endpoint.deprecated {
        doc.push_str(&format!("**Deprecated:** {note}\n\n"));
    }
    if !endpoint.description.trim().is_empty() {
        doc.push_str(endpoint.description.trim());
        doc.push_str("\n\n");
    }
    doc.push_str(&format!(
        "`{method} {}` ([official documentation]({}))\n\n",
        endpoint.path, endpoint.doc
    ));
    doc.push_str(&format!(
        "Endpoint id `{}`; {}.\n\n",
        resolved.id,
        if resolved.retry_safe {
            "safe to retry, so busy answers and transport failures are retried"
        } else {
            "not safe to repeat, so it is sent at most once"
        }
    ));
    doc.push_str(credential_doc(resolved.credential));
    let limits = upload_limits_doc(resolved.inputs.upload_limits);
    if !limits.is_empty() {
        doc.push_str(&limits);
    }
    doc.push_str("# Example\n\n```no_run\n");
    let call = call_example(group, resolved);
    let group = &spec.group;
    // Typed values name the group's types; one import keeps the example readable.
    if call.contains(super::example_values::TYPE_MARK) {
        doc.push_str(&format!("use wecom_api::{group}::*;\n\n"));
    }
    doc.push_str(
        "# async fn example(client: wecom_api::Client) -> Result<(), Box<dyn std::error::Error>> {\n",
    );
    doc.push_str(&call.replace(super::example_values::TYPE_MARK, ""));
    doc.push_str("# Ok(())\n# }\n```\n");
    if let (Some(_), Some(example)) = (resolved.response, endpoint.examples.first()) {
        let pretty = serde_json::to_string_pretty(&example.response).unwrap_or_default();
        doc.push_str(&format!(
            "\nDocumented response:\n\n```json\n{pretty}\n```\n"
        ));
    }
    doc
}

/// The upload limits, checked before sending, as a list; empty without limits.
fn upload_limits_doc(limits: &[UploadLimit]) -> String {
    if limits.is_empty() {
        return String::new();
    }
    let mut doc = String::from(
        "# Upload limits\n\nChecked before sending: a file outside them is refused with \
         [`Error::InvalidArgument`](crate::Error::InvalidArgument) and never reaches WeCom.\n\n",
    );
    for limit in limits {
        let scope = match (&limit.param, &limit.value) {
            (Some(param), Some(value)) => format!("`{param}={value}`"),
            _ => "every upload".to_string(),
        };
        let types = if limit.extensions.is_empty() {
            "any file type".to_string()
        } else {
            limit
                .extensions
                .iter()
                .map(|e| format!("`.{e}`"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let size = if limit.min_bytes == 0 {
            format!("at most {}", human_size(limit.max_bytes))
        } else {
            format!(
                "{} to {}",
                human_size(limit.min_bytes),
                human_size(limit.max_bytes)
            )
        };
        doc.push_str(&format!("- {scope}: {size}, {types}"));
        if !limit.doc.trim().is_empty() {
            doc.push_str(&format!(" ({})", limit.doc.trim()));
        }
        doc.push('\n');
    }
    doc.push('\n');
    doc
}

/// `10 MB (10485760 bytes)` for whole megabytes, else plain bytes.
fn human_size(bytes: u64) -> String {
    const MB: u64 = 1024 * 1024;
    if bytes > 0 && bytes % MB == 0 {
        format!("{} MB ({bytes} bytes)", bytes / MB)
    } else {
        format!("{bytes} bytes")
    }
}

/// A call with the required inputs of the first example, as Rust source.
fn call_example(group: &ResolvedGroup<'_>, resolved: &ResolvedEndpoint<'_>) -> String {
    let spec = group.spec;
    let endpoint = resolved.endpoint;
    let (namespace, method) = (resolved.namespace, resolved.method_name);
    let inputs = &resolved.inputs;
    let example = endpoint.examples.first();
    let printer = super::example_values::Printer::new(group);
    let literal =
        |type_ref: &TypeRef, value: Option<&Value>| literal(&printer, spec, type_ref, value);
    let mut args = Vec::new();
    let mut setup = String::new();
    for param in &inputs.required_query {
        let value = example.and_then(|e| e.query.get(param.wire));
        args.push(literal(&param.type_ref, value));
    }
    if let Some(body) = &inputs.body {
        let request = example.and_then(|e| e.request.as_ref());
        if body.as_struct {
            let typed = request
                .and_then(|r| printer.exact(&TypeRef::Named(body.type_name.to_string()), r, 0));
            match typed {
                Some(expr) => setup.push_str(&format!("let request = {expr};\n")),
                None => {
                    let json = request.map(Value::to_string).unwrap_or_else(|| "{}".into());
                    setup.push_str(&format!(
                        "let request: wecom_api::{}::{} = serde_json::from_str(r##\"{json}\"##)?;\n",
                        spec.group, body.type_name
                    ));
                }
            }
            args.push("request".to_string());
        } else {
            for field in &body.required {
                // A union is flattened: its tag and content sit in the request itself.
                let value = if field.union_tag.is_some() {
                    request
                } else {
                    request.and_then(|r| r.get(field.wire))
                };
                args.push(literal(&field.type_ref, value));
            }
        }
    }
    if inputs.multipart.is_some() {
        let query = example.map(|e| e.query.clone()).unwrap_or_default();
        let (file_name, _) = crate::emit::example_upload(inputs.upload_limits, &query);
        setup.push_str(&format!(
            "let file = wecom_api::media::UploadFile::from_path(\"path/to/{file_name}\").await?;\n",
        ));
        args.push("file".to_string());
    }
    let mut call = format!("client.{namespace}().{method}({})", args.join(", "));
    if let (Some(body), Some(request)) = (&inputs.body, example.and_then(|e| e.request.as_ref())) {
        if !body.as_struct {
            for field in body.optional.iter().take(2) {
                if let Some(value) = request
                    .get(field.wire)
                    .filter(|_| field.client_default.is_none())
                {
                    let value = literal(&field.type_ref, Some(value));
                    if !value.starts_with("serde_json") {
                        call.push_str(&format!("\n    .{}({value})", field.rust_name));
                    }
                }
            }
        }
    }
    let binding = match resolved.response {
        Some(_) => "let response",
        None => "let file",
    };
    format!("{setup}{binding} = {call}\n    .await?;\n")
}

/// A Rust expression for an example value that the generated argument type accepts.
fn literal(
    printer: &super::example_values::Printer<'_, '_>,
    spec: &SpecFile,
    type_ref: &TypeRef,
    value: Option<&Value>,
) -> String {
    let Some(value) = value else {
        return default_literal(type_ref);
    };
    match (type_ref, value) {
        (TypeRef::String, Value::String(s)) => format!("{s:?}"),
        (TypeRef::String, other) => format!("{:?}", other.to_string()),
        (TypeRef::Integer, _) => {
            super::example_values::integer(value).map_or_else(|| "0".into(), |n| n.to_string())
        }
        (TypeRef::Number, Value::Number(n)) => format!("{:?}", n.as_f64().unwrap_or_default()),
        (TypeRef::Boolean | TypeRef::Flag, _) => (value.as_bool().unwrap_or(false)
            || super::example_values::integer(value) == Some(1))
        .to_string(),
        // An empty array literal cannot tell the setter's item type.
        (TypeRef::Array(inner), Value::Array(items))
            if items.is_empty() && matches!(**inner, TypeRef::String | TypeRef::Integer) =>
        {
            format!("Vec::<{}>::new()", rust_path(spec, inner))
        }
        (TypeRef::Array(inner), Value::Array(items))
            if matches!(**inner, TypeRef::String | TypeRef::Integer) =>
        {
            let items: Vec<String> = items
                .iter()
                .map(|item| literal(printer, spec, inner, Some(item)))
                .collect();
            format!("[{}]", items.join(", "))
        }
        _ => match printer.exact(type_ref, value, 0) {
            Some(expr) => expr,
            None => format!(
                "serde_json::from_str::<{}>(r##\"{value}\"##)?",
                rust_path(spec, type_ref)
            ),
        },
    }
}

/// The full path of a type as user code names it.
fn rust_path(spec: &SpecFile, type_ref: &TypeRef) -> String {
    match type_ref {
        TypeRef::String => "String".into(),
        TypeRef::Integer => "i64".into(),
        TypeRef::Number => "f64".into(),
        TypeRef::Boolean | TypeRef::Flag => "bool".into(),
        TypeRef::Json => "serde_json::Value".into(),
        TypeRef::Array(inner) => format!("Vec<{}>", rust_path(spec, inner)),
        TypeRef::Map(inner) => format!(
            "std::collections::BTreeMap<String, {}>",
            rust_path(spec, inner)
        ),
        TypeRef::Named(name) => format!("wecom_api::{}::{name}", spec.group),
    }
}

fn default_literal(type_ref: &TypeRef) -> String {
    match type_ref {
        TypeRef::String => "\"\"".into(),
        TypeRef::Integer => "0".into(),
        TypeRef::Number => "0.0".into(),
        TypeRef::Boolean | TypeRef::Flag => "false".into(),
        _ => "Default::default()".into(),
    }
}
