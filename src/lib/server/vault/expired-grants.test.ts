import type { RequestEvent } from '@sveltejs/kit';
import { and, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createVaultWorld, type Person, type VaultWorld } from '../../../../tests/helpers/vault';
import { outcome, requestEvent } from '../../../../tests/helpers/vault-events';
import * as viewRoute from '../../../routes/(app)/documents/[id]/+page.server';
import * as sessions from '../auth/sessions';
import { auditEvent, grant, session } from '../db/schema';
import { documentsPanel } from './guard';
import * as write from './write';

/**
 * A grant that reaches its end while its holder is signed in: the next vault request records
 * `grant.expired_in_use` once, and the access the grant gave is gone on that same request.
 * Times are moved in the database (the session's start, the grant's end) rather than waited for.
 */
let world: VaultWorld;
let author: Person;
const ctx = { ip: '127.0.0.1', userAgent: 'seed', requestId: 'seed' };

beforeAll(async () => {
	world = await createVaultWorld();
	author = await world.person({ name: 'Author', level: 4, compartments: ['SDA'] });
});
afterAll(async () => {
	await world?.close();
});

async function secretMemo(): Promise<number> {
	const created = await write.createMemo(author.writer, ctx, {
		title: 'Conjunction watch 宇宙',
		summary: '',
		body: '# Watch list',
		tags: [],
		levelRank: 3,
		compartmentIds: [world.comp.SDA],
		releaseOrgIds: [world.org.JISS],
		publish: true
	});
	return created.id;
}

/** A person signed in an hour ago, with the event their requests carry. */
async function signedInHourAgo(person: Person) {
	const created = await sessions.create(world.db, { accountId: person.id, mfaVerified: true });
	await world.db
		.update(session)
		.set({ createdAt: sql`now() - interval '1 hour'` })
		.where(eq(session.id, created.session.id));
	const valid = await sessions.validate(world.db, created.token);
	if (!valid) throw new Error('expected a live session');
	return (path: string, params: Record<string, string> = {}): RequestEvent => {
		const event = requestEvent({ user: valid.user, path, params });
		event.locals.session = valid.session;
		return event;
	};
}

async function levelGrantOf(person: Person) {
	const [row] = await world.db
		.select()
		.from(grant)
		.where(and(eq(grant.accountId, person.id), eq(grant.kind, 'level')));
	return row!;
}

async function endGrant(id: number, ago: string) {
	await world.db
		.update(grant)
		.set({
			validFrom: sql`now() - interval '1 day'`,
			validUntil: sql`now() - ${ago}::interval`
		})
		.where(eq(grant.id, id));
}

const expiredEvents = (grantId: number) =>
	world.db
		.select()
		.from(auditEvent)
		.where(
			and(
				eq(auditEvent.action, 'grant.expired_in_use'),
				eq(auditEvent.targetType, 'grant'),
				eq(auditEvent.targetId, String(grantId))
			)
		);

const view = (event: RequestEvent) =>
	outcome(event, (e) => viewRoute.load(e as Parameters<typeof viewRoute.load>[0]));

describe('grant.expired_in_use', () => {
	it('records a grant that ended during the session once, and its access is gone', async () => {
		const id = await secretMemo();
		const reader = await world.person({ name: 'Reader', level: 3, compartments: ['SDA'] });
		const as = await signedInHourAgo(reader);
		const documentEvent = () => as(`/documents/${id}`, { id: String(id) });

		expect((await view(documentEvent())).kind).toBe('ok');
		const level = await levelGrantOf(reader);
		expect(await expiredEvents(level.id)).toHaveLength(0);

		await endGrant(level.id, '1 minute');
		const after = await view(documentEvent());
		expect(after).toMatchObject({ kind: 'error', status: 404 });

		const recorded = await expiredEvents(level.id);
		expect(recorded).toHaveLength(1);
		expect(recorded[0]).toMatchObject({
			actorId: reader.id,
			outcome: 'denied',
			targetType: 'grant',
			targetId: String(level.id)
		});
		expect(recorded[0]!.details).toMatchObject({
			grantId: level.id,
			kind: 'level',
			levelRank: 3,
			validUntil: expect.any(String)
		});
		expect(new Date(recorded[0]!.details.validUntil as string).getTime()).toBe(
			(await levelGrantOf(reader)).validUntil!.getTime()
		);

		// The second request, and the home panel, find the event already there.
		expect(await view(documentEvent())).toMatchObject({ kind: 'error', status: 404 });
		await documentsPanel(as('/'));
		expect(await expiredEvents(level.id)).toHaveLength(1);
	});

	it('records nothing for a grant that had ended before the session began', async () => {
		const reader = await world.person({ name: 'Lapsed', level: 3, compartments: ['SDA'] });
		const level = await levelGrantOf(reader);
		await endGrant(level.id, '2 hours');
		const as = await signedInHourAgo(reader);
		const id = await secretMemo();

		expect(await view(as(`/documents/${id}`, { id: String(id) }))).toMatchObject({
			kind: 'error',
			status: 404
		});
		expect(await expiredEvents(level.id)).toHaveLength(0);
	});

	it('records each of several grants ending in one session, compartment details included', async () => {
		const reader = await world.person({ name: 'Both', level: 3, compartments: ['SDA'] });
		const as = await signedInHourAgo(reader);
		const all = await world.db.select().from(grant).where(eq(grant.accountId, reader.id));
		expect(all).toHaveLength(2);
		for (const g of all) await endGrant(g.id, '5 minutes');

		await Promise.all([documentsPanel(as('/')), documentsPanel(as('/'))]);
		const compartment = all.find((g) => g.kind === 'compartment')!;
		const events = await expiredEvents(compartment.id);
		expect(events).toHaveLength(1);
		expect(events[0]!.details).toMatchObject({
			grantId: compartment.id,
			kind: 'compartment',
			compartmentId: world.comp.SDA
		});
		expect(events[0]!.details).not.toHaveProperty('levelRank');
		expect(await expiredEvents(all.find((g) => g.kind === 'level')!.id)).toHaveLength(1);
	});

	it('records nothing for a request without a session or for a revoked grant', async () => {
		const reader = await world.person({ name: 'Revoked', level: 3 });
		const level = await levelGrantOf(reader);
		const as = await signedInHourAgo(reader);
		await endGrant(level.id, '1 minute');
		await world.db
			.update(grant)
			.set({ revokedAt: sql`now() - interval '30 minutes'`, revokeReason: 'left the team' })
			.where(eq(grant.id, level.id));
		await documentsPanel(as('/'));
		expect(await expiredEvents(level.id)).toHaveLength(0);

		const other = await world.person({ name: 'No session', level: 3 });
		const otherLevel = await levelGrantOf(other);
		await endGrant(otherLevel.id, '1 minute');
		await documentsPanel(requestEvent({ user: other.user, path: '/' }));
		expect(await expiredEvents(otherLevel.id)).toHaveLength(0);
	});
});
