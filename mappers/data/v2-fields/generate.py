#!/usr/bin/env python3
"""Writes fields.csv: per HL7 v2 version, the length, data type and
repetition of every field of the segments the FHIR -> v2 writer emits.

Source: the Caristix HL7 v2 definitions as published in
joemoceri/hl7tools-dotnet (MIT), src/HL7Tools.Validation/Caristix/LocalData,
commit 530ed4788df22b9d7d77471d90e28ba1fcd33437. Usage:

    generate.py /path/to/hl7tools-dotnet > fields.csv

A length of 0 means the version gives no field length (v2.7 and later
moved to conformance lengths per data type component).
"""
import json
import subprocess
import sys

VERSIONS = ["2.3", "2.3.1", "2.4", "2.5", "2.5.1", "2.6", "2.7", "2.7.1", "2.8"]
SEGMENTS = ["MSH", "EVN", "PID", "PD1", "NK1", "PV1", "PV2", "ORC", "OBR", "OBX",
            "NTE", "SPM", "RXA", "RXR", "PRB", "DG1", "AL1", "IAM", "TQ1"]


def main(repo):
    print("version,segment,field,length,data_type,repeats")
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
                print(f"{v},{s},{seq},{f['length'] or 0},{f['dataType'].upper()},{rpt}")


if __name__ == "__main__":
    main(sys.argv[1])
