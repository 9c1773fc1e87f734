import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { RequestEvent } from '@sveltejs/kit';
import { and, asc, desc, eq, gt } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pdf } from '../../../../tests/helpers/files';
import { createVaultWorld, type Person, type VaultWorld } from '../../../../tests/helpers/vault';
import { outcome, requestEvent } from '../../../../tests/helpers/vault-events';
import * as viewRoute from '../../../routes/(app)/documents/[id]/+page.server';
import { GET as currentDownload } from '../../../routes/(app)/documents/[id]/download/+server';
import { GET as versionDownload } from '../../../routes/(app)/documents/[id]/versions/[n]/download/+server';
import { effectiveAccess, type Access } from '../access';
import { loadConfig, setConfig } from '../config';
import { auditEvent, documentVersion, grant } from '../db/schema';
import * as documents from './documents';
import { addVersionFromRequest, createFromRequest } from './upload';
import * as write from './write';

/**
 * Every version carries a marking of its own. Marking a document down reaches only its current
 * version: an unredacted original written under SECRET stays SECRET when a redacted version is
 * marked RESTRICTED, and a reader cleared for RESTRICTED finds no trace of it (not in the list,
 * and its download answers as a version number never issued). Marking up reaches every version.
 */
const ORIGIN = 'http://intranet.test';
let world: VaultWorld;
let dir: string;
let author: Person; // SECRET, SDA and MD
let secretReader: Person; // SECRET, SDA and MD
let restrictedReader: Person; // RESTRICTED
let sdaReader: Person; // CONFIDENTIAL, SDA only
let liaison: Person; // USA, SECRET, SDA
const context = { ip: '127.0.0.1', userAgent: 'vitest', requestId: 'version-marking' };

beforeAll(async () => {
	dir = mkdtempSync(path.join(os.tmpdir(), 'jiss-version-marking-'));
	setConfig(loadConfig({ DATA_DIR: dir, ORIGIN, INTRANET_MODE: 'demo' }));
	world = await createVaultWorld();
	author = await world.person({ name: 'Author', level: 3, compartments: ['SDA', 'MD'] });
	secretReader = await world.person({ name: 'Secret', level: 3, compartments: ['SDA', 'MD'] });
	restrictedReader = await world.person({ name: 'Restricted', level: 1 });
	sdaReader = await world.person({ name: 'SDA reader', level: 2, compartments: ['SDA'] });
	liaison = await world.person({
		name: 'Liaison',
		org: 'USA',
		roles: ['liaison'],
		level: 3,
		compartments: ['SDA']
	});
});

afterAll(async () => {
	await world?.close();
	rmSync(dir, { recursive: true, force: true });
});

function multipart(route: string, fields: Record<string, string | string[]>, file: File) {
	const data = new FormData();
	for (const [name, value] of Object.entries(fields)) {
		for (const v of [value].flat()) data.append(name, v);
	}
	data.append('file', file);
	return new Request(`${ORIGIN}${route}`, {
		method: 'POST',
		body: data,
		headers: { origin: ORIGIN }
	});
}

/** A published file document, version 1, uploaded by `person` with the given marking. */
async function uploadFile(
	person: Person,
	marking: { level: number; compartments?: number[]; release?: number[] },
	file: File
): Promise<number> {
	return createFromRequest({
		request: multipart(
			'/documents/upload',
			{
				title: 'Ground segment assessment',
				level: String(marking.level),
				compartments: (marking.compartments ?? []).map(String),
				releasability: (marking.release ?? [world.org.JISS]).map(String),
				publish: 'on'
			},
			file
		),
		user: person.user,
		context
	});
}

async function uploadVersion(person: Person, documentId: number, file: File): Promise<number> {
	return addVersionFromRequest({
		request: multipart(`/documents/${documentId}/versions/upload`, { note: 'redacted' }, file),
		user: person.user,
		context,
		document: { id: documentId }
	});
}

const text = (name: string, content: string) => new File([content], name);

async function reclassify(documentId: number, marking: Partial<write.Classification>) {
	const doc = await documents.findReadable(world.db, author.writer.access, documentId);
	return write.reclassify(author.writer, context, documentId, {
		levelRank: marking.levelRank ?? doc!.levelRank,
		compartmentIds: marking.compartmentIds ?? doc!.compartmentIds,
		releaseOrgIds: marking.releaseOrgIds ?? doc!.releaseOrgIds,
		reason: 'test'
	});
}

