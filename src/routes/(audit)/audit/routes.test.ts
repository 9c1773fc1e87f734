import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { and, desc, eq, not } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClearedAuditor, newestEvent } from '../../../../tests/helpers/audit';
import { createTestDatabase, type TestDatabase } from '../../../../tests/helpers/database';
import { effectiveAccess, readableSql } from '$lib/server/access';
import { appendAuditEvents } from '$lib/server/audit/append';
import type { VerificationKeys } from '$lib/server/audit/integrity';
import { loadPublicKey, loadSigningKey } from '$lib/server/audit/signing';
import type { SessionUser } from '$lib/server/auth/types';
import { getConfig, loadConfig, setConfig } from '$lib/server/config';
import { setDatabase, type Database } from '$lib/server/db';
import { account, auditEvent, document } from '$lib/server/db/schema';
import { withDemoKeys } from '$lib/server/demo-keys';
import { seedDemoData } from '$lib/server/seed';
import { createObjectStore, setObjectStore } from '$lib/server/storage';
import * as logPage from './+page.server';
import * as documentPage from './documents/[id]/+page.server';
import * as eventPage from './events/[seq]/+page.server';
import * as exportEndpoint from './export/+server';
import * as integrityPage from './integrity/+page.server';
import * as personPage from './people/[id]/+page.server';
import * as reviewPage from './review/+page.server';

let database: TestDatabase;
let db: Database;
let dataDir: string;

async function userByEmail(email: string): Promise<SessionUser> {
	const [row] = await db.select().from(account).where(eq(account.email, email));
	return { ...row!, locale: null, timeZone: null };
}

function requestEvent(user: SessionUser | null, url: string, params: Record<string, string> = {}) {
	const parsed = new URL(url, 'http://intranet.test');
	return {
		locals: { user, session: null, requestId: 'req-test', clientIp: '203.0.113.5' },
		url: parsed,
		request: new Request(parsed, { headers: { 'user-agent': 'vitest' } }),
		params
	};
}

// The generated event types are wide; the guards and loads read only these fields.
type AnyEvent = Parameters<typeof logPage.load>[0];
const as = (e: ReturnType<typeof requestEvent>) => e as unknown as AnyEvent;

const calls = [
	['log', (e: AnyEvent) => logPage.load(e), '/audit', {}],
	['event', (e: AnyEvent) => eventPage.load(e as never), '/audit/events/1', { seq: '1' }],
	['document', (e: AnyEvent) => documentPage.load(e as never), '/audit/documents/1', { id: '1' }],
	['person', (e: AnyEvent) => personPage.load(e as never), '/audit/people/1', { id: '1' }],
	['review', (e: AnyEvent) => reviewPage.load(e as never), '/audit/review', {}],
	['integrity', (e: AnyEvent) => integrityPage.load(e as never), '/audit/integrity', {}],
	['verify', (e: AnyEvent) => integrityPage.actions.default!(e as never), '/audit/integrity', {}],
	['export', (e: AnyEvent) => exportEndpoint.GET(e as never), '/audit/export?format=csv', {}]
] as const;

beforeAll(async () => {
	dataDir = mkdtempSync(path.join(os.tmpdir(), 'jiss-audit-routes-'));
	database = await createTestDatabase();
	db = database.handle.db;
	const config = withDemoKeys(loadConfig({ DATA_DIR: dataDir, LOG_LEVEL: 'silent' }));
	setConfig(config);
	setDatabase(database.handle);
	const store = await createObjectStore(config.storage);
	setObjectStore(store);
	await seedDemoData(db, store, config);
});

afterAll(async () => {
	setDatabase(undefined);
	await database?.drop();
	rmSync(dataDir, { recursive: true, force: true });
});

