import fontkit from '@pdf-lib/fontkit';
import { isHttpError } from '@sveltejs/kit';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { inflateSync } from 'node:zlib';
import { desc, eq } from 'drizzle-orm';
import {
	PDFArray,
	PDFDict,
	PDFDocument,
	PDFName,
	PDFRawStream,
	PDFRef,
	StandardFonts,
	type PDFObject
} from 'pdf-lib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deflated, pdfOf } from '../../../../tests/helpers/files';
import { createVaultWorld, type Person, type VaultWorld } from '../../../../tests/helpers/vault';
import { GET as download } from '../../../routes/(app)/documents/[id]/download/+server';
import { GET as preview } from '../../../routes/(app)/documents/[id]/preview/+server';
import { GET as versionDownload } from '../../../routes/(app)/documents/[id]/versions/[n]/download/+server';
import { loadConfig, setConfig } from '../config';
import { auditEvent, documentVersion } from '../db/schema';
import { createFromRequest } from './upload';
import { extractPdfText } from './pdf-text';
import { MAX_ANNOTATIONS, watermarkPdf } from './watermark';

/**
 * PDFs at CONFIDENTIAL and above reach each reader marked with their name, account id and the
 * time, through every file route; everything else is served as stored, byte for byte.
 */
const ORIGIN = 'http://intranet.test';
const TOKYO = 'Asia/Tokyo';
let world: VaultWorld;
let author: Person;
let reader: Person;
let japanese: Person;
let dir: string;
let source: Uint8Array;
const ids: Record<string, string> = {};

function configure(extra: Record<string, string> = {}) {
	setConfig(
		loadConfig({ DATA_DIR: dir, ORIGIN, INTRANET_MODE: 'demo', DISPLAY_TIME_ZONE: TOKYO, ...extra })
	);
}

function eventFor(
	person: Person,
	route: string,
	params: Record<string, string>,
	init?: RequestInit
) {
	const url = new URL(`${ORIGIN}${route}`);
	return {
		locals: { requestId: 'r', clientIp: '127.0.0.1', user: person.user, session: null },
		url,
		params,
		request: new Request(url, init),
		route: { id: route },
		getClientAddress: () => '127.0.0.1'
	} as never;
}

async function upload(level: string, name: string, bytes: Uint8Array) {
	const data = new FormData();
	data.append('title', `${name} at ${level}`);
	data.append('level', level);
	data.append('releasability', String(world.org.JISS));
	data.append('publish', 'on');
	data.append('file', new File([bytes as BlobPart], name));
	const id = await createFromRequest({
		request: new Request(`${ORIGIN}/documents/upload`, { method: 'POST', body: data }),
		user: author.user,
		context: {}
	});
	return String(id);
}

async function samplePdf(pages: number) {
	const doc = await PDFDocument.create();
	const helvetica = await doc.embedFont(StandardFonts.Helvetica);
	for (let n = 1; n <= pages; n += 1) {
		const page = doc.addPage([595, 842]);
		page.drawText(`Original page ${n}`, { x: 50, y: 780, size: 14, font: helvetica });
	}
	return doc.save();
}

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

function streamText(doc: PDFDocument, object: PDFObject | undefined): string {
	const value = object instanceof PDFRef ? doc.context.lookup(object) : object;
	if (value instanceof PDFArray)
		return value
			.asArray()
			.map((item) => streamText(doc, item))
			.join('\n');
	if (!(value instanceof PDFRawStream)) return '';
	const filter = value.dict.get(PDFName.of('Filter'));
	const raw = value.getContents();
	return Buffer.from(filter ? inflateSync(raw) : raw).toString('latin1');
}

/**
 * The text drawn on each page with an embedded (Identity-H) font, decoded through the font's
 * ToUnicode map, which is how a reader's PDF viewer would copy it out.
 */
