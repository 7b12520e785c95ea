//! Emitters: the loaded spec in, file contents out. No I/O here; xtask writes the files.

mod callbacks;
mod common;
mod conveniences;
mod docs;
mod example_values;
mod names;
mod rust_ops;
mod rust_types;
mod standin;
mod tests;

use std::collections::BTreeSet;

use proc_macro2::TokenStream;
use quote::quote;

use crate::load::Spec;
use crate::model::HttpMethod;
use crate::resolve::{Imports, ResolvedGroup, request_types};
use crate::share::COMMON_GROUP;

pub use names::ident;

/// One emitted file, at a path relative to the workspace root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GeneratedFile {
    pub path: String,
    pub contents: String,
}

/// Directories whose every file is emitted: a file there that `generate` does not produce is
/// orphaned and `--check` reports it.
pub const GENERATED_DIRS: &[&str] = &[
    "wecom-api/src/generated",
    "tests/tests/generated",
    "wecom-standin/src/generated",
];

/// Every generated file of the workspace.
pub fn generate(spec: &Spec) -> Result<Vec<GeneratedFile>, String> {
    let mut files = Vec::new();
    let mut modules = TokenStream::new();
    let mut test_modules = TokenStream::new();
    // Emitting and formatting is most of the generator's time: each group's module and
    // tests are jobs spread over the machine's cores, the biggest first (tokens are not
    // `Send`, so each job renders its own to text).
    // A shared type is one Rust type: request-side everywhere if it is anywhere.
    let mut shared_request: BTreeSet<String> = BTreeSet::new();
    for group in &spec.groups {
        let request_side = request_types(&group.spec);
        shared_request.extend(
            group
                .shared
                .iter()
                .filter(|name| request_side.contains(name.as_str()))
                .cloned(),
        );
    }
    // Each group is resolved once; its module and its tests print the same model.
    let resolved: Vec<ResolvedGroup<'_>> = spec
        .groups
        .iter()
        .map(|g| {
            let imports = Imports {
                imported: Some(&g.shared),
                request_side: Some(&shared_request),
            };
            ResolvedGroup::with_imports(&g.spec, &imports)
        })
        .collect();
    let common_resolved = spec.common.as_ref().map(|common| {
        let imports = Imports {
            imported: None,
            request_side: Some(&shared_request),
        };
        ResolvedGroup::with_imports(&common.spec, &imports)
    });
    let users = crate::share::users(&spec.groups);
    let ungated: BTreeSet<&str> = spec
        .groups
        .iter()
        .filter(|g| !g.spec.feature)
        .map(|g| g.spec.group.as_str())
        .collect();
    let mut jobs: Vec<(usize, Job<'_>)> = Vec::new();
    for (group, resolved) in spec.groups.iter().zip(&resolved) {
        let weight = group.spec.endpoints.len() + group.spec.types.len();
        jobs.push((
            weight,
            Box::new(move || render(group_module(resolved), &group.file)),
        ));
        jobs.push((
            weight,
            Box::new(move || render(tests::group_tests(resolved), &group.file)),
        ));
    }
    let callbacks_source = crate::load::CALLBACKS_FILE;
    if let Some(callbacks) = &spec.callbacks {
        let weight = callbacks.events.len() + callbacks.messages.len();
        jobs.push((
            weight,
            Box::new(move || render(callbacks::module(callbacks), callbacks_source)),
        ));
        jobs.push((
            weight,
            Box::new(move || render(callbacks::tests(callbacks), callbacks_source)),
        ));
    }
    if let Some(common) = &spec.common {
        let (users, ungated, shared_request) = (&users, &ungated, &shared_request);
        jobs.push((
            common.spec.types.len(),
            Box::new(move || {
                render(
                    common::module(common, users, ungated, shared_request),
                    &common.file,
                )
            }),
        ));
    }
    jobs.push((
        spec.groups.len(),
        Box::new(|| {
            Ok(crate::openapi::openapi_json(
                &resolved,
                common_resolved.as_ref(),
            ))
        }),
    ));
    // Results come back in the order the jobs were pushed.
    let mut texts = run_jobs(jobs).into_iter();
    let mut next_text = || {
        texts
            .next()
            .unwrap_or_else(|| Err("a job was lost".to_owned()))
    };
    for group in &spec.groups {
        let module_text = next_text()?;
        let tests_text = next_text()?;
        let name = &group.spec.group;
        let module = ident(name);
        let cfg = feature_cfg(group.spec.feature, name);
        // prettyplease formats generated files; rustfmt must leave them as emitted.
        // The runtime's own unit tests never use the API groups (the tests crate covers
        // them): leaving them out of `cfg(test)` spares `cargo test` a second build of them.
        modules.extend(quote! {
            #cfg
            #[cfg(not(test))]
            #[rustfmt::skip]
            pub mod #module;
        });
        // The tests crate enables every group, so its modules are not gated.
        test_modules.extend(quote! {
            #[rustfmt::skip]
            mod #module;
        });
        files.push(GeneratedFile {
            path: format!("wecom-api/src/generated/{name}.rs"),
            contents: module_text,
        });
        files.push(GeneratedFile {
            path: format!("tests/tests/generated/{name}.rs"),
            contents: tests_text,
        });
    }
    if spec.callbacks.is_some() {
        let cfg = feature_cfg(true, CALLBACKS_FEATURE);
        modules.extend(quote! {
            #cfg
            #[rustfmt::skip]
            pub(crate) mod callbacks;
        });
        test_modules.extend(quote! {
            #[rustfmt::skip]
            mod callbacks;
        });
        files.push(GeneratedFile {
            path: "wecom-api/src/generated/callbacks.rs".into(),
            contents: next_text()?,
        });
        files.push(GeneratedFile {
            path: "tests/tests/generated/callbacks.rs".into(),
            contents: next_text()?,
        });
        files.push(GeneratedFile {
            path: "spec/callbacks.schema.json".into(),
            contents: crate::schema::callbacks_schema_json(),
        });
    }
    if spec.common.is_some() {
        let all_users: BTreeSet<&str> = users.values().flatten().copied().collect();
        let cfg = common::users_cfg(all_users, &ungated);
        let module = ident(COMMON_GROUP);
        modules.extend(quote! {
            #cfg
            #[cfg(not(test))]
            #[rustfmt::skip]
            pub mod #module;
        });
        files.push(GeneratedFile {
            path: format!("wecom-api/src/generated/{COMMON_GROUP}.rs"),
            contents: next_text()?,
        });
    }
    let lints = quote! {
        #![allow(clippy::too_many_arguments, clippy::large_enum_variant, clippy::vec_init_then_push)]
    };
    // Raw `get_json` calls consult this: every GET the spec says must not be resent, in every
    // group whether its feature is on or not.
    let mut unsafe_gets: Vec<&str> = resolved
        .iter()
        .flat_map(|g| &g.endpoints)
        .filter(|e| e.http_method == HttpMethod::GET && !e.retry_safe)
        .map(|e| e.endpoint.path.as_str())
        .collect();
    unsafe_gets.sort_unstable();
    unsafe_gets.dedup();
    // Raw calls are named by path; the rate limiter's rules name endpoints by id too.
    let mut ids: Vec<(&str, &str)> = resolved
        .iter()
        .flat_map(|g| &g.endpoints)
        .map(|e| (e.endpoint.path.as_str(), e.endpoint.id.as_str()))
        .collect();
    ids.sort_unstable();
    ids.dedup_by(|a, b| a.0 == b.0);
    let (id_paths, id_names): (Vec<&str>, Vec<&str>) = ids.into_iter().unzip();
    modules.extend(quote! {
        /// Paths of the GETs that change state or are one-time (`retry_safe: false` in the
        /// spec), sorted: a raw call to one is not resent.
        pub(crate) const UNSAFE_GETS: &[&str] = &[#(#unsafe_gets),*];
        /// Every endpoint's path and spec id, sorted by path: a raw call's id, for the
        /// rules that name endpoints by id.
        #[rustfmt::skip]
        pub(crate) const ENDPOINT_IDS: &[(&str, &str)] = &[#((#id_paths, #id_names)),*];
    });
    files.push(GeneratedFile {
        path: "wecom-api/src/generated/mod.rs".into(),
        contents: render(
            quote! {
                //! Modules generated from `spec/`, one per API group.
                #lints
                #modules
                #[rustfmt::skip]
                pub(crate) mod errcodes;
            },
            "*.yaml",
        )?,
    });
    files.push(GeneratedFile {
        path: "wecom-api/src/generated/errcodes.rs".into(),
        contents: render(errcodes(spec), crate::load::ERRCODES_FILE)?,
    });
    files.push(GeneratedFile {
        path: "tests/tests/generated/mod.rs".into(),
        contents: render(
            quote! {
                //! One test per documented example, generated from `spec/`.
                #test_modules
            },
            "*.yaml",
        )?,
    });
    files.push(GeneratedFile {
        path: "spec/schema.json".into(),
        contents: crate::schema::schema_json(),
    });
    files.push(GeneratedFile {
        path: "spec/openapi.json".into(),
        contents: next_text()?,
    });
    files.push(GeneratedFile {
        path: standin::STANDIN_TABLE.into(),
        contents: standin::standin_table(&resolved),
    });
    if let Some(callbacks) = &spec.callbacks {
        files.push(GeneratedFile {
            path: standin::STANDIN_CALLBACKS.into(),
            contents: standin::standin_callbacks(callbacks),
        });
    }
    Ok(files)
}

/// One file's emission, to run on any thread.
type Job<'a> = crate::jobs::Job<'a, Result<String, String>>;

fn run_jobs(jobs: Vec<(usize, Job<'_>)>) -> Vec<Result<String, String>> {
    crate::jobs::run(jobs)
        .into_iter()
        .map(|out| {
            out.unwrap_or_else(|| Err("the generator panicked while emitting a file".to_owned()))
        })
        .collect()
}

fn feature_cfg(feature: bool, name: &str) -> TokenStream {
    if feature {
        quote! {
            #[cfg(feature = #name)]
            #[cfg_attr(docsrs, doc(cfg(feature = #name)))]
        }
    } else {
        TokenStream::new()
    }
}

/// The module of one group: its types, then its operations.
pub fn group_module(group: &ResolvedGroup<'_>) -> TokenStream {
    let spec = group.spec;
    let mut doc = format!("{}\n", spec.title);
    if !spec.description.trim().is_empty() {
        doc.push('\n');
        doc.push_str(spec.description.trim());
        doc.push('\n');
    }
    if spec.feature {
        doc.push_str(&format!(
            "\nEnabled by the cargo feature `{}`.\n",
            spec.group
        ));
    }
    let inner_docs = doc.lines().map(|line| {
        let line = format!(" {line}");
        quote!(#![doc = #line])
    });
    let imported: Vec<proc_macro2::Ident> = group
        .types
        .values()
        .filter(|t| t.imported)
        .map(|t| ident(t.name))
        .collect();
    let module = ident(COMMON_GROUP);
    // The shared types keep their old path (`wecom_api::<group>::Type`) too.
    let reexports = if imported.is_empty() {
        TokenStream::new()
    } else {
        quote!(pub use super::#module::{#(#imported),*};)
    };
    let types = rust_types::types(group);
    let conveniences = conveniences::conveniences(group);
    let operations = rust_ops::operations(group);
    quote! {
        #(#inner_docs)*
        #reexports
        #types
        #conveniences
        #operations
    }
}

fn errcodes(spec: &Spec) -> TokenStream {
    let mut codes: Vec<_> = spec.errcodes.errcodes.iter().collect();
    codes.sort_by_key(|e| e.code);
    let codes_list = codes.iter().map(|e| e.code);
    let meanings = codes.iter().map(|e| e.meaning.as_str());
    quote! {
        //! Global error codes, from `spec/errcodes.yaml`.

        const CODES: &[i64] = &[#(#codes_list),*];
        const MEANINGS: &[&str] = &[#(#meanings),*];

        /// The documented meaning of a WeCom errcode.
        pub(crate) fn describe(code: i64) -> Option<&'static str> {
            CODES.binary_search(&code).ok().and_then(|index| MEANINGS.get(index).copied())
        }
    }
}

/// Formats tokens with prettyplease under the do-not-edit header.
fn render(tokens: TokenStream, source: &str) -> Result<String, String> {
    // By value: parsing a shared token stream would copy every token first.
    let file: syn::File = syn::parse2(tokens)
        .map_err(|e| format!("emitted code for {source} does not parse: {e}"))?;
    Ok(format!(
        "// @generated by `cargo xtask codegen` from spec/{source}. Do not edit by hand.\n\n{}",
        prettyplease::unparse(&file)
    ))
}

/// A file name and size that every upload limit applying to `query` accepts: what the
/// generated test and the rustdoc example upload.
pub fn example_upload(
    limits: &[crate::model::UploadLimit],
    query: &std::collections::BTreeMap<String, serde_json::Value>,
) -> (String, u64) {
    let applies = |limit: &&crate::model::UploadLimit| match (&limit.param, &limit.value) {
        (Some(param), Some(value)) => query.get(param).is_some_and(|v| match v {
            serde_json::Value::String(s) => s == value,
            other => &other.to_string() == value,
        }),
        _ => true,
    };
    let applying: Vec<_> = limits.iter().filter(applies).collect();
    let restricted: Vec<&Vec<String>> = applying
        .iter()
        .map(|l| &l.extensions)
        .filter(|e| !e.is_empty())
        .collect();
    let extension = match restricted.first() {
        // No extension every limit accepts is a spec contradiction; take the first.
        Some(first) => first
            .iter()
            .find(|ext| restricted.iter().all(|list| list.contains(ext)))
            .or(first.first())
            .cloned()
            .unwrap_or_default(),
        None => "txt".to_string(),
    };
    let size = applying
        .iter()
        .map(|l| l.min_bytes)
        .chain([EXAMPLE_UPLOAD.len() as u64])
        .max()
        .unwrap_or_default();
    (format!("example.{extension}"), size)
}

/// Content of the example upload when no limit asks for more bytes.
pub const EXAMPLE_UPLOAD: &[u8] = b"example";

/// The `[features]` lines of wecom-api/Cargo.toml between the generated markers.
pub fn features_block(spec: &Spec) -> String {
    let mut featured: Vec<&str> = spec
        .groups
        .iter()
        .filter(|g| g.spec.feature)
        .map(|g| g.spec.group.as_str())
        .collect();
    if spec.callbacks.is_some() {
        featured.insert(0, CALLBACKS_FEATURE);
    }
    let mut block = format!(
        "default = [{}]\n",
        featured
            .iter()
            .map(|name| format!("\"{name}\""))
            .collect::<Vec<_>>()
            .join(", ")
    );
    if spec.callbacks.is_some() {
        block.push_str(&format!(
            "# 回调: typed callback messages, events and passive replies\n{CALLBACKS_FEATURE} = []\n"
        ));
    }
    for group in spec.groups.iter().filter(|g| g.spec.feature) {
        block.push_str(&format!(
            "# {}\n{} = []\n",
            group.spec.title, group.spec.group
        ));
    }
    block
}

/// The cargo feature of the typed callbacks (`spec/callbacks.yaml`).
pub const CALLBACKS_FEATURE: &str = "callbacks";

pub const FEATURES_BEGIN: &str =
    "# BEGIN GENERATED FEATURES: written by `cargo xtask codegen` from spec/*.yaml\n";
pub const FEATURES_END: &str = "# END GENERATED FEATURES\n";

/// Replaces the generated block of a Cargo.toml; an error if the markers are missing.
pub fn splice_features(cargo_toml: &str, block: &str) -> Result<String, String> {
    let start = cargo_toml
        .find(FEATURES_BEGIN)
        .ok_or("wecom-api/Cargo.toml lacks the BEGIN GENERATED FEATURES marker")?
        + FEATURES_BEGIN.len();
    let end = cargo_toml[start..]
        .find(FEATURES_END)
        .ok_or("wecom-api/Cargo.toml lacks the END GENERATED FEATURES marker")?
        + start;
    Ok(format!(
        "{}{block}{}",
        &cargo_toml[..start],
        &cargo_toml[end..]
    ))
}
