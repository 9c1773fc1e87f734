import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deflated, pdfWithContent } from '../../../../tests/helpers/files';
import { createVaultWorld, type Person, type VaultWorld } from '../../../../tests/helpers/vault';
import { loadConfig, setConfig } from '../config';
import { document, documentVersion } from '../db/schema';
import * as documents from './documents';
import { PDF_TEXT_MAX_BYTES, extractPdfText, storedPdfText } from './pdf-text';
import { createFromRequest } from './upload';

/**
 * PDF text for search, end to end: PDFs written by hand here, uploaded through the real upload
 * function into the real object store and database, then found (or not) by search.
 */

const ORIGIN = 'http://intranet.test';

/** A well-formed PDF of one page from its content stream and font, with a correct xref table. */
function pdfDocument(content: string, font: string[]): Buffer {
	const objects = [
		'<</Type/Catalog/Pages 2 0 R>>',
		'<</Type/Pages/Kids[3 0 R]/Count 1>>',
		'<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]/Resources<</Font<</F1 5 0 R>>>>/Contents 4 0 R>>',
		`<</Length ${Buffer.byteLength(content, 'latin1')}>>\nstream\n${content}\nendstream`,
		...font
	];
	let body = '%PDF-1.7\n%\xe2\xe3\xcf\xd3\n';
	const offsets: number[] = [];
	objects.forEach((object, i) => {
		offsets.push(Buffer.byteLength(body, 'latin1'));
		body += `${i + 1} 0 obj\n${object}\nendobj\n`;
	});
	const xref = Buffer.byteLength(body, 'latin1');
	body += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n`;
	for (const offset of offsets) body += `${String(offset).padStart(10, '0')} 00000 n \n`;
	body += `trailer\n<</Size ${objects.length + 1}/Root 1 0 R>>\nstartxref\n${xref}\n%%EOF\n`;
	return Buffer.from(body, 'latin1');
}

function englishPdf(sentence: string): Buffer {
	return pdfDocument(`BT /F1 12 Tf 72 720 Td (${sentence}) Tj ET`, [
		'<</Type/Font/Subtype/Type1/BaseFont/Helvetica/Encoding/WinAnsiEncoding>>'
	]);
}

/**
 * Japanese through a predefined CMap and a font that is not embedded: the text's codes are
 * UCS-2, which only pdf.js's bundled character maps (UniJIS-UCS2-H, Adobe-Japan1-UCS2) turn
 * back into Unicode.
 */
function japanesePdf(text: string): Buffer {
	const hex = [...text]
		.map((c) => c.codePointAt(0)!.toString(16).padStart(4, '0'))
		.join('')
		.toUpperCase();
	return pdfDocument(`BT /F1 12 Tf 72 720 Td <${hex}> Tj ET`, [
		'<</Type/Font/Subtype/Type0/BaseFont/KozMinPr6N-Regular/Encoding/UniJIS-UCS2-H/DescendantFonts[6 0 R]>>',
		'<</Type/Font/Subtype/CIDFontType0/BaseFont/KozMinPr6N-Regular' +
			'/CIDSystemInfo<</Registry(Adobe)/Ordering(Japan1)/Supplement 6>>/FontDescriptor 7 0 R/DW 1000>>',
		'<</Type/FontDescriptor/FontName/KozMinPr6N-Regular/Flags 6/FontBBox[-437 -340 1147 1317]' +
			'/ItalicAngle 0/Ascent 1317/Descent -349/CapHeight 742/StemV 80>>'
	]);
}

let world: VaultWorld;
let author: Person;
let dataDir: string;

beforeAll(async () => {
	dataDir = mkdtempSync(path.join(os.tmpdir(), 'jiss-pdf-text-'));
	setConfig(loadConfig({ DATA_DIR: dataDir, ORIGIN, INTRANET_MODE: 'demo' }));
	world = await createVaultWorld();
	author = await world.person({ name: 'Author', level: 2 });
});

afterAll(async () => {
	await world?.close();
	rmSync(dataDir, { recursive: true, force: true });
});

async function upload(title: string, name: string, bytes: Buffer): Promise<number> {
	const data = new FormData();
	data.append('title', title);
	data.append('level', '1');
	data.append('releasability', String(world.org.JISS));
	data.append('publish', 'on');
	data.append('file', new File([new Uint8Array(bytes)], name));
	return createFromRequest({
		request: new Request(`${ORIGIN}/documents/upload`, {
			method: 'POST',
			body: data,
			headers: { origin: ORIGIN }
		}),
		user: author.user,
		context: {
			actor: { id: author.id, name: 'Author', roles: author.user.roles },
			ip: '127.0.0.1',
			userAgent: 'vitest',
			requestId: 't'
		}
	});
}

async function found(q: string): Promise<number[]> {
	const page = await documents.list(world.db, author.writer.access, { q });
	return page.items.map((item) => item.id).sort((a, b) => a - b);
}

describe('text extracted from uploaded PDFs', () => {
	it('reads the words of a PDF with a standard font', async () => {
		const text = await extractPdfText(englishPdf('The orbital rendezvous succeeded'));
		expect(text).toContain('The orbital rendezvous succeeded');
	});

	it('reads Japanese through the bundled character maps', async () => {
		const text = await extractPdfText(japanesePdf('宇宙状況把握と暗号通信'));
		expect(text).toContain('宇宙状況把握と暗号通信');
	});

	it('makes an uploaded English PDF findable by a word that is only in the PDF', async () => {
		const id = await upload(
			'Quarterly note',
			'note.pdf',
			englishPdf('The orbital rendezvous succeeded')
		);
		expect(await found('rendezvous')).toEqual([id]);
		expect(await found('RENDEZVOUS succeeded')).toEqual([id]);
	});

	it('makes an uploaded Japanese PDF findable by two-character words', async () => {
		const id = await upload('Memo', 'memo.pdf', japanesePdf('宇宙状況把握と暗号通信'));
		expect(await found('暗号')).toEqual([id]);
		expect(await found('宇宙')).toEqual([id]);
		expect(await found('状況把握')).toEqual([id]);
	});

	it('stores a broken PDF all the same, searchable by its title only', async () => {
		const bytes = Buffer.from('%PDF-1.7\nnot really a pdf: wombatword inside\n%%EOF\n', 'latin1');
		const id = await upload('Damaged scan', 'broken.pdf', bytes);
		const [doc] = await world.db.select().from(document).where(eq(document.id, id));
		expect(doc?.status).toBe('published');
		const versions = await world.db
			.select()
			.from(documentVersion)
			.where(eq(documentVersion.documentId, id));
		expect(versions.map((v) => [v.state, v.size])).toEqual([['active', bytes.length]]);
		const stored = await world.store.get(versions[0]!.objectKey);
		const chunks: Buffer[] = [];
		for await (const chunk of stored.body) chunks.push(chunk as Buffer);
		expect(Buffer.concat(chunks).equals(bytes)).toBe(true);
		expect(await found('wombatword')).toEqual([]);
		expect(await found('damaged')).toEqual([id]);
	});

	it('does not open a PDF whose page content would decode past its budget', async () => {
		// Under a megabyte stored, 260 MiB of page content once inflated: counted, never held.
		const content = (word: string) => `BT /F1 12 Tf 10 100 Td (${word}) Tj ET\n`;
		const bomb = pdfWithContent(await deflated(content('bombword'), 260 * 1024 * 1024));
		expect(bomb.length).toBeLessThan(1024 * 1024);
		const small = pdfWithContent(await deflated(content('smallword'), 1024 * 1024));
		const [bombId, smallId] = [
			await upload('Compressed report', 'bomb.pdf', bomb),
			await upload('Compressed note', 'small.pdf', small)
		];
		// The same kind of file, within the budget, is read (so pdf.js would read the other).
		expect(await found('smallword')).toEqual([smallId]);
		expect(await found('bombword')).toEqual([]);
		expect(await found('compressed')).toEqual([bombId, smallId].sort((a, b) => a - b));
	}, 60_000);

	it('does not read a stored PDF larger than the extraction limit', async () => {
		const { key } = await world.store.put(
			'versions',
			Readable.from([englishPdf('Oversized sentence')])
		);
		expect(await storedPdfText(world.store, key, 1000)).toContain('Oversized sentence');
		expect(await storedPdfText(world.store, key, PDF_TEXT_MAX_BYTES + 1)).toBe('');
		await world.store.delete(key);
	});
});
