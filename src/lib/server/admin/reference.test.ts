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

describe('level names and colours on the banners', () => {
	/** Sets the given names or colour of one level, keeping the others as they are. */
	const rename = async (
		rank: number,
		input: { nameEn?: string; nameJa?: string; colour?: string }
	) => {
		const [row] = await db.select().from(level).where(eq(level.rank, rank));
		return reference.updateLevel(db, w.adminA.ctx, rank, { ...row!, ...input });
	};
	const refusal = (attempt: Promise<unknown>) =>
		attempt.then(
			() => 'accepted',
			(e: { code?: string; status?: number }) => `${e.code} ${e.status}`
		);

	it('refuses TOP SECRET a name that reads as, holds or is held in another level’s', async () => {
		const before = await db.select().from(level);
		for (const nameEn of [
			'UNRESTRICTED.',
			'UNRESTRlCTED',
			'UNRESTRICTED*',
			'Unre-stricted',
			'UNRESTR1CTED',
			'UNRE$TRICTED',
			'UNRÉSTRICTED',
			'ＵＮＲＥＳＴＲＩＣＴＥＤ',
			'UNRESTRICTED PLUS',
			'NOT UNRESTRICTED',
			'RESTRICT',
			'C0NFIDENTIAL',
			'SECRET!'
		])
			expect(await refusal(rename(4, { nameEn })), nameEn).toBe('name_taken 409');
		for (const nameJa of ['一般。', 'ー般', '一般的', '取扱注意（機密）', '極秘'])
			expect(await refusal(rename(4, { nameJa })), nameJa).toBe('name_taken 409');
		expect(await db.select().from(level)).toEqual(before);
	});

	it('keeps each default name to its rank, through any chain of renames', async () => {
		// UNRESTRICTED's Japanese name moves aside first; TOP SECRET may still not take it, nor
		// may UNRESTRICTED then take TOP SECRET's.
		await rename(0, { nameJa: '一時' });
		expect(await refusal(rename(4, { nameJa: '一般' }))).toBe('name_taken 409');
		expect(await refusal(rename(4, { nameJa: '一般情報' }))).toBe('name_taken 409');
		await rename(4, { nameJa: '最高機密' });
		expect(await refusal(rename(0, { nameJa: '機密' }))).toBe('name_taken 409');
		// The same in English.
		await rename(0, { nameEn: 'PUBLIC' });
		expect(await refusal(rename(4, { nameEn: 'UNRESTRICTED' }))).toBe('name_taken 409');
		await rename(4, { nameEn: 'TOP SECRET (TS)' });
		expect(await refusal(rename(0, { nameEn: 'TOP SECRET' }))).toBe('name_taken 409');
		expect(await refusal(rename(1, { nameEn: 'SECRET' }))).toBe('name_taken 409');
		const ladder = await reference.listLevels(db);
		expect(ladder.map((l) => [l.nameEn, l.nameJa])).toEqual([
			['PUBLIC', '一時'],
			['RESTRICTED', '取扱注意'],
			['CONFIDENTIAL', '秘'],
			['SECRET', '極秘'],
			['TOP SECRET (TS)', '最高機密']
		]);
		await rename(0, { nameEn: 'UNRESTRICTED', nameJa: '一般' });
		await rename(4, { nameEn: 'TOP SECRET', nameJa: '機密' });
	});

	it('still takes ordinary renames, and names the default ladder nests', async () => {
		await rename(4, { nameEn: 'TOP SECRET (TS)', nameJa: '機密情報' });
		// Every level saved again under its names, beside the renamed one: SECRET stays in TOP
		// SECRET (TS), RESTRICTED in UNRESTRICTED and 秘 in 極秘.
		for (const l of await reference.listLevels(db)) await rename(l.rank, {});
		await rename(3, { nameEn: 'Secret', nameJa: '極秘文書' });
		await rename(2, { nameEn: 'CONFIDENTIAL (C)', nameJa: '秘' });
		expect((await reference.listLevels(db)).map((l) => [l.nameEn, l.nameJa])).toEqual([
			['UNRESTRICTED', '一般'],
			['RESTRICTED', '取扱注意'],
			['CONFIDENTIAL (C)', '秘'],
			['Secret', '極秘文書'],
			['TOP SECRET (TS)', '機密情報']
		]);
		for (const [rank, nameEn, nameJa] of [
			[2, 'CONFIDENTIAL', '秘'],
			[3, 'SECRET', '極秘'],
			[4, 'TOP SECRET', '機密']
		] as const)
			await rename(rank, { nameEn, nameJa });
	});

	it('refuses a level a colour close to another level’s', async () => {
		const before = await db.select().from(level);
		const unrestricted = before.find((l) => l.rank === 0)!.colour;
		// UNRESTRICTED's green, that green nudged, and SECRET's red nudged.
		for (const colour of [unrestricted, '#16823e', '#1a803d', '#b81f1f'])
			expect(await refusal(rename(4, { colour })), colour).toBe('colour_too_similar 409');
		expect(await db.select().from(level)).toEqual(before);
		// A clearly different orange is fine, and so is the level's own colour again.
		await rename(4, { colour: '#9a3412' });
		await rename(4, { colour: '#c2410c' });
		expect(reference.colourDistance('#b91c1c', '#c2410c')).toBeGreaterThan(
			reference.MIN_COLOUR_DISTANCE
		);
	});
});