function drawnText(doc: PDFDocument): string[] {
	const glyphs = new Map<string, string>();
	for (const [, object] of doc.context.enumerateIndirectObjects()) {
		if (!(object instanceof PDFRawStream)) continue;
		const text = streamText(doc, object);
		if (!text.includes('beginbfchar')) continue;
		for (const [, gid, unicode] of text.matchAll(/<([0-9a-fA-F]{4})> <([0-9a-fA-F]+)>/g)) {
			const units = unicode!.match(/.{4}/g)!.map((unit) => parseInt(unit, 16));
			glyphs.set(gid!.toLowerCase(), String.fromCharCode(...units));
		}
	}
	return doc.getPages().map((page) => {
		const content = streamText(doc, page.node.get(PDFName.of('Contents')));
		return [...content.matchAll(/<([0-9a-fA-F]*)> Tj/g)]
			.map(([, hex]) =>
				hex!
					.toLowerCase()
					.match(/.{4}/g)!
					.map((gid) => glyphs.get(gid) ?? '?')
					.join('')
			)
			.join('\n');
	});
}

function embeddedFontNames(doc: PDFDocument): string[] {
	const names: string[] = [];
	for (const [, object] of doc.context.enumerateIndirectObjects()) {
		if (!(object instanceof PDFDict)) continue;
		if (object.get(PDFName.of('Type')) !== PDFName.of('FontDescriptor')) continue;
		if (!object.get(PDFName.of('FontFile2')) && !object.get(PDFName.of('FontFile3'))) continue;
		names.push(String(object.get(PDFName.of('FontName'))));
	}
	return names;
}

async function lastEvent() {
	const [event] = await world.db.select().from(auditEvent).orderBy(desc(auditEvent.seq)).limit(1);
	return event!;
}

async function refusal(call: unknown) {
	try {
		await call;
	} catch (caught) {
		if (isHttpError(caught)) return caught;
		throw caught;
	}
	throw new Error('expected a refusal');
}

beforeAll(async () => {
	dir = mkdtempSync(path.join(os.tmpdir(), 'jiss-watermark-'));
	configure();
	world = await createVaultWorld();
	author = await world.person({ name: 'Author', level: 4 });
	reader = await world.person({ name: 'Rebecca Reader', level: 3 });
	japanese = await world.person({ name: '山田 花子', level: 4 });
	source = await samplePdf(3);
	ids.confidential = await upload('2', 'brief.pdf', source);
	ids.secret = await upload('3', 'plan.pdf', source);
	ids.restricted = await upload('1', 'note.pdf', source);
	ids.text = await upload('2', 'notes.txt', new TextEncoder().encode('confidential text'));
}, 60_000);

afterAll(async () => {
	await world?.close();
	rmSync(dir, { recursive: true, force: true });
});

