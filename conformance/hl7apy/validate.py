#!/usr/bin/env python3
"""Validates HL7 v2 ER7 messages with hl7apy (PyPI `hl7apy`), a parser
independent of ours, in STRICT validation mode for each message's own
version (MSH-12): message structure and groups, required segments and
fields, data types, cardinalities.

Usage: validate.py FILE...   (one message per file, segments ended by CR)

Prints one JSON line per file: {"file", "version", "ok", "error"}. Exits 0
when every file is valid, 1 when any is not, 3 when hl7apy is missing
(the Rust test that runs this fails loudly on that).
"""
import json
import sys

try:
    from hl7apy.consts import VALIDATION_LEVEL
    from hl7apy.parser import parse_message
except ImportError:  # pragma: no cover - the caller reports it
    print("hl7apy is not installed: pip install hl7apy", file=sys.stderr)
    sys.exit(3)

# hl7apy ships these versions; 2.7.1 is not among them
SUPPORTED = {"2.3", "2.3.1", "2.4", "2.5", "2.5.1", "2.6", "2.7", "2.8", "2.8.1", "2.8.2"}


def charset(raw):
    msh = raw.split(b"\r", 1)[0]
    fields = msh.split(msh[3:4])
    name = fields[17].decode("ascii", "replace") if len(fields) > 17 else ""
    if name.startswith("8859/1"):
        return "latin-1"
    if name.startswith("8859/15"):
        return "iso8859-15"
    return "utf-8"


# Before v2.4 MSH-9 has no structure component and hl7apy looks the
# structure up by type^event; these events share another event's structure
# in the standard's tables (v2.3 chapter 3: A04, A08 and A31 have the A01
# segment pattern), so they are validated against it.
SHARED_STRUCTURE = {"ADT^A04": "ADT^A01", "ADT^A08": "ADT^A01", "ADT^A31": "ADT^A01"}


def with_structure(text, msh, version):
    if version not in ("2.3", "2.3.1"):
        return text
    kind = msh[8].split("^")
    if len(kind) > 2:
        return text
    shared = SHARED_STRUCTURE.get("^".join(kind[:2]))
    if shared is None:
        return text
    msh = list(msh)
    msh[8] = shared
    first, sep, rest = text.partition("\r")
    return text[3].join(msh) + sep + rest


def check(path):
    raw = open(path, "rb").read().rstrip(b"\n")
    text = raw.decode(charset(raw))
    msh = text.split("\r", 1)[0].split(text[3])
    version = msh[11] if len(msh) > 11 else ""
    text = with_structure(text, msh, version)
    if version not in SUPPORTED:
        return {"file": path, "version": version, "ok": False,
                "error": f"hl7apy has no definitions for version {version}"}
    try:
        msg = parse_message(text, validation_level=VALIDATION_LEVEL.STRICT, find_groups=True)
        msg.validate()
    except Exception as e:  # hl7apy raises many kinds; all are a failed validation
        return {"file": path, "version": version, "ok": False,
                "error": f"{type(e).__name__}: {e}"}
    return {"file": path, "version": version, "ok": True, "error": None}


def main(paths):
    bad = 0
    for p in paths:
        r = check(p)
        bad += not r["ok"]
        print(json.dumps(r))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
