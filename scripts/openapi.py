"""Compiles docs/openapi.yaml (the contract, edited by hand) into the Swift source that
serves it at GET /openapi.json: Sources/UnfoldService/Routes/OpenAPIDocument.swift.

Usage: python scripts/openapi.py [--check]   (`make openapi`; needs PyYAML)
--check exits 1 when the Swift file is not what the YAML compiles to (make test runs it).
"""
import json
import sys

import yaml

SOURCE = "docs/openapi.yaml"
TARGET = "Sources/UnfoldService/Routes/OpenAPIDocument.swift"


def compile_document():
    with open(SOURCE, encoding="utf-8") as f:
        document = yaml.safe_load(f)
    text = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert '"""##' not in text
    return (
        "// Generated from docs/openapi.yaml by scripts/openapi.py (`make openapi`); do not edit.\n"
        "// `make test` fails when this file and the YAML disagree.\n\n"
        "/// The OpenAPI document served at `GET /openapi.json`.\n"
        "enum OpenAPIDocument {\n"
        '    static let json = ##"""\n' + text + '\n"""##\n'
        "}\n"
    )


if __name__ == "__main__":
    compiled = compile_document()
    if "--check" in sys.argv:
        with open(TARGET, encoding="utf-8") as f:
            if f.read() != compiled:
                print(f"{TARGET} is stale: run `make openapi` after editing {SOURCE}")
                sys.exit(1)
        print(f"{TARGET} matches {SOURCE}")
    else:
        with open(TARGET, "w", encoding="utf-8") as f:
            f.write(compiled)
        print(f"wrote {TARGET}")
