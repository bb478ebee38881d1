"""The scenario runner compares expected error messages (issue 11, item 7)

Under Tryton's ``IGNORE_EXCEPTION_DETAIL`` any message passed. These run a
tiny doctest through the root conftest's checker and lint: a wrong message
fails, the module path is ignored, and ``...`` alone is refused.
"""
import doctest
import importlib.util
import pathlib
import textwrap

# The root conftest.py, by path: other folders have a conftest too.
_spec = importlib.util.spec_from_file_location(
    'root_conftest', pathlib.Path(__file__).resolve().parents[1] / 'conftest.py')
conftest = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(conftest)

RAISES = '''
    >>> from trytond.model.exceptions import AccessError
    >>> raise AccessError("You may not.", "detail")
    Traceback (most recent call last):
        ...
    {expected}
'''


def run(expected, tmp_path):
    text = textwrap.dedent(RAISES.format(expected=expected))
    path = tmp_path / 'scenario_x.rst'
    path.write_text(text, encoding='utf-8')
    test = doctest.DocTestParser().get_doctest(text, {}, 'x', str(path), 0)
    runner = doctest.DocTestRunner(
        checker=conftest.MessageChecker(doctest.OutputChecker()),
        optionflags=doctest.ELLIPSIS)
    result = runner.run(test, out=lambda s: None)
    return result.failed, conftest._exception_lint(path)


def test_right_message_passes(tmp_path):
    assert run('AccessError: You may not. - detail', tmp_path) == (0, [])


def test_module_path_and_trailing_blank_ignored(tmp_path):
    assert run(
        'trytond.model.exceptions.AccessError: You may not. - detail',
        tmp_path) == (0, [])


def test_wrong_message_fails(tmp_path):
    failed, lint = run('AccessError: You may. - detail', tmp_path)
    assert failed == 1 and lint == []


def test_ellipsis_alone_refused(tmp_path):
    failed, lint = run('AccessError: ...', tmp_path)
    assert len(lint) == 1 and 'does not say its message' in lint[0]


def test_ellipsis_inside_a_message_allowed(tmp_path):
    assert run('AccessError: You may not. - ...', tmp_path) == (0, [])
