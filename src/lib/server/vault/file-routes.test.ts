import { isHttpError, isRedirect } from '@sveltejs/kit';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { desc, eq, gt } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createVaultWorld, type Person, type VaultWorld } from '../../../../tests/helpers/vault';
import { GET as download } from '../../../routes/(app)/documents/[id]/download/+server';
import { GET as preview } from '../../../routes/(app)/documents/[id]/preview/+server';
import { POST as versionUpload } from '../../../routes/(app)/documents/[id]/versions/upload/+server';
import { POST as newUpload } from '../../../routes/(app)/documents/upload/+server';
import { load as reclassifyPage } from '../../../routes/(app)/documents/[id]/reclassify/+page.server';
import { load as versionUploadPage } from '../../../routes/(app)/documents/[id]/versions/upload/+page.server';
import { GET as versionDownload } from '../../../routes/(app)/documents/[id]/versions/[n]/download/+server';
import { load as viewer } from '../../../routes/(app)/documents/[id]/viewer/+page.server';
import { loadConfig, setConfig } from '../config';
import { auditEvent, document, documentVersion, pendingUpload } from '../db/schema';
import { createFromRequest } from './upload';

/**
 * Every file route, called as SvelteKit calls it: an unknown id and each kind of unreadable
 * document get the very same 404, and each is audited as a denial with its true reason.
 */
const ORIGIN = 'http://intranet.test';
let world: VaultWorld;
let author: Person;
let reader: Person;
let dir: string;
const ids: Record<string, string> = {};

function eventFor(
	person: Person,
	route: string,
	params: Record<string, string>,
	init?: RequestInit
) {
	const url = new URL(`${ORIGIN}${route}`);
	return {
		locals: {
			requestId: 'r',
			clientIp: '127.0.0.1',
			user: person.user,
			session: null
		},
		url,
		params,
		request: new Request(url, init),
		route: { id: route },
		getClientAddress: () => '127.0.0.1'
	} as never;
}

/** A reader's browser sent to a file address by another site (`Sec-Fetch-Site`). */
const crossSite = (route: string, params: Record<string, string>, site = 'cross-site') =>
	eventFor(reader, route, params, { headers: { 'sec-fetch-site': site } });

async function upload(fields: Record<string, string | string[]>, name = 'a.txt') {
	const data = new FormData();
	for (const [k, v] of Object.entries(fields)) for (const x of [v].flat()) data.append(k, x);
	data.append('file', new File([new TextEncoder().encode('secret text')], name));
	const id = await createFromRequest({
		request: new Request(`${ORIGIN}/documents/upload`, { method: 'POST', body: data }),
		user: author.user,
		context: {}
	});
	return String(id);
}

beforeAll(async () => {
	dir = mkdtempSync(path.join(os.tmpdir(), 'jiss-routes-'));
	setConfig(loadConfig({ DATA_DIR: dir, ORIGIN, INTRANET_MODE: 'demo' }));
	world = await createVaultWorld();
	author = await world.person({ name: 'Author', level: 4, compartments: ['SDA', 'MD'] });
	reader = await world.person({ name: 'Reader', level: 2, compartments: ['SDA'] });
	const release = [String(world.org.JISS)];
	ids.readable = await upload({ title: 'Open', level: '1', releasability: release, publish: 'on' });
	ids.level = await upload({
		title: 'Too high',
		level: '3',
		releasability: release,
		publish: 'on'
	});
	ids.compartment = await upload({
		title: 'Other compartment',
		level: '1',
		compartments: [String(world.comp.MD)],
		releasability: release,
		publish: 'on'
	});
	ids.release = await upload({
		title: 'Not released',
		level: '0',
		releasability: [String(world.org.JISS)],
		publish: 'on'
	});
	ids.draft = await upload({ title: 'Draft', level: '0', releasability: release });
});

afterAll(async () => {
	await world?.close();
	rmSync(dir, { recursive: true, force: true });
});

type Call = (person: Person, id: string) => unknown;
const routes: [string, Call][] = [
	['download', (p, id) => download(eventFor(p, `/documents/${id}/download`, { id }))],
	['preview', (p, id) => preview(eventFor(p, `/documents/${id}/preview`, { id }))],
	[
		'version download',
		(p, id) => versionDownload(eventFor(p, `/documents/${id}/versions/1/download`, { id, n: '1' }))
	],
	['viewer', (p, id) => viewer(eventFor(p, `/documents/${id}/viewer`, { id }))],
	[
		'version upload',
		(p, id) => {
			const data = new FormData();
			data.append('file', new File(['x'], 'x.txt'));
			return versionUpload(
				eventFor(
					p,
					`/documents/${id}/versions/upload`,
					{ id },
					{
						method: 'POST',
						body: data,
						headers: { origin: ORIGIN }
					}
				)
			);
		}
	]
];