/** Each version's own marking, oldest first. */
async function markings(documentId: number) {
	return world.db
		.select({
			number: documentVersion.number,
			levelRank: documentVersion.levelRank,
			compartmentIds: documentVersion.compartmentIds,
			releaseOrgIds: documentVersion.releaseOrgIds
		})
		.from(documentVersion)
		.where(eq(documentVersion.documentId, documentId))
		.orderBy(asc(documentVersion.number));
}

const listed = async (access: Access, documentId: number) =>
	(await documents.versions(world.db, access, documentId)).map((v) => v.number);

async function headSeq(): Promise<number> {
	const [row] = await world.db
		.select({ seq: auditEvent.seq })
		.from(auditEvent)
		.orderBy(desc(auditEvent.seq))
		.limit(1);
	return row?.seq ?? 0;
}

async function eventsSince(seq: number) {
	return world.db
		.select()
		.from(auditEvent)
		.where(gt(auditEvent.seq, seq))
		.orderBy(asc(auditEvent.seq));
}

async function lastReclassification(documentId: number) {
	const [event] = await world.db
		.select()
		.from(auditEvent)
		.where(
			and(eq(auditEvent.action, 'document.reclassify'), eq(auditEvent.targetId, String(documentId)))
		)
		.orderBy(desc(auditEvent.seq))
		.limit(1);
	return event!.details as Record<string, unknown>;
}

type AnyRoute = (event: RequestEvent) => unknown;

/** A version's download, called as SvelteKit calls the route. */
async function download(person: Person, documentId: number, n: string) {
	const path = `/documents/${documentId}/versions/${n}/download`;
	const answer = await outcome(
		requestEvent({ user: person.user, path, params: { id: String(documentId), n } }),
		versionDownload as AnyRoute
	);
	if (answer.kind !== 'ok') return answer;
	const response = answer.value as Response;
	return {
		kind: 'ok' as const,
		status: response.status,
		etag: response.headers.get('etag'),
		body: Buffer.from(await response.arrayBuffer())
	};
}

/** The document page's version list and current version, for `person`. */
async function page(person: Person, documentId: number) {
	const answer = await outcome(
		requestEvent({
			user: person.user,
			path: `/documents/${documentId}`,
			params: { id: String(documentId) }
		}),
		viewRoute.load as AnyRoute
	);
	if (answer.kind !== 'ok') throw new Error(`The document page answered ${answer.kind}`);
	const data = answer.value as {
		versions: { number: number }[];
		active: { number: number } | null;
	};
	return { versions: data.versions.map((v) => v.number), active: data.active?.number ?? null };
}

