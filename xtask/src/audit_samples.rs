//! `cargo xtask audit-samples DIR`: how many fields of documented bodies collected outside the
//! spec (`DIR/cgi-bin/<path>.request.json` / `.response.json`, e.g. the reference fixtures)
//! the spec describes with a compatible type. Each sample goes through the validator that
//! checks the spec's own examples, with open enums; a field counts as wrong with everything
//! under it when it is undeclared, missing while required, or of an incompatible type.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use codegen::load::Group;
use codegen::model::Endpoint;
use codegen::validate::{ENVELOPE_KEYS, SampleSide, check_sample};
use serde_json::Value;

#[derive(Default)]
struct Tally {
    samples: usize,
    fields: usize,
    wrong: usize,
}

pub fn run(root: &Path, samples_dir: &Path, verbose: bool) -> Result<String, String> {
    let spec = codegen::load_dir(&root.join("spec")).map_err(|e| e.to_string())?;
    let mut by_path: BTreeMap<&str, Vec<(&Group, &Endpoint)>> = BTreeMap::new();
    for group in &spec.groups {
        for endpoint in &group.spec.endpoints {
            by_path
                .entry(endpoint.path.as_str())
                .or_default()
                .push((group, endpoint));
        }
    }
    let mut files = Vec::new();
    collect_json(samples_dir, &mut files)?;
    files.sort();
    let mut request = Tally::default();
    let mut response = Tally::default();
    let mut unmatched = 0;
    let mut report = String::new();
    for file in &files {
        let relative = file
            .strip_prefix(samples_dir)
            .map_err(|e| e.to_string())?
            .to_string_lossy()
            .replace('\\', "/");
        let (stem, side) = if let Some(stem) = relative.strip_suffix(".response.json") {
            (stem, SampleSide::Response)
        } else if let Some(stem) = relative.strip_suffix(".request.json") {
            (stem, SampleSide::Request)
        } else {
            continue;
        };
        let path = format!("/{stem}");
        let text = std::fs::read_to_string(file).map_err(|e| format!("{relative}: {e}"))?;
        let Ok(body) = serde_json::from_str::<Value>(&text) else {
            report.push_str(&format!("{relative}: not JSON, skipped\n"));
            continue;
        };
        let Some(candidates) = by_path.get(path.as_str()) else {
            unmatched += 1;
            continue;
        };
        // Several endpoints on one path (legacy twins): the one that describes the sample best.
        let best = candidates
            .iter()
            .filter_map(|(group, endpoint)| {
                let problems = check_sample(group, endpoint, side, &body)?;
                let wrong: usize = problems.iter().map(|p| wrong_fields(&body, side, p)).sum();
                Some((wrong, endpoint, problems))
            })
            .min_by_key(|(wrong, _, _)| *wrong);
        let Some((wrong, endpoint, problems)) = best else {
            continue; // no JSON body on that side (e.g. a GET's response-shaped .request.json)
        };
        let tally = match side {
            SampleSide::Request => &mut request,
            SampleSide::Response => &mut response,
        };
        tally.samples += 1;
        tally.fields += count_fields(&body, side);
        tally.wrong += wrong;
        if verbose || wrong > 0 {
            for problem in &problems {
                report.push_str(&format!(
                    "{} ({relative}): {}: {} [{} field(s)]\n",
                    endpoint.id,
                    problem.place,
                    problem.message,
                    wrong_fields(&body, side, problem)
                ));
            }
        }
    }
    report.push_str(&format!(
        "requests:  {} samples, {} of {} fields described ({})\n",
        request.samples,
        request.fields - request.wrong,
        request.fields,
        percent(&request)
    ));
    report.push_str(&format!(
        "responses: {} samples, {} of {} fields described ({})\n",
        response.samples,
        response.fields - response.wrong,
        response.fields,
        percent(&response)
    ));
    report.push_str(&format!(
        "{unmatched} sample(s) on paths the spec does not have"
    ));
    Ok(report)
}

