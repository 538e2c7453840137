"""bench/torch_step.py's command line: the options its docstring and
docs/performance.md name exist, and a bad --shapes is a usage error (exit 2,
a line naming the value), not a traceback. Only the parsing runs: an error
exits before any measuring, and --help before any tensor is made."""
import os
import subprocess
import sys
import unittest

import harness

SCRIPT = os.path.normpath(os.path.join(harness.HERE, "..", "..", "bench", "torch_step.py"))


def run(*args):
    return subprocess.run([sys.executable, SCRIPT, *args], capture_output=True, text=True,
                          env=dict(os.environ, PYTHONDONTWRITEBYTECODE="1"), timeout=120)


class CommandLine(unittest.TestCase):
    def test_documented_flags_exist(self):
        r = run("--help")
        self.assertEqual(r.returncode, 0, r.stderr)
        for flag in ("--precision", "--no-precision", "--shapes", "--json"):
            self.assertIn(flag, r.stdout)
        with open(SCRIPT) as f:
            doc = f.read().split('"""')[1]
        self.assertIn("--precision", doc)
        self.assertIn("--no-precision", doc)

    def test_bad_shapes_is_a_usage_error(self):
        for args in (["--precision", "--shapes", "gpt2,,foo"],
                     ["--no-precision", "--shapes", ","]):
            r = run(*args)
            self.assertEqual(r.returncode, 2, args)
            self.assertNotIn("Traceback", r.stderr)
            self.assertNotIn("unrecognized arguments", r.stderr)
            self.assertIn("error: --shapes", r.stderr, args)


if __name__ == "__main__":
    harness.main()
