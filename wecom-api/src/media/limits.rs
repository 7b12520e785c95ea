//! Upload limits from the spec (`limits` of a multipart request), checked before a file is
//! sent: WeCom refuses an oversized or wrongly typed file only after receiving all of it.

use crate::error::{Error, Result};

use super::UploadFile;

/// One documented limit of an upload endpoint, emitted by the generator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct UploadLimit {
    /// The query parameter and value this limit applies to (`type=image`); `None`: every
    /// upload of the endpoint.
    pub(crate) when: Option<(&'static str, &'static str)>,
    /// Smallest accepted size in bytes.
    pub(crate) min_bytes: u64,
    /// Largest accepted size in bytes.
    pub(crate) max_bytes: u64,
    /// Accepted file name extensions, lower case without the dot; empty: any.
    pub(crate) extensions: &'static [&'static str],
}

/// Refuses a file that breaks a limit that applies to this call, naming the file, what is
/// wrong and the limit.
pub(crate) fn check_limits(
    endpoint: &str,
    limits: &[UploadLimit],
    query: &[(&'static str, String)],
    file: &UploadFile,
) -> Result<()> {
    for limit in limits {
        let scope = match limit.when {
            None => endpoint.to_owned(),
            Some((param, value)) => {
                let applies = query.iter().any(|(k, v)| *k == param && v == value);
                if !applies {
                    continue;
                }
                format!("{endpoint} with {param}={value}")
            }
        };
        check_one(&scope, limit, file)?;
    }
    Ok(())
}

fn check_one(scope: &str, limit: &UploadLimit, file: &UploadFile) -> Result<()> {
    // `what` is shown in backticks by Error's Display: keep it plain, name the file in `why`.
    let what = || "file".to_string();
    let name = file.file_name();
    let size = u64::try_from(file.len()).unwrap_or(u64::MAX);
    if size > limit.max_bytes {
        return Err(Error::invalid_argument(
            what(),
            format!(
                "`{name}` is {size} bytes; {scope} accepts at most {}",
                human(limit.max_bytes)
            ),
        ));
    }
    if size < limit.min_bytes {
        return Err(Error::invalid_argument(
            what(),
            format!(
                "`{name}` is {size} bytes; {scope} needs at least {}",
                human(limit.min_bytes)
            ),
        ));
    }
    if !limit.extensions.is_empty() {
        let extension = file.extension();
        let allowed = extension
            .as_deref()
            .is_some_and(|ext| limit.extensions.contains(&ext));
        if !allowed {
            let found = match &extension {
                Some(ext) => format!("`{name}` is a .{ext} file"),
                None => format!("`{name}` has no file extension"),
            };
            let accepted: Vec<String> = limit.extensions.iter().map(|e| format!(".{e}")).collect();
            return Err(Error::invalid_argument(
                what(),
                format!("{found}; {scope} accepts {}", accepted.join(", ")),
            ));
        }
    }
    Ok(())
}

/// `10 MB (10485760 bytes)`, or plain bytes for sizes that are not whole KB or MB.
fn human(bytes: u64) -> String {
    const KB: u64 = 1024;
    const MB: u64 = 1024 * 1024;
    match bytes {
        0 => "0 bytes".to_owned(),
        b if b % MB == 0 => format!("{} MB ({b} bytes)", b / MB),
        b if b % KB == 0 => format!("{} KB ({b} bytes)", b / KB),
        b => format!("{b} bytes"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const IMAGE: UploadLimit = UploadLimit {
        when: Some(("type", "image")),
        min_bytes: 6,
        max_bytes: 10 * 1024 * 1024,
        extensions: &["jpg", "jpeg", "png"],
    };
    const ANY: UploadLimit = UploadLimit {
        when: None,
        min_bytes: 6,
        max_bytes: 20 * 1024 * 1024,
        extensions: &[],
    };

    fn check(name: &str, len: usize, query: &[(&'static str, String)]) -> Result<()> {
        let file = UploadFile::from_bytes(name, vec![0u8; len]);
        check_limits("media.upload", &[IMAGE, ANY], query, &file)
    }

    fn why(result: Result<()>) -> String {
        match result {
            Err(Error::InvalidArgument { what, why }) => format!("{what}: {why}"),
            other => panic!("expected an invalid argument, got {other:?}"),
        }
    }

    #[test]
    fn a_limit_applies_only_to_its_parameter_value() {
        let image = [("type", "image".to_owned())];
        let file = [("type", "file".to_owned())];
        assert!(check("a.png", 100, &image).is_ok());
        assert!(check("a.PNG", 100, &image).is_ok());
        assert!(check("a.gif", 100, &file).is_ok(), "file accepts any type");
        assert!(
            check("a.gif", 100, &[]).is_ok(),
            "no type: only ANY applies"
        );
    }

    #[test]
    fn refusals_name_the_file_the_problem_and_the_limit() {
        let image = [("type", "image".to_owned())];
        assert_eq!(
            why(check("big.jpg", 10 * 1024 * 1024 + 1, &image)),
            "file: `big.jpg` is 10485761 bytes; media.upload with type=image accepts at most \
             10 MB (10485760 bytes)"
        );
        assert_eq!(
            why(check("pic.gif", 100, &image)),
            "file: `pic.gif` is a .gif file; media.upload with type=image accepts .jpg, .jpeg, .png"
        );
        assert_eq!(
            why(check("noext", 100, &image)),
            "file: `noext` has no file extension; media.upload with type=image accepts .jpg, \
             .jpeg, .png"
        );
        assert_eq!(
            why(check("tiny.txt", 5, &[])),
            "file: `tiny.txt` is 5 bytes; media.upload needs at least 6 bytes"
        );
        assert!(check("edge.jpg", 10 * 1024 * 1024, &image).is_ok());
        assert!(check("edge.txt", 6, &[]).is_ok());
    }

    #[test]
    fn sizes_read_well() {
        assert_eq!(human(2 * 1024 * 1024), "2 MB (2097152 bytes)");
        assert_eq!(human(64 * 1024), "64 KB (65536 bytes)");
        assert_eq!(human(5), "5 bytes");
        assert_eq!(human(0), "0 bytes");
    }
}
