"""`make vendor-check`: generated/openapi.json judged in the generators vendors use.

OpenAPI Generator (the `openapi-generator-cli` package, which bundles its jar) writes clients for
typescript-fetch, python, php, java and csharp (its default library and RestSharp), and
openapi-typescript writes types; then:

- the TypeScript client compiles under `tsc --strict` and, under node, runs the workflow against
  a sandbox: token, eligibility, Save, Update and Delete of the manual's examples, each read as
  Y, each body sent exactly as the example (tools/vendor/workflow.ts);
- the Python client imports and runs the same workflow (tools/vendor/workflow_client.py);
- `php -l` passes on every PHP file, and each PHP model types its fields as strings or enums;
- the C# and Java sources show none of the failure marks of issue 17: no model beyond the
  document's objects and enums (a wrapper model per blank-able field), no `{baseUrl}` literal,
  every wire name serialized as written;
- the manual's examples, and its replies as printed, typecheck against openapi-typescript's types.

Prints one line per check and a closing `N passed, N failed`; exits 1 when any check failed.
Tools: tools/vendor/requirements.txt (pip) and tools/vendor/package.json (npm), installed by the
make target; `php` from the system (the make target installs Debian's php-cli when missing).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import jsonschema

from codegen.load import load_spec
from codegen.model import Spec, build_model
from codegen.naming import pascal_case
from scforhis.client.replies import decode_body
from scforhis.sandbox.app import SandboxThread
from scforhis.sandbox.settings import SandboxConfig

ROOT = Path(__file__).resolve().parent.parent
VENDOR = ROOT / "tools" / "vendor"
OPENAPI = ROOT / "generated" / "openapi.json"
OUT = ROOT / "build" / "vendor-check"
NODE_BIN = VENDOR / "node_modules" / ".bin"
# Generator, output folder and options; the Python package gets a name of its own.
GENERATORS: dict[str, dict[str, Any]] = {
    "typescript-fetch": {"generatorName": "typescript-fetch"},
    "python": {
        "generatorName": "python",
        "additionalProperties": {"packageName": "scforhis_openapi"},
    },
    "php": {"generatorName": "php"},
    "java": {"generatorName": "java", "library": "native"},
    "csharp": {"generatorName": "csharp"},
    "csharp-restsharp": {"generatorName": "csharp", "library": "restsharp"},
}


class Report:
    """Collects check outcomes and prints each as it comes."""

    def __init__(self) -> None:
        self.passed = 0
        self.failed = 0

    def check(self, what: str, ok: bool, detail: str = "") -> None:
        """Record and print one outcome."""
        if ok:
            self.passed += 1
        else:
            self.failed += 1
        print(f"{'ok  ' if ok else 'FAIL'} {what}{f': {detail}' if detail and not ok else ''}")

    def lines(self, output: str) -> None:
        """Record the `ok`/`FAIL` lines another program printed."""
        for line in output.splitlines():
            if line.startswith("ok  "):
                self.passed += 1
            elif line.startswith("FAIL"):
                self.failed += 1
            print(line)


def run(command: list[str], cwd: Path = ROOT, **options: Any) -> subprocess.CompletedProcess[str]:
    """Run a command, capturing its output as text."""
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False, **options)


def _tail(done: subprocess.CompletedProcess[str]) -> str:
    return (done.stdout + done.stderr).strip()[-2000:]


def generate(report: Report) -> None:
    """Every client in one JVM run (OpenAPI Generator's batch mode)."""
    configs = []
    for name, options in GENERATORS.items():
        config = OUT / f"{name}.json"
        config.write_text(
            json.dumps(
                {**options, "inputSpec": str(OPENAPI), "outputDir": str(OUT / name)}, indent=2
            ),
            encoding="utf-8",
        )
        configs.append(str(config))
    cli = Path(sys.executable).parent / "openapi-generator-cli"
    done = run([str(cli), "batch", "--fail-fast", "--threads", "2", *configs])
    report.check("OpenAPI Generator writes every client", done.returncode == 0, _tail(done))
    types = run(
        [str(NODE_BIN / "openapi-typescript"), str(OPENAPI), "-o", str(OUT / "types" / "api.ts")]
    )
    report.check("openapi-typescript writes the types", types.returncode == 0, _tail(types))


def _inputs(spec: Spec) -> dict[str, Any]:
    """What the workflows send and read, from the spec: never retyped."""
    printed: dict[str, Any] = {}
    for operation in spec.operations:
        for example in operation.examples:
            if example.response_as_printed is not None:
                printed[operation.name] = decode_body(example.response_as_printed)
    names = [f.wire for op in spec.operations for f in op.response.fields]
    return {
        "examples": {op.name: dict(op.examples[0].request) for op in spec.operations},
        "replyNames": list(dict.fromkeys(names)),
        "printedReplies": printed,
    }


def _tsc(report: Report, what: str, project: Path, emit: bool) -> bool:
    options = {
        "compilerOptions": {
            "strict": True,
            "target": "es2022",
            "module": "nodenext",
            "moduleResolution": "nodenext",
            "lib": ["es2022", "dom"],
            "types": ["node"],
            "typeRoots": [str(VENDOR / "node_modules" / "@types")],
            "skipLibCheck": False,
            "noEmit": not emit,
            "outDir": "dist",
        },
        "include": ["**/*.ts"],
        "exclude": ["dist"],
    }
    (project / "tsconfig.json").write_text(json.dumps(options, indent=2), encoding="utf-8")
    done = run([str(NODE_BIN / "tsc"), "-p", "tsconfig.json"], cwd=project)
    report.check(what, done.returncode == 0, _tail(done))
    return done.returncode == 0


def typescript_fetch(report: Report, base_url: str, inputs: Path) -> None:
    """Compile the typescript-fetch client with the workflow under --strict, and run it."""
    project = OUT / "ts-workflow"
    shutil.copytree(OUT / "typescript-fetch", project / "client")
    shutil.copy(VENDOR / "workflow.ts", project / "workflow.ts")
    # CommonJS output, so that node runs the compiled files without import extensions.
    (project / "package.json").write_text('{"type": "commonjs"}\n', encoding="utf-8")
    if not _tsc(
        report, "typescript-fetch client and workflow compile with tsc --strict", project, True
    ):
        return
    done = run(["node", str(project / "dist" / "workflow.js"), base_url, str(inputs)])
    report.lines(done.stdout)
    report.check(
        "typescript-fetch workflow ends cleanly", done.returncode == 0, done.stderr[-2000:]
    )


def python_client(report: Report, base_url: str, inputs: Path) -> None:
    """Import the generated Python client and run the workflow with it."""
    done = run(
        [
            sys.executable,
            str(VENDOR / "workflow_client.py"),
            str(OUT / "python"),
            base_url,
            str(inputs),
        ]
    )
    report.lines(done.stdout)
    report.check("python workflow ends cleanly", done.returncode == 0, done.stderr[-2000:])


def _ts_literal(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2)


def _schema_accepts(operation: str, part: str, document: Any) -> bool:
    path = ROOT / "generated" / "schemas" / f"{operation}.{part}.schema.json"
    schema = json.loads(path.read_text(encoding="utf-8"))
    return bool(jsonschema.Draft202012Validator(schema).is_valid(document))


def typed_examples(report: Report, spec: Spec) -> None:
    """The manual's examples, and its replies as printed, against openapi-typescript's types.

    A request as printed that the JSON Schema refuses (Save's `examyyear` for the required
    `examyear`) must fail to typecheck too: `@ts-expect-error` makes tsc say so if it does not.
    """
    lines = ['import type { components, operations } from "./api";', ""]
    count = 0
    for operation in spec.operations:
        for example in operation.examples:
            requests = [example.request]
            if example.request_as_printed is not None:
                requests.append(example.request_as_printed)
            for request in requests:
                count += 1
                if operation.input == "query":
                    kind = f'operations["{operation.name}"]["parameters"]["query"]'
                else:
                    kind = f'components["schemas"]["{operation.name}Request"]'
                if not _schema_accepts(operation.name, "request", request):
                    lines.append("// @ts-expect-error: the JSON Schema refuses it too (erratum)")
                lines.append(f"export const request{count}: {kind} = {_ts_literal(request)};")
            replies = [example.response]
            if example.response_as_printed is not None:
                replies.append(decode_body(example.response_as_printed))
            for reply in replies:
                if reply is None:
                    continue
                count += 1
                kind = f'components["schemas"]["{operation.name}Response"]'
                lines.append(f"export const reply{count}: {kind} = {_ts_literal(reply)};")
    project = OUT / "types"
    (project / "examples.ts").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (project / "package.json").write_text('{"type": "commonjs"}\n', encoding="utf-8")
    _tsc(report, f"the manual's {count} examples and replies as printed typecheck", project, False)


def php_lint(report: Report) -> None:
    """`php -l` on every PHP file, and the models' field types."""
    php = shutil.which("php")
    report.check("php is installed (make vendor-check installs Debian's php-cli)", php is not None)
    if php is None:
        return
    files = sorted((OUT / "php").rglob("*.php"))
    bad = [str(f) for f in files if run([php, "-l", str(f)]).returncode != 0]
    report.check(f"php -l passes on {len(files)} files", bool(files) and not bad, ", ".join(bad))


def _model_files(folder: Path, suffix: str) -> dict[str, Path]:
    return {p.stem: p for p in folder.rglob(f"*{suffix}") if "/model/" in str(p).lower()}


def failure_marks(report: Report, spec: Spec, document: dict[str, Any]) -> None:
    """C#, Java and PHP sources: no wrapper models, no `{baseUrl}`, wire names as written."""
    schemas = document["components"]["schemas"]
    expected = {
        pascal_case(name)
        for name, schema in schemas.items()
        if schema.get("type") == "object" or "enum" in schema
    }
    bodies = {f"{op.name}Request": op for op in spec.operations if op.input != "query"}
    languages = {"csharp": ".cs", "csharp-restsharp": ".cs", "java": ".java", "php": ".php"}
    for language, suffix in languages.items():
        folder = OUT / language
        models = {
            stem
            for stem in _model_files(folder, suffix)
            if not stem.endswith("Test") and not stem.endswith("Tests")
        }
        models -= {"AbstractOpenAPISchema", "AbstractOpenApiSchema", "ModelInterface"}
        report.check(
            f"{language}: one model per object or enum of the document, no wrappers",
            models == expected,
            f"extra {sorted(models - expected)}, missing {sorted(expected - models)}",
        )
        literal = [
            str(p.relative_to(folder))
            for p in folder.rglob(f"*{suffix}")
            if "{baseUrl}" in p.read_text(encoding="utf-8", errors="replace")
        ]
        report.check(f"{language}: no {{baseUrl}} literal", not literal, ", ".join(literal))
        for name, operation in bodies.items():
            source = next(
                p for stem, p in _model_files(folder, suffix).items() if stem == name
            ).read_text(encoding="utf-8")
            missing = [
                f.wire
                for f in operation.fields
                if f'"{f.wire}"' not in source and f"'{f.wire}'" not in source
            ]
            report.check(
                f"{language}: {name} serializes every wire name", not missing, str(missing)
            )


def main() -> int:
    """Run every check; 0 when all passed."""
    spec = build_model(load_spec(ROOT / "spec" / "scforhis.yaml"))
    document = json.loads(OPENAPI.read_text(encoding="utf-8"))
    shutil.rmtree(OUT, ignore_errors=True)
    OUT.mkdir(parents=True)
    report = Report()
    generate(report)
    if report.failed:
        print(f"vendor-check: {report.passed} passed, {report.failed} failed")
        return 1
    inputs = OUT / "inputs.json"
    inputs.write_text(json.dumps(_inputs(spec), ensure_ascii=False, indent=2), encoding="utf-8")
    typed_examples(report, spec)
    php_lint(report)
    failure_marks(report, spec, document)
    with (
        tempfile.TemporaryDirectory() as folder,
        SandboxThread(SandboxConfig(), Path(folder) / "sandbox.sqlite3") as sandbox,
    ):
        typescript_fetch(report, sandbox.url, inputs)
        python_client(report, sandbox.url, inputs)
    print(f"vendor-check: {report.passed} passed, {report.failed} failed")
    return 1 if report.failed else 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONDONTWRITEBYTECODE", "1")
    sys.exit(main())
