//! Reads example XML into a JSON-like tree the way the runtime does (`wecom_api::callback`):
//! an element with children is an object, a leaf its text (whitespace around CDATA dropped),
//! a repeated element an array.

use quick_xml::Reader;
use quick_xml::events::Event;
use serde_json::{Map, Value};

struct Frame {
    name: String,
    children: Map<String, Value>,
    text: Vec<(bool, String)>,
}

fn insert(map: &mut Map<String, Value>, name: String, value: Value) {
    match map.get_mut(&name) {
        None => {
            map.insert(name, value);
        }
        Some(Value::Array(items)) => items.push(value),
        Some(existing) => {
            let first = std::mem::take(existing);
            *existing = Value::Array(vec![first, value]);
        }
    }
}

fn leaf(text: Vec<(bool, String)>) -> Value {
    let has_cdata = text.iter().any(|(cdata, _)| *cdata);
    let joined: String = text
        .into_iter()
        .filter(|(cdata, piece)| !has_cdata || *cdata || !piece.trim().is_empty())
        .map(|(_, piece)| piece)
        .collect();
    Value::String(if has_cdata {
        joined
    } else {
        joined.trim().to_string()
    })
}

/// The fields of the root element, or what is wrong with the document.
pub fn read(text: &str) -> Result<Map<String, Value>, String> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut reader = Reader::from_str(text);
    reader.config_mut().trim_text(false);
    let mut stack: Vec<Frame> = Vec::new();
    loop {
        match reader
            .read_event()
            .map_err(|e| format!("malformed XML: {e}"))?
        {
            Event::Start(start) => stack.push(Frame {
                name: String::from_utf8_lossy(start.name().as_ref()).into_owned(),
                children: Map::new(),
                text: Vec::new(),
            }),
            Event::Empty(empty) => {
                let name = String::from_utf8_lossy(empty.name().as_ref()).into_owned();
                match stack.last_mut() {
                    Some(parent) => {
                        insert(&mut parent.children, name, Value::String(String::new()))
                    }
                    None => return Ok(Map::new()),
                }
            }
            Event::Text(t) => {
                if let Some(frame) = stack.last_mut() {
                    let piece = t.decode().map_err(|e| e.to_string())?.into_owned();
                    frame.text.push((false, piece));
                }
            }
            Event::GeneralRef(r) => {
                if let Some(frame) = stack.last_mut() {
                    let piece = match r.resolve_char_ref() {
                        Ok(Some(c)) => c.to_string(),
                        _ => match r.decode().map_err(|e| e.to_string())?.as_ref() {
                            "amp" => "&".to_string(),
                            "lt" => "<".to_string(),
                            "gt" => ">".to_string(),
                            "quot" => "\"".to_string(),
                            "apos" => "'".to_string(),
                            other => format!("&{other};"),
                        },
                    };
                    frame.text.push((false, piece));
                }
            }
            Event::CData(c) => {
                if let Some(frame) = stack.last_mut() {
                    let piece = c.decode().map_err(|e| e.to_string())?.into_owned();
                    frame.text.push((true, piece));
                }
            }
            Event::End(_) => {
                let frame = stack.pop().ok_or("closing tag without an opening one")?;
                let value = if frame.children.is_empty() {
                    leaf(frame.text)
                } else {
                    Value::Object(frame.children)
                };
                match stack.last_mut() {
                    Some(parent) => insert(&mut parent.children, frame.name, value),
                    None => {
                        return match value {
                            Value::Object(map) => Ok(map),
                            _ => Ok(Map::new()),
                        };
                    }
                }
            }
            Event::Eof => return Err("the document ends before its root element closes".into()),
            _ => {}
        }
    }
}
