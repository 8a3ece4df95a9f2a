#!/usr/bin/env python3
"""Rewrite ARCHITECTURE.md's "Module map" section from the source tree: every module, by crate,
with the first sentence of its own `//!` documentation. tests/docs.rs checks that no module is
missing; run this after adding, moving or renaming one."""
import glob
import os
import re

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")


def first_sentence(doc):
    paragraph = []
    for line in doc:
        if not line or line.startswith("- ") or line.startswith("```"):
            break
        paragraph.append(line)
    text = " ".join(paragraph).strip()
    end = re.search(r"\.(\s|$)", text)
    sentence = text[: end.start() + 1] if end else text
    if sentence.endswith(":"):
        sentence = sentence[:-1] + "."
    if len(sentence) > 220:
        sentence = sentence[:217].rsplit(" ", 1)[0] + "…"
    return sentence.replace("|", "\\|")


def modules(src):
    found = []
    for folder, _, files in os.walk(src):
        for name in files:
            if not name.endswith(".rs"):
                continue
            path = os.path.join(folder, name)
            relative = os.path.relpath(path, src)[:-3]
            if relative in ("lib", "main"):
                continue
            if relative.endswith("/mod"):
                relative = relative[:-4]
            module = relative.replace("/", "::")
            if module == "tests" or module.endswith("::tests"):
                continue
            doc = []
            for line in open(path, encoding="utf-8").read().split("\n"):
                if line.startswith("//!"):
                    doc.append(line[3:].strip())
                elif doc or line.strip():
                    break
            found.append((module, first_sentence(doc)))
    return sorted(found)


def main():
    out = [
        "## Module map",
        "",
        "Every module, by crate, with the first sentence of its own documentation (the module docs say",
        "more). `tests/docs.rs` fails when a module is missing here; `scripts/module-map.py` rewrites",
        "this section from the tree.",
        "",
    ]
    for src in sorted(glob.glob(os.path.join(ROOT, "crates/*/src"))) + [os.path.join(ROOT, "src")]:
        found = modules(src)
        if not found:
            continue
        folder = os.path.relpath(src, ROOT)
        title = "the `covenant` binary (`src/`)" if folder == "src" else f"covenant-{folder.split('/')[1]} (`{folder}/`)"
        out += [f"### {title}", "", "| module | what it holds |", "|---|---|"]
        out += [f"| `{module}` | {summary} |" for module, summary in found]
        out.append("")
    path = os.path.join(ROOT, "ARCHITECTURE.md")
    text = open(path, encoding="utf-8").read()
    start, end = text.index("## Module map"), text.index("## Global invariants")
    open(path, "w", encoding="utf-8").write(text[:start] + "\n".join(out) + "\n" + text[end:])


if __name__ == "__main__":
    main()
