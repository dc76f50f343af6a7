#!/usr/bin/env python3
"""Writes fields.csv: per HL7 v2 version, the length, data type,
repetition and usage of every field of the segments the FHIR -> v2 writer
emits; and components.csv: per version, the length of each component of
the composite data types those fields use.

Source: the Caristix HL7 v2 definitions as published in
joemoceri/hl7tools-dotnet (MIT), src/HL7Tools.Validation/Caristix/LocalData,
commit 530ed4788df22b9d7d77471d90e28ba1fcd33437. Usage:

    generate.py /path/to/hl7tools-dotnet        (writes both files here)

A length of 0 means the version gives no field length (v2.7 and later
moved to conformance lengths per data type component).
"""
import json
import subprocess
import sys

VERSIONS = ["2.3", "2.3.1", "2.4", "2.5", "2.5.1", "2.6", "2.7", "2.7.1", "2.8"]
SEGMENTS = ["MSH", "EVN", "PID", "PD1", "NK1", "PV1", "PV2", "ORC", "OBR", "OBX",
            "NTE", "SPM", "RXA", "RXR", "PRB", "DG1", "AL1", "IAM", "TQ1"]


def show(repo, path):
    try:
        text = subprocess.run(["git", "-C", repo, "show", f"HEAD:{path}"],
                              check=True, capture_output=True).stdout
    except subprocess.CalledProcessError:
        return None
    return json.loads(text.decode("utf-8-sig"))


def main(repo):
    fields = open("fields.csv", "w")
    fields.write("version,segment,field,length,data_type,repeats,usage\n")
    types = set()
    for v in VERSIONS:
        tag = v.replace(".", "")
        for s in SEGMENTS:
            path = f"src/HL7Tools.Validation/Caristix/LocalData/{v}/Segments/V{tag}Segment{s}.json"
            try:
                text = subprocess.run(["git", "-C", repo, "show", f"HEAD:{path}"],
                                      check=True, capture_output=True).stdout
            except subprocess.CalledProcessError:
                continue  # the segment does not exist in this version (SPM, IAM before 2.5)
            seg = json.loads(text.decode("utf-8-sig"))
            for f in seg["fields"]:
                seq = int(f["position"].split(".")[1])
                rpt = "Y" if f["rpt"] not in ("1", "") else "N"
                dt = f["dataType"].upper()
                types.add((v, dt))
                fields.write(f"{v},{s},{seq},{f['length'] or 0},{dt},{rpt},{f['usage'] or ''}\n")
    comps = open("components.csv", "w")
    comps.write("version,data_type,component,length,component_type\n")
    for v, dt in sorted(types):
        tag = v.replace(".", "")
        d = show(repo, f"src/HL7Tools.Validation/Caristix/LocalData/{v}/DataTypes/V{tag}DataType{dt}.json")
        for c in (d or {}).get("fields") or []:
            n = int(c["position"].split(".")[1])
            if c.get("length"):
                comps.write(f"{v},{dt},{n},{c['length']},{(c['dataType'] or '').upper()}\n")


if __name__ == "__main__":
    main(sys.argv[1])
