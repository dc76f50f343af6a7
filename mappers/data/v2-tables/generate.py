#!/usr/bin/env python3
"""Regenerates tables.csv from the HL7 v2-to-FHIR IG vocabulary CSVs.

Run from the repository root:
    python3 mappers/data/v2-tables/generate.py

Only the concept maps ehrgate uses are extracted. Rows whose v2 code or FHIR
code is empty are skipped (the IG leaves them unmapped; the translator passes
such codes through with the v2 table system and a warning). Deliberate
deviations from the IG are listed in DEVIATIONS and written to the `note`
column; the table test checks every other row against the IG CSV verbatim.
"""
import csv
import os

IG = "conformance/corpus/mappings/hl7v2-fhir/v2-to-fhir-ig/codesystems"
OUT = "mappers/data/v2-tables/tables.csv"

# (map name used in code, v2 table, IG file stem)
MAPS = [
    ("gender", "0001", "AdministrativeSex"),
    ("marital-status", "0002", "MaritalStatus"),
    ("encounter-status", "0003", "Event[EncounterStatus]"),
    ("encounter-class", "0004", "PatientClass[EncounterClass]"),
    ("encounter-status-class", "0004", "PatientClass[EncounterStatus]"),
    ("relationship", "0063", "Relationship"),
    ("interpretation", "0078", "InterpretationCodes"),
    ("observation-status", "0085", "ObservationResultStatusCodesInterpretation"),
    ("order-control-status", "0119", "OrderControlCode[ServiceRequest.status]"),
    ("report-status", "0123", "ResultStatus[Non-Queries]"),
    ("allergy-category", "0127", "AllergenType[AllergyIntoleranceCategory]"),
    ("allergy-criticality", "0128", "AllergySeverity[AllergyIntolerance.criticality]"),
    ("yes-no", "0136", "YesNoIndicator"),
    ("address-use", "0190", "AddressType[Use]"),
    ("address-type", "0190", "AddressType[Type]"),
    ("name-use", "0200", "NameType"),
    ("telecom-use", "0201", "TelecommunicationUseCode"),
    ("telecom-system", "0202", "TelecommunicationEquipmentType"),
    ("identifier-type", "0203", "IdentifierType"),
    ("appointment-status", "0278", "FillerStatusCodes[Appointment]"),
    ("immunization-status", "0322", "CompletionStatus"),
    ("order-status", "0038", "OrderStatus"),
    ("request-priority", "0485", "ExtendedPriorityCodes"),
]

# (map, v2 code) -> (fhir code, display, system, why)
DEVIATIONS = {
    ("telecom-system", "CP"): (
        "phone", "Phone", "http://hl7.org/fhir/contact-point-system",
        "IG row targets contact-point-use 'mobile', which is not a ContactPoint.system code; "
        "a cell phone is system 'phone' (use 'mobile' is set by the XTN map)",
    ),
}


def rows(stem):
    path = os.path.join(IG, f"HL7 Concept Map_ {stem} - Sheet1.csv")
    with open(path, newline="", encoding="utf-8") as f:
        data = list(csv.reader(f))
    header = data[1]
    codes = [i for i, h in enumerate(header) if h.strip() == "Code"]
    systems = [i for i, h in enumerate(header) if h.strip() == "Code System"]
    disp = [i for i, h in enumerate(header) if h.strip() == "Display"]
    fcode, fsys, fdisp = codes[1], systems[1], disp[0]
    for r in data[2:]:
        r = r + [""] * (len(header) + 2 - len(r))
        v2 = r[0].strip()
        code = r[fcode].strip()
        if not v2 or not code:
            continue
        display = r[fdisp].strip() or (r[fcode + 1].strip() if not header[fcode + 1].strip() else "")
        yield v2, code, display, r[fsys].strip()


def main():
    out = []
    for name, table, stem in MAPS:
        seen = set()
        for v2, code, display, system in rows(stem):
            if v2 in seen:
                continue  # the IG lists a few codes twice; the first row wins
            seen.add(v2)
            note = ""
            dev = DEVIATIONS.get((name, v2))
            if dev:
                code, display, system, note = dev
            out.append([name, table, stem, v2, code, display, system, note])
    with open(OUT, "w", newline="", encoding="utf-8") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["map", "v2_table", "ig_concept_map", "v2_code", "fhir_code", "fhir_display", "fhir_system", "note"])
        w.writerows(out)
    print(f"{len(out)} rows -> {OUT}")


if __name__ == "__main__":
    main()
