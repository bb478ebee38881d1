# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
"""The placeholders of the billing email texts, without a database."""
import os
import re
import unittest

from hypothesis import example, given, settings
from hypothesis import strategies as st

from cloud_billing import placeholder
from cloud_billing.placeholder import PLACEHOLDERS, PlaceholderError

EXPLOIT = ("${'{0.__init__.__globals__[config].os.environ[NAME]}'"
    ".format(user)}")
VALUES = {name: f'<{name}>' for name in PLACEHOLDERS}


class RecordingValues(dict):
    "The values, remembering which names were looked up"

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.looked_up = []

    def __getitem__(self, name):
        self.looked_up.append(name)
        return super().__getitem__(name)


class RenderTestCase(unittest.TestCase):

    def test_render(self):
        for text, expected in [
                ('', ''),
                (None, ''),
                ('No placeholder, 100% plain: $5 & <b>',
                    'No placeholder, 100% plain: $5 & <b>'),
                ('Dear {customer},', 'Dear <customer>,'),
                ('{overdue_amount}{amount_to_pay}',
                    '<overdue_amount><amount_to_pay>'),
                ('Due {oldest_due_date}\n\nbefore {shelve_date}.',
                    'Due <oldest_due_date>\n\nbefore <shelve_date>.'),
                ('{company}{company}', '<company><company>'),
                ('US$ {amount_to_pay}', 'US$ <amount_to_pay>'),
                ('$customer', '$customer'),
                ('#if x', '#if x'),
                ('%(customer)s', '%(customer)s'),
                ('é 💶 \t', 'é 💶 \t'),
                ]:
            with self.subTest(text=text):
                self.assertEqual(
                    placeholder.render(text, VALUES), expected)

    def test_check(self):
        for text, expected in [
                ('', set()),
                ('Hello', set()),
                ('{customer} {customer} {date}', {'customer', 'date'}),
                ]:
            with self.subTest(text=text):
                self.assertEqual(placeholder.check(text), expected)

    def test_refused(self):
        for text, reason, position, excerpt in [
                (EXPLOIT, 'expression', 1,
                    "${'{0.__init__.__globals__[config].os.e…"),
                ('{0.__class__}', 'syntax', 1, '{0.__class__}'),
                ('{amount.__init__}', 'syntax', 1, '{amount.__init__}'),
                ('Pay {overdue_amount.__class__}', 'syntax', 5,
                    '{overdue_amount.__class__}'),
                ('{customer[0]}', 'syntax', 1, '{customer[0]}'),
                ('{customer!r}', 'syntax', 1, '{customer!r}'),
                ('{customer:>99999999}', 'syntax', 1,
                    '{customer:>99999999}'),
                ('{0}', 'syntax', 1, '{0}'),
                ('{}', 'syntax', 1, '{}'),
                ('{ customer }', 'syntax', 1, '{ customer }'),
                ('{Customer}', 'syntax', 1, '{Customer}'),
                ('${customer}', 'expression', 1, '${customer}'),
                ('Pay ${overdue_amount}', 'expression', 5,
                    '${overdue_amount}'),
                ('$ {', 'syntax', 3, '{'),
                ('${', 'expression', 1, '${'),
                ('{% if True %}x{% end %}', 'syntax', 1, '{% if True %}'),
                ('{{customer}}', 'syntax', 1, '{{customer}}'),
                ('{{', 'syntax', 1, '{{'),
                ('}}', 'syntax', 1, '}}'),
                ('a } b\nc', 'syntax', 3, '} b'),
                ('{ is a brace, a long line', 'syntax', 1, '{ is a brace'),
                ('{customer', 'syntax', 1, '{customer'),
                ('{customer}}', 'syntax', 11, '}'),
                ('{user}', 'unknown', 1, '{user}'),
                ('{raw}', 'unknown', 1, '{raw}'),
                ('Dear {customer}, {record}', 'unknown', 18, '{record}'),
                ('{__import__}', 'unknown', 1, '{__import__}'),
                ]:
            with self.subTest(text=text):
                with self.assertRaises(PlaceholderError) as cm:
                    placeholder.render(text, VALUES)
                error = cm.exception
                self.assertEqual(
                    (error.reason, error.position, error.excerpt),
                    (reason, position, excerpt))
                if reason == 'unknown':
                    self.assertEqual(error.name, excerpt.strip('{}'))
                else:
                    self.assertIsNone(error.name)
                with self.assertRaises(PlaceholderError):
                    placeholder.check(text)

    def test_check_other_names(self):
        self.assertEqual(placeholder.check('{a}', names=['a']), {'a'})
        with self.assertRaises(PlaceholderError):
            placeholder.check('{customer}', names=['a'])

    def test_values_inserted_verbatim(self):
        "A value is never read as a text again"
        values = dict(VALUES, customer='{company} ${1+1} {0.__class__}',
            company='Cloud')
        self.assertEqual(
            placeholder.render('Dear {customer} of {company}', values),
            'Dear {company} ${1+1} {0.__class__} of Cloud')

    def test_values_must_be_strings(self):
        "Nothing formats an object: no __format__, __str__ or attribute"
        class Hostile:
            def __format__(self, spec):
                raise AssertionError("formatted")

            def __str__(self):
                raise AssertionError("converted")

            def __getattr__(self, name):
                raise AssertionError("attribute")
        for value in [Hostile(), 1, None, b'x']:
            with self.subTest(value=value):
                with self.assertRaises(TypeError):
                    placeholder.render('{customer}', {'customer': value})
        # A value that is not used is not touched.
        self.assertEqual(
            placeholder.render('x', {'customer': Hostile()}), 'x')

    def test_environment_not_reachable(self):
        "The exploit of issue 11 renders nothing of the environment"
        os.environ['PLACEHOLDER_TEST_SECRET'] = 'sekret-value'
        try:
            for text in [EXPLOIT.replace('NAME', 'PLACEHOLDER_TEST_SECRET'),
                    '{0.__init__.__globals__[os].environ'
                    '[PLACEHOLDER_TEST_SECRET]}',
                    '{customer.__init__.__globals__}']:
                with self.subTest(text=text):
                    with self.assertRaises(PlaceholderError) as cm:
                        placeholder.render(text, VALUES)
                    self.assertNotIn('sekret-value', str(cm.exception))
        finally:
            del os.environ['PLACEHOLDER_TEST_SECRET']


