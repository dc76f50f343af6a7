fn main() {
    let p = std::env::args().nth(1).unwrap();
    let meta = ehrgate_templates::parse_opt(&std::fs::read(&p).unwrap()).unwrap();
    let idx = ehrgate_mappers::fhirconnect::template_index::TemplateIndex::new(&meta);
    let mut v: Vec<_> = idx.nodes().collect();
    v.sort_by(|a, b| a.0.cmp(b.0));
    for (aql, n) in v {
        println!(
            "{aql} {} {:?} occ={:?} flat={:?} name={:?} req={:?} codes={:?} units={:?} texts={:?}",
            n.rm_type,
            n.value_types,
            n.occurrences,
            n.flat_id,
            n.name,
            n.required_children,
            n.code_list,
            n.units,
            n.code_texts
        );
    }
}
