import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../../../../tests/helpers/database';
import { seedAdminWorld } from '../../../../tests/helpers/admin';
import type { Database } from '../db';
import { auditEvent, compartment, level, organisation } from '../db/schema';
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

	it('refuses names with hidden characters, other scripts or "/", whatever the caller', async () => {
		const before = {
			levels: await db.select().from(level),
			organisations: await db.select().from(organisation),
			compartments: await db.select().from(compartment)
		};
		// Each would print on a banner or a list as TOP SECRET, SECRET or 機密 while being another.
		for (const name of [
			'TOP SECRET\u200b',
			'\u2060SECRET',
			'TOP SE\u00adCRET',
			'TOP SECRET\u034f',
			'\u0422\u041e\u0420 S\u0415\u0421RET',
			'SECRET/MD',
			'機密\u200d'
		]) {
			const attempts: (() => Promise<unknown>)[] = [
				() =>
					reference.updateLevel(db, w.adminA.ctx, 2, {
						nameEn: name,
						nameJa: '秘',
						colour: '#7c3aed'
					}),
				() =>
					reference.updateLevel(db, w.adminA.ctx, 2, {
						nameEn: 'CONFIDENTIAL',
						nameJa: name,
						colour: '#7c3aed'
					}),
				() =>
					reference.createOrganisation(db, w.adminA.ctx, {
						code: 'ZZ',
						nameEn: name,
						nameJa: 'ゼッド'
					}),
				() =>
					reference.renameOrganisation(db, w.adminA.ctx, w.usa.id, { nameEn: 'USA', nameJa: name }),
				() =>
					reference.createCompartment(db, w.adminA.ctx, {
						code: 'ZZ',
						nameEn: name,
						nameJa: 'ゼッド',
						sensitive: false
					}),
				() =>
					reference.renameCompartment(db, w.adminA.ctx, w.sda.id, { nameEn: name, nameJa: '宇宙' })
			];
			for (const attempt of attempts)
				await expect(attempt(), JSON.stringify(name)).rejects.toMatchObject({
					code: 'name_characters'
				});
		}
		expect(await db.select().from(level)).toEqual(before.levels);
		expect(await db.select().from(organisation)).toEqual(before.organisations);
		expect(await db.select().from(compartment)).toEqual(before.compartments);
	});

	it('refuses an organisation or compartment taking another one’s names or code', async () => {
		const taken = async (attempt: Promise<unknown>) =>
			expect(attempt).rejects.toMatchObject({ code: 'name_taken', status: 409 });
		// A partner organisation renamed to read as the home one, in either language or spelling.
		await taken(
			reference.renameOrganisation(db, w.adminA.ctx, w.usa.id, {
				nameEn: w.jiss.nameEn,
				nameJa: w.jiss.nameJa
			})
		);
		await taken(
			reference.renameOrganisation(db, w.adminA.ctx, w.usa.id, {
				nameEn: 'ｊｉｓｓ ',
				nameJa: '米国'
			})
		);
		await taken(
			reference.createOrganisation(db, w.adminA.ctx, { code: 'J2', nameEn: 'JISS', nameJa: '新' })
		);
		// A new compartment under the sensitive one's names, or a code that reads as its name.
		await taken(
			reference.createCompartment(db, w.adminA.ctx, {
				code: 'MD-2',
				nameEn: 'Missile Defence',
				nameJa: 'ミサイル防衛',
				sensitive: false
			})
		);
		await taken(
			reference.createCompartment(db, w.adminA.ctx, {
				code: 'MD-3',
				nameEn: 'MISSILE  DEFENCE',
				nameJa: '新区分',
				sensitive: false
			})
		);
		await taken(
			reference.createCompartment(db, w.adminA.ctx, {
				code: 'SPACE DOMAIN AWARENESS',
				nameEn: 'Other',
				nameJa: 'その他',
				sensitive: false
			})
		);
		await taken(
			reference.renameCompartment(db, w.adminA.ctx, w.sda.id, { nameEn: 'MD', nameJa: '宇宙' })
		);
		expect(
			await db.select().from(compartment).where(eq(compartment.nameEn, 'Missile Defence'))
		).toHaveLength(1);
		const [usa] = await db.select().from(organisation).where(eq(organisation.id, w.usa.id));
		expect(usa!.nameEn).toBe('USA');
		// Its own names again are fine; so is the name of a row of another table.
		await reference.renameOrganisation(db, w.adminA.ctx, w.usa.id, {
			nameEn: 'USA',
			nameJa: '米国'
		});
		await reference.renameCompartment(db, w.adminA.ctx, w.sda.id, {
			nameEn: 'Space Domain Awareness',
			nameJa: '宇宙領域把握'
		});
		await reference.createCompartment(db, w.adminA.ctx, {
			code: 'US',
			nameEn: 'USA',
			nameJa: '米国',
			sensitive: false
		});
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
