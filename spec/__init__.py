"""The spec: YAML data (schemes.yaml, frameworks/*.yaml) and its JSON Schemas; no code."""
