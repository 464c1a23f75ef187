"""Regenerate the Python gRPC code from the .proto contracts in protos/.

Usage (from anywhere): ``python -m ops.protos``

protoc runs from the repository root with ``-I .`` so that generated imports read
``from protos.user.v1 import user_pb2``; the generated modules are written beside
their .proto files. Typed stubs for both the message and the gRPC modules come from
mypy-protobuf (``--mypy_out`` / ``--mypy_grpc_out``); grpc_tools' own ``--pyi_out``
does not cover ``_pb2_grpc``. Output depends only on the .proto files and the pinned
tool versions, so it is byte-identical across runs; tests/test_protos.py relies on that.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from importlib.resources import files
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROTO_DIR = ROOT / "protos"

# Every file protoc + plugins emit for one foo.proto: foo_pb2.py, foo_pb2.pyi, ...
GENERATED_SUFFIXES = ("_pb2.py", "_pb2.pyi", "_pb2_grpc.py", "_pb2_grpc.pyi")


def proto_files() -> list[Path]:
    """The .proto sources, relative to the repo root, in a stable order."""
    return sorted(p.relative_to(ROOT) for p in PROTO_DIR.rglob("*.proto"))


def expected_outputs(protos: list[Path]) -> list[Path]:
    """Generated file paths (relative to the output root) for the given sources."""
    return sorted(p.with_name(p.stem + suffix) for p in protos for suffix in GENERATED_SUFFIXES)


def existing_outputs(root: Path) -> list[Path]:
    """Generated files currently present under root/protos, relative to root."""
    found = {
        p.relative_to(root)
        for suffix in GENERATED_SUFFIXES
        for p in (root / "protos").rglob(f"*{suffix}")
        if p.is_file()
    }
    return sorted(found)


def _plugin(name: str) -> str:
    # Prefer the plugin installed next to this interpreter (the venv), then PATH.
    candidate = Path(sys.executable).parent / name
    if candidate.is_file():
        return str(candidate)
    found = shutil.which(name)
    if found is None:
        raise RuntimeError(f"{name} not found; install mypy-protobuf in this environment")
    return found


def generate(out_dir: Path) -> list[Path]:
    """Generate code for every .proto under protos/ into out_dir, mirroring the tree.

    out_dir plays the role of the repo root: protos/user/v1/user.proto yields
    out_dir/protos/user/v1/user_pb2.py etc. Pass ROOT to regenerate in place.
    Returns the generated files (absolute paths), sorted.
    """
    out_dir = Path(out_dir).resolve()
    protos = proto_files()
    if not protos:
        raise RuntimeError(f"no .proto files under {PROTO_DIR}")
    wkt_include = str(files("grpc_tools") / "_proto")  # google/protobuf/*.proto
    out = str(out_dir)
    cmd = [
        sys.executable,
        "-m",
        "grpc_tools.protoc",
        "-I",
        ".",
        "-I",
        wkt_include,
        f"--plugin=protoc-gen-mypy={_plugin('protoc-gen-mypy')}",
        f"--plugin=protoc-gen-mypy_grpc={_plugin('protoc-gen-mypy_grpc')}",
        f"--python_out={out}",
        f"--grpc_python_out={out}",
        f"--mypy_out={out}",
        f"--mypy_grpc_out={out}",
        *(p.as_posix() for p in protos),
    ]
    out_dir.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"protoc failed ({result.returncode}):\n{result.stderr}")
    generated = [out_dir / rel for rel in expected_outputs(protos)]
    missing = [str(p) for p in generated if not p.is_file()]
    if missing:
        raise RuntimeError(f"protoc did not produce: {', '.join(missing)}")
    return generated


def main() -> int:
    generated = generate(ROOT)
    # Drop generated files whose .proto no longer exists, so the tree matches a fresh run.
    wanted = {p.relative_to(ROOT) for p in generated}
    for orphan in existing_outputs(ROOT):
        if orphan not in wanted:
            (ROOT / orphan).unlink()
            print(f"removed {orphan}")
    for path in generated:
        print(f"generated {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
