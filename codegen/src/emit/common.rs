//! The `common` module: the types of `spec/common.yaml`, printed once. Each type is compiled
//! when any group using it is: types with the same users share a private submodule under
//! that `cfg`, re-exported whole, so a build with one group compiles only its share.

use std::collections::{BTreeMap, BTreeSet};

use proc_macro2::TokenStream;
use quote::quote;

use super::names::ident;
use crate::load::Group;
use crate::resolve::{Imports, ResolvedGroup};

/// The module's items, from the common group and, per type, the groups using it.
pub fn module(
    common: &Group,
    users: &BTreeMap<&str, BTreeSet<&str>>,
    ungated: &BTreeSet<&str>,
    request_side: &BTreeSet<String>,
) -> TokenStream {
    // Types with the same users go together: one submodule, one `cfg`.
    let mut parts: BTreeMap<Vec<&str>, BTreeSet<String>> = BTreeMap::new();
    for name in common.spec.types.keys() {
        let groups: Vec<&str> = users
            .get(name.as_str())
            .map(|g| g.iter().copied().collect())
            .unwrap_or_default();
        parts.entry(groups).or_default().insert(name.clone());
    }
    let spec = &common.spec;
    let mut doc = format!("{}\n", spec.title);
    if !spec.description.trim().is_empty() {
        doc.push('\n');
        doc.push_str(spec.description.trim());
        doc.push('\n');
    }
    doc.push_str(
        "\nEach type is compiled when a group using it is enabled, and re-exported by that \
         group's module.\n",
    );
    let inner_docs = doc.lines().map(|line| {
        let line = format!(" {line}");
        quote!(#![doc = #line])
    });
    let mut out = quote!(#(#inner_docs)*);
    for (index, (groups, names)) in parts.iter().enumerate() {
        let elsewhere: BTreeSet<String> = spec
            .types
            .keys()
            .filter(|name| !names.contains(*name))
            .cloned()
            .collect();
        let imports = Imports {
            imported: Some(&elsewhere),
            request_side: Some(request_side),
        };
        let resolved = ResolvedGroup::with_imports(spec, &imports);
        let types = super::rust_types::types(&resolved);
        let conveniences = super::conveniences::conveniences(&resolved);
        let part = ident(&format!("used_by_{}", part_name(groups, index)));
        let cfg = users_cfg(groups.iter().copied(), ungated);
        out.extend(quote! {
            #cfg
            mod #part {
                #[allow(unused_imports)]
                use super::*;
                #types
                #conveniences
            }
            #cfg
            pub use #part::*;
        });
    }
    out
}

/// `#[cfg(any(feature = ...))]` of a set of groups (or `feature = ...` for one); nothing when one is always compiled.
pub fn users_cfg<'a>(
    groups: impl IntoIterator<Item = &'a str>,
    ungated: &BTreeSet<&str>,
) -> TokenStream {
    let groups: Vec<&str> = groups.into_iter().collect();
    if groups.is_empty() || groups.iter().any(|g| ungated.contains(g)) {
        return TokenStream::new();
    }
    // One group needs no `any(...)` (clippy's non_minimal_cfg).
    let condition = match groups.as_slice() {
        [only] => quote! { feature = #only },
        _ => quote! { any(#(feature = #groups),*) },
    };
    quote! {
        #[cfg(#condition)]
        #[cfg_attr(docsrs, doc(cfg(#condition)))]
    }
}

/// A readable submodule name: the groups when few, else their count and an index.
fn part_name(groups: &[&str], index: usize) -> String {
    if groups.len() <= 3 {
        groups.join("_")
    } else {
        format!("{}_groups_{index}", groups.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_group_is_gated_without_any() {
        let ungated = BTreeSet::new();
        let one = users_cfg(["robot"], &ungated).to_string();
        assert!(one.contains("cfg (feature = \"robot\")"), "{one}");
        assert!(!one.contains("any"), "{one}");
        let two = users_cfg(["message", "robot"], &ungated).to_string();
        assert!(
            two.contains("any (feature = \"message\" , feature = \"robot\")"),
            "{two}"
        );
        assert!(users_cfg(["robot"], &BTreeSet::from(["robot"])).is_empty());
    }
}
