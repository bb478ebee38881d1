"""Print one closing line over the JUnit reports of every backend run.

Exits non-zero when a report is missing, a test failed, or nothing ran, so
`make test` can never pass on an empty run.
"""
import sys
import xml.etree.ElementTree as ET


def main(paths):
    totals = {'passed': 0, 'failed': 0, 'skipped': 0}
    scenarios = 0
    for path in paths:
        try:
            root = ET.parse(path).getroot()
        except (OSError, ET.ParseError) as exc:
            print(f"missing or broken report {path}: {exc}")
            return 1
        suites = [root] if root.tag == 'testsuite' else root.iter('testsuite')
        for suite in suites:
            counts = {'passed': 0, 'failed': 0, 'skipped': 0}
            for case in suite.iter('testcase'):
                if case.find('failure') is not None or case.find('error') is not None:
                    counts['failed'] += 1
                elif case.find('skipped') is not None:
                    counts['skipped'] += 1
                else:
                    counts['passed'] += 1
                if case.get('name', '').startswith('scenario_'):
                    scenarios += 1
            print(f"{suite.get('name')}: {counts['passed']} passed, "
                f"{counts['failed']} failed, {counts['skipped']} skipped")
            for key in totals:
                totals[key] += counts[key]
    print(f"scenarios run: {scenarios}")
    print(f"total: {totals['passed']} passed, {totals['failed']} failed, "
        f"{totals['skipped']} skipped")
    if totals['failed'] or not totals['passed']:
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
