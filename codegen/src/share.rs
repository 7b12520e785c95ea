//! Types shared by groups: `spec/common.yaml` defines them once; each group that names one
//! gets a copy of it (and of what it refers to) in its own type map, so every lookup of the
//! validator and the resolver finds it, while the emitters print it once, in the `common`
//! module, and the group re-exports it.

use std::collections::{BTreeMap, BTreeSet};

use crate::load::{Diagnostic, Group};
use crate::model::{RequestBody, ResponseBody, SpecFile, TypeDef};
use crate::typeref::TypeRef;

/// The name of the shared-types file inside the spec directory; its group is `common`.
pub const COMMON_FILE: &str = "common.yaml";

/// The group name of the shared-types file, and the Rust module its types live in.
pub const COMMON_GROUP: &str = "common";

/// Copies into each group the common types it uses, at any depth, and records them in
/// `Group::shared`. A type defined in the common file and again in a group is an error
/// naming both places; a common type no group uses is an error too.
pub fn share(common: &Group, groups: &mut [Group]) -> Vec<Diagnostic> {
    let mut problems = Vec::new();
    let mut used = BTreeSet::new();
    for group in groups.iter_mut() {
        for name in group.spec.types.keys() {
            if common.spec.types.contains_key(name) {
                problems.push(Diagnostic {
                    file: group.file.clone(),
                    place: format!("types.{name}"),
                    message: format!(
                        "`{name}` is also defined in {} (types.{name}): a shared type is \
                         defined once, there; remove this one",
                        common.file
                    ),
                });
            }
        }
        let shared = reachable_common(&group.spec, &common.spec);
        for name in &shared {
            if let Some(def) = common.spec.types.get(name) {
                group
                    .spec
                    .types
                    .entry(name.clone())
                    .or_insert_with(|| def.clone());
            }
        }
        used.extend(shared.iter().cloned());
        group.shared = shared;
    }
    for name in common.spec.types.keys() {
        if !used.contains(name) {
            problems.push(Diagnostic {
                file: common.file.clone(),
                place: format!("types.{name}"),
                message: "type is not used by any group".to_string(),
            });
        }
    }
    problems
}

/// Which groups use each common type, by group name: the type is compiled when any of them is.
pub fn users(groups: &[Group]) -> BTreeMap<&str, BTreeSet<&str>> {
    let mut users: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for group in groups {
        for name in &group.shared {
            users
                .entry(name.as_str())
                .or_default()
                .insert(group.spec.group.as_str());
        }
    }
    users
}

/// The common types a group names that it does not define itself, and what those refer to.
fn reachable_common(group: &SpecFile, common: &SpecFile) -> BTreeSet<String> {
    let mut pending: Vec<String> = Vec::new();
    for endpoint in &group.endpoints {
        if let Some(RequestBody::Json { type_name }) = &endpoint.request {
            pending.push(type_name.clone());
        }
        if let ResponseBody::Json { type_name } = &endpoint.response {
            pending.push(type_name.clone());
        }
        pending.extend(endpoint.query.iter().filter_map(|f| named(&f.type_ref)));
    }
    for def in group.types.values() {
        pending.extend(referenced(def));
    }
    let mut shared = BTreeSet::new();
    while let Some(name) = pending.pop() {
        if group.types.contains_key(&name) || shared.contains(&name) {
            continue;
        }
        if let Some(def) = common.types.get(&name) {
            pending.extend(referenced(def));
            shared.insert(name);
        }
    }
    shared
}

/// The named types a type definition refers to.
fn referenced(def: &TypeDef) -> Vec<String> {
    match def {
        TypeDef::Object { fields, .. } => {
            fields.iter().filter_map(|f| named(&f.type_ref)).collect()
        }
        TypeDef::Union { variants, .. } => variants
            .iter()
            .filter_map(|v| v.type_name.clone())
            .collect(),
        TypeDef::IntEnum { .. } | TypeDef::StringEnum { .. } => Vec::new(),
    }
}

fn named(type_ref: &str) -> Option<String> {
    TypeRef::parse(type_ref).ok()?.named().map(str::to_string)
}
