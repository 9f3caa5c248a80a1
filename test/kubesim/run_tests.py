#!/usr/bin/env python3
"""Run kubesim's unittest modules and print the `N passed, N failed, N skipped` line.

Exit status: 0 all passed, 1 any failure or error, 77 when every test was skipped.
"""

import os
import sys
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)


def main(argv):
    names = argv or ["test_kubesim", "test_kubectl"]
    suite = unittest.TestSuite()
    loader = unittest.TestLoader()
    for n in names:
        suite.addTests(loader.loadTestsFromName(n))
    runner = unittest.TextTestRunner(stream=sys.stderr, verbosity=2)
    res = runner.run(suite)
    failed = len(res.failures) + len(res.errors) + len(res.unexpectedSuccesses)
    skipped = len(res.skipped)
    passed = res.testsRun - failed - skipped
    sys.stdout.flush()
    print("%d passed, %d failed, %d skipped" % (passed, failed, skipped), flush=True)
    if failed:
        return 1
    if res.testsRun > 0 and skipped == res.testsRun:
        return 77
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