fn percent(tally: &Tally) -> String {
    if tally.fields == 0 {
        return "no fields".to_string();
    }
    let share = (tally.fields - tally.wrong) as f64 * 100.0 / tally.fields as f64;
    format!("{share:.2}%")
}

fn collect_json(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for entry in entries {
        let path = entry.map_err(|e| e.to_string())?.path();
        if path.is_dir() {
            collect_json(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "json") {
            out.push(path);
        }
    }
    Ok(())
}

/// Object members at every depth; a response's envelope (errcode, errmsg) is not a field.
fn count_fields(body: &Value, side: SampleSide) -> usize {
    let envelope = match (side, body) {
        (SampleSide::Response, Value::Object(map)) => ENVELOPE_KEYS
            .iter()
            .filter(|key| map.contains_key(**key))
            .count(),
        _ => 0,
    };
    members(body) - envelope
}

fn members(value: &Value) -> usize {
    match value {
        Value::Object(map) => map.values().map(|v| 1 + members(v)).sum(),
        Value::Array(items) => items.iter().map(members).sum(),
        _ => 0,
    }
}

/// A missing required member is one field (its place names the object that lacks it);
/// any other problem covers the member at its place and everything under it.
fn wrong_fields(body: &Value, side: SampleSide, problem: &codegen::Diagnostic) -> usize {
    if problem.message.starts_with("required field") {
        return 1;
    }
    fields_under(body, side, &problem.place)
}

/// The fields a problem at `place` (`response.a.b[0].c`) covers: the member itself and all
/// under it. A problem on the whole body (or an array item) covers its members.
fn fields_under(body: &Value, side: SampleSide, place: &str) -> usize {
    let Some(rest) = place.strip_prefix(side.root()) else {
        return 1;
    };
    let mut value = body;
    let mut is_member = false;
    for step in steps(rest) {
        let next = match step {
            Step::Key(key) => value.get(key),
            Step::Index(index) => value.get(index),
        };
        match next {
            Some(next) => {
                value = next;
                is_member = matches!(step, Step::Key(_));
            }
            // A required member that is missing: one field.
            None => return 1,
        }
    }
    usize::from(is_member) + members(value)
}

enum Step<'a> {
    Key(&'a str),
    Index(usize),
}

fn steps(mut rest: &str) -> Vec<Step<'_>> {
    let mut out = Vec::new();
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('.') {
            let end = after.find(['.', '[']).unwrap_or(after.len());
            out.push(Step::Key(&after[..end]));
            rest = &after[end..];
        } else if let Some(after) = rest.strip_prefix('[') {
            let end = after.find(']').unwrap_or(after.len());
            match after[..end].parse() {
                Ok(index) => out.push(Step::Index(index)),
                Err(_) => break,
            }
            rest = after.get(end + 1..).unwrap_or("");
        } else {
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_problem_covers_its_member_and_everything_under_it() {
        let body: Value = serde_json::json!({"a": {"b": [{"c": 1, "d": {"e": 2}}]}, "f": 3});
        assert_eq!(members(&body), 6);
        assert_eq!(
            fields_under(&body, SampleSide::Request, "request.a.b[0].d"),
            2
        );
        assert_eq!(fields_under(&body, SampleSide::Request, "request.f"), 1);
        assert_eq!(
            fields_under(&body, SampleSide::Request, "request.a.b[0]"),
            3
        );
        assert_eq!(
            fields_under(&body, SampleSide::Request, "request.a.missing"),
            1
        );
    }

    #[test]
    fn the_envelope_is_not_counted() {
        let body: Value = serde_json::json!({"errcode": 0, "errmsg": "ok", "x": {"y": 1}});
        assert_eq!(count_fields(&body, SampleSide::Response), 2);
        assert_eq!(count_fields(&body, SampleSide::Request), 4);
    }
}
