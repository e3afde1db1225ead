//! Lays out JSON text without parsing its values, so every number keeps the digits it was written
//! with (a parse into `serde_json::Value` would round it through a float).

/// `json` (one valid JSON value) with no whitespace outside its strings, as `serde_json`'s
/// compact writer lays it out, with the text of every string and number unchanged.
pub(crate) fn compact(json: &[u8]) -> Vec<u8> {
    layout(json, false)
}

/// `json` (one valid JSON value) indented by two spaces, as `serde_json`'s pretty printer lays
/// it out, with the text of every string and number unchanged.
pub(crate) fn indent(json: &[u8]) -> Vec<u8> {
    layout(json, true)
}

fn layout(json: &[u8], pretty: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(json.len() + json.len() / 4);
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    let mut bytes = json.iter().copied().peekable();
    let newline = |out: &mut Vec<u8>, depth: usize| {
        if pretty {
            out.push(b'\n');
            out.extend(std::iter::repeat_n(b' ', depth * 2));
        }
    };
    while let Some(byte) = bytes.next() {
        if in_string {
            out.push(byte);
            match (escaped, byte) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match byte {
            b' ' | b'\t' | b'\n' | b'\r' => {}
            b'"' => {
                in_string = true;
                out.push(byte);
            }
            b'{' | b'[' => {
                out.push(byte);
                // An empty object or array stays on one line.
                while bytes.peek().is_some_and(u8::is_ascii_whitespace) {
                    bytes.next();
                }
                if matches!(bytes.peek(), Some(b'}' | b']')) {
                    out.push(bytes.next().expect("peeked"));
                } else {
                    depth += 1;
                    newline(&mut out, depth);
                }
            }
            b'}' | b']' => {
                depth = depth.saturating_sub(1);
                newline(&mut out, depth);
                out.push(byte);
            }
            b',' => {
                out.push(byte);
                newline(&mut out, depth);
            }
            b':' if pretty => out.extend_from_slice(b": "),
            _ => out.push(byte),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::indent;

    fn check(json: &str) {
        let value: serde_json::Value = serde_json::from_str(json).unwrap();
        let expected = serde_json::to_string_pretty(&value).unwrap();
        assert_eq!(
            String::from_utf8(indent(json.as_bytes())).unwrap(),
            expected
        );
    }

    #[test]
    fn lays_out_as_serde_json_does() {
        check(r#"{"a":1,"b":[true,null,"x"],"c":{},"d":[],"e":{"f":[{"g":"h"}]}}"#);
        check(r#" { "spaced" : [ 1 , 2 ] , "empty" : { } } "#);
        check(r#"["quote \" and , : { [ inside",{"k\\":"v"}]"#);
        check("7");
    }

    #[test]
    fn numbers_keep_their_digits() {
        let text = indent(br#"{"big":123456789012345678901234567890,"e":1e2,"z":-0}"#);
        let text = String::from_utf8(text).unwrap();
        assert!(text.contains("123456789012345678901234567890"), "{text}");
        assert!(text.contains("\"e\": 1e2"), "{text}");
        assert!(text.contains("\"z\": -0"), "{text}");
    }
}
