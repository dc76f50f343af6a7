//! Prints what a mapping author needs from an OPT: every node's AQL path
//! (as mapping files write it), RM type, allowed data types, occurrences,
//! FLAT id, code list and units.
//!
//! `cargo run -p ehrgate-mappers --example dump_template -- FILE.opt`

use std::process::ExitCode;

use ehrgate_mappers::fhirconnect::template_index::TemplateIndex;

fn main() -> ExitCode {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: dump_template FILE.opt");
        return ExitCode::from(2);
    };
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("{path}: {e}");
            return ExitCode::from(2);
        }
    };
    let meta = match ehrgate_templates::parse_opt(&bytes) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("{path}: {e}");
            return ExitCode::FAILURE;
        }
    };
    let idx = TemplateIndex::new(&meta);
    let mut nodes: Vec<_> = idx.nodes().collect();
    nodes.sort_by(|a, b| a.0.cmp(b.0));
    for (aql, n) in nodes {
        let upper = n
            .occurrences
            .upper
            .map_or_else(|| "*".to_owned(), |u| u.to_string());
        println!(
            "{aql}\t{}\t{:?}\t{}..{upper}\tflat={}\tcodes={:?}\tunits={:?}",
            n.rm_type,
            n.value_types,
            n.occurrences.lower,
            n.flat_id.as_deref().unwrap_or("-"),
            n.code_list,
            n.units
        );
    }
    ExitCode::SUCCESS
}
