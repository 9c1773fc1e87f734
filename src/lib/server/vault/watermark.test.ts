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
			watermarked: true
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
