//! The FHIR element table is data derived from the official R4 JSON schema;
//! this checks it still says what the schema in the corpus says, for every
//! property of every type (array-ness and type reference).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

#[test]
fn element_table_agrees_with_the_r4_schema() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let schema: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root.join("../conformance/corpus/fhir/schema/fhir.schema.json"))
            .unwrap(),
    )
    .unwrap();
    let table = std::fs::read_to_string(root.join("data/fhir_r4_elements.tsv")).unwrap();
    let defs = schema["definitions"].as_object().unwrap();
    let mut rows = 0;
    for line in table.lines().filter(|l| !l.starts_with('#')) {
        let cols: Vec<&str> = line.split('\t').collect();
        assert_eq!(cols.len(), 5, "{line}");
        let prop = &defs[cols[0]]["properties"][cols[1]];
        assert!(prop.is_object(), "{line}: not in schema");
        let is_array = prop["type"] == "array";
        assert_eq!(is_array, cols[3] == "1", "{line}");
        let target = if is_array { &prop["items"] } else { prop };
        if let Some(r) = target["$ref"].as_str() {
            assert_eq!(r.rsplit('/').next().unwrap(), cols[2], "{line}");
        }
        rows += 1;
    }
    let schema_props: usize = defs
        .values()
        .filter_map(|d| d["properties"].as_object())
        .map(|p| {
            p.keys()
                .filter(|k| !k.starts_with('_') && *k != "resourceType")
                .count()
        })
        .sum();
    assert_eq!(rows, schema_props, "table misses schema properties");
}