async function outcome(call: unknown) {
	try {
		const result = await call;
		return { ok: result instanceof Response ? result.status : 'data' };
	} catch (error) {
		if (isHttpError(error)) return { status: error.status, body: error.body };
		throw error;
	}
}

describe.each(routes)('the %s route', (_name, call) => {
	it('answers an unknown id and every unreadable document with the same 404, audited with the true reason', async () => {
		const expectedReasons: [string, string][] = [
			['999999', 'not_found'],
			['abc', 'invalid_id'],
			[ids.level!, 'level'],
			[ids.compartment!, 'compartment'],
			[ids.draft!, 'draft']
		];
		const answers = [];
		for (const [id, reason] of expectedReasons) {
			answers.push(await outcome(call(reader, id)));
			const [event] = await world.db
				.select()
				.from(auditEvent)
				.orderBy(desc(auditEvent.seq))
				.limit(1);
			expect(event).toMatchObject({
				action: 'document.denied',
				outcome: 'denied',
				actorId: reader.id
			});
			expect(event!.details).toMatchObject({ reason });
		}
		for (const answer of answers)
			expect(answer).toEqual({ status: 404, body: { message: 'Not Found' } });
	});
});

describe('a readable document without a version to show', () => {
	it('answers the viewer, preview and download with the 404 of a missing version, audited', async () => {
		const id = await upload({
			title: 'Half landed',
			level: '1',
			releasability: [String(world.org.JISS)],
			publish: 'on'
		});
		// As if its only version had never become active (the upload's first phase).
		await world.db
			.update(documentVersion)
			.set({ state: 'pending' })
			.where(eq(documentVersion.documentId, Number(id)));
		try {
			for (const [name, call] of routes.filter(([n]) => n !== 'version upload')) {
				expect(await outcome(call(reader, id)), name).toEqual({
					status: 404,
					body: { message: 'Not Found' }
				});
				const [event] = await world.db
					.select()
					.from(auditEvent)
					.orderBy(desc(auditEvent.seq))
					.limit(1);
				expect(event, name).toMatchObject({ action: 'document.denied', outcome: 'denied' });
				expect(event!.details, name).toMatchObject({ reason: 'no_such_version' });
			}
		} finally {
			await world.db
				.update(documentVersion)
				.set({ state: 'active' })
				.where(eq(documentVersion.documentId, Number(id)));
		}
	});
});

describe('a partner organisation', () => {
	it('gets the same 404 for a JISS-only document', async () => {
		const partner = await world.person({ name: 'Partner', org: 'AUS', level: 4 });
		expect(await outcome(routes[0]![1](partner, ids.release!))).toEqual({
			status: 404,
			body: { message: 'Not Found' }
		});
		const [event] = await world.db
			.select()
			.from(auditEvent)
			.where(eq(auditEvent.actorId, partner.id))
			.orderBy(desc(auditEvent.seq))
			.limit(1);
		expect(event!.details).toMatchObject({ reason: 'release' });
	});

	it('lets a reader who may read download it (control)', async () => {
		const answer = (await download(
			eventFor(reader, `/documents/${ids.readable}/download`, { id: ids.readable! })
		)) as Response;
		expect(answer.status).toBe(200);
		expect(await answer.text()).toBe('secret text');
	});
});