describe('a PDF at CONFIDENTIAL or above', () => {
	it.each([
		['download', 'confidential'],
		['preview', 'confidential'],
		['download', 'secret'],
		['version download', 'confidential']
	])('is %s-ed with the reader’s watermark on every page (%s)', async (route, key) => {
		const id = ids[key]!;
		const before = new Date();
		const answer = (await (route === 'preview'
			? preview(eventFor(reader, `/documents/${id}/preview`, { id }))
			: route === 'download'
				? download(eventFor(reader, `/documents/${id}/download`, { id }))
				: versionDownload(
						eventFor(reader, `/documents/${id}/versions/1/download`, { id, n: '1' })
					))) as Response;
		expect(answer.status).toBe(200);
		const bytes = new Uint8Array(await answer.arrayBuffer());
		expect(answer.headers.get('Content-Length')).toBe(String(bytes.byteLength));
		expect(answer.headers.get('Content-Type')).toBe('application/pdf');
		expect(sha256(bytes)).not.toBe(sha256(source));
		const [stored] = await world.db
			.select()
			.from(documentVersion)
			.where(eq(documentVersion.documentId, Number(id)));
		expect(answer.headers.get('ETag')).not.toContain(stored!.sha256);

		const doc = await PDFDocument.load(bytes);
		expect(doc.getPageCount()).toBe(3);
		const minute = before.toISOString().slice(0, 15);
		for (const text of drawnText(doc)) {
			expect(text).toContain('Rebecca Reader');
			expect(text).toContain(`Account ${reader.id}`);
			expect(text).toContain(minute);
			expect(text).toContain(TOKYO);
		}
		expect(embeddedFontNames(doc).some((name) => name.includes('NotoSansJP'))).toBe(true);

		expect(await lastEvent()).toMatchObject({
			action: route === 'preview' ? 'document.preview' : 'document.download',
			outcome: 'allowed',
			actorId: reader.id
		});
		expect((await lastEvent()).details).toMatchObject({
			documentId: Number(id),
			watermarked: true,
			// The reader's copy is identified in the log by its hash, as sent.
			markedSha256: createHash('sha256').update(bytes).digest('hex')
		});
	});

	it('draws a Japanese display name with the embedded Japanese font', async () => {
		const id = ids.confidential!;
		const answer = (await download(
			eventFor(japanese, `/documents/${id}/download`, { id })
		)) as Response;
		const doc = await PDFDocument.load(new Uint8Array(await answer.arrayBuffer()));
		for (const text of drawnText(doc)) {
			expect(text).toContain('山田 花子');
			expect(text).toContain(`Account ${japanese.id}`);
		}
		expect(embeddedFontNames(doc).some((name) => name.includes('NotoSansJP'))).toBe(true);
	});

	it('answers a Range request with the whole marked file, never a slice of the stored one', async () => {
		const id = ids.confidential!;
		const answer = (await download(
			eventFor(reader, `/documents/${id}/download`, { id }, { headers: { range: 'bytes=0-9' } })
		)) as Response;
		expect(answer.status).toBe(200);
		expect(answer.headers.get('Accept-Ranges')).toBe('none');
		expect(answer.headers.get('Content-Range')).toBeNull();
		const bytes = new Uint8Array(await answer.arrayBuffer());
		expect(answer.headers.get('Content-Length')).toBe(String(bytes.byteLength));
		expect((await PDFDocument.load(bytes)).getPageCount()).toBe(3);
	});

	it('is refused with a clear message above WATERMARK_MAX_BYTES, and no byte is sent', async () => {
		const id = ids.confidential!;
		configure({ WATERMARK_MAX_BYTES: String(source.byteLength - 1) });
		try {
			// One after the other: each call's audit event is checked before the next starts.
			for (const call of [
				() => download(eventFor(reader, `/documents/${id}/download`, { id })),
				() => preview(eventFor(reader, `/documents/${id}/preview`, { id }))
			]) {
				const refused = await refusal(call());
				expect(refused.status).toBe(413);
				expect(refused.body.message).toContain('too large to be watermarked');
				expect(refused.body.message).toContain(`${source.byteLength - 1} B`);
				const event = await lastEvent();
				expect(event).toMatchObject({
					action: 'document.denied',
					outcome: 'denied',
					actorId: reader.id
				});
				expect(event.details).toMatchObject({
					reason: 'watermark_too_large',
					documentId: Number(id)
				});
			}
		} finally {
			configure();
		}
	});
});

describe('an encrypted PDF at CONFIDENTIAL', () => {
	/** A PDF whose trailer declares it encrypted, which pdf-lib refuses to edit. */
	async function encryptedPdf() {
		const plain = Buffer.from(
			await (await PDFDocument.load(await samplePdf(1))).save({ useObjectStreams: false })
		).toString('latin1');
		const marked = plain.replace(
			/trailer\s*<</,
			'trailer\n<<\n/Encrypt << /Filter /Standard /V 1 /R 2 /O (0123456789abcdef) /U (0123456789abcdef) /P -4 >>'
		);
		expect(marked).not.toBe(plain);
		return new Uint8Array(Buffer.from(marked, 'latin1'));
	}

	it('is never served unmarked: the reader is told why and the attempt is audited as failed', async () => {
		const id = await upload('2', 'locked.pdf', await encryptedPdf());
		for (const [mode, call] of [
			['document.download', () => download(eventFor(reader, `/documents/${id}/download`, { id }))],
			['document.preview', () => preview(eventFor(reader, `/documents/${id}/preview`, { id }))]
		] as const) {
			const refused = await refusal(call());
			expect(refused.status).toBe(422);
			expect(refused.body.message).toContain('cannot carry your watermark');
			const event = await lastEvent();
			expect(event).toMatchObject({ action: mode, outcome: 'failed', actorId: reader.id });
			expect(event.details).toMatchObject({
				reason: 'watermark_failed',
				documentId: Number(id),
				watermarked: true
			});
			// No event claims it was served.
			const served = await world.db.select().from(auditEvent).where(eq(auditEvent.targetId, id));
			expect(served.filter((e) => e.outcome === 'allowed' && e.action === mode)).toEqual([]);
		}
	});
});

