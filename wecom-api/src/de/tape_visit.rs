//! A tape built straight by a serde visitor, for the `Deserialize` of generated types
//! (`serde_json::from_slice::<User>` in users' code, `Client::get_json::<T>`).
//!
//! Generic over the deserializer only: one copy per input format, shared by every
//! generated type. Strings the input lends (`serde_json::from_slice`/`from_str` without
//! escapes) are borrowed, keys keep the order they came in (so a type's fields are found
//! in one step, as on the client's own path), and no `Value` is built on the way.

use std::borrow::Cow;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, Error as _, MapAccess, SeqAccess, Visitor};

use super::tape::{Entry, MAX_DEPTH, Tape, count, fnv, hide_overridden, spare_entries};

/// Reads any self-describing input into a tape.
pub(crate) fn tape_of<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Tape<'de>, D::Error> {
    let mut entries = spare_entries(16);
    Seed {
        entries: &mut entries,
        depth: 0,
    }
    .deserialize(deserializer)?;
    Ok(Tape { entries })
}

/// Pushes one value (and what it contains) onto the tape.
struct Seed<'a, 'de> {
    entries: &'a mut Vec<Entry<'de>>,
    depth: usize,
}

impl<'de> DeserializeSeed<'de> for Seed<'_, 'de> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Seed<'_, 'de> {
    fn nested(&mut self) -> Result<Seed<'_, 'de>, String> {
        if self.depth >= MAX_DEPTH {
            return Err(format!("nested more than {MAX_DEPTH} levels deep"));
        }
        Ok(Seed {
            entries: self.entries,
            depth: self.depth + 1,
        })
    }
}

impl<'de> Visitor<'de> for Seed<'_, 'de> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<(), E> {
        self.entries.push(Entry::Bool(v));
        Ok(())
    }

    fn visit_i64<E>(self, v: i64) -> Result<(), E> {
        self.entries.push(Entry::Number(Cow::Owned(v.to_string())));
        Ok(())
    }

    fn visit_u64<E>(self, v: u64) -> Result<(), E> {
        self.entries.push(Entry::Number(Cow::Owned(v.to_string())));
        Ok(())
    }

    fn visit_f64<E>(self, v: f64) -> Result<(), E> {
        // As `serde_json::Value` would keep it: shortest text that reads back the same,
        // and no number at all for NaN or infinity.
        self.entries.push(match serde_json::Number::from_f64(v) {
            Some(n) => Entry::Number(Cow::Owned(n.to_string())),
            None => Entry::Null,
        });
        Ok(())
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<(), E> {
        self.entries.push(Entry::Str(Cow::Borrowed(v)));
        Ok(())
    }

    fn visit_str<E>(self, v: &str) -> Result<(), E> {
        self.entries.push(Entry::Str(Cow::Owned(v.to_owned())));
        Ok(())
    }

    fn visit_string<E>(self, v: String) -> Result<(), E> {
        self.entries.push(Entry::Str(Cow::Owned(v)));
        Ok(())
    }

    fn visit_none<E>(self) -> Result<(), E> {
        self.entries.push(Entry::Null);
        Ok(())
    }

    fn visit_unit<E>(self) -> Result<(), E> {
        self.entries.push(Entry::Null);
        Ok(())
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<(), A::Error> {
        let at = self.entries.len();
        self.entries.push(Entry::Null);
        let mut len = 0usize;
        loop {
            let item = self.nested().map_err(A::Error::custom)?;
            if seq.next_element_seed(item)?.is_none() {
                break;
            }
            len += 1;
        }
        self.entries[at] = Entry::Array {
            len: count(len),
            end: count(self.entries.len()),
        };
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<(), A::Error> {
        let at = self.entries.len();
        self.entries.push(Entry::Null);
        // Key marks as the parser keeps them (no byte offsets here: nothing is logged).
        let mut marks = Vec::new();
        while let Some(name) = map.next_key_seed(KeySeed)? {
            marks.push((fnv(name.as_bytes()), self.entries.len(), 0));
            self.entries.push(Entry::Key { name, live: true });
            map.next_value_seed(self.nested().map_err(A::Error::custom)?)?;
        }
        // The last of repeated names counts, as in `serde_json::Value`.
        hide_overridden(self.entries, &mut marks);
        self.entries[at] = Entry::Object {
            len: count(marks.len()),
            end: count(self.entries.len()),
        };
        Ok(())
    }
}

/// A member name, borrowed from the input when it lends it.
struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Cow<'de, str>;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeySeed {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a member name")
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(v))
    }

    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn visited(body: &str) -> Tape<'_> {
        let mut de = serde_json::Deserializer::from_str(body);
        tape_of(&mut de).unwrap()
    }

    #[test]
    fn the_same_tape_as_the_parser_in_document_order() {
        let body =
            r#"{"z":1,"a":[true,null,-7,"x"],"m":{"k":"v\"q","n":18446744073709551615},"f":0.5}"#;
        assert_eq!(
            visited(body).entries,
            Tape::parse(body.as_bytes()).unwrap().entries
        );
    }

    #[test]
    fn strings_and_names_the_input_lends_are_borrowed() {
        let tape = visited(r#"{"plain":"text","esc":"a\nb"}"#);
        assert!(matches!(
            &tape.entries[1],
            Entry::Key {
                name: Cow::Borrowed("plain"),
                ..
            }
        ));
        assert!(matches!(
            &tape.entries[2],
            Entry::Str(Cow::Borrowed("text"))
        ));
        assert!(matches!(&tape.entries[4], Entry::Str(Cow::Owned(s)) if s == "a\nb"));
    }

    #[test]
    fn a_repeated_name_keeps_the_last_one_live() {
        for n in [3usize, 40] {
            let mut members: Vec<String> = (0..n).map(|i| format!(r#""k{i}":{i}"#)).collect();
            members.push(r#""k1":"last""#.to_owned());
            let body = format!("{{{}}}", members.join(","));
            let tape = visited(&body);
            let live: Vec<bool> = tape
                .entries
                .iter()
                .filter_map(|e| match e {
                    Entry::Key { name, live } if name == "k1" => Some(*live),
                    _ => None,
                })
                .collect();
            assert_eq!(live, [false, true], "{n} members");
        }
    }

    #[test]
    fn nesting_past_the_limit_is_an_error_not_a_stack_overflow() {
        let mut value = serde_json::Value::Null;
        for _ in 0..MAX_DEPTH + 5 {
            value = serde_json::Value::Array(vec![value]);
        }
        let err = tape_of(&value).unwrap_err();
        assert!(err.to_string().contains("nested more than 128"), "{err}");
    }

    #[test]
    fn floats_read_as_a_value_would_keep_them() {
        let tape = visited("[2.0,1e3,-0.25]");
        let texts: Vec<&str> = tape
            .entries
            .iter()
            .filter_map(|e| match e {
                Entry::Number(t) => Some(t.as_ref()),
                _ => None,
            })
            .collect();
        assert_eq!(texts, ["2.0", "1000.0", "-0.25"]);
    }
}
