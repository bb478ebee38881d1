"""pytest plugin for the Tryton modules of this repository.

Plain pytest does not see Tryton's ``scenario_*.rst`` doctests (they are
loaded through unittest's ``load_tests``). This collects each scenario as one
pytest item and runs it as ``trytond.tests.test_tryton.load_doc_tests`` does
(same setUp and tearDown, which drops the test database), with one
difference: expected exceptions are compared with their message.

Tryton runs its scenarios with ``IGNORE_EXCEPTION_DETAIL``, under which
``AccessError: <anything>`` passes whatever the server said. Here the
message of every expected exception is compared (``ELLIPSIS`` still
applies), only the module path of the exception's class is ignored (it moves
between trytond releases), and an expected exception whose message is
nothing but ``...`` is refused before the scenario runs.
"""
import doctest
import re
import sys
import unittest

import pytest

# "trytond.model.modelstorage.AccessError: msg" -> "AccessError: msg"
_EXCEPTION_PATH = re.compile(r'^(?:[A-Za-z_][\w]*\.)+(?=[A-Za-z_]\w*: )')


def _strip_exception_path(text):
    "Without the module path, nor the blank a message with no description ends with"
    return '\n'.join(
        line.rstrip() for line in _EXCEPTION_PATH.sub('', text).split('\n'))


def _exception_lint(path):
    "The expected exceptions of a scenario that hide their message"
    parser = doctest.DocTestParser()
    test = parser.get_doctest(
        path.read_text(encoding='utf-8'), {}, path.name, str(path), 0)
    problems = []
    for example in test.examples:
        if example.exc_msg is None:
            continue
        message = _strip_exception_path(example.exc_msg).split(':', 1)
        if len(message) < 2 or not message[1].strip(' .-\n'):
            problems.append(
                f"{path.name}:{example.lineno + 1}: the expected exception "
                f"{example.exc_msg.strip()!r} does not say its message")
    return problems


def pytest_collect_file(file_path, parent):
    if (file_path.suffix == '.rst'
            and file_path.name.startswith('scenario_')
            and file_path.parent.name == 'tests'):
        return ScenarioFile.from_parent(parent, path=file_path)


class ScenarioFailure(Exception):
    pass


class ScenarioFile(pytest.File):
    def collect(self):
        yield ScenarioItem.from_parent(self, name=self.path.name)


def _back_to_real_date():
    "A scenario that stopped inside travel() leaves no date to the next"
    clock = sys.modules.get('subscription_core.ir')
    if clock is not None:
        clock._travelled_to = None


class MessageChecker(doctest.OutputChecker):
    """Tryton's checker, comparing exceptions without their module path

    doctest hands the exception line to ``check_output`` as it hands the
    output, so the path is stripped from both sides of every comparison.
    """

    def __init__(self, checker):
        self.checker = checker

    def check_output(self, want, got, optionflags):
        if self.checker.check_output(want, got, optionflags):
            return True
        return self.checker.check_output(
            _strip_exception_path(want), _strip_exception_path(got),
            optionflags)

    def output_difference(self, example, got, optionflags):
        return self.checker.output_difference(example, got, optionflags)


class ScenarioItem(pytest.Item):
    def runtest(self):
        from trytond import backend
        from trytond.tests.test_tryton import (
            STRIP_DECIMAL, doctest_checker, doctest_setup, doctest_teardown)
        problems = _exception_lint(self.path)
        if problems:
            raise ScenarioFailure('\n'.join(problems))
        optionflags = (
            doctest.REPORT_ONLY_FIRST_FAILURE
            | doctest.ELLIPSIS)
        if backend.name == 'sqlite':
            optionflags |= STRIP_DECIMAL
        suite = doctest.DocFileSuite(
            str(self.path), module_relative=False,
            setUp=doctest_setup, tearDown=doctest_teardown,
            encoding='utf-8', checker=MessageChecker(doctest_checker),
            optionflags=optionflags)
        result = unittest.TestResult()
        try:
            suite.run(result)
        finally:
            _back_to_real_date()
        problems = result.failures + result.errors
        if problems:
            raise ScenarioFailure('\n'.join(text for _, text in problems))
        if not result.testsRun:
            raise ScenarioFailure(f"{self.path} ran no example")

    def repr_failure(self, excinfo):
        if isinstance(excinfo.value, ScenarioFailure):
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self):
        return self.path, 0, f"scenario {self.name}"