# Fragments a hostile or careless text is made of.
FRAGMENTS = st.one_of(
    st.sampled_from([
            '{', '}', '{{', '}}', '${', '$', '%', '{%', '%}', '.', '[', ']',
            '(', ')', '!r', ':', '>10', '__class__', '__init__',
            '__globals__', 'os', 'environ', 'config', 'user', 'record',
            '0', "'", '"', '\n', '\n\n', ' ', 'format', 'eval',
            ]),
    st.sampled_from(PLACEHOLDERS).map(lambda n: '{%s}' % n),
    st.sampled_from(PLACEHOLDERS),
    st.text(max_size=8),
    )
TEXTS = st.one_of(
    st.lists(FRAGMENTS, max_size=30).map(''.join),
    st.text(alphabet='{}$%.[]()_ab0!:', max_size=30),
    st.text(max_size=60),
    )
_REFERENCE = re.compile(r'\{(%s)\}' % '|'.join(PLACEHOLDERS))


class RenderPropertyTestCase(unittest.TestCase):

    @settings(max_examples=500, deadline=None)
    @given(TEXTS)
    @example(EXPLOIT)
    @example('{amount.__init__}')
    @example('{0.__class__}')
    def test_render_or_refuse(self, text):
        """A text renders by replacing names with values, or is refused.

        Only the names between braces are looked up; nothing else is
        evaluated: the result is the text with the placeholders replaced,
        character for character.
        """
        values = RecordingValues(VALUES)
        try:
            result = placeholder.render(text, values)
        except PlaceholderError as error:
            self.assertTrue('{' in text or '}' in text)
            self.assertIn(error.reason, {'expression', 'syntax', 'unknown'})
            self.assertTrue(1 <= error.position <= len(text))
            self.assertIn(error.excerpt[:1], '{}$')
            with self.assertRaises(PlaceholderError):
                placeholder.check(text)
            return
        used = _REFERENCE.findall(text)
        self.assertEqual(values.looked_up, used)
        self.assertEqual(placeholder.check(text), set(used))
        self.assertNotIn('${', text)
        # Without its placeholders the text has no brace left.
        self.assertFalse({'{', '}'} & set(_REFERENCE.sub('', text)))
        self.assertEqual(
            result, _REFERENCE.sub(lambda m: VALUES[m.group(1)], text))

    @settings(max_examples=200, deadline=None)
    @given(st.text(max_size=60).filter(lambda t: not {'{', '}'} & set(t)))
    def test_text_without_braces(self, text):
        "A text without braces is accepted and rendered as it is"
        self.assertEqual(placeholder.render(text, VALUES), text)

    @settings(max_examples=200, deadline=None)
    @given(st.fixed_dictionaries({name: TEXTS for name in PLACEHOLDERS}),
        st.lists(st.sampled_from(PLACEHOLDERS), max_size=5))
    def test_values_verbatim(self, values, names):
        "Whatever the values hold, they come out as they went in"
        text = '|'.join('{%s}' % n for n in names)
        self.assertEqual(
            placeholder.render(text, values),
            '|'.join(values[n] for n in names))
