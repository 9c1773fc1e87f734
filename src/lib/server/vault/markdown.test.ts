import { describe, expect, it } from 'vitest';
import { renderMarkdown } from './markdown';

describe('renderMarkdown', () => {
	it('renders ordinary Markdown', () => {
		const html = renderMarkdown(
			'# 宇宙\n\n**bold** and [a link](https://jiss.example/x)\n\n- one\n- two'
		);
		expect(html).toContain('<h1>宇宙</h1>');
		expect(html).toContain('<strong>bold</strong>');
		expect(html).toContain('href="https://jiss.example/x"');
		expect(html).toContain('rel="noopener noreferrer nofollow"');
		expect(html).toContain('<li>one</li>');
	});

	it.each([
		['script', '<script>alert(1)</script>'],
		['iframe', '<iframe src="https://evil.example"></iframe>'],
		['event handler', '<img src=x onerror="alert(1)">'],
		['inline event in markup', '<p onclick="alert(1)">hi</p>'],
		['svg', '<svg onload="alert(1)"></svg>'],
		['style', '<style>body{display:none}</style>']
	])('never passes raw HTML through (%s)', (_label, markdown) => {
		const html = renderMarkdown(markdown);
		expect(html).not.toMatch(/<(script|iframe|img|svg|style)\b/i);
		expect(html).not.toMatch(/<[^>]*\son\w+\s*=/i);
		// Shown as text instead, so a reader sees what the author typed.
		expect(html).toContain('&lt;');
	});

	it.each([
		'[click](javascript:alert(1))',
		'[click](JaVaScRiPt:alert(1))',
		'[click](  javascript:alert(1))',
		'[click](data:text/html;base64,PHNjcmlwdD4=)',
		'[click](vbscript:msgbox)',
		'<a href="javascript:alert(1)">x</a>'
	])('drops dangerous link targets: %s', (markdown) => {
		const html = renderMarkdown(markdown);
		expect(html).not.toMatch(/<a[^>]*href="\s*(javascript|data|vbscript):/i);
	});

	it('shows no images, remote or otherwise: their description and address as text', () => {
		const html = renderMarkdown('![tracker](https://evil.example/pixel.png)');
		expect(html).not.toContain('<img');
		expect(html).not.toContain('src=');
		expect(html).not.toContain('&lt;img');
		expect(html).toBe('<p>[tracker: https://evil.example/pixel.png]</p>\n');
		expect(renderMarkdown('![<b>x</b>](https://a.example/"onload=)')).not.toMatch(
			/<b>|<[^>]*onload/
		);
	});
});
