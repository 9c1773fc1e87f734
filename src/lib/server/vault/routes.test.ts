import { isActionFailure, type RequestEvent } from '@sveltejs/kit';
import { asc, eq, gt, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createVaultWorld, type Person, type VaultWorld } from '../../../../tests/helpers/vault';
import { outcome, requestEvent, type EventSpec } from '../../../../tests/helpers/vault-events';
import * as listRoute from '../../../routes/(app)/documents/+page.server';
import * as viewRoute from '../../../routes/(app)/documents/[id]/+page.server';
import * as editRoute from '../../../routes/(app)/documents/[id]/edit/+page.server';
import * as reclassifyRoute from '../../../routes/(app)/documents/[id]/reclassify/+page.server';
import * as newRoute from '../../../routes/(app)/documents/new/+page.server';
import * as previewRoute from '../../../routes/(app)/documents/preview/+server';
import * as suggestRoute from '../../../routes/(app)/documents/suggest/+server';
import { canRead } from '../access';
import * as sessions from '../auth/sessions';
import { account, auditEvent, document, grant } from '../db/schema';
import { documentsPanel } from './guard';
import * as write from './write';

/**
 * Every vault route called as SvelteKit calls it, with a RequestEvent whose `locals.user` is
 * set as the authenticate handle sets it, against the real database and S3 server.
 */
let world: VaultWorld;
let staff: Person; // SECRET, SDA
let colleague: Person; // TOP SECRET, all compartments
let analyst: Person; // RESTRICTED
let liaison: Person; // USA, SECRET, SDA
let admin: Person;
let auditor: Person;
const docs: Record<string, number> = {};
const ctx = { ip: '127.0.0.1', userAgent: 'seed', requestId: 'seed' };

type AnyRoute = (event: RequestEvent) => unknown;
const as = (fn: unknown) => fn as AnyRoute;

beforeAll(async () => {
	world = await createVaultWorld();
	staff = await world.person({ name: 'Staff', level: 3, compartments: ['SDA'] });
	colleague = await world.person({
		name: 'Colleague',
		level: 4,
		compartments: ['SDA', 'MD', 'PNT']
	});
	analyst = await world.person({ name: 'Analyst', level: 1 });
	liaison = await world.person({
		name: 'Liaison',
		org: 'USA',
		roles: ['liaison'],
		level: 3,
		compartments: ['SDA']
	});
	admin = await world.person({ name: 'Admin', roles: ['administrator'], level: 4 });
	auditor = await world.person({ name: 'Auditor', roles: ['auditor'], level: 4 });
	const memo = (over: Partial<write.NewMemo>): write.NewMemo => ({
		title: 'Memo',
		summary: '',
		body: '# Body\n\n<script>alert(1)</script>\n\n[x](javascript:alert(1))',
		tags: [],
		levelRank: 1,
		compartmentIds: [],
		releaseOrgIds: [world.org.JISS],
		publish: true,
		...over
	});
	const J = world.org.JISS;
	const U = world.org.USA;
	docs.open = (
		await write.createMemo(
			colleague.writer,
			ctx,
			memo({ title: 'Open memo 宇宙', releaseOrgIds: [J, U] })
		)
	).id;
	docs.own = (
		await write.createMemo(staff.writer, ctx, memo({ title: 'Own memo', publish: true }))
	).id;
	docs.ownDraft = (
		await write.createMemo(staff.writer, ctx, memo({ title: 'Own draft', publish: false }))
	).id;
	docs.topSecret = (
		await write.createMemo(colleague.writer, ctx, memo({ title: 'Top secret 宇宙', levelRank: 4 }))
	).id;
	docs.md = (
		await write.createMemo(
			colleague.writer,
			ctx,
			memo({ title: 'MD memo', compartmentIds: [world.comp.MD] })
		)
	).id;
	docs.jissOnly = (await write.createMemo(colleague.writer, ctx, memo({ title: 'JISS only' }))).id;
	docs.othersDraft = (
		await write.createMemo(
			colleague.writer,
			ctx,
			memo({ title: 'Colleague draft', publish: false })
		)
	).id;
});

afterAll(async () => {
	await world?.close();
});

function event(person: Person | null, spec: Omit<EventSpec, 'user'>) {
	return requestEvent({ user: person?.user ?? null, ...spec });
}

