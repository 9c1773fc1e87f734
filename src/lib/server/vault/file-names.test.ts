import { describe, expect, it } from 'vitest';
import { contentDisposition, sanitizeFileName } from './file-names';

describe('file names from uploaders', () => {
	it.each([
		['../../etc/passwd', 'passwd'],
		['..\\..\\boot.ini', 'boot.ini'],
		['%2e%2e/secret.pdf', 'secret.pdf'],
		['report\r\nSet-Cookie: a=b.pdf', 'reportSet-Cookie_ a=b.pdf'],
		['nul\0byte.txt', 'nulbyte.txt'],
		['invoice\u202Efdp.exe', 'invoicefdp.exe'],
		['\u2066isolated\u2069.pdf', 'isolated.pdf'],
		['...hidden.txt', 'hidden.txt'],
		['', 'file'],
		['///', 'file'],
		['宇宙安全保障 報告書.pdf', '宇宙安全保障 報告書.pdf'],
		['a"b<c>.pdf', 'a_b_c_.pdf']
	])('%j becomes %j', (raw, clean) => {
		expect(sanitizeFileName(raw)).toBe(clean);
	});

	it('shortens a 1,000-character name and keeps its extension', () => {
		const name = sanitizeFileName('a'.repeat(1000) + '.pdf');
		expect(name.length).toBeLessThanOrEqual(200);
		expect(name.endsWith('.pdf')).toBe(true);
		const japanese = sanitizeFileName('宇'.repeat(1000) + '.txt');
		expect(japanese.endsWith('.txt')).toBe(true);
		expect(japanese.isWellFormed()).toBe(true);
	});
});

describe('Content-Disposition (RFC 6266)', () => {
	it('gives an ASCII fallback and the UTF-8 name in filename*', () => {
		expect(contentDisposition('attachment', '宇宙 報告.pdf')).toBe(
			`attachment; filename="__ __.pdf"; filename*=UTF-8''%E5%AE%87%E5%AE%99%20%E5%A0%B1%E5%91%8A.pdf`
		);
	});

	it('never lets a name break out of the header', () => {
		const header = contentDisposition('inline', 'x";\r\nX-Evil: 1; filename*=a\'s(1)%.txt');
		expect(header).not.toMatch(/[\r\n]/);
		expect(header.startsWith('inline; filename="')).toBe(true);
		const star = header.split("filename*=UTF-8''")[1]!;
		expect(star).toMatch(/^[A-Za-z0-9!#$&+.^_`|~%-]+$/);
		expect(decodeURIComponent(star)).toBe(
			sanitizeFileName('x";\r\nX-Evil: 1; filename*=a\'s(1)%.txt')
		);
	});
});