describe('a refused upload, posted to the endpoints', () => {
	function post(
		person: Person,
		route: string,
		params: Record<string, string>,
		fields: [string, string][]
	) {
		const data = new FormData();
		for (const [k, v] of fields) data.append(k, v);
		data.append('file', new File(['refused bytes'], 'r.txt'));
		return eventFor(person, route, params, {
			method: 'POST',
			body: data,
			headers: { origin: ORIGIN }
		});
	}
	const lastEvent = async (person: Person) =>
		(
			await world.db
				.select()
				.from(auditEvent)
				.where(eq(auditEvent.actorId, person.id))
				.orderBy(desc(auditEvent.seq))
				.limit(1)
		)[0]!;
	const counts = async () => ({
		documents: await world.db.$count(document),
		versions: await world.db.$count(documentVersion),
		pending: await world.db.$count(pendingUpload)
	});

	const objectKeys = async () => {
		const keys: string[] = [];
		for await (const o of world.store.list('versions/')) keys.push(o.key);
		return keys.sort();
	};

	it('refuses a PDF named as text, new or as a version, storing nothing', async () => {
		// All of it ASCII (as `mutool clean -a` writes one): valid UTF-8 without NUL. Accepted as
		// text it would be served without the reader's watermark, and open again as a PDF.
		const disguised = new TextEncoder().encode(
			'%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n' +
				'2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n'
		);
		const textDocument = await upload({
			title: 'A text document',
			level: '3',
			releasability: [String(world.org.JISS)],
			publish: 'on'
		});
		for (const name of ['plan.txt', 'plan.md', 'plan.csv']) {
			const before = { ...(await counts()), keys: await objectKeys() };
			const sent = (route: string, params: Record<string, string>, fields: [string, string][]) => {
				const data = new FormData();
				for (const [k, v] of fields) data.append(k, v);
				data.append('file', new File([disguised], name));
				return eventFor(author, route, params, {
					method: 'POST',
					body: data,
					headers: { origin: ORIGIN }
				});
			};
			const created = (await newUpload(
				sent('/documents/upload', {}, [
					['title', 'Plan'],
					['level', '3'],
					['releasability', String(world.org.JISS)],
					['publish', 'on']
				])
			)) as Response;
			const added = (await versionUpload(
				sent(`/documents/${textDocument}/versions/upload`, { id: textDocument }, [])
			)) as Response;
			for (const response of [created, added]) {
				expect(response.status, name).toBe(415);
				// The refusal of contents that do not match the extension (files_error_type_mismatch).
				expect(await response.json()).toEqual({ code: 'type_refused', detail: 'magic' });
			}
			expect({ ...(await counts()), keys: await objectKeys() }).toEqual(before);
			// Each attempt is in the log, though nothing was kept.
			const event = await lastEvent(author);
			expect(event).toMatchObject({ action: 'document.denied', outcome: 'denied' });
			expect(event.details).toEqual({
				reason: 'file:type_refused',
				detail: 'magic',
				attempted: 'document.version_added',
				documentId: Number(textDocument)
			});
		}
	});

	it('audits a write above the writer’s access as a denial, as a memo’s is', async () => {
		const before = await counts();
		const response = (await newUpload(
			post(reader, '/documents/upload', {}, [
				['title', 'Above me'],
				['level', '3'],
				['releasability', String(world.org.JISS)]
			])
		)) as Response;
		expect(response.status).toBe(403);
		expect(await response.json()).toEqual({ code: 'write_refused', detail: 'level' });
		const event = await lastEvent(reader);
		expect(event).toMatchObject({ action: 'document.denied', outcome: 'denied', targetId: null });
		expect(event.details).toEqual({
			reason: 'write:level',
			attempted: 'document.upload',
			documentId: null
		});
		expect(await counts()).toEqual(before);
	});

	it('audits a version by someone who may read the document but is not its author', async () => {
		const before = await counts();
		const response = (await versionUpload(
			post(reader, `/documents/${ids.readable}/versions/upload`, { id: ids.readable! }, [])
		)) as Response;
		expect(response.status).toBe(403);
		expect(await response.json()).toEqual({ code: 'not_author', detail: null });
		const event = await lastEvent(reader);
		expect(event).toMatchObject({ action: 'document.denied', outcome: 'denied' });
		expect(event.details).toEqual({
			reason: 'write:not_author',
			attempted: 'document.version_added',
			documentId: Number(ids.readable)
		});
		expect(await counts()).toEqual(before);
	});

	it('audits the version form opened by someone who is not the author', async () => {
		const id = ids.readable!;
		expect(
			await outcome(versionUploadPage(eventFor(reader, `/documents/${id}/versions/upload`, { id })))
		).toEqual({ status: 403, body: { message: 'Forbidden' } });
		const event = await lastEvent(reader);
		expect(event).toMatchObject({ action: 'document.denied', outcome: 'denied' });
		expect(event.details).toMatchObject({
			reason: 'write:not_author',
			attempted: 'document.version_added',
			documentId: Number(id)
		});
	});

	it('sends the author of an archived file back to its page instead of the version form', async () => {
		const id = await upload({
			title: 'Archived file',
			level: '0',
			releasability: [String(world.org.JISS)],
			publish: 'on'
		});
		await world.db
			.update(document)
			.set({ status: 'archived' })
			.where(eq(document.id, Number(id)));
		const sent = await Promise.resolve(
			versionUploadPage(eventFor(author, `/documents/${id}/versions/upload`, { id }))
		).then(
			() => null,
			(thrown: unknown) => thrown
		);
		expect(isRedirect(sent)).toBe(true);
		expect(sent).toMatchObject({ status: 303, location: `/documents/${id}` });
	});

	it('refuses a release to an organisation that does not exist, storing nothing', async () => {
		const before = await counts();
		const seqBefore = (await lastEvent(author))?.seq;
		const response = (await newUpload(
			post(author, '/documents/upload', {}, [
				['title', 'Released to a future organisation'],
				['level', '0'],
				['releasability', String(world.org.JISS)],
				['releasability', '987654']
			])
		)) as Response;
		expect(response.status).toBe(400);
		expect(await response.json()).toEqual({ code: 'invalid', detail: 'releasability' });
		expect(await counts()).toEqual(before);
		// A malformed form is not a write-rule refusal: nothing to audit.
		expect((await lastEvent(author))?.seq).toBe(seqBefore);
	});
});

