//! The field path (`list[1].n`) at the place a `serde_json` error points to.
//!
//! Decoding tracks no path, so every response type's `Deserialize` is compiled once, for one
//! deserializer (a path-tracking wrapper compiled it again for each type, and was most of the
//! crate's generated code). When decoding fails, this walks the body's JSON text up to the
//! error's line and column, which is cheap, runs only on failure, and is not generic.

/// One level of nesting: the member or element being read in it, if any.
enum Level {
    Object {
        key: Option<String>,
        /// After the `:`, before the `,` or `}`.
        in_value: bool,
    },
    Array {
        index: usize,
        /// An element at `index` has started.
        started: bool,
    },
}

/// The path to the value at `offset` (a byte index) of the JSON text `body`: `.` for the
/// whole body. On a closing bracket, the path of that object or array (where serde reports a
/// missing field); on the delimiter just after a value, the path of that value.
pub(crate) fn path_at(body: &[u8], offset: usize) -> String {
    let mut levels: Vec<Level> = Vec::new();
    let mut i = 0;
    while i < body.len() {
        match body[i] {
            b'{' | b'[' => {
                value_starts(&mut levels);
                if i >= offset {
                    return render(&levels);
                }
                levels.push(if body[i] == b'{' {
                    Level::Object {
                        key: None,
                        in_value: false,
                    }
                } else {
                    Level::Array {
                        index: 0,
                        started: false,
                    }
                });
                i += 1;
            }
            b'}' | b']' => {
                if i >= offset {
                    return render(&levels[..levels.len().saturating_sub(1)]);
                }
                levels.pop();
                i += 1;
            }
            b',' => {
                if i >= offset {
                    return render(&levels);
                }
                match levels.last_mut() {
                    Some(Level::Object { key, in_value }) => {
                        *key = None;
                        *in_value = false;
                    }
                    Some(Level::Array { index, started }) => {
                        *index += 1;
                        *started = false;
                    }
                    None => {}
                }
                i += 1;
            }
            b':' => {
                if i >= offset {
                    return render(&levels);
                }
                if let Some(Level::Object { in_value, .. }) = levels.last_mut() {
                    *in_value = true;
                }
                i += 1;
            }
            b'"' => {
                let end = string_end(body, i);
                let is_key = matches!(
                    levels.last(),
                    Some(Level::Object {
                        in_value: false,
                        ..
                    })
                );
                if is_key {
                    if let Some(Level::Object { key, .. }) = levels.last_mut() {
                        *key = Some(key_text(&body[i..=end.min(body.len() - 1)]));
                    }
                } else {
                    value_starts(&mut levels);
                }
                if offset <= end {
                    return render(&levels);
                }
                i = end + 1;
            }
            b if b.is_ascii_whitespace() => {
                if i >= offset {
                    return render(&levels);
                }
                i += 1;
            }
            _ => {
                // A number, `true`, `false` or `null`.
                value_starts(&mut levels);
                let mut end = i;
                while end + 1 < body.len() && !is_delimiter(body[end + 1]) {
                    end += 1;
                }
                if offset <= end {
                    return render(&levels);
                }
                i = end + 1;
            }
        }
    }
    render(&levels)
}

/// The byte index of `line` (1-based) and `column` (1-based, in bytes) as `serde_json`
/// reports them; the last byte when past the end.
pub(crate) fn offset_of(body: &[u8], line: usize, column: usize) -> usize {
    let mut start = 0;
    for _ in 1..line {
        match body[start..].iter().position(|&b| b == b'\n') {
            Some(n) => start += n + 1,
            None => break,
        }
    }
    (start + column.saturating_sub(1)).min(body.len().saturating_sub(1))
}

fn value_starts(levels: &mut [Level]) {
    if let Some(Level::Array { started, .. }) = levels.last_mut() {
        *started = true;
    }
}

fn is_delimiter(b: u8) -> bool {
    matches!(b, b',' | b'}' | b']' | b':') || b.is_ascii_whitespace()
}