describe('audit routes', () => {
	it('answer 404 to everyone but auditors, and audit each refusal', async () => {
		const admin = await userByEmail('admin@jiss.example');
		for (const [name, call, url, params] of calls) {
			const failure = await Promise.resolve(call(as(requestEvent(admin, url, params)))).then(
				() => null,
				(error: unknown) => error
			);
			expect(failure, name).toMatchObject({ status: 404 });
			const [last] = await db.select().from(auditEvent).orderBy(desc(auditEvent.seq)).limit(1);
			expect(last, name).toMatchObject({
				action: 'audit.denied',
				outcome: 'denied',
				actorId: admin.id,
				ip: '203.0.113.5',
				targetType: 'route',
				targetId: new URL(url, 'http://x').pathname
			});
		}
	});

	it('send a signed-out visitor to sign in', async () => {
		const failure = await Promise.resolve(logPage.load(as(requestEvent(null, '/audit')))).then(
			() => null,
			(error: unknown) => error
		);
		expect(failure).toMatchObject({ status: 303 });
	});

	it('serve the auditor, recording each view', async () => {
		const auditor = await userByEmail('auditor@jiss.example');
		const before = (await db.select().from(auditEvent)).length;
		for (const [name, call, url, params] of calls) {
			const result = await call(as(requestEvent(auditor, url, params)));
			expect(result, name).toBeTruthy();
			if (result instanceof Response) {
				expect(result.headers.get('content-type')).toContain('text/csv');
				const bytes = new Uint8Array(await result.arrayBuffer());
				expect([...bytes.slice(0, 3)]).toEqual([0xef, 0xbb, 0xbf]);
			}
		}
		const recorded = await db
			.select({ action: auditEvent.action, actorId: auditEvent.actorId })
			.from(auditEvent)
			.orderBy(desc(auditEvent.seq))
			.limit((await db.select().from(auditEvent)).length - before);
		expect(recorded.every((r) => r.actorId === auditor.id)).toBe(true);
		expect(recorded.filter((r) => r.action === 'audit.viewed')).toHaveLength(6);
		expect(recorded.filter((r) => r.action === 'audit.verified')).toHaveLength(1);
		expect(recorded.filter((r) => r.action === 'audit.exported')).toHaveLength(1);
	});

	it('answer 404 for an event or person that does not exist', async () => {
		const auditor = await userByEmail('auditor@jiss.example');
		for (const [call, params] of [
			[eventPage.load, { seq: '999999' }],
			[eventPage.load, { seq: 'abc' }],
			[personPage.load, { id: '999999' }]
		] as const) {
			const failure = await Promise.resolve(
				call(requestEvent(auditor, '/audit/x', params) as never)
			).then(
				() => null,
				(error: unknown) => error
			);
			expect(failure).toMatchObject({ status: 404 });
		}
	});

	it('refuse an export another site started, audited, and serve one started here', async () => {
		const auditor = await userByEmail('auditor@jiss.example');
		for (const site of ['cross-site', 'same-site']) {
			const started = requestEvent(auditor, '/audit/export?format=csv');
			started.request = new Request(started.url, {
				headers: { 'user-agent': 'vitest', 'sec-fetch-site': site }
			});
			const failure = await Promise.resolve(exportEndpoint.GET(started as never)).then(
				() => null,
				(error: unknown) => error
			);
			expect(failure, site).toMatchObject({
				status: 403,
				body: { message: expect.stringContaining('intranet') }
			});
			const last = await newestEvent(db, 'audit.exported');
			expect(last).toMatchObject({
				actorId: auditor.id,
				outcome: 'denied',
				details: { reason: 'cross_site', site }
			});
		}
		const served = await exportEndpoint.GET(
			requestEvent(auditor, '/audit/export?format=csv') as never
		);
		expect(served.status).toBe(200);
		await served.body?.cancel();
	});

	it('answer an impossible date or time in a filter with a clear 400, or a marked form', async () => {
		const auditor = await userByEmail('auditor@jiss.example');
		for (const [field, value] of [
			['from', '2026-13-01'],
			['to', '2026-02-31'],
			['from', '2026-03-01T25:00'],
			['to', '2026-03-01T12:60'],
			['from', '2025-02-29']
		] as const) {
			const query = `${field}=${encodeURIComponent(value)}`;
			const failure = await Promise.resolve(
				exportEndpoint.GET(requestEvent(auditor, `/audit/export?format=csv&${query}`) as never)
			).then(
				() => null,
				(error: unknown) => error
			);
			expect(failure, value).toMatchObject({
				status: 400,
				body: {
					message: `Nothing was exported: these filters are not valid: ${field}. Dates and times must exist (YYYY-MM-DDTHH:MM).`
				}
			});
			const page = (await logPage.load(
				as(requestEvent(auditor, `/audit?${query}&outcome=denied`))
			))!;
			expect(page, value).toMatchObject({ invalid: true, invalidFields: [field] });
		}
		// A real leap day and the last second of a day are accepted.
		const leap = (await logPage.load(
			as(requestEvent(auditor, '/audit?from=2024-02-29&to=2026-12-31T23:59:59'))
		))!;
		expect(leap).toMatchObject({
			invalid: false,
			invalidFields: [],
			filter: { from: '2024-02-29', to: '2026-12-31T23:59:59' }
		});
	});

	it('show a document an auditor may not read without its content, and with it to one who may', async () => {
		const auditor = await userByEmail('auditor@jiss.example');
		const fellow = await userByEmail('fellow@jiss.example');
		await createClearedAuditor(db, auditor.organisationId, fellow.id);
		const cleared = await userByEmail('cleared.auditor@jiss.example');
		const [secret] = await db
			.select({ id: document.id, title: document.title })
			.from(document)
			.where(
				and(
					not(readableSql((await effectiveAccess(db, auditor.id))!)),
					readableSql((await effectiveAccess(db, cleared.id))!)
				)
			)
			.limit(1);
		const content = [secret!.title, 'Summary s9k', 'tag-s9k', 'memo-s9k.pdf', 'Raised after s9k'];
		const target = { type: 'document', id: secret!.id };
		const doc = { documentId: secret!.id, title: secret!.title };
		const [edit, download, reclassify] = await appendAuditEvents(db, [
			{
				action: 'document.edit',
				outcome: 'allowed',
				target,
				details: {
					...doc,
					version: 2,
					before: { title: secret!.title, summary: 'Summary s9k', tags: ['tag-s9k'] },
					after: { title: secret!.title, summary: 'Summary s9k', tags: [] }
				}
			},
			{
				action: 'document.download',
				outcome: 'allowed',
				target,
				details: { ...doc, version: 2, fileName: 'memo-s9k.pdf' }
			},
			{
				action: 'document.reclassify',
				outcome: 'allowed',
				target,
				details: {
					...doc,
					reason: 'Raised after s9k',
					before: { levelRank: 3 },
					after: { levelRank: 4 }
				}
			}
		]);
		const seen = async (viewer: SessionUser) => {
			const data: unknown[] = [
				await logPage.load(as(requestEvent(viewer, '/audit'))),
				await documentPage.load(
					requestEvent(viewer, `/audit/documents/${secret!.id}`, {
						id: String(secret!.id)
					}) as never
				)
			];
			for (const e of [edit!, download!, reclassify!]) {
				data.push(
					await eventPage.load(
						requestEvent(viewer, `/audit/events/${e.seq}`, { seq: String(e.seq) }) as never
					)
				);
			}
			for (const format of ['csv', 'jsonl']) {
				const response = await exportEndpoint.GET(
					requestEvent(viewer, `/audit/export?format=${format}&document=${secret!.id}`) as never
				);
				data.push(await response.text());
			}
			return JSON.stringify(data);
		};
		const withheld = await seen(auditor);
		for (const text of content) expect(withheld, text).not.toContain(text);
		const shown = await seen(cleared);
		for (const text of content) expect(shown, text).toContain(text);
	});
});

