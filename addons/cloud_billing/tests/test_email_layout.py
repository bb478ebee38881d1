# This file is part of the cloud billing product. See README.md at the top of
# the repository for copyright and license notices.
"""The branded layout of the billing emails, without a database."""
import datetime
import email
import email.policy
import unittest
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from cloud_billing import email_layout as layout

PNG = (b'\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01'
    b'\x08\x06\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xcf'
    b'\xc0\xf0\x1f\x00\x05\x00\x01\xff\x89\x99=\x1d\x00\x00\x00\x00IEND\xaeB'
    b'`\x82')


class ColorTestCase(unittest.TestCase):

    def test_normalize_color(self):
        for value, expected in [
                ('#1F4E79', '#1f4e79'),
                ('#abc', '#aabbcc'),
                (' #000000 ', '#000000'),
                ]:
            with self.subTest(value=value):
                self.assertEqual(layout.normalize_color(value), expected)

    def test_normalize_color_rejects(self):
        for value in [None, '', '1f4e79', '#12345', '#ggg',
                'red', '#fff;background:url(x)', '#ffffff"']:
            with self.subTest(value=value):
                with self.assertRaises(ValueError):
                    layout.normalize_color(value)

    def test_text_color(self):
        for background, expected in [
                ('#ffffff', '#000000'),
                ('#000000', '#ffffff'),
                ('#1f4e79', '#ffffff'),
                ('#ffd700', '#000000'),
                ('#777777', '#000000'),
                ]:
            with self.subTest(background=background):
                self.assertEqual(layout.text_color(background), expected)


class ImageTestCase(unittest.TestCase):

    def test_image_subtype(self):
        for data, expected in [
                (PNG, 'png'),
                (b'\xff\xd8\xff\xe0rest', 'jpeg'),
                (b'GIF89a...', 'gif'),
                (b'GIF87a...', 'gif'),
                (b'<svg xmlns="http://www.w3.org/2000/svg"/>', None),
                (b'', None),
                (None, None),
                ]:
            with self.subTest(data=data[:8] if data else data):
                self.assertEqual(layout.image_subtype(data), expected)


class TextTestCase(unittest.TestCase):

    def test_text_to_html_escapes(self):
        result = layout.text_to_html(
            'Dear <b>O\'Hara & "Sons"</b>,\n<script>alert(1)</script>')
        self.assertNotIn('<b>', result)
        self.assertNotIn('<script>', result)
        self.assertIn('&lt;b&gt;O&#x27;Hara &amp; &quot;Sons&quot;&lt;/b&gt;',
            result)
        self.assertIn('&lt;script&gt;alert(1)&lt;/script&gt;', result)

    def test_text_to_html_paragraphs(self):
        result = layout.text_to_html(
            'Dear Acme,\r\n\r\nline one\nline two\n\n\n  \n\nBye')
        self.assertEqual(result.count('<p '), 3)
        self.assertIn('line one<br/>\nline two', result)
        self.assertNotIn('\r', result)

    def test_render_text(self):
        for body, footer, expected in [
                ('Hello', '', 'Hello\n'),
                ('Hello\n\n', 'Cloud Ltd', 'Hello\n\n-- \nCloud Ltd\n'),
                ('A\n\n\n\nB', 'F\n\n\nG', 'A\n\nB\n\n-- \nF\n\nG\n'),
                ('A\r\nB', None, 'A\nB\n'),
                ]:
            with self.subTest(body=body, footer=footer):
                self.assertEqual(layout.render_text(body, footer), expected)