describe('a redacted version of a SECRET file, marked down to RESTRICTED', () => {
	let id: number;

	beforeAll(async () => {
		id = await uploadFile(author, { level: 3 }, text('assessment.txt', 'unredacted original'));
		await uploadVersion(author, id, text('assessment.txt', 'redacted copy'));
		await reclassify(id, { levelRank: 1 });
	});

	it('keeps version 1 at SECRET and marks only the current version down, audited', async () => {
		expect(await markings(id)).toEqual([
			{ number: 1, levelRank: 3, compartmentIds: [], releaseOrgIds: [world.org.JISS] },
			{ number: 2, levelRank: 1, compartmentIds: [], releaseOrgIds: [world.org.JISS] }
		]);
		expect(await lastReclassification(id)).toMatchObject({
			currentVersion: 2,
			earlierVersions: 1,
			earlierVersionsStricter: 1
		});
	});

	it('lists only the redacted version to a RESTRICTED reader, both to a SECRET one', async () => {
		expect(await listed(restrictedReader.writer.access, id)).toEqual([2]);
		expect(await listed(secretReader.writer.access, id)).toEqual([2, 1]);
		expect(await page(restrictedReader, id)).toEqual({ versions: [2], active: 2 });
		expect(await page(secretReader, id)).toEqual({ versions: [2, 1], active: 2 });
	});

	it('answers version 1 to a RESTRICTED reader exactly as version 99, audited with the true reason', async () => {
		const before = await headSeq();
		const hidden = await download(restrictedReader, id, '1');
		const never = await download(restrictedReader, id, '99');
		expect(hidden).toEqual({ kind: 'error', status: 404, body: { message: 'Not Found' } });
		expect(never).toEqual(hidden);
		const events = await eventsSince(before);
		expect(events.map((e) => [e.action, e.outcome, e.actorId])).toEqual([
			['document.denied', 'denied', restrictedReader.id],
			['document.denied', 'denied', restrictedReader.id]
		]);
		expect(events[0]!.details).toMatchObject({
			reason: 'version_marking',
			marking: 'level',
			documentId: id,
			version: '1',
			attempted: 'document.download'
		});
		expect(events[1]!.details).toMatchObject({ reason: 'no_such_version', version: '99' });
		expect(events[1]!.details).not.toHaveProperty('marking');
	});

	it('serves the redacted version, current or by number, to the RESTRICTED reader', async () => {
		expect(await download(restrictedReader, id, '2')).toMatchObject({
			status: 200,
			body: Buffer.from('redacted copy')
		});
		const current = await outcome(
			requestEvent({
				user: restrictedReader.user,
				path: `/documents/${id}/download`,
				params: { id: String(id) }
			}),
			currentDownload as AnyRoute
		);
		expect(current.kind).toBe('ok');
		expect(await (current as { value: Response }).value.text()).toBe('redacted copy');
	});

	it('serves the original to a SECRET reader and to the author who holds SECRET', async () => {
		for (const person of [secretReader, author]) {
			expect(await download(person, id, '1')).toMatchObject({
				status: 200,
				body: Buffer.from('unredacted original')
			});
		}
		expect(await listed(author.writer.access, id)).toEqual([2, 1]);
	});

	it('gives a new version the document marking of the moment', async () => {
		expect(await uploadVersion(author, id, text('assessment.txt', 'third'))).toBe(3);
		expect((await markings(id)).map((v) => v.levelRank)).toEqual([3, 1, 1]);
		expect(await listed(restrictedReader.writer.access, id)).toEqual([3, 2]);
	});
});

describe('an author who no longer holds SECRET', () => {
	it('sees the original of their own document only while they do', async () => {
		const former = await world.person({ name: 'Former', level: 3 });
		await world.db
			.insert(grant)
			.values({ accountId: former.id, kind: 'level', levelRank: 1, reason: 'test clearance' });
		const id = await uploadFile(former, { level: 3 }, text('a.txt', 'original'));
		await uploadVersion(former, id, text('a.txt', 'redacted'));
		await write.reclassify(former.writer, context, id, {
			levelRank: 1,
			compartmentIds: [],
			releaseOrgIds: [world.org.JISS],
			reason: 'redacted'
		});
		expect(await listed(former.writer.access, id)).toEqual([2, 1]);

		await world.db
			.update(grant)
			.set({ revokedAt: new Date() })
			.where(and(eq(grant.accountId, former.id), eq(grant.levelRank, 3)));
		const now = (await effectiveAccess(world.db, former.id))!;
		expect(now.level).toBe(1);
		expect(await listed(now, id)).toEqual([2]);
		expect(await page(former, id)).toEqual({ versions: [2], active: 2 });
		expect(await download(former, id, '1')).toEqual({
			kind: 'error',
			status: 404,
			body: { message: 'Not Found' }
		});
	});
});

describe('compartments removed and releasability widened', () => {
	let id: number;

	beforeAll(async () => {
		const memo = await write.createMemo(author.writer, context, {
			title: 'Sensor tasking',
			summary: '',
			body: 'Names the MD programme and its sources.',
			tags: [],
			levelRank: 1,
			compartmentIds: [world.comp.SDA, world.comp.MD],
			releaseOrgIds: [world.org.JISS],
			publish: true
		});
		id = memo.id;
		await write.editMemo(author.writer, context, id, {
			title: 'Sensor tasking',
			summary: '',
			body: 'Sanitised for release.',
			tags: []
		});
		await reclassify(id, {
			compartmentIds: [world.comp.SDA],
			releaseOrgIds: [world.org.JISS, world.org.USA]
		});
	});

	it('keeps the earlier version under MD and JISS only', async () => {
		expect(await markings(id)).toEqual([
			{
				number: 1,
				levelRank: 1,
				compartmentIds: [world.comp.SDA, world.comp.MD].sort((a, b) => a - b),
				releaseOrgIds: [world.org.JISS]
			},
			{
				number: 2,
				levelRank: 1,
				compartmentIds: [world.comp.SDA],
				releaseOrgIds: [world.org.JISS, world.org.USA].sort((a, b) => a - b)
			}
		]);
	});

	it('shows a liaison whose organisation was added only the current version', async () => {
		expect(await documents.findReadable(world.db, liaison.writer.access, id)).not.toBeNull();
		expect(await listed(liaison.writer.access, id)).toEqual([2]);
		expect(await page(liaison, id)).toEqual({ versions: [2], active: 2 });
		const before = await headSeq();
		expect(await download(liaison, id, '1')).toEqual({
			kind: 'error',
			status: 404,
			body: { message: 'Not Found' }
		});
		const [denied] = await eventsSince(before);
		expect(denied!.details).toMatchObject({ reason: 'version_marking', marking: 'release' });
	});

	it('shows a reader not read into MD only the current version, and one who is both', async () => {
		expect(await listed(sdaReader.writer.access, id)).toEqual([2]);
		const found = await documents.openVersion(world.db, sdaReader.writer.access, id, 1);
		expect(found).toMatchObject({
			version: null,
			denial: 'version_marking',
			marking: 'compartment'
		});
		expect(await listed(secretReader.writer.access, id)).toEqual([2, 1]);
		expect(await download(secretReader, id, '1')).toMatchObject({
			status: 200,
			body: Buffer.from('Names the MD programme and its sources.')
		});
	});
});

