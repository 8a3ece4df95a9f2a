"""An independent verifier of Covenant logs, written from docs/SPEC.md alone."""
