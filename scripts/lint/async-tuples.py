#!/usr/bin/env python3
"""Fails on `await` inside a tuple literal in Swift sources.

Why: Swift 6.3.1's optimizer (-O/-Osize) miscompiles an async closure that returns a tuple whose first element is
known before a suspension and whose second comes after it, when the closure has more than one return path:
LLVM's dead-store elimination drops the stores of the first element, so the caller reads garbage (crashes in
`swift_retain`, or `TaskGroup.next()` ending early). kate's release sweeper crashed this way in
`OwnerDirectory.fetch` (issue 12). Upstream: swiftlang/swift PR #91911 "Don't split async @out tuple results across
suspensions" (merged 2026-09-02) was reverted by #92155; no released toolchain has the fix. The regression test
`ToolchainRegressionTests` reproduces it under -O: when it reports the known issue as gone, delete this lint.

Rule (simpler than the exact trigger, and so safe by construction): a tuple literal — a parenthesised list with a
top-level comma that is not a call's argument list — must not contain `await`. Await into a local first, then build
the tuple: `let state = try await cluster.workload(ref); return (ref, .success(state))`.

A line with the comment `async-tuples: allow` is exempt (only the reproduction in ToolchainRegressionTests).

Usage: async-tuples.py [DIR ...]   (default: Sources Tests Benchmarks Fuzz). Exit 1 with file:line per finding.
"""
import os
import re
import sys

# A line carrying this marker is exempt: only the regression test that reproduces the miscompile uses it.
ALLOW_MARKER = "async-tuples: allow"
IDENT_TAIL = re.compile(r"[A-Za-z0-9_\)\]\?!>]$")


def strip_comments_and_strings(text: str) -> str:
    """Blank out comments and string literals (keeping newlines) so their parentheses don't count."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i)); i = j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out.append("".join(ch if ch == "\n" else " " for ch in text[i:j])); i = j
        elif text.startswith('"""', i):
            j = text.find('"""', i + 3)
            j = n if j < 0 else j + 3
            out.append("".join(ch if ch == "\n" else " " for ch in text[i:j])); i = j
        elif c == '"':
            j = i + 1
            while j < n and text[j] != '"' and text[j] != "\n":
                j += 2 if text[j] == "\\" else 1
            j = min(j + 1, n)
            out.append(" " * (j - i)); i = j
        else:
            out.append(c); i += 1
    return "".join(out)


def findings(path: str):
    with open(path, encoding="utf-8") as f:
        source = f.read()
    allowed = {n for n, line in enumerate(source.split("\n"), 1) if ALLOW_MARKER in line}
    text = strip_comments_and_strings(source)
    stack = []  # (offset of "(", is_tuple_candidate, saw_top_level_comma, saw_await)
    for i, c in enumerate(text):
        if c == "(":
            # A call's or declaration's argument list follows an identifier, `)`, `]`, `?`, `!` or `>`.
            # `return (`, `in (`, `await (` etc. are keywords followed by an expression, so they start tuples.
            j = i - 1
            while j >= 0 and text[j] in " \t\r\n":
                j -= 1
            k = j
            while k >= 0 and (text[k].isalnum() or text[k] == "_"):
                k -= 1
            last_word = text[k + 1:j + 1]
            keyword = last_word in {"return", "in", "await", "try", "throw", "case", "yield"}
            candidate = keyword or j < 0 or not IDENT_TAIL.search(text[j])
            stack.append([i, candidate, False, False])
        elif c == ")" and stack:
            start, candidate, comma, saw_await = stack.pop()
            line = text.count("\n", 0, start) + 1
            if candidate and comma and saw_await and line not in allowed:
                yield line
            if stack and saw_await:
                stack[-1][3] = True
        elif c == "," and stack:
            stack[-1][2] = True
        elif c in "[{" :
            stack.append([i, False, False, False])  # commas inside arrays/closures are not the tuple's
        elif c in "]}" and stack:
            _, _, _, saw_await = stack.pop()
            if stack and saw_await and c == "]":
                stack[-1][3] = True
        elif c == "a" and text.startswith("await", i) and stack:
            prev = text[i - 1] if i else " "
            nxt = text[i + 5] if i + 5 < len(text) else " "
            if not (prev.isalnum() or prev == "_") and not (nxt.isalnum() or nxt == "_"):
                stack[-1][3] = True


def main(argv):
    roots = argv[1:] or ["Sources", "Tests", "Benchmarks", "Fuzz"]
    bad = []
    for root in roots:
        for dirpath, _, files in os.walk(root):
            for name in sorted(files):
                if name.endswith(".swift"):
                    path = os.path.join(dirpath, name)
                    bad += [f"{path}:{line}" for line in findings(path)]
    for item in bad:
        print(f"{item}: `await` inside a tuple literal; await into a local first (Swift 6.3.1 -O miscompile, "
              "see scripts/lint/async-tuples.py)")
    if bad:
        print(f"async-tuples: {len(bad)} finding(s)")
        return 1
    print("async-tuples: clean")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