describe('a PDF whose object stream would decode past what pdf-lib may hold', () => {
	it('is not opened: the reader is told it cannot be marked, audited as failed', async () => {
		// Under a megabyte stored; pdf-lib would inflate its object stream (130 MiB) as it loads.
		const bytes = pdfOf([
			{ dictionary: '/Type/Catalog/Pages 2 0 R' },
			{ dictionary: '/Type/Pages/Kids[3 0 R]/Count 1' },
			{ dictionary: '/Type/Page/Parent 2 0 R/MediaBox[0 0 300 300]' },
			{
				dictionary: '/Type/ObjStm/N 1/First 4/Filter/FlateDecode',
				stream: await deflated('5 0 <<>>', 130 * 1024 * 1024)
			}
		]);
		expect(bytes.length).toBeLessThan(1024 * 1024);
		const id = await upload('2', 'expanding.pdf', new Uint8Array(bytes));
		const refused = await refusal(download(eventFor(reader, `/documents/${id}/download`, { id })));
		expect(refused.status).toBe(422);
		expect(refused.body.message).toContain('cannot carry your watermark');
		expect((await lastEvent()).details).toMatchObject({
			reason: 'watermark_expands',
			documentId: Number(id),
			watermarked: true
		});
	}, 60_000);
});

describe('files that are not marked', () => {
	it('serves a RESTRICTED PDF byte for byte as stored', async () => {
		const id = ids.restricted!;
		for (const call of [
			() => download(eventFor(reader, `/documents/${id}/download`, { id })),
			() => preview(eventFor(reader, `/documents/${id}/preview`, { id }))
		]) {
			const answer = (await call()) as Response;
			const bytes = new Uint8Array(await answer.arrayBuffer());
			expect(sha256(bytes)).toBe(sha256(source));
			expect(answer.headers.get('ETag')).toBe(`"${sha256(source)}"`);
			expect((await lastEvent()).details).not.toHaveProperty('watermarked');
		}
	});

	it('serves a non-PDF file at CONFIDENTIAL untouched, ranges included', async () => {
		const id = ids.text!;
		const whole = (await download(
			eventFor(reader, `/documents/${id}/download`, { id })
		)) as Response;
		expect(await whole.text()).toBe('confidential text');
		const part = (await download(
			eventFor(reader, `/documents/${id}/download`, { id }, { headers: { range: 'bytes=0-11' } })
		)) as Response;
		expect(part.status).toBe(206);
		expect(await part.text()).toBe('confidential');
	});
});

/**
 * Files an uploader can craft so that a mark drawn onto the original page would not show, or
 * would come off with one edit (found by a review): the reader's copy is built anew, each page
 * drawn as a form XObject with the mark over it, and nothing else of the original is kept.
 */