class HTMLTestCase(unittest.TestCase):

    def test_render_html_layout(self):
        result = layout.render_html(
            'Overdue <1>', 'Pay 1,234.50 € & thanks',
            color='#ABC', footer='Cloud <Ltd>\nIBAN X',
            company='A&B Cloud', logo_cid='<logo.1@example>')
        self.assertIn('<title>Overdue &lt;1&gt;</title>', result)
        self.assertIn('Pay 1,234.50 € &amp; thanks', result)
        self.assertIn('border-bottom:6px solid #aabbcc', result)
        self.assertIn('src="cid:logo.1@example"', result)
        self.assertIn('alt="A&amp;B Cloud"', result)
        self.assertIn('Cloud &lt;Ltd&gt;<br/>\nIBAN X', result)

    def test_render_html_without_logo(self):
        result = layout.render_html('S', 'B', company='A&B Cloud')
        self.assertNotIn('<img', result)
        self.assertIn('>A&amp;B Cloud</td>', result)
        self.assertIn(
            f'background-color:{layout.DEFAULT_COLOR};color:#ffffff', result)
        result = layout.render_html('S', 'B', color='#ffd700', company='C')
        self.assertIn('background-color:#ffd700;color:#000000', result)

    def test_render_html_rejects_bad_color(self):
        with self.assertRaises(ValueError):
            layout.render_html('S', 'B', color='red;x:y')


class MessageTestCase(unittest.TestCase):

    def parse(self, msg):
        return email.message_from_bytes(
            msg.as_bytes(), policy=email.policy.default)

    def test_message_with_logo(self):
        cid = layout.new_cid('example.com')
        html_ = layout.render_html('Subject', 'Body €', logo_cid=cid)
        msg = self.parse(layout.build_message(
                'Subject\n on two lines', 'Body €\n', html_, logo=PNG,
                logo_cid=cid))
        self.assertEqual(msg['Subject'], 'Subject on two lines')
        self.assertEqual(msg.get_content_type(), 'multipart/alternative')
        text, related = msg.get_payload()
        self.assertEqual(text.get_content_type(), 'text/plain')
        self.assertEqual(text.get_content(), 'Body €\n')
        self.assertEqual(related.get_content_type(), 'multipart/related')
        html_part, image = related.get_payload()
        self.assertEqual(html_part.get_content_type(), 'text/html')
        self.assertIn(f'src="cid:{cid}"', html_part.get_content())
        self.assertEqual(image.get_content_type(), 'image/png')
        self.assertEqual(image['Content-ID'], f'<{cid}>')
        self.assertEqual(image.get_content_disposition(), 'inline')
        self.assertEqual(image.get_content(), PNG)
        # The body the client prefers comes last.
        self.assertEqual(
            msg.get_body(('html', 'plain')).get_content_type(), 'text/html')

    def test_message_without_logo(self):
        msg = self.parse(layout.build_message('S', 'T', '<p>H</p>'))
        self.assertEqual(
            [p.get_content_type() for p in msg.iter_parts()],
            ['text/plain', 'text/html'])

    def test_message_rejects_bad_logo(self):
        with self.assertRaises(ValueError):
            layout.build_message('S', 'T', 'H', logo=b'<svg/>', logo_cid='x')
        with self.assertRaises(ValueError):
            layout.build_message('S', 'T', 'H', logo=PNG)


class OverdueSummaryTestCase(unittest.TestCase):

    def test_overdue_summary(self):
        d = datetime.date
        for lines, expected in [
                ([], (Decimal(0), None)),
                ([(Decimal('10.00'), d(2026, 3, 1))],
                    (Decimal('10.00'), d(2026, 3, 1))),
                ([(Decimal('10.00'), d(2026, 3, 1)),
                        (Decimal('5.50'), d(2026, 2, 1)),
                        (Decimal('0.05'), None)],
                    (Decimal('15.55'), d(2026, 2, 1))),
                ([(Decimal('-2.00'), None), (Decimal('2.00'), None)],
                    (Decimal('0.00'), None)),
                ]:
            with self.subTest(lines=lines):
                self.assertEqual(layout.overdue_summary(lines), expected)

    def test_overdue_summary_rejects_float(self):
        with self.assertRaises(TypeError):
            layout.overdue_summary([(10.0, None)])

    @given(st.lists(st.tuples(
                st.decimals(min_value=-10**6, max_value=10**6, places=2),
                st.one_of(st.none(), st.dates()))))
    def test_overdue_summary_property(self, lines):
        total, oldest = layout.overdue_summary(lines)
        self.assertEqual(total, sum((a for a, _ in lines), Decimal(0)))
        self.assertEqual(
            layout.overdue_summary(reversed(lines)), (total, oldest))
        dates = [d for _, d in lines if d is not None]
        self.assertEqual(oldest, min(dates) if dates else None)
