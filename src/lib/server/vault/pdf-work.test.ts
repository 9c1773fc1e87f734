import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { and, eq } from 'drizzle-orm';
import { PDFDocument, PDFName, StandardFonts } from 'pdf-lib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createVaultWorld, type Person, type VaultWorld } from '../../../../tests/helpers/vault';
import { outcome, requestEvent } from '../../../../tests/helpers/vault-events';
import { GET as download } from '../../../routes/(app)/documents/[id]/download/+server';
import { loadConfig, setConfig } from '../config';
import { auditEvent, document } from '../db/schema';
import { BusyError, Slots, textSlots, watermarkSlots } from './pdf-work';
import { storedPdfText } from './pdf-text';
import { createFromRequest } from './upload';

/**
 * How many PDFs are held whole in memory at once, for watermarking and for text extraction, on
 * the real database and S3 server: never more than the configured counts.
 */
const ORIGIN = 'http://intranet.test';
let world: VaultWorld;
let author: Person;
let reader: Person;
let dir: string;
let confidentialId: string;
let storedKey: string;
let storedSize: number;

function configure(extra: Record<string, string> = {}) {
	setConfig(loadConfig({ DATA_DIR: dir, ORIGIN, INTRANET_MODE: 'demo', ...extra }));
}

function downloadEvent(person: Person, id: string, locale: 'en' | 'ja' = 'en') {
	return requestEvent({
		user: person.user,
		path: `/documents/${id}/download`,
		params: { id },
		locale,
		routeId: '/(app)/documents/[id]/download'
	}) as never;
}

/** Many pages (so marking takes a while) and 1 MB of filler (so the answer takes several reads). */
async function heavyPdf() {
	const doc = await PDFDocument.create();
	const helvetica = await doc.embedFont(StandardFonts.Helvetica);
	for (let n = 1; n <= 60; n += 1) {
		doc.addPage([595, 842]).drawText(`Page ${n}`, { x: 50, y: 780, size: 14, font: helvetica });
	}
	// A megabyte of noise every page uses (a reader's copy holds only what its pages use).
	const noise = doc.context.register(
		doc.context.stream(randomBytes(1024 * 1024), {
			Type: 'XObject',
			Subtype: 'Image',
			Width: 1024,
			Height: 1024,
			ColorSpace: 'DeviceGray',
			BitsPerComponent: 8
		})
	);
	for (const page of doc.getPages()) page.node.setXObject(PDFName.of('Noise'), noise);
	return doc.save();
}

async function upload(level: string, bytes: Uint8Array) {
	const data = new FormData();
	data.append('title', `Heavy at ${level}`);
	data.append('level', level);
	data.append('releasability', String(world.org.JISS));
	data.append('publish', 'on');
	data.append('file', new File([bytes as BlobPart], 'heavy.pdf'));
	return String(
		await createFromRequest({
			request: new Request(`${ORIGIN}/documents/upload`, { method: 'POST', body: data }),
			user: author.user,
			context: {}
		})
	);
}

async function drain(response: Response): Promise<Buffer> {
	return Buffer.from(await response.arrayBuffer());
}

/** Samples `slots.waiting` while `run` runs: whether anyone ever had to queue. */
async function withQueueSampling<T>(slots: Slots, run: () => Promise<T>) {
	let maxWaiting = 0;
	const sampler = setInterval(() => (maxWaiting = Math.max(maxWaiting, slots.waiting)), 1);
	try {
		return { result: await run(), maxWaiting: Math.max(maxWaiting, slots.waiting) };
	} finally {
		clearInterval(sampler);
	}
}

beforeAll(async () => {
	dir = mkdtempSync(path.join(os.tmpdir(), 'jiss-pdf-work-'));
	configure();
	world = await createVaultWorld();
	author = await world.person({ name: 'Author', level: 4 });
	reader = await world.person({ name: 'Rebecca Reader', level: 3 });
	const pdf = await heavyPdf();
	confidentialId = await upload('2', pdf);
	storedSize = pdf.byteLength;
	storedKey = (await world.store.put('versions', Readable.from([pdf]))).key;
}, 120_000);