async function lastEvents(since: number) {
	return world.db
		.select()
		.from(auditEvent)
		.where(gt(auditEvent.seq, since))
		.orderBy(asc(auditEvent.seq));
}
async function headSeq() {
	const rows = await world.db
		.select({ seq: auditEvent.seq })
		.from(auditEvent)
		.orderBy(asc(auditEvent.seq));
	return rows.at(-1)?.seq ?? 0;
}

/** Every route about one document, as [label, method, path suffix, route function]. */
const DOCUMENT_ROUTES: [string, 'GET' | 'POST', string, () => AnyRoute][] = [
	['view', 'GET', '', () => as(viewRoute.load)],
	['publish', 'POST', '?/publish', () => as(viewRoute.actions.publish)],
	['archive', 'POST', '?/archive', () => as(viewRoute.actions.archive)],
	['edit page', 'GET', '/edit', () => as(editRoute.load)],
	['edit', 'POST', '/edit', () => as(editRoute.actions.default)],
	['reclassify page', 'GET', '/reclassify', () => as(reclassifyRoute.load)],
	['reclassify', 'POST', '/reclassify', () => as(reclassifyRoute.actions.default)]
];

describe('a document outside the reader’s access does not exist', () => {
	const cases: [string, () => string, string][] = [
		['unknown id', () => '987654', 'not_found'],
		['malformed id', () => '12abc', 'invalid_id'],
		['huge id', () => '99999999999', 'invalid_id'],
		['zero-padded id', () => `00${docs.open}`, 'invalid_id'],
		['above the level', () => String(docs.topSecret), 'level'],
		['outside a compartment', () => String(docs.md), 'compartment'],
		['another author’s draft', () => String(docs.othersDraft), 'draft']
	];

	it('answers the same 404, with the same body, on every route, and audits the true reason', async () => {
		let reference: unknown = undefined;
		for (const [label, getId, reason] of cases) {
			for (const [routeLabel, method, suffix, route] of DOCUMENT_ROUTES) {
				const id = getId();
				const before = await headSeq();
				const result = await outcome(
					event(staff, {
						method,
						path: `/documents/${id}${suffix}`,
						params: { id },
						form:
							method === 'POST'
								? { title: 'x', body: 'x', reason: 'x', levelRank: '0', release: 'JISS' }
								: undefined
					}),
					route()
				);
				expect(result, `${label} / ${routeLabel}`).toMatchObject({ kind: 'error', status: 404 });
				const body = (result as { body: unknown }).body;
				reference ??= body;
				expect(body, `${label} / ${routeLabel}`).toEqual(reference);
				const events = await lastEvents(before);
				expect(events.map((e) => e.action)).toEqual(['document.denied']);
				expect(events[0]!.outcome).toBe('denied');
				expect(events[0]!.details).toMatchObject({ reason });
				expect(events[0]!.actorId).toBe(staff.id);
			}
		}
		expect(reference).toEqual({ message: 'Not Found' });
	});

	it('hides documents not released to a liaison’s organisation', async () => {
		const id = String(docs.jissOnly);
		const before = await headSeq();
		const result = await outcome(
			event(liaison, { path: `/documents/${id}`, params: { id } }),
			as(viewRoute.load)
		);
		expect(result).toMatchObject({ kind: 'error', status: 404, body: { message: 'Not Found' } });
		const [denial] = await lastEvents(before);
		expect(denial!.details).toMatchObject({
			reason: 'release',
			documentId: docs.jissOnly,
			title: 'JISS only'
		});
	});

	it('lists and searches only what the liaison may read', async () => {
		const result = await outcome(event(liaison, { path: '/documents?q=宇宙' }), as(listRoute.load));
		expect(result.kind).toBe('ok');
		const data = (result as { value: { items: { id: number }[]; total: number } }).value;
		expect(data.items.map((i) => i.id)).toEqual([docs.open]);
		expect(data.total).toBe(1);
	});
});