/// Index of the closing quote of the string opening at `start` (or the last byte).
fn string_end(body: &[u8], start: usize) -> usize {
    let mut j = start + 1;
    while j < body.len() {
        match body[j] {
            b'\\' => j += 2,
            b'"' => return j,
            _ => j += 1,
        }
    }
    body.len().saturating_sub(1)
}

/// A key's text, unescaped when it is valid JSON, else as written.
fn key_text(quoted: &[u8]) -> String {
    serde_json::from_slice::<String>(quoted).unwrap_or_else(|_| {
        String::from_utf8_lossy(quoted.get(1..quoted.len().saturating_sub(1)).unwrap_or(b""))
            .into_owned()
    })
}

fn render(levels: &[Level]) -> String {
    let mut path = String::new();
    for level in levels {
        match level {
            Level::Object { key: Some(key), .. } => {
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(key);
            }
            Level::Array {
                index,
                started: true,
            } => path.push_str(&format!("[{index}]")),
            _ => break,
        }
    }
    if path.is_empty() {
        path.push('.');
    }
    path
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(body: &str, marker: &str) -> String {
        path_at(body.as_bytes(), body.find(marker).unwrap())
    }

    #[test]
    fn paths_of_values_members_and_elements() {
        let body = r#"{"a": {"b": [1, {"c": "x"}, [true, null]]}, "d\"e": 5}"#;
        assert_eq!(at(body, "1,"), "a.b[0]");
        assert_eq!(at(body, "\"x\""), "a.b[1].c");
        assert_eq!(at(body, "null"), "a.b[2][1]");
        assert_eq!(at(body, "5}"), "d\"e");
        assert_eq!(at(body, "{\"c\""), "a.b[1]");
        // The closing brace of an object: the object itself.
        assert_eq!(at(body, "}, \"d"), "a");
        assert_eq!(path_at(body.as_bytes(), body.len() - 1), ".");
        assert_eq!(path_at(body.as_bytes(), 0), ".");
    }

    #[test]
    fn agrees_with_serde_json_error_positions() {
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct Outer {
            list: Vec<Inner>,
            #[serde(default)]
            n: Option<u8>,
        }
        #[derive(serde::Deserialize, Debug)]
        #[allow(dead_code)]
        struct Inner {
            n: u32,
        }
        let cases = [
            (r#"{"list":[{"n":1},{"n":"x"}]}"#, "list[1].n"),
            (
                "{\n  \"list\": [\n    {\"n\": 1},\n    {\"n\": -4}\n  ]\n}",
                "list[1].n",
            ),
            (r#"{"list":[{"n":1},{"m":2}]}"#, "list[1]"),
            (r#"{"list":[],"n":300}"#, "n"),
            (r#"{"list":{}}"#, "list"),
            (r#"{"n":1}"#, "."),
            (r#"{"list":[{"n":true}]}"#, "list[0].n"),
            // Columns count bytes: text before the error in Chinese moves nothing.
            (r#"{"list":[{"n":1}],"名字":"张三李四王五","n":"x"}"#, "n"),
            ("{\"名\":\"张三\",\n\"list\":[{\"n\":\"张\"}]}", "list[0].n"),
        ];
        for (body, want) in cases {
            let e = serde_json::from_str::<Outer>(body).unwrap_err();
            let offset = offset_of(body.as_bytes(), e.line(), e.column());
            assert_eq!(path_at(body.as_bytes(), offset), want, "{body}: {e}");
        }
    }

    #[test]
    fn odd_input_never_panics() {
        for body in ["", "\"", "{\"a", "[1,", "}", "{\"a\":\"\\", "\u{fffd}"] {
            for offset in 0..body.len() + 2 {
                let _ = path_at(body.as_bytes(), offset);
            }
            let _ = offset_of(body.as_bytes(), 3, 9);
        }
    }
}