afterAll(async () => {
	await world?.close();
	if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('Slots', () => {
	it('grants in order, never more than its size, and a waiter with a deadline gives up', async () => {
		const slots = new Slots(2);
		const first = await slots.acquire();
		const second = await slots.acquire(10);
		const third = slots.acquire();
		await expect(slots.acquire(20)).rejects.toBeInstanceOf(BusyError);
		expect(slots.active).toBe(2);
		expect(slots.waiting).toBe(1);
		first();
		first(); // twice is once
		const release = await third;
		expect(slots.active).toBe(2);
		second();
		release();
		expect(slots.active).toBe(0);
		expect(slots.highWater).toBe(2);
	});
});

describe('watermarking', () => {
	it('never marks more than WATERMARK_CONCURRENCY PDFs at once, and serves every reader', async () => {
		configure({ WATERMARK_CONCURRENCY: '2', WATERMARK_WAIT_MS: '120000' });
		const slots = watermarkSlots();
		expect(slots.size).toBe(2);
		const { result: bodies, maxWaiting } = await withQueueSampling(slots, () =>
			Promise.all(
				Array.from({ length: 6 }, async () => {
					const response = await download(downloadEvent(reader, confidentialId));
					expect(response.status).toBe(200);
					return drain(response);
				})
			)
		);
		for (const body of bodies) {
			expect(body.subarray(0, 5).toString('latin1')).toBe('%PDF-');
			expect(body.byteLength).toBeGreaterThan(1024 * 1024);
		}
		// Readers did queue (the bound was tested), and no more than two were ever marked at once.
		expect(maxWaiting).toBeGreaterThan(0);
		expect(slots.highWater).toBe(2);
		expect(slots.active).toBe(0);
	}, 120_000);

	it('answers 503 "busy, try again" to a reader who waits too long, in both languages, having served nothing', async () => {
		configure({ WATERMARK_CONCURRENCY: '1', WATERMARK_WAIT_MS: '300' });
		const slots = watermarkSlots();
		// The one slot is held by a reader who has not read their answer yet.
		const holding = await download(downloadEvent(reader, confidentialId));
		expect(slots.active).toBe(1);
		const downloadsBefore = await downloadsOf(reader);
		for (const [locale, text] of [
			['en', 'try again'],
			['ja', '再度お試しください']
		] as const) {
			const refused = await outcome(downloadEvent(reader, confidentialId, locale), (event) =>
				download(event as never)
			);
			expect(refused).toMatchObject({ kind: 'error', status: 503 });
			expect(JSON.stringify(refused)).toContain(text);
		}
		// A refused reader was sent nothing, so nothing is recorded as sent; each attempt is
		// recorded as failed, with its reason.
		expect(await downloadsOf(reader)).toBe(downloadsBefore);
		const failed = await world.db
			.select()
			.from(auditEvent)
			.where(
				and(
					eq(auditEvent.actorId, reader.id),
					eq(auditEvent.action, 'document.download'),
					eq(auditEvent.outcome, 'failed')
				)
			);
		expect(failed).toHaveLength(2);
		for (const event of failed) {
			expect(event.details).toMatchObject({
				reason: 'watermark_busy',
				documentId: Number(confidentialId)
			});
		}
		// Reading (or abandoning) the held answer frees the slot for the next reader.
		await holding.body!.cancel();
		expect(slots.active).toBe(0);
		const next = await download(downloadEvent(reader, confidentialId));
		expect(next.status).toBe(200);
		await drain(next);
		expect(slots.active).toBe(0);
	}, 60_000);

	it('cuts off a reader who stops reading, freeing the slot, and not one who reads slowly', async () => {
		configure({
			WATERMARK_CONCURRENCY: '1',
			WATERMARK_WAIT_MS: '20000',
			WATERMARK_READ_TIMEOUT_MS: '1000'
		});
		const slots = watermarkSlots();
		// One piece read, then nothing: the connection stays, the reading stops.
		const stalled = (await download(downloadEvent(reader, confidentialId))).body!.getReader();
		const first = await stalled.read();
		expect(first.done).toBe(false);
		expect(slots.active).toBe(1);
		// The next reader waits for the slot, which the stalled answer gives up after a second.
		const started = Date.now();
		const next = await download(downloadEvent(reader, confidentialId));
		expect(next.status).toBe(200);
		expect(Date.now() - started).toBeGreaterThanOrEqual(900);
		// A reader who keeps reading, a piece every 250 ms, is served whole although that takes
		// longer than the timeout in all.
		const slow = next.body!.getReader();
		const pieces: Uint8Array[] = [];
		const slowStarted = Date.now();
		for (;;) {
			const { done, value } = await slow.read();
			if (done) break;
			pieces.push(value);
			await new Promise((resolve) => setTimeout(resolve, 250));
		}
		expect(Date.now() - slowStarted).toBeGreaterThan(1000);
		const whole = Buffer.concat(pieces);
		expect(whole.subarray(0, 5).toString('latin1')).toBe('%PDF-');
		expect(whole.byteLength).toBeGreaterThan(storedSize);
		expect(slots.active).toBe(0);
		// The stalled answer ended in an error: its reader never sees a complete-looking file.
		await expect(
			(async () => {
				for (;;) if ((await stalled.read()).done) return 'ended cleanly';
			})()
		).rejects.toThrow('stopped reading');
	}, 60_000);
});

async function downloadsOf(person: Person): Promise<number> {
	const rows = await world.db
		.select({ id: auditEvent.seq })
		.from(auditEvent)
		.where(
			and(
				eq(auditEvent.actorId, person.id),
				eq(auditEvent.action, 'document.download'),
				eq(auditEvent.outcome, 'allowed')
			)
		);
	return rows.length;
}

describe('text extraction', () => {
	it('never reads more than PDF_TEXT_CONCURRENCY PDFs at once; the others wait their turn', async () => {
		configure({ PDF_TEXT_CONCURRENCY: '2' });
		const slots = textSlots();
		const runs = Array.from({ length: 6 }, () => storedPdfText(world.store, storedKey, storedSize));
		// Asked for at once: two run, four queue (none is refused).
		expect(slots.active).toBe(2);
		expect(slots.waiting).toBe(4);
		const texts = await Promise.all(runs);
		for (const text of texts) expect(text).toContain('Page 60');
		expect(slots.highWater).toBe(2);
		expect(slots.active).toBe(0);
	}, 120_000);

	it('uploads many PDFs at once with one extraction slot, every one stored with its text', async () => {
		configure({ PDF_TEXT_CONCURRENCY: '1' });
		const pdf = await heavyPdf();
		const slots = textSlots();
		const ids = await Promise.all(Array.from({ length: 4 }, () => upload('0', pdf)));
		expect(new Set(ids).size).toBe(4);
		for (const id of ids) {
			const [row] = await world.db
				.select({ text: document.searchText })
				.from(document)
				.where(eq(document.id, Number(id)));
			expect(row!.text).toContain('page 60');
		}
		expect(slots.highWater).toBe(1);
	}, 120_000);
});
