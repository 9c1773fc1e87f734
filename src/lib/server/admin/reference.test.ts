import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../../../tests/helpers/database';
import { seedAdminWorld } from '../../../../tests/helpers/admin';
import type { Database } from '../db';
import { auditEvent, compartment } from '../db/schema';
import * as approvals from './approvals';
import * as reference from './reference';
import * as settings from './settings';

let database: TestDatabase;
let db: Database;
let w: Awaited<ReturnType<typeof seedAdminWorld>>;

beforeAll(async () => {
	database = await createTestDatabase();
	db = database.handle.db;
	w = await seedAdminWorld(db);
});
afterAll(async () => {
	await database?.drop();
});

describe('reference data', () => {
	it('adds and renames organisations with before and after in the audit log', async () => {
		const org = await reference.createOrganisation(db, w.adminA.ctx, {
			code: 'GBR',
			nameEn: 'UK Space Liaison',
			nameJa: '英国宇宙連絡室'
		});
		await expect(
			reference.createOrganisation(db, w.adminA.ctx, { code: 'GBR', nameEn: 'x', nameJa: 'x' })
		).rejects.toMatchObject({ code: 'code_taken' });
		await reference.renameOrganisation(db, w.adminB.ctx, org.id, {
			nameEn: 'UK Space Command Liaison',
			nameJa: '英国宇宙コマンド連絡室'
		});
		const events = await db
			.select()
			.from(auditEvent)
			.where(eq(auditEvent.action, 'reference.changed'));
		expect(events.at(-1)!.details).toMatchObject({
			before: { nameEn: 'UK Space Liaison' },
			after: { nameEn: 'UK Space Command Liaison' }
		});
	});

	it('marks a compartment sensitive only once a second administrator approves', async () => {
		const c = await reference.createCompartment(db, w.adminA.ctx, {
			code: 'EW',
			nameEn: 'Electronic Warfare',
			nameJa: '電子戦',
			sensitive: false
		});
		const { requestId } = await reference.requestSensitiveChange(db, w.adminA.ctx, {
			compartmentId: c.id,
			sensitive: true,
			justification: 'New programme'
		});
		const flag = async () =>
			(await db.select().from(compartment).where(eq(compartment.id, c.id)))[0]!.sensitive;
		expect(await flag()).toBe(false);
		await approvals.approve(db, w.adminC.ctx, { requestId, comment: 'Agreed' });
		expect(await flag()).toBe(true);
	});

	it('changes the end-date level at once and audits it', async () => {
		await settings.setEndDateLevel(db, w.adminA.ctx, 2);
		expect(await settings.get(db, 'end_date_required_level')).toBe(2);
		await expect(settings.setEndDateLevel(db, w.adminA.ctx, 9)).rejects.toMatchObject({
			code: 'invalid_value'
		});
		await expect(settings.setEndDateLevel(db, w.staff.ctx, 3)).rejects.toMatchObject({
			code: 'forbidden'
		});
	});
});
