//! Reading spec files: YAML into the model, then validation. A bad spec never reaches the
//! emitters: every problem is collected and reported with its file and place.

use std::collections::BTreeSet;
use std::fmt;
use std::path::Path;

use crate::model::{CallbackFile, ErrcodeFile, SpecFile};
use crate::share::COMMON_FILE;
use crate::validate;

/// A loaded, validated spec: every group plus the errcode catalog.
#[derive(Debug, Clone)]
pub struct Spec {
    pub groups: Vec<Group>,
    /// `common.yaml`, if present: named types shared by groups (see `crate::share`).
    pub common: Option<Group>,
    pub errcodes: ErrcodeFile,
    /// `callbacks.yaml`, if present.
    pub callbacks: Option<CallbackFile>,
}

/// One spec file.
#[derive(Debug, Clone)]
pub struct Group {
    /// File name relative to the spec directory (`contacts.yaml`).
    pub file: String,
    pub spec: SpecFile,
    /// Types of `common.yaml` the group uses, at any depth: copied into `spec.types` so that
    /// every lookup finds them, printed once in the common module and re-exported here.
    pub shared: BTreeSet<String>,
}

/// One problem in a spec file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub file: String,
    /// Where in the file: a line and column, or a path such as `endpoints[user.get].path`.
    pub place: String,
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}: {}", self.file, self.place, self.message)
    }
}

/// Every problem found; never empty.
#[derive(Debug, Clone)]
pub struct SpecErrors(pub Vec<Diagnostic>);

impl fmt::Display for SpecErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "the spec has {} problem(s):", self.0.len())?;
        for diagnostic in &self.0 {
            writeln!(f, "  {diagnostic}")?;
        }
        Ok(())
    }
}

impl std::error::Error for SpecErrors {}

/// The name of the errcode catalog inside the spec directory.
pub const ERRCODES_FILE: &str = "errcodes.yaml";

/// The name of the callback spec inside the spec directory.
pub const CALLBACKS_FILE: &str = "callbacks.yaml";

/// Reads every `*.yaml` file of `dir` and validates the whole.
pub fn load_dir(dir: &Path) -> Result<Spec, SpecErrors> {
    load_sources(&read_sources(dir)?)
}

/// Every `*.yaml` file of `dir` as `(file name, text)`, sorted by name.
pub fn read_sources(dir: &Path) -> Result<Vec<(String, String)>, SpecErrors> {
    let fail = |place: &str, message: String| {
        SpecErrors(vec![Diagnostic {
            file: dir.display().to_string(),
            place: place.to_string(),
            message,
        }])
    };
    let entries = std::fs::read_dir(dir).map_err(|e| fail("directory", e.to_string()))?;
    let mut sources = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| fail("directory", e.to_string()))?.path();
        if path.extension().and_then(|e| e.to_str()) != Some("yaml") {
            continue;
        }
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        let text = std::fs::read_to_string(&path).map_err(|e| fail(&name, e.to_string()))?;
        sources.push((name, text));
    }
    sources.sort();
    Ok(sources)
}

/// Parses and validates spec sources given as `(file name, text)`; `errcodes.yaml`, if
/// present, is the errcode catalog, `common.yaml` the types groups share. Pure: used by `load_dir` and by tests.
pub fn load_sources(sources: &[(String, String)]) -> Result<Spec, SpecErrors> {
    let mut problems = Vec::new();
    let mut groups = Vec::new();
    let mut errcodes = ErrcodeFile {
        errcodes: Vec::new(),
    };
    let mut callbacks = None;
    let mut common = None;
    // Each file parses on its own, so they parse in parallel, biggest first.
    let jobs: Vec<(usize, crate::jobs::Job<'_, Result<Parsed, Diagnostic>>)> = sources
        .iter()
        .map(|(file, text)| {
            let job: crate::jobs::Job<'_, _> = Box::new(move || parse_file(file, text));
            (text.len(), job)
        })
        .collect();
    let parsed = crate::jobs::run(jobs);
    for ((file, _), parsed) in sources.iter().zip(parsed) {
        match parsed {
            Some(Ok(Parsed::Errcodes(e))) => errcodes = e,
            Some(Ok(Parsed::Callbacks(c))) => callbacks = Some(c),
            Some(Ok(Parsed::Common(spec))) => {
                common = Some(Group {
                    file: file.clone(),
                    spec,
                    shared: BTreeSet::new(),
                })
            }
            Some(Ok(Parsed::Group(spec))) => groups.push(Group {
                file: file.clone(),
                spec,
                shared: BTreeSet::new(),
            }),
            Some(Err(diagnostic)) => problems.push(diagnostic),
            None => problems.push(Diagnostic {
                file: file.clone(),
                place: "document".to_string(),
                message: "the loader panicked on this file".to_string(),
            }),
        }
    }
    if problems.is_empty() {
        if let Some(common) = &common {
            problems.extend(validate::validate_common(common));
            problems.extend(crate::share::share(common, &mut groups));
        }
        problems.extend(validate::validate(&groups, &errcodes));
        if let Some(callbacks) = &callbacks {
            problems.extend(validate::validate_callbacks(CALLBACKS_FILE, callbacks));
        }
    }
    if problems.is_empty() {
        Ok(Spec {
            groups,
            common,
            errcodes,
            callbacks,
        })
    } else {
        Err(SpecErrors(problems))
    }
}

/// One parsed spec file.
enum Parsed {
    Errcodes(ErrcodeFile),
    Callbacks(CallbackFile),
    Common(SpecFile),
    Group(SpecFile),
}

fn parse_file(file: &str, text: &str) -> Result<Parsed, Diagnostic> {
    if file == ERRCODES_FILE {
        parse(file, text).map(Parsed::Errcodes)
    } else if file == CALLBACKS_FILE {
        parse(file, text).map(Parsed::Callbacks)
    } else if file == COMMON_FILE {
        parse(file, text).map(Parsed::Common)
    } else {
        parse(file, text).map(Parsed::Group)
    }
}

fn parse<T: serde::de::DeserializeOwned>(file: &str, text: &str) -> Result<T, Diagnostic> {
    serde_yaml_ng::from_str(text).map_err(|error| {
        let place = match error.location() {
            Some(at) => format!("line {}, column {}", at.line(), at.column()),
            None => "document".to_string(),
        };
        // serde_yaml_ng appends " at line N column M" to its message; the place says it already.
        let message = error.to_string();
        let message = match message.find(" at line ") {
            Some(cut) => message[..cut].to_string(),
            None => message,
        };
        Diagnostic {
            file: file.to_string(),
            place,
            message,
        }
    })
}
