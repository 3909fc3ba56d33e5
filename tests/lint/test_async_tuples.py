"""The async-tuple lint (scripts/lint/async-tuples.py) flags the miscompiled shape and nothing harmless."""
import importlib.util
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
spec = importlib.util.spec_from_file_location("async_tuples", ROOT / "scripts/lint/async-tuples.py")
lint = importlib.util.module_from_spec(spec)
spec.loader.exec_module(lint)


def lines_flagged(tmp_path, source):
    path = tmp_path / "Sample.swift"
    path.write_text(source)
    return list(lint.findings(str(path)))


@pytest.mark.parametrize("source", [
    # The shape that crashed the release sweeper (OwnerDirectory.fetch).
    "let r = await map(refs) { ref in\n  do {\n    return (ref, .success(try await cluster.workload(ref)))\n"
    "  } catch { return (ref, .failure(error)) }\n}\n",
    "group.addTask { (index, await transform(inputs[index])) }\n",
    "pairs.append((client, try await accepted))\n",
    "return (client, try await accepted, port)\n",
    "let x = (a, [await f()])\n",
])
def test_flags_await_inside_a_tuple(tmp_path, source):
    assert lines_flagged(tmp_path, source), source


@pytest.mark.parametrize("source", [
    "let state = try await cluster.workload(ref)\nreturn (ref, .success(state))\n",
    "let ok = (try? await stream.write(bytes, deadline: d)) != nil\n",
    "try await client.send(a, await b())\n",            # a call's arguments are not a tuple
    "let s = \"(a, await b)\"\n",                        # inside a string
    "// return (a, try await b)\n",                      # inside a comment
    "return (a, b)  // await later\n",
    "return (key, .success(try await f(key)))  // async-tuples: allow\n",
])
def test_leaves_other_shapes_alone(tmp_path, source):
    assert not lines_flagged(tmp_path, source), source


def test_repository_is_clean():
    assert lint.main(["async-tuples.py", str(ROOT / "Sources"), str(ROOT / "Tests"), str(ROOT / "Benchmarks")]) == 0
