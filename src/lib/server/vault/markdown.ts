import { Marked } from 'marked';
import sanitizeHtml from 'sanitize-html';

const escapeText = (text: string) =>
	text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

// Raw HTML in a memo is shown as text, never passed through: the sanitiser below is the
// second line, not the only one.
const marked = new Marked({
	gfm: true,
	breaks: false,
	async: false,
	renderer: {
		html({ text }) {
			return escapeText(text);
		},
		// No image is loaded (see renderMarkdown): its description and address, as plain text.
		image({ href, text }) {
			return escapeText(text ? `[${text}: ${href}]` : `[${href}]`);
		}
	}
});

const ALLOWED_TAGS = [
	'h1',
	'h2',
	'h3',
	'h4',
	'h5',
	'h6',
	'p',
	'br',
	'hr',
	'blockquote',
	'ul',
	'ol',
	'li',
	'strong',
	'em',
	'del',
	'code',
	'pre',
	'a',
	'table',
	'thead',
	'tbody',
	'tr',
	'th',
	'td',
	'input'
];

/**
 * Memo Markdown to HTML that is safe to insert: no script, no iframe, no event handlers, no
 * inline styles, links only to http(s), mailto and in-page anchors, and no images at all (a
 * remote image would tell a third party who read the memo and when).
 */
export function renderMarkdown(markdown: string): string {
	const html = marked.parse(markdown) as string;
	return sanitizeHtml(html, {
		allowedTags: ALLOWED_TAGS,
		allowedAttributes: {
			a: ['href', 'title', 'rel', 'target'],
			th: ['align'],
			td: ['align'],
			input: ['type', 'checked', 'disabled'],
			ol: ['start']
		},
		allowedSchemes: ['http', 'https', 'mailto'],
		allowedSchemesAppliedToAttributes: ['href'],
		allowProtocolRelative: false,
		disallowedTagsMode: 'escape',
		transformTags: {
			a: (tagName, attribs) => ({
				tagName,
				attribs: { ...attribs, rel: 'noopener noreferrer nofollow', target: '_blank' }
			}),
			input: (tagName, attribs) =>
				attribs.type === 'checkbox'
					? { tagName, attribs: { ...attribs, disabled: 'disabled' } }
					: { tagName: 'span', attribs: {} }
		}
	});
}