describe('pages that show a document besides its own', () => {
	it.each([
		['viewer', 'viewer', viewer],
		['reclassify', 'reclassify', reclassifyPage],
		['versions/upload', 'version_upload', versionUploadPage]
	] as const)('/%s is an audited read of it', async (route, purpose, load) => {
		const id = ids.readable!;
		const shown = (await (load as (e: unknown) => Promise<unknown>)(
			eventFor(author, `/documents/${id}/${route}`, { id })
		)) as { document: { id: number } };
		expect(shown.document.id).toBe(Number(id));
		const [event] = await world.db
			.select()
			.from(auditEvent)
			.where(eq(auditEvent.actorId, author.id))
			.orderBy(desc(auditEvent.seq))
			.limit(1);
		expect(event).toMatchObject({ action: 'document.view', outcome: 'allowed' });
		expect(event!.details).toMatchObject({ documentId: Number(id), purpose });
	});
});

describe('a file asked for by another site', () => {
	it('is refused and audited, while our own pages and typed addresses are served', async () => {
		const id = ids.readable!;
		for (const site of ['cross-site', 'same-site']) {
			for (const [route, call] of [
				['download', download],
				['preview', preview]
			] as const) {
				const refused = await outcome(
					call(
						eventFor(
							reader,
							`/documents/${id}/${route}`,
							{ id },
							{ headers: { 'sec-fetch-site': site } }
						)
					)
				);
				expect(refused).toMatchObject({ status: 403 });
				const [event] = await world.db
					.select()
					.from(auditEvent)
					.orderBy(desc(auditEvent.seq))
					.limit(1);
				expect(event).toMatchObject({ action: 'document.denied', actorId: reader.id });
				expect(event!.details).toMatchObject({
					reason: 'cross_site',
					site,
					documentId: Number(id)
				});
			}
		}
		for (const site of ['same-origin', 'none']) {
			const answer = (await download(
				eventFor(
					reader,
					`/documents/${id}/download`,
					{ id },
					{ headers: { 'sec-fetch-site': site } }
				)
			)) as Response;
			expect(answer.status).toBe(200);
			expect(await answer.text()).toBe('secret text');
		}
	});

	it('is refused before the access check: the same 403 for any id, never a denial with its true reason', async () => {
		const fileRoutes: [string, (id: string, site: string) => unknown][] = [
			['download', (id, site) => download(crossSite(`/documents/${id}/download`, { id }, site))],
			['preview', (id, site) => preview(crossSite(`/documents/${id}/preview`, { id }, site))],
			[
				'version download',
				(id, site) =>
					versionDownload(crossSite(`/documents/${id}/versions/1/download`, { id, n: '1' }, site))
			]
		];
		const answers = [];
		for (const [route, call] of fileRoutes) {
			for (const id of [
				ids.readable!,
				ids.level!,
				ids.compartment!,
				ids.release!,
				ids.draft!,
				'999999',
				'abc'
			]) {
				for (const site of ['cross-site', 'same-site']) {
					const [before] = await world.db
						.select()
						.from(auditEvent)
						.orderBy(desc(auditEvent.seq))
						.limit(1);
					answers.push(await outcome(call(id, site)));
					// One event only: the access check, which would record its own, never ran.
					const events = await world.db
						.select()
						.from(auditEvent)
						.where(gt(auditEvent.seq, before!.seq))
						.orderBy(desc(auditEvent.seq));
					expect(events, `${route} of ${id}`).toHaveLength(1);
					expect(events[0]).toMatchObject({
						action: 'document.denied',
						outcome: 'denied',
						actorId: reader.id,
						targetType: 'document',
						targetId: id
					});
					expect(events[0]!.details).toEqual({
						reason: 'cross_site',
						site,
						documentId: id === 'abc' ? null : Number(id),
						attempted: route === 'preview' ? 'document.preview' : 'document.download'
					});
				}
			}
		}
		expect(new Set(answers.map((a) => JSON.stringify(a)))).toEqual(
			new Set([JSON.stringify(answers[0])])
		);
		expect(answers[0]).toMatchObject({ status: 403 });
	});
});
