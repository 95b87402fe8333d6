"""JUnit XML: one test suite per dataset, one test case per gate.

CI systems that only understand JUnit still show which gate failed and why; a skipped gate
is reported as skipped with its reason, never as passed.
"""

from __future__ import annotations

from typing import Any
from xml.etree import ElementTree as ET


def render_junit(report: dict[str, Any], **_: Any) -> str:
    gates = report["gates"]
    failures = sum(1 for g in gates if g["status"] == "fail")
    skipped = sum(1 for g in gates if g["status"] in {"skip", "not_run"})
    suites = ET.Element("testsuites", name="kfm-promote", tests=str(len(gates)),
                        failures=str(failures), errors="0", skipped=str(skipped))
    suite = ET.SubElement(
        suites, "testsuite",
        name=f"{report['dataset_slug']} {report['dataset_version_id']}",
        tests=str(len(gates)), failures=str(failures), errors="0", skipped=str(skipped))
    props = ET.SubElement(suite, "properties")
    for key in ("decision", "spec_hash", "dataset_version_id"):
        ET.SubElement(props, "property", name=key, value=str(report[key]))
    for g in gates:
        case = ET.SubElement(suite, "testcase", classname=f"kfm.gate.{g['id']}",
                             name=f"{g['id']} {g['title']}")
        text = "\n".join(
            f"{r['code']}: {r['message']}"
            + (f" ({r['path']}{'#' + r['pointer'] if r['pointer'] else ''})" if r["path"] else "")
            for r in g["reasons"])
        if g["status"] == "fail":
            first = g["reasons"][0] if g["reasons"] else {"code": f"{g['id']}.failed",
                                                          "message": "gate failed"}
            el = ET.SubElement(case, "failure", type=first["code"], message=first["message"])
            el.text = text
        elif g["status"] in {"skip", "not_run"}:
            ET.SubElement(case, "skipped", message=text or g["status"])
    ET.indent(suites)
    body = ET.tostring(suites, encoding="unicode")
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n"