describe('roles', () => {
	it('gives administrators and auditors the audited 404 on every vault route', async () => {
		for (const person of [admin, auditor]) {
			for (const [label, method, suffix, route] of DOCUMENT_ROUTES) {
				const id = String(docs.open);
				const before = await headSeq();
				const result = await outcome(
					event(person, {
						method,
						path: `/documents/${id}${suffix}`,
						params: { id },
						form: method === 'POST' ? {} : undefined
					}),
					route()
				);
				expect(result, label).toMatchObject({
					kind: 'error',
					status: 404,
					body: { message: 'Not Found' }
				});
				const [denial] = await lastEvents(before);
				expect(denial!.details).toMatchObject({ reason: 'role' });
			}
			for (const [path, route] of [
				['/documents', as(listRoute.load)],
				['/documents/new', as(newRoute.load)],
				['/documents/suggest?q=memo', as(suggestRoute.GET)]
			] as const) {
				expect(await outcome(event(person, { path }), route)).toMatchObject({
					kind: 'error',
					status: 404
				});
			}
			const posted = await outcome(
				event(person, {
					method: 'POST',
					path: '/documents/new',
					form: { title: 'x', body: 'x', levelRank: '0', release: 'JISS', publish: 'publish' }
				}),
				as(newRoute.actions.default)
			);
			expect(posted).toMatchObject({ kind: 'error', status: 404 });
		}
		const count = await world.db.select().from(document).where(eq(document.title, 'x'));
		expect(count).toEqual([]);
	});

	it('sends a signed-out request to sign in', async () => {
		const result = await outcome(event(null, { path: '/documents' }), as(listRoute.load));
		expect(result).toMatchObject({ kind: 'redirect', status: 303 });
		expect((result as { location: string }).location).toMatch(/^\/sign-in\?next=/);
	});
});