describe('the integrity page', () => {
	it('shows the keys verification uses, pinned or derived, and never a seed', async () => {
		const auditor = await userByEmail('auditor@jiss.example');
		const config = getConfig();
		const seed = config.auditSigningKeys![0]!;
		const signer = loadSigningKey(seed);
		const secrets = [seed.key.toString('base64'), seed.key.toString('hex')];
		const load = async () => {
			const data = await integrityPage.load(as(requestEvent(auditor, '/audit/integrity')) as never);
			const text = JSON.stringify(data);
			for (const secret of secrets) expect(text).not.toContain(secret);
			return data as { keys: VerificationKeys };
		};

		// Without AUDIT_VERIFY_KEYS: the signing key's public half, derived from its seed.
		expect((await load()).keys).toEqual({
			source: 'signing',
			keys: [
				{
					id: signer.id,
					publicKey: signer.publicKeyBase64,
					fingerprint: signer.fingerprint,
					signsNew: true
				}
			]
		});

		// Pinned: those keys and nothing else, the signing key marked among them by its public key.
		const older = loadSigningKey({ id: 'k-older', key: randomBytes(32) });
		const pinned = [older, signer].map((k) => ({
			id: k.id,
			key: Buffer.from(k.publicKeyBase64, 'base64')
		}));
		setConfig({ ...config, auditVerifyKeys: pinned });
		try {
			const { keys } = await load();
			expect(keys).toEqual({
				source: 'pinned',
				keys: pinned.map(loadPublicKey).map((k) => ({
					id: k.id,
					publicKey: k.publicKeyBase64,
					fingerprint: k.fingerprint,
					signsNew: k.id === signer.id
				}))
			});
			expect(keys.keys.map((k) => k.fingerprint)).toEqual([older.fingerprint, signer.fingerprint]);
		} finally {
			setConfig(config);
		}
	});
});