describe('the marked copy of a crafted PDF', () => {
	const reader0 = {
		name: 'Rebecca Reader',
		accountId: 4242,
		at: new Date('2026-01-02T03:04:05Z'),
		timeZone: TOKYO
	};
	const page = (extra: string, content = 'BT /F1 24 Tf 50 700 Td (ORIGINAL TEXT) Tj ET') =>
		pdfOf([
			{ dictionary: '/Type/Catalog/Pages 2 0 R' },
			{ dictionary: '/Type/Pages/Kids[3 0 R]/Count 1' },
			{
				dictionary: `/Type/Page/Parent 2 0 R/MediaBox[0 0 612 792]/Contents 4 0 R/Resources<</Font<</F1 5 0 R>>>>${extra}`
			},
			{ dictionary: '', stream: Buffer.from(content, 'latin1') },
			{ dictionary: '/Type/Font/Subtype/Type1/BaseFont/Helvetica' }
		]);
	/** Every stream of a file, decoded, with its dictionary. */
	async function streamsOf(bytes: Uint8Array) {
		const doc = await PDFDocument.load(bytes);
		const found: { dict: PDFDict; text: string }[] = [];
		for (const [, object] of doc.context.enumerateIndirectObjects()) {
			if (!(object instanceof PDFRawStream)) continue;
			const filter = object.dict.get(PDFName.of('Filter'));
			const raw = Buffer.from(object.contents);
			const text = (filter ? inflateSync(raw) : raw).toString('latin1');
			found.push({ dict: object.dict, text });
		}
		return { doc, found };
	}

	it('draws the original as a form XObject under the mark, so its graphics state cannot hide it', async () => {
		// Content that ends the page's saved state early and leaves an empty clip behind it.
		const crafted = page('', 'BT /F1 24 Tf 50 700 Td (ORIGINAL TEXT) Tj ET Q 0 0 0 0 re W n q');
		const { doc, found } = await streamsOf(await watermarkPdf(crafted, reader0));
		const [marked] = doc.getPages();
		const original = found.filter((s) => s.text.includes('ORIGINAL TEXT'));
		// The original content is in one place only: a form XObject (its own graphics state).
		expect(original).toHaveLength(1);
		expect(original[0]!.dict.get(PDFName.of('Subtype'))).toBe(PDFName.of('Form'));
		// The page itself draws that form, then the mark's text, after the form's state ended.
		const contents = marked!.node.Contents();
		const refs = contents instanceof PDFArray ? contents.asArray() : [contents];
		const pageText = refs
			.map((ref) => {
				const stream = doc.context.lookup(ref as PDFRef) as PDFRawStream;
				const raw = Buffer.from(stream.contents);
				return (stream.dict.get(PDFName.of('Filter')) ? inflateSync(raw) : raw).toString('latin1');
			})
			.join('\n');
		expect(pageText).not.toContain('ORIGINAL TEXT');
		expect(pageText).not.toMatch(/\bW\s+n\b/);
		expect(pageText.indexOf(' Do')).toBeGreaterThan(-1);
		expect(pageText.lastIndexOf('BT')).toBeGreaterThan(pageText.indexOf(' Do'));
	});

	it('keeps no annotation, attachment, action or unused object of the original', async () => {
		const attachment = Buffer.from('ATTACHED SECRET', 'latin1');
		const crafted = pdfOf([
			{
				dictionary:
					'/Type/Catalog/Pages 2 0 R/Names<</EmbeddedFiles<</Names[(annex.txt) 6 0 R]>>>>/OpenAction 8 0 R'
			},
			{ dictionary: '/Type/Pages/Kids[3 0 R]/Count 1' },
			{
				dictionary:
					'/Type/Page/Parent 2 0 R/MediaBox[0 0 612 792]/Contents 4 0 R/Resources<</Font<</F1 5 0 R>>>>/Annots[9 0 R]'
			},
			{ dictionary: '', stream: Buffer.from('BT /F1 24 Tf 50 700 Td (PAGE) Tj ET', 'latin1') },
			{ dictionary: '/Type/Font/Subtype/Type1/BaseFont/Helvetica' },
			{ dictionary: '/Type/Filespec/F(annex.txt)/EF<</F 7 0 R>>' },
			{ dictionary: '/Type/EmbeddedFile', stream: attachment },
			{ dictionary: '/S/JavaScript/JS(app.alert(1))' },
			{
				dictionary: '/Type/Annot/Subtype/FileAttachment/Rect[0 0 612 792]/FS 6 0 R/AP<</N 10 0 R>>'
			},
			{
				dictionary: '/Type/XObject/Subtype/Form/BBox[0 0 612 792]',
				stream: Buffer.from('1 1 1 rg 0 0 612 792 re f', 'latin1')
			}
		]);
		const marked = await watermarkPdf(crafted, reader0);
		const text = Buffer.from(marked).toString('latin1');
		const { doc, found } = await streamsOf(marked);
		expect(doc.getPages()[0]!.node.Annots()?.size() ?? 0).toBe(0);
		expect(doc.catalog.get(PDFName.of('Names'))).toBeUndefined();
		expect(doc.catalog.get(PDFName.of('OpenAction'))).toBeUndefined();
		expect(found.some((s) => s.text.includes('ATTACHED SECRET'))).toBe(false);
		expect(text).not.toContain('JavaScript');
		expect(text).not.toContain('EmbeddedFile');
		// The annotation's opaque appearance is drawn into the page, under the mark.
		const cover = found.filter((s) => s.text.includes('0 0 612 792 re f'));
		expect(cover).toHaveLength(1);
		expect(cover[0]!.dict.get(PDFName.of('Subtype'))).toBe(PDFName.of('Form'));
		expect(cover[0]!.dict.get(PDFName.of('FS'))).toBeUndefined();
		const content = found.find((s) => s.text.includes(' Do') && s.text.includes('BT'))!.text;
		expect(content.lastIndexOf(' Do')).toBeLessThan(content.lastIndexOf('BT'));
	});

	it('draws what a viewer shows of annotations (filled-in fields, a checked box) under the mark', async () => {
		const appearance = (text: string, extra = '') => ({
			dictionary: `/Type/XObject/Subtype/Form/BBox[0 0 200 20]/Resources<</Font<</F1 5 0 R>>>>${extra}`,
			stream: Buffer.from(`BT /F1 12 Tf 2 4 Td (${text}) Tj ET`, 'latin1')
		});
		const crafted = pdfOf([
			{ dictionary: '/Type/Catalog/Pages 2 0 R/AcroForm<</Fields[6 0 R 7 0 R]>>' },
			{ dictionary: '/Type/Pages/Kids[3 0 R]/Count 1' },
			{
				dictionary:
					'/Type/Page/Parent 2 0 R/MediaBox[0 0 612 792]/Contents 4 0 R/Resources<</Font<</F1 5 0 R>>>>/Annots[6 0 R 7 0 R 8 0 R 9 0 R 10 0 R 16 0 R]'
			},
			{ dictionary: '', stream: Buffer.from('BT /F1 24 Tf 50 700 Td (PAGE TEXT) Tj ET', 'latin1') },
			{ dictionary: '/Type/Font/Subtype/Type1/BaseFont/Helvetica' },
			// 6: a text field with its value's appearance; 7: a checkbox, checked.
			{
				dictionary:
					'/Type/Annot/Subtype/Widget/FT/Tx/T(name)/V(FILLED VALUE)/Rect[100 500 300 520]/AP<</N 11 0 R>>/F 4'
			},
			{
				dictionary:
					'/Type/Annot/Subtype/Widget/FT/Btn/T(agree)/V/On/AS/On/Rect[100 450 300 470]/AP<</N<</On 12 0 R/Off 13 0 R>>>>'
			},
			// 8: hidden; 9: a popup (a viewer's window, not page content); 10: turned a quarter.
			{ dictionary: '/Type/Annot/Subtype/Text/F 2/Rect[100 400 300 420]/AP<</N 14 0 R>>' },
			{ dictionary: '/Type/Annot/Subtype/Popup/Rect[100 350 300 370]/AP<</N 15 0 R>>' },
			{ dictionary: '/Type/Annot/Subtype/FreeText/Rect[10 10 30 210]/AP<</N 17 0 R>>' },
			appearance('FILLED VALUE'),
			appearance('BOX CHECKED'),
			appearance('BOX CLEAR'),
			appearance('HIDDEN NOTE'),
			appearance('POPUP WINDOW'),
			// 16: the text field's appearance again, on a rectangle twice its size: copied once.
			{ dictionary: '/Type/Annot/Subtype/Widget/Rect[100 300 500 340]/AP<</N 11 0 R>>' },
			appearance('TURNED NOTE', '/Matrix[0 1 -1 0 0 0]')
		]);
		// A viewer draws annotations apart from the page's content: text extraction misses them.
		expect(await extractPdfText(new Uint8Array(crafted))).not.toContain('FILLED VALUE');
		const marked = await watermarkPdf(crafted, reader0);
		const text = await extractPdfText(marked.slice());
		expect(text).toContain('PAGE TEXT');
		expect(text).toContain('FILLED VALUE');
		expect(text).toContain('BOX CHECKED');
		expect(text).toContain('TURNED NOTE');
		for (const absent of ['BOX CLEAR', 'HIDDEN NOTE', 'POPUP WINDOW']) {
			expect(text).not.toContain(absent);
		}
		const { doc, found } = await streamsOf(marked);
		expect(found.filter((s) => s.text.includes('FILLED VALUE'))).toHaveLength(1);
		expect(doc.catalog.get(PDFName.of('AcroForm'))).toBeUndefined();
		const content = found.find((s) => s.text.includes(' Do') && s.text.includes('BT'))!.text;
		// Each fitted to its rectangle (the quarter-turned one moved by its turned box), then the mark.
		expect(content).toContain('1 0 0 1 100 500 cm');
		expect(content).toContain('1 0 0 1 30 10 cm');
		expect(content).toContain('2 0 0 2 100 300 cm');
		expect(content.match(/ Do\b/g)).toHaveLength(5);
		expect(content.lastIndexOf(' Do')).toBeLessThan(content.lastIndexOf('BT'));
	});

	it('draws many annotations in time linear in their number, and refuses a file with too many', async () => {
		const withAnnots = (count: number, appearance = '/BBox[0 0 10 10]') =>
			pdfOf([
				{ dictionary: '/Type/Catalog/Pages 2 0 R' },
				{ dictionary: '/Type/Pages/Kids[3 0 R]/Count 1' },
				{
					dictionary: `/Type/Page/Parent 2 0 R/MediaBox[0 0 612 792]/Contents 4 0 R/Annots[${'5 0 R '.repeat(count)}]`
				},
				{ dictionary: '', stream: Buffer.from('0 0 m 10 10 l S', 'latin1') },
				{ dictionary: '/Type/Annot/Subtype/Square/Rect[10 10 20 20]/AP<</N 6 0 R>>' },
				{
					dictionary: `/Type/XObject/Subtype/Form${appearance}`,
					stream: Buffer.from('0 0 1 rg 0 0 10 10 re f', 'latin1')
				}
			]);
		// 20,000 drawn (pdf-lib's own naming took seconds for this many, minutes for 128,000).
		const { found } = await streamsOf(await watermarkPdf(withAnnots(MAX_ANNOTATIONS), reader0));
		const content = found.find((s) => s.text.includes(' Do') && s.text.includes('BT'))!.text;
		expect(content.match(/\/Annot\d+ Do/g)).toHaveLength(MAX_ANNOTATIONS);
		expect(new Set(content.match(/\/Annot\d+/g)).size).toBe(MAX_ANNOTATIONS);
		await expect(watermarkPdf(withAnnots(MAX_ANNOTATIONS + 1), reader0)).rejects.toThrow(
			/more annotations than can be drawn/
		);
		// Numbers no content stream may hold are not drawn at all (no NaN, no 300-digit number).
		const huge = '1' + '0'.repeat(300);
		const wild = await streamsOf(
			await watermarkPdf(
				withAnnots(1, `/BBox[0 0 ${huge} ${huge}]/Matrix[${huge} 0 -${huge} 1 0 0]`),
				reader0
			)
		);
		const page = wild.found.find((s) => s.text.includes(' Do') && s.text.includes('BT'))!.text;
		// (The mark's own text is hex glyph ids, which may run to many digits: left out.)
		expect(page.replace(/<[0-9a-fA-F]*>/g, '')).not.toMatch(/NaN|Infinity|\d{40}/);
		expect(page).not.toContain('/Annot');
	});

	it('marks what a viewer shows when the crop box lies off the media box', async () => {
		const marked = await watermarkPdf(page('/CropBox[5000 5000 5612 5792]'), reader0);
		const [first] = (await PDFDocument.load(marked)).getPages();
		// The copy's page is the media box (crop box and media box are the same): the mark,
		// drawn on it, is where a viewer looks.
		expect(first!.getMediaBox()).toMatchObject({ x: 0, y: 0, width: 612, height: 792 });
		expect(first!.getCropBox()).toMatchObject({ x: 0, y: 0, width: 612, height: 792 });
	});

	it('refuses a page tree with a page pdf-lib would not list (a leaf without /Type)', async () => {
		const crafted = pdfOf([
			{ dictionary: '/Type/Catalog/Pages 2 0 R' },
			{ dictionary: '/Type/Pages/Kids[3 0 R 6 0 R]/Count 2' },
			{
				dictionary:
					'/Type/Page/Parent 2 0 R/MediaBox[0 0 612 792]/Contents 4 0 R/Resources<</Font<</F1 5 0 R>>>>'
			},
			{ dictionary: '', stream: Buffer.from('BT /F1 24 Tf 50 700 Td (ONE) Tj ET', 'latin1') },
			{ dictionary: '/Type/Font/Subtype/Type1/BaseFont/Helvetica' },
			{
				dictionary:
					'/Parent 2 0 R/MediaBox[0 0 612 792]/Contents 7 0 R/Resources<</Font<</F1 5 0 R>>>>'
			},
			{ dictionary: '', stream: Buffer.from('BT /F1 24 Tf 50 700 Td (TWO) Tj ET', 'latin1') }
		]);
		expect((await PDFDocument.load(crafted)).getPages()).toHaveLength(1);
		await expect(watermarkPdf(crafted, reader0)).rejects.toThrow(/cannot be marked/);
	});

	it('scales the mark with the page: a huge page gets a mark in proportion, not a capped one', async () => {
		const huge = pdfOf([
			{ dictionary: '/Type/Catalog/Pages 2 0 R' },
			{ dictionary: '/Type/Pages/Kids[3 0 R]/Count 1' },
			{ dictionary: '/Type/Page/Parent 2 0 R/MediaBox[0 0 14400 14400]/Contents 4 0 R' },
			{ dictionary: '', stream: Buffer.from('0 0 1 rg 0 0 100 100 re f', 'latin1') }
		]);
		const { found } = await streamsOf(await watermarkPdf(huge, reader0));
		const sizes = found
			.flatMap((s) => [...s.text.matchAll(/\/\S+ ([\d.]+) Tf/g)].map((m) => Number(m[1])))
			.sort((a, b) => b - a);
		// The diagonal line of a 14,400-point page: hundreds of points, where 48 was the cap.
		expect(sizes[0]).toBeGreaterThan(200);
		// The foot line too: not 8 points on a page 18 times the size of A4.
		expect(sizes.at(-1)).toBeGreaterThan(20);
	});

	it('embeds a font whose every glyph has a readable outline (no subset shifted by a byte)', async () => {
		const { doc } = await streamsOf(await watermarkPdf(page(''), reader0));
		let checked = 0;
		for (const [, object] of doc.context.enumerateIndirectObjects()) {
			if (!(object instanceof PDFDict)) continue;
			const file = object.get(PDFName.of('FontFile2'));
			if (!file) continue;
			const stream = doc.context.lookup(file) as PDFRawStream;
			const font = fontkit.create(inflateSync(Buffer.from(stream.contents)));
			for (let g = 1; g < font.numGlyphs; g++) {
				const glyph = font.getGlyph(g);
				// Every glyph drawn here is a visible character (spaces have no outline).
				if (glyph.advanceWidth > 300) expect(glyph.path.toSVG(), `glyph ${g}`).not.toBe('');
				checked++;
			}
		}
		expect(checked).toBeGreaterThan(20);
	});
});
