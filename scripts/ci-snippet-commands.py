#!/usr/bin/env python3
"""Runs every `gatewasm ...` command line of the CI snippets in docs/ci/ with the real CLI, so a
snippet cannot drift from it: a renamed flag or subcommand fails here, not in a user's pipeline.

Usage: ci-snippet-commands.py --bin DIR --wasm FILE --manifests PATH --route-tests PATH SNIPPET...

Each snippet's shell (GitHub `run:` steps, GitLab `script:` lists) is read; every line whose
first word is `gatewasm` runs under `bash -eu` in a fresh directory holding the filter as
`gatewasm_filter.wasm` (what the snippet's install step leaves), with DIR first on PATH and
$MANIFESTS and $ROUTE_TESTS pointing at the given examples, until one fails. A snippet passes
when it has at least one `gatewasm compile` and one `gatewasm test`, every line exits 0, and
every file it uploads as an artifact was written. Needs ruamel.yaml (installed with check-jsonschema)."""

import argparse
import os
import pathlib
import subprocess
import sys
import tempfile

from ruamel.yaml import YAML


def shell_texts(doc):
    """The shell scripts of a GitHub workflow (`jobs.*.steps[].run`) or a GitLab pipeline
    (`*.before_script`, `script`, `after_script`)."""
    if "jobs" in doc:
        return [step["run"] for job in doc["jobs"].values() for step in job.get("steps", [])
                if "run" in step]
    texts = []
    for job in doc.values():
        if not isinstance(job, dict):
            continue
        for key in ("before_script", "script", "after_script"):
            lines = job.get(key, [])
            texts.extend([lines] if isinstance(lines, str) else lines)
    return texts


def artifact_paths(doc):
    """What the snippet publishes: actions/upload-artifact `path` lines, GitLab `artifacts.paths`."""
    if "jobs" in doc:
        return [line.strip() for job in doc["jobs"].values() for step in job.get("steps", [])
                if str(step.get("uses", "")).startswith("actions/upload-artifact")
                for line in str(step["with"]["path"]).splitlines() if line.strip()]
    return [path for job in doc.values() if isinstance(job, dict)
            for path in job.get("artifacts", {}).get("paths", [])]


def gatewasm_lines(text):
    """Command lines starting with `gatewasm`, backslash continuations joined."""
    joined = text.replace("\\\n", " ")
    return [line.strip() for line in joined.splitlines() if line.strip().split(" ", 1)[0] == "gatewasm"]


def check(snippet, args):
    doc = YAML(typ="safe").load(pathlib.Path(snippet))
    commands = [line for text in shell_texts(doc) for line in gatewasm_lines(text)]
    problems = [f"no `gatewasm {sub}` command" for sub in ("compile", "test")
                if not any(line.startswith(f"gatewasm {sub} ") for line in commands)]
    env = dict(os.environ, PATH=f"{args.bin.resolve()}{os.pathsep}{os.environ['PATH']}",
               MANIFESTS=str(args.manifests.resolve()), ROUTE_TESTS=str(args.route_tests.resolve()))
    with tempfile.TemporaryDirectory() as work:
        os.symlink(args.wasm.resolve(), pathlib.Path(work, "gatewasm_filter.wasm"))
        for line in commands:
            run = subprocess.run(["bash", "-euc", line], cwd=work, env=env, text=True,
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            if run.returncode != 0:
                # As in the pipeline, a failed step ends the job.
                problems.append(f"`{line}` exited {run.returncode}:\n{run.stdout.rstrip()}")
                break
            print(f"ok   {snippet}: {line}")
        problems += [f"uploads {path}, which no command wrote" for path in artifact_paths(doc)
                     if not pathlib.Path(work, path).is_file()]
    for problem in problems:
        print(f"FAIL {snippet}: {problem}")
    return not problems


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bin", type=pathlib.Path, required=True, help="folder holding gatewasm")
    parser.add_argument("--wasm", type=pathlib.Path, required=True, help="the filter .wasm")
    parser.add_argument("--manifests", type=pathlib.Path, required=True)
    parser.add_argument("--route-tests", type=pathlib.Path, required=True)
    parser.add_argument("snippets", nargs="+")
    args = parser.parse_args()
    results = [check(snippet, args) for snippet in args.snippets]
    sys.exit(0 if all(results) else 1)


if __name__ == "__main__":
    main()
