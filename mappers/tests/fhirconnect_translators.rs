//! The Translator seam both ways over the openFHIR blood-pressure and
//! growth-chart sets: FLAT -> FHIR, FHIR -> canonical (template-checked) ->
//! FHIR gives the same FHIR, and bad input fails with a classified error.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use ehrgate_mappers::error::{Classified, Fault};
use ehrgate_mappers::fhirconnect::canonical::CanonicalDefaults;
use ehrgate_mappers::fhirconnect::translators::{
    FhirToOpenEhr, OpenEhrFormat, OpenEhrToFhir, TranslateError,
};
use ehrgate_mappers::translation::Translator;
use serde_json::json;

fn defaults() -> CanonicalDefaults {
    CanonicalDefaults {
        language: "en".into(),
        territory: "DE".into(),
        composer: "ehrgate".into(),
        time: "2024-01-01T00:00:00Z".into(),
    }
}

fn through_canonical(dir: &str, opt: &str, flat: &str) {
    let c = common::corpus();
    let engine = common::engine(&c.join(dir), &c.join(opt));
    let to_fhir = OpenEhrToFhir::new(&engine);
    let to_openehr = FhirToOpenEhr {
        engine: &engine,
        format: OpenEhrFormat::Canonical,
        defaults: defaults(),
    };
    let fhir = to_fhir.translate(&common::json(flat)).unwrap().output;
    let comp = match to_openehr.translate(&fhir) {
        Ok(t) => t.output,
        Err(TranslateError::Template(issues)) => panic!("{dir}: {issues:#?}"),
        Err(e) => panic!("{dir}: {e}"),
    };
    assert_eq!(comp["_type"], "COMPOSITION");
    let again = to_fhir.translate(&comp).unwrap();
    assert_eq!(
        again.output, fhir,
        "{dir}: FHIR -> canonical -> FHIR changed the FHIR"
    );
    // The FLAT serialisation translates the same way.
    let flat_out = FhirToOpenEhr {
        format: OpenEhrFormat::Flat,
        ..to_openehr
    }
    .translate(&fhir)
    .unwrap();
    assert_eq!(to_fhir.translate(&flat_out.output).unwrap().output, fhir);
}

#[test]
fn blood_pressure_through_canonical() {
    through_canonical(
        "mappings/openfhir/blood_pressure",
        "openehr/templates/Blood Pressure.opt",
        "mappings/openfhir/blood_pressure/blood-pressure_flat.json",
    );
}

#[test]
fn growth_chart_test_data_breaks_its_own_template() {
    // The corpus FLAT weighs entries 1 and 2 in `t` and `mm`; the template
    // allows kg, [lb_av], g. The composition must not leave, and the issues
    // name the FHIR element the unit came from.
    let c = common::corpus();
    let engine = common::engine(
        &c.join("mappings/openfhir/growth_chart"),
        &c.join("openehr/templates/Growth chart.opt"),
    );
    let fhir = OpenEhrToFhir::new(&engine)
        .translate(&common::json(
            "mappings/openfhir/growth_chart/growth_chart_flat.json",
        ))
        .unwrap()
        .output;
    let to_openehr = FhirToOpenEhr {
        engine: &engine,
        format: OpenEhrFormat::Canonical,
        defaults: defaults(),
    };
    let Err(TranslateError::Template(issues)) = to_openehr.translate(&fhir) else {
        panic!("expected template issues")
    };
    let found: Vec<(&str, Option<&str>)> = issues
        .iter()
        .map(|i| (i.code, i.fhir_path.as_deref()))
        .collect();
    assert_eq!(
        found,
        [
            (
                "template.unit-not-allowed",
                Some("Bundle.entry[1].resource.valueQuantity")
            ),
            (
                "template.unit-not-allowed",
                Some("Bundle.entry[2].resource.valueQuantity")
            ),
        ]
    );
    // With the units fixed the same data passes and round-trips.
    let mut fixed = fhir;
    for i in [1, 2] {
        fixed["entry"][i]["resource"]["valueQuantity"]["code"] = json!("kg");
        fixed["entry"][i]["resource"]["valueQuantity"]["unit"] = json!("kg");
    }
    // The FLAT test data has zone-less event times, which FHIR cannot
    // carry (a dateTime with a time needs a zone): they are reported
    // unmapped, so the round trip starts from times with a zone.
    for (i, e) in fixed["entry"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .enumerate()
    {
        e["resource"]["effectiveDateTime"] = json!(format!("2022-02-0{}T04:05:06Z", i + 3));
    }
    let comp = to_openehr.translate(&fixed).unwrap().output;
    assert_eq!(
        OpenEhrToFhir::new(&engine).translate(&comp).unwrap().output,
        fixed
    );
}

#[test]
fn bad_input_fails_classified() {
    let c = common::corpus();
    let engine = common::engine(
        &c.join("mappings/openfhir/blood_pressure"),
        &c.join("openehr/templates/Blood Pressure.opt"),
    );
    let to_openehr = FhirToOpenEhr {
        engine: &engine,
        format: OpenEhrFormat::Canonical,
        defaults: defaults(),
    };
    let e = to_openehr
        .translate(&json!({"no": "resourceType"}))
        .unwrap_err();
    assert_eq!(
        (e.fault(), e.code()),
        (Fault::Client, "fhirconnect.not-a-resource")
    );
    let e = OpenEhrToFhir::new(&engine)
        .translate(&json!([1, 2]))
        .unwrap_err();
    assert_eq!(e.code(), "fhirconnect.not-a-composition");
    assert_eq!(e.operation_outcome()["resourceType"], "OperationOutcome");
    // A value the template forbids never leaves as a composition.
    let obs = json!({"resourceType": "Observation", "status": "final", "code": {"text": "bp"},
        "component": [{"code": {"coding": [{"system": "http://loinc.org", "code": "8480-6"}]},
                       "valueQuantity": {"value": 120, "system": "http://unitsofmeasure.org", "code": "kg"}}]});
    match to_openehr.translate(&obs) {
        Err(TranslateError::Template(issues)) => {
            assert_eq!(issues[0].code, "template.unit-not-allowed");
            assert_eq!(
                issues[0].fhir_path.as_deref(),
                Some("Observation.component[0].valueQuantity")
            );
        }
        other => panic!("{other:?}"),
    }
    // A single Observation (the context maps Bundles) is wrapped.
    let ok = obs.to_string().replace("\"kg\"", "\"mm[Hg]\"");
    let t = to_openehr
        .translate(&serde_json::from_str(&ok).unwrap())
        .unwrap();
    assert!(
        t.unmapped
            .iter()
            .any(|u| u.location == "Observation.status"),
        "{:?}",
        t.unmapped
    );
}
