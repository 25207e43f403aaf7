"""List the tests a JUnit XML report says were skipped, with their reasons (CI's last words)."""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET


def main(path: str) -> None:
    skipped = []
    for case in ET.parse(path).getroot().iter("testcase"):
        for mark in case.findall("skipped"):
            name = f"{case.get('classname')}::{case.get('name')}"
            skipped.append(f"{name}: {mark.get('message') or mark.text or ''}".strip())
    if not skipped:
        print("skipped tests: none")
        return
    print(f"skipped tests: {len(skipped)}")
    for line in skipped:
        print(f"  {line}")


if __name__ == "__main__":
    main(sys.argv[1])