describe('an upgrade, then a downgrade', () => {
	it('keeps the earlier versions at the upgraded marking; a later version takes the new one', async () => {
		const memo = await write.createMemo(author.writer, context, {
			title: 'Launch window',
			summary: '',
			body: 'v1',
			tags: [],
			levelRank: 1,
			compartmentIds: [],
			releaseOrgIds: [world.org.JISS, world.org.USA],
			publish: true
		});
		const id = memo.id;
		const edit = (body: string) =>
			write.editMemo(author.writer, context, id, {
				title: 'Launch window',
				summary: '',
				body,
				tags: []
			});
		await edit('v2');
		await reclassify(id, {
			levelRank: 3,
			compartmentIds: [world.comp.SDA],
			releaseOrgIds: [world.org.JISS]
		});
		expect(await lastReclassification(id)).toMatchObject({ earlierVersionsStricter: 0 });
		const upgraded = {
			levelRank: 3,
			compartmentIds: [world.comp.SDA],
			releaseOrgIds: [world.org.JISS]
		};
		expect(await markings(id)).toEqual([
			{ number: 1, ...upgraded },
			{ number: 2, ...upgraded }
		]);
		// The upgrade reached version 1 too: gone for the RESTRICTED reader at once.
		expect(await listed(restrictedReader.writer.access, id)).toEqual([]);

		await reclassify(id, {
			levelRank: 1,
			compartmentIds: [],
			releaseOrgIds: [world.org.JISS, world.org.USA]
		});
		expect(await lastReclassification(id)).toMatchObject({ earlierVersionsStricter: 1 });
		const down = {
			levelRank: 1,
			compartmentIds: [],
			releaseOrgIds: [world.org.JISS, world.org.USA].sort((a, b) => a - b)
		};
		expect(await markings(id)).toEqual([
			{ number: 1, ...upgraded },
			{ number: 2, ...down }
		]);
		expect(await listed(restrictedReader.writer.access, id)).toEqual([2]);

		await edit('v3');
		expect(await markings(id)).toEqual([
			{ number: 1, ...upgraded },
			{ number: 2, ...down },
			{ number: 3, ...down }
		]);
		expect(await listed(restrictedReader.writer.access, id)).toEqual([3, 2]);
		expect(await listed(secretReader.writer.access, id)).toEqual([3, 2, 1]);
	});
});

describe('watermarking an earlier version', () => {
	it('marks a PDF whose own level is CONFIDENTIAL or above though its document is lower', async () => {
		const id = await uploadFile(
			author,
			{ level: 3 },
			new File([new Uint8Array(pdf('original'))], 'report.pdf')
		);
		await uploadVersion(author, id, new File([new Uint8Array(pdf('redacted'))], 'report.pdf'));
		await reclassify(id, { levelRank: 1 });
		const original = await download(secretReader, id, '1');
		const redacted = await download(secretReader, id, '2');
		expect(original).toMatchObject({ kind: 'ok', status: 200 });
		expect(redacted).toMatchObject({ kind: 'ok', status: 200 });
		expect((original as { etag: string }).etag).toMatch(/^"wm-/);
		expect((redacted as { etag: string }).etag).not.toMatch(/^"wm-/);
	});
});
