//! A minimal RFC 4180 reader for the embedded code-table files.
//!
//! The tables are small, trusted, compiled-in data; a dependency for them
//! would cost more than these few lines. Quoted fields may contain commas,
//! doubled quotes and newlines.

/// Splits `text` into records of fields.
pub fn parse(text: &str) -> Vec<Vec<String>> {
    let mut records = Vec::new();
    let mut record = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    field.push('"');
                    chars.next();
                }
                '"' => quoted = false,
                _ => field.push(c),
            }
            continue;
        }
        match c {
            '"' => quoted = true,
            ',' => record.push(std::mem::take(&mut field)),
            '\r' => {}
            '\n' => {
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
            }
            _ => field.push(c),
        }
    }
    if !field.is_empty() || !record.is_empty() {
        record.push(field);
        records.push(record);
    }
    records
}

#[cfg(test)]
mod tests {
    use super::parse;

    #[test]
    fn quoted_fields_keep_commas_and_quotes() {
        let rows = parse("a,\"b, \"\"c\"\"\",d\nx,,z");
        assert_eq!(rows[0], vec!["a", "b, \"c\"", "d"]);
        assert_eq!(rows[1], vec!["x", "", "z"]);
    }
}