describe('reads are audited before the page is served', () => {
	it('views: renders the memo sanitised, with the marking in the reader’s language', async () => {
		const id = String(docs.open);
		const before = await headSeq();
		const en = await outcome(
			event(staff, { path: `/documents/${id}`, params: { id } }),
			as(viewRoute.load)
		);
		const ja = await outcome(
			event(staff, { path: `/documents/${id}`, params: { id }, locale: 'ja' }),
			as(viewRoute.load)
		);
		const page = (en as { value: { marking: { text: string }; memoHtml: string } }).value;
		expect(page.marking.text).toBe('RESTRICTED//REL TO JISS, USA');
		expect((ja as { value: { marking: { text: string } } }).value.marking.text).toBe(
			'取扱注意//REL TO JISS, USA'
		);
		expect(page.memoHtml).toContain('<h1>Body</h1>');
		expect(page.memoHtml).not.toMatch(/<script|href="javascript/i);
		const events = await lastEvents(before);
		expect(events.map((e) => e.action)).toEqual(['document.view', 'document.view']);
		expect(events[0]!.details).toMatchObject({
			documentId: docs.open,
			title: 'Open memo 宇宙',
			version: 1
		});
	});

	it('lists and searches: with the search text', async () => {
		const before = await headSeq();
		await outcome(event(analyst, { path: '/documents' }), as(listRoute.load));
		await outcome(event(analyst, { path: '/documents?q=宇宙&kind=memo' }), as(listRoute.load));
		await outcome(event(analyst, { path: '/documents/suggest?q=open' }), as(suggestRoute.GET));
		const events = await lastEvents(before);
		expect(events.map((e) => e.action)).toEqual([
			'document.list',
			'document.search',
			'document.search'
		]);
		expect(events[1]!.details).toMatchObject({ q: '宇宙', total: 1 });
		expect(events[2]!.details).toMatchObject({ q: 'open', kind: 'suggest' });
	});

	it('drops dates and cursors that name no real moment, and values PostgreSQL cannot take, as any malformed value', async () => {
		const cursor = (ts: string, id = 5, score = 0) =>
			Buffer.from(JSON.stringify([score, ts, id])).toString('base64url');
		const plain = await outcome(event(analyst, { path: '/documents' }), as(listRoute.load));
		expect(plain.kind).toBe('ok');
		const total = (plain as { value: { total: number } }).value.total;
		for (const query of [
			'from=2024-02-31',
			'to=2024-13-01',
			'from=0000-01-01',
			`cursor=${cursor('2024-99-99T99:99:99.000000Z')}`,
			`cursor=${cursor('2023-02-29T00:00:00.000000Z')}`,
			`q=orbit&cursor=${cursor('0000-01-01T00:00:00.000000Z')}`,
			// Wider than the integers PostgreSQL compares them with.
			`cursor=${cursor('2030-01-01T00:00:00.000000Z', 3_000_000_000)}`,
			`q=orbit&cursor=${cursor('2030-01-01T00:00:00.000000Z', 5, -3_000_000_000)}`,
			// NUL, which PostgreSQL cannot take in text, and another control character.
			'tag=a%00b',
			'tag=%1B'
		]) {
			const result = await outcome(
				event(analyst, { path: `/documents?${query}` }),
				as(listRoute.load)
			);
			expect(result.kind, query).toBe('ok');
			if (!query.startsWith('q=')) {
				expect((result as { value: { total: number } }).value.total, query).toBe(total);
			}
		}
	});

	it('offers a reader only the compartments they are read into, by name', async () => {
		type ListData = { options: { compartments: { value: string; label: string }[] } };
		const offered = async (person: Person) => {
			const result = await outcome(event(person, { path: '/documents' }), as(listRoute.load));
			if (result.kind !== 'ok') throw new Error(`expected a page, got ${result.kind}`);
			return (result.value as ListData).options.compartments.map((c) => c.value);
		};
		expect(await offered(colleague)).toEqual(['MD', 'PNT', 'SDA']);
		expect(await offered(staff)).toEqual(['SDA']);
		expect(await offered(liaison)).toEqual(['SDA']);
		expect(await offered(analyst)).toEqual([]);
	});

	it('suggests only readable titles', async () => {
		const result = await outcome(
			event(analyst, { path: '/documents/suggest?q=宇宙' }),
			as(suggestRoute.GET)
		);
		const response = (result as { value: Response }).value;
		expect(await response.json()).toEqual({
			suggestions: [{ id: docs.open, title: 'Open memo 宇宙' }]
		});
	});

	it('counts and facets never include documents above the reader', async () => {
		for (const person of [analyst, staff, liaison, colleague]) {
			const result = await outcome(event(person, { path: '/documents' }), as(listRoute.load));
			const data = (
				result as { value: { total: number; facets: { levels: { count?: number }[] } } }
			).value;
			const all = await world.db.select().from(document);
			const readable = all.filter((d) => canRead(person.writer.access, d));
			expect(data.total).toBe(readable.length);
			expect(data.facets.levels.reduce((s, l) => s + (l.count ?? 0), 0)).toBe(readable.length);
		}
	});

	it('renders the editor preview sanitised', async () => {
		const result = await outcome(
			event(staff, {
				method: 'POST',
				path: '/documents/preview',
				json: { markdown: '<iframe src=x></iframe>\n\n**ok**' }
			}),
			as(previewRoute.POST)
		);
		const html = ((await (result as { value: Response }).value.json()) as { html: string }).html;
		expect(html).toContain('<strong>ok</strong>');
		expect(html).not.toContain('<iframe');
	});
});

describe('writes take nothing from the form that the form should not decide', () => {
	const base = (over: Record<string, string | string[]> = {}) => ({
		title: 'Posted memo',
		summary: 'summary',
		body: '# Posted',
		tags: 'a, b',
		levelRank: '1',
		release: ['JISS'],
		publish: 'draft',
		...over
	});

	async function post(person: Person, form: Record<string, string | string[]>) {
		return outcome(
			event(person, { method: 'POST', path: '/documents/new', form }),
			as(newRoute.actions.default)
		);
	}

	it('ignores author, status, originator and id fields (mass assignment)', async () => {
		const result = await post(staff, {
			...base({ title: 'Mass assignment' }),
			authorId: String(colleague.id),
			author_id: String(colleague.id),
			status: 'published',
			id: '1',
			searchText: 'injected',
			createdAt: '2000-01-01'
		});
		expect(result).toMatchObject({ kind: 'redirect', status: 303 });
		const [row] = await world.db
			.select()
			.from(document)
			.where(eq(document.title, 'Mass assignment'));
		expect(row).toMatchObject({
			authorId: staff.id,
			status: 'draft',
			originatorOrgId: world.org.JISS
		});
		expect(row!.searchText).not.toContain('injected');
		expect(row!.createdAt.getUTCFullYear()).toBeGreaterThan(2000);
	});

	it.each([
		['a level above the author', { levelRank: '4' }, 'level'],
		['a compartment the author does not hold', { compartments: ['MD'] }, 'compartment'],
		// Codewords are need-to-know: one that does not exist answers as one not held.
		['a compartment code that does not exist', { compartments: ['NOPE'] }, 'compartment'],
		['a releasability without the author’s organisation', { release: ['USA'] }, 'release']
	])('refuses %s, audited, storing nothing', async (_label, over, reason) => {
		const title = `Refused ${reason}`;
		const before = await headSeq();
		const result = await post(staff, base({ title, ...over }));
		expect(result.kind).toBe('ok');
		const failure = (result as { value: unknown }).value;
		expect(isActionFailure(failure)).toBe(true);
		expect(failure).toMatchObject({ status: 403, data: { reason } });
		expect(await world.db.select().from(document).where(eq(document.title, title))).toEqual([]);
		const events = await lastEvents(before);
		expect(events.map((e) => e.action)).toEqual(['document.denied']);
		expect(events[0]!.details).toMatchObject({
			reason: `write:${reason}`,
			attempted: 'document.create'
		});
	});

	it('refuses a review date that does not exist, storing nothing', async () => {
		const result = await post(staff, base({ title: 'Impossible day', reviewOn: '2027-02-30' }));
		expect((result as { value: unknown }).value).toMatchObject({
			status: 400,
			data: { reason: 'invalid', errors: ['reviewOn'] }
		});
		expect(
			await world.db.select().from(document).where(eq(document.title, 'Impossible day'))
		).toEqual([]);
	});

	it.each([
		['title', { title: 'Nul\u0000title' }],
		['summary', { title: 'Nul summary', summary: 'a\u0000b' }],
		['body', { title: 'Nul body', body: 'text\u0000more' }],
		['tags', { title: 'Nul tags', tags: 'space, or\u0000bit' }],
		['title', { title: 'Bell\u0007title' }]
	])(
		'refuses a control character in the %s with a clear error, storing nothing',
		async (field, over) => {
			const result = await post(staff, base(over));
			expect((result as { value: unknown }).value).toMatchObject({
				status: 400,
				data: { reason: 'invalid', errors: [field] }
			});
			const title = over.title.replaceAll('\u0000', '');
			expect(
				await world.db
					.select()
					.from(document)
					.where(sql`${document.title} like ${title.slice(0, 3) + '%'}`)
			).toEqual([]);
		}
	);

	it('answers an unknown compartment code exactly as another programme’s codeword', async () => {
		// All but the echo of what was typed, which holds the code itself.
		const answer = async (code: string) => {
			const result = await post(staff, base({ title: 'Probe', compartments: [code] }));
			const { status, data } = (result as { value: { status: number; data: object } }).value;
			return { status, data: { ...data, values: undefined } };
		};
		const unknown = await answer('NOPE');
		expect(unknown).toEqual(await answer('MD'));
		expect(unknown).toMatchObject({ status: 403, data: { reason: 'compartment', errors: [] } });
		// Organisation codes are no secret: an unknown one is a form that cannot be right.
		const result = await post(staff, base({ title: 'Unknown org', release: ['JISS', 'NOWHERE'] }));
		expect((result as { value: unknown }).value).toMatchObject({
			status: 400,
			data: { reason: 'invalid', errors: ['release'] }
		});
	});

	it('keeps a liaison to their own organisation', async () => {
		const ok = await post(
			liaison,
			base({
				title: 'Liaison memo',
				release: ['JISS', 'USA'],
				levelRank: '3',
				compartments: ['SDA']
			})
		);
		expect(ok).toMatchObject({ kind: 'redirect' });
		const [row] = await world.db.select().from(document).where(eq(document.title, 'Liaison memo'));
		expect(row).toMatchObject({ originatorOrgId: world.org.USA, authorId: liaison.id });
		const refusals: [Record<string, string | string[]>, string][] = [
			[{ originator: 'JISS', release: ['JISS', 'USA'] }, 'originator'],
			[{ release: ['JISS', 'USA', 'AUS'] }, 'release'],
			[{ release: ['USA'] }, 'release'],
			[{ levelRank: '4', release: ['JISS', 'USA'] }, 'level']
		];
		for (const [over, reason] of refusals) {
			const result = await post(liaison, base({ title: 'Liaison refused', ...over }));
			expect((result as { value: unknown }).value).toMatchObject({ status: 403, data: { reason } });
		}
		expect(
			await world.db.select().from(document).where(eq(document.title, 'Liaison refused'))
		).toEqual([]);
	});

	it('edits make a new version and never change the classification', async () => {
		const id = String(docs.own);
		const result = await outcome(
			event(staff, {
				method: 'POST',
				path: `/documents/${id}/edit`,
				params: { id },
				form: {
					title: 'Own memo v2',
					summary: '',
					body: '# v2',
					tags: '',
					note: 'n',
					levelRank: '0',
					compartments: ['SDA'],
					releaseOrgIds: '2',
					authorId: String(colleague.id),
					status: 'archived'
				}
			}),
			as(editRoute.actions.default)
		);
		expect(result).toMatchObject({ kind: 'redirect' });
		const [row] = await world.db.select().from(document).where(eq(document.id, docs.own!));
		expect(row).toMatchObject({
			title: 'Own memo v2',
			levelRank: 1,
			compartmentIds: [],
			releaseOrgIds: [world.org.JISS],
			authorId: staff.id,
			status: 'published'
		});
	});

	it('lets only the author edit, publish, archive or reclassify a readable document', async () => {
		const id = String(docs.open);
		for (const [label, method, suffix, route] of DOCUMENT_ROUTES.filter(([l]) => l !== 'view')) {
			const result = await outcome(
				event(staff, {
					method,
					path: `/documents/${id}${suffix}`,
					params: { id },
					form:
						method === 'POST'
							? { title: 'x', body: 'x', levelRank: '0', release: 'JISS', reason: 'x' }
							: undefined
				}),
				route()
			);
			if (result.kind === 'error') expect(result.status, label).toBe(403);
			else
				expect((result as { value: unknown }).value, label).toMatchObject({
					status: 403,
					data: { reason: 'not_author' }
				});
		}
		const [row] = await world.db.select().from(document).where(eq(document.id, docs.open!));
		expect(row).toMatchObject({ title: 'Open memo 宇宙', status: 'published', levelRank: 1 });
	});

	it('publishes a draft and archives, as the author', async () => {
		const id = String(docs.ownDraft);
		const spec = (action: string) =>
			event(staff, {
				method: 'POST',
				path: `/documents/${id}?/${action}`,
				params: { id },
				form: {}
			});
		expect(await outcome(spec('publish'), as(viewRoute.actions.publish))).toMatchObject({
			kind: 'redirect'
		});
		expect(await outcome(spec('archive'), as(viewRoute.actions.archive))).toMatchObject({
			kind: 'redirect'
		});
		// Archived: publishing again is a conflict, not a change.
		const again = await outcome(spec('publish'), as(viewRoute.actions.publish));
		expect((again as { value: unknown }).value).toMatchObject({ status: 409 });
		const [row] = await world.db.select().from(document).where(eq(document.id, docs.ownDraft!));
		expect(row!.status).toBe('archived');
	});

	it('reclassifies with a reason, within the author’s access only', async () => {
		const id = String(docs.own);
		const post = (form: Record<string, string | string[]>) =>
			outcome(
				event(staff, { method: 'POST', path: `/documents/${id}/reclassify`, params: { id }, form }),
				as(reclassifyRoute.actions.default)
			);
		expect(
			((await post({ levelRank: '2', release: ['JISS'], reason: '' })) as { value: unknown }).value
		).toMatchObject({ status: 400 });
		expect(
			((await post({ levelRank: '4', release: ['JISS'], reason: 'up' })) as { value: unknown })
				.value
		).toMatchObject({ status: 403, data: { reason: 'level' } });
		expect(
			(
				(await post({ levelRank: '2', compartments: ['MD'], release: ['JISS'], reason: 'up' })) as {
					value: unknown;
				}
			).value
		).toMatchObject({ status: 403, data: { reason: 'compartment' } });
		expect(
			(
				(await post({
					levelRank: '2',
					compartments: ['NOPE'],
					release: ['JISS'],
					reason: 'up'
				})) as {
					value: unknown;
				}
			).value
		).toMatchObject({ status: 403, data: { reason: 'compartment' } });
		const before = await headSeq();
		expect(
			await post({
				levelRank: '3',
				compartments: ['SDA'],
				release: ['JISS', 'USA'],
				reason: 'Contains SDA sources'
			})
		).toMatchObject({ kind: 'redirect' });
		const [row] = await world.db.select().from(document).where(eq(document.id, docs.own!));
		expect(row).toMatchObject({ levelRank: 3, compartmentIds: [world.comp.SDA] });
		const events = await lastEvents(before);
		expect(events.map((e) => e.action)).toEqual(['document.reclassify']);
		expect(events[0]!.details).toMatchObject({
			reason: 'Contains SDA sources',
			before: { levelRank: 1 },
			after: { levelRank: 3 }
		});
		// Down again, also allowed.
		expect(
			await post({ levelRank: '0', release: ['JISS'], reason: 'Sources now public' })
		).toMatchObject({ kind: 'redirect' });
	});
});

describe('the home page panel', () => {
	it('shows recent readable documents and counts, audited as a list', async () => {
		const before = await headSeq();
		const panel = await outcome(event(liaison, { path: '/' }), (e) => documentsPanel(e));
		const value = (panel as { value: Awaited<ReturnType<typeof documentsPanel>> }).value!;
		const all = await world.db.select().from(document);
		const readable = all.filter((d) => canRead(liaison.writer.access, d));
		expect(value.total).toBe(readable.length);
		expect(value.items.every((i) => readable.some((d) => d.id === i.id))).toBe(true);
		expect(value.items[0]!.marking.text).toMatch(/REL TO JISS, USA$/);
		const events = await lastEvents(before);
		expect(events.map((e) => e.action)).toEqual(['document.list']);
		expect(events[0]!.details).toMatchObject({ source: 'home', total: readable.length });
	});

	it('is absent for administrators and auditors', async () => {
		for (const person of [admin, auditor]) {
			const panel = await outcome(event(person, { path: '/' }), (e) => documentsPanel(e));
			expect(panel).toEqual({ kind: 'ok', value: null });
		}
	});
});

describe('a write whose form arrives after something changed', () => {
	const liveSession = async (person: Person) =>
		(await sessions.create(world.db, { accountId: person.id, mfaVerified: true })).session.id;
	const memoForm = (title: string) => ({
		title,
		summary: '',
		body: '# Late',
		tags: '',
		levelRank: '2',
		compartments: ['SDA'],
		release: ['JISS'],
		publish: 'publish'
	});

	it('is held to the access the author has when it arrives, not when the request began', async () => {
		const author = await world.person({ level: 2, compartments: ['SDA'] });
		const sessionId = await liveSession(author);
		const result = await outcome(
			event(author, {
				method: 'POST',
				path: '/documents/new',
				sessionId,
				form: memoForm('Written after the revocation'),
				// An administrator revokes the author's grants while the form is on its way.
				bodyAfter: () =>
					world.db
						.update(grant)
						.set({ revokedAt: new Date() })
						.where(eq(grant.accountId, author.id))
			}),
			as(newRoute.actions.default)
		);
		// Refused for the access it no longer has: its level or its compartment, whichever check
		// meets the revocation first.
		const refused = (result as { value: { status: number; data: { reason: string } } }).value;
		expect(refused.status).toBe(403);
		expect(['level', 'compartment']).toContain(refused.data.reason);
		expect(
			await world.db
				.select()
				.from(document)
				.where(eq(document.title, 'Written after the revocation'))
		).toEqual([]);
	});

	it.each(['the session ended', 'the account was disabled'])(
		'is refused when %s while it arrived, changing nothing',
		async (what) => {
			const author = await world.person({ level: 2, compartments: ['SDA'] });
			const sessionId = await liveSession(author);
			const doc = await write.createMemo({ ...author.writer, sessionId }, ctx, {
				title: `Kept as it is (${what})`,
				summary: '',
				body: '# Kept',
				tags: [],
				levelRank: 2,
				compartmentIds: [world.comp.SDA],
				releaseOrgIds: [world.org.JISS],
				publish: true
			});
			const id = String(doc.id);
			const before = await headSeq();
			const result = await outcome(
				event(author, {
					method: 'POST',
					path: `/documents/${id}/reclassify`,
					params: { id },
					sessionId,
					form: { levelRank: '0', release: ['JISS', 'USA'], reason: 'declassify' },
					bodyAfter: () =>
						what === 'the session ended'
							? sessions.end(world.db, sessionId)
							: world.db
									.update(account)
									.set({ status: 'disabled' })
									.where(eq(account.id, author.id))
				}),
				as(reclassifyRoute.actions.default)
			);
			expect((result as { value: unknown }).value).toMatchObject({
				status: 403,
				data: { reason: 'ended' }
			});
			const [row] = await world.db.select().from(document).where(eq(document.id, doc.id));
			expect(row).toMatchObject({ levelRank: 2, releaseOrgIds: [world.org.JISS] });
			const events = await lastEvents(before);
			expect(events.map((e) => [e.action, e.details.reason])).toEqual([
				['document.denied', 'write:ended']
			]);
		}
	);
});
