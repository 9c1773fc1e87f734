/**
 * File names come from the uploader's machine and end up in a header and on the reader's disk:
 * they are reduced to a plain last path segment with no control, bidirectional-override or
 * separator characters. They are never used to build an object key or a path on the server.
 */
const MAX_NAME_LENGTH = 200;

// C0/C1 controls, DEL, bidi embeddings/overrides/isolates and marks, zero-width and BOM.
// eslint-disable-next-line no-control-regex -- removing control characters is the point
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]/g;

export function sanitizeFileName(raw: string, fallback = 'file'): string {
	let name = raw.normalize('NFC').toWellFormed();
	// Browsers send a bare name, but some clients send a path: keep its last segment only.
	name = name.split(/[\\/]/).pop() ?? '';
	name = name.replace(UNSAFE, '');
	name = name.replace(/["*:<>?|]/g, '_');
	name = name.trim().replace(/^\.+/, '').trim();
	if (name.length > MAX_NAME_LENGTH) {
		const dot = name.lastIndexOf('.');
		const extension = dot > 0 && name.length - dot <= 10 ? name.slice(dot) : '';
		name = name.slice(0, MAX_NAME_LENGTH - extension.length).toWellFormed() + extension;
	}
	return name === '' ? fallback : name;
}

/** RFC 5987 value chars: everything else is percent-encoded from UTF-8. */
function encodeRfc5987(value: string): string {
	return encodeURIComponent(value).replace(
		/['()*]/g,
		(c) => '%' + c.charCodeAt(0).toString(16).toUpperCase()
	);
}

/**
 * RFC 6266: an ASCII `filename` for old clients and a UTF-8 `filename*` that modern browsers
 * prefer, so Japanese names arrive intact.
 */
export function contentDisposition(type: 'inline' | 'attachment', fileName: string): string {
	const safe = sanitizeFileName(fileName);
	const ascii = safe.replace(/[^\x20-\x7e]/g, '_').replace(/["\\%]/g, '_');
	return `${type}; filename="${ascii}"; filename*=UTF-8''${encodeRfc5987(safe)}`;
}
