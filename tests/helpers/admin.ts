import type { AdminContext } from '../../src/lib/server/admin/context';
import type { Database } from '../../src/lib/server/db';
import * as schema from '../../src/lib/server/db/schema';
import type { Role } from '../../src/lib/server/db/schema';

const LEVELS = [
	{ rank: 0, code: 'UNRESTRICTED', nameEn: 'UNRESTRICTED', nameJa: '一般', colour: '#15803d' },
	{ rank: 1, code: 'RESTRICTED', nameEn: 'RESTRICTED', nameJa: '取扱注意', colour: '#1d4ed8' },
	{ rank: 2, code: 'CONFIDENTIAL', nameEn: 'CONFIDENTIAL', nameJa: '秘', colour: '#7c3aed' },
	{ rank: 3, code: 'SECRET', nameEn: 'SECRET', nameJa: '極秘', colour: '#b91c1c' },
	{ rank: 4, code: 'TOP SECRET', nameEn: 'TOP SECRET', nameJa: '機密', colour: '#c2410c' }
];

export interface Person {
	id: number;
	ctx: AdminContext;
}

/** A small world for the administration tests: three administrators, staff, liaison, auditor. */
export async function seedAdminWorld(db: Database) {
	const [jiss, usa] = await db
		.insert(schema.organisation)
		.values([
			{ code: 'JISS', nameEn: 'JISS', nameJa: 'JISS', isHome: true },
			{ code: 'USA', nameEn: 'USA', nameJa: '米国' }
		])
		.returning();
	await db.insert(schema.level).values(LEVELS);
	const [sda, md] = await db
		.insert(schema.compartment)
		.values([
			{ code: 'SDA', nameEn: 'Space Domain Awareness', nameJa: '宇宙領域把握', sensitive: false },
			{ code: 'MD', nameEn: 'Missile Defence', nameJa: 'ミサイル防衛', sensitive: true }
		])
		.returning();

	const make = async (name: string, roles: Role[], orgId = jiss!.id): Promise<Person> => {
		const [row] = await db
			.insert(schema.account)
			.values({
				email: `${name}@test.example`,
				displayName: name,
				organisationId: orgId,
				roles,
				status: 'active',
				passwordHash: 'not-a-real-hash'
			})
			.returning();
		return { id: row!.id, ctx: contextFor(row!) };
	};
	return {
		jiss: jiss!,
		usa: usa!,
		sda: sda!,
		md: md!,
		adminA: await make('admin-a', ['administrator']),
		adminB: await make('admin-b', ['administrator']),
		adminC: await make('admin-c', ['administrator']),
		staff: await make('staff', ['staff']),
		liaison: await make('liaison', ['liaison'], usa!.id),
		auditor: await make('auditor', ['auditor'])
	};
}

export function contextFor(row: {
	id: number;
	email: string;
	displayName: string;
	organisationId: number;
	roles: Role[];
}): AdminContext {
	return {
		actor: {
			id: row.id,
			email: row.email,
			displayName: row.displayName,
			organisationId: row.organisationId,
			roles: row.roles,
			locale: null,
			timeZone: null
		},
		audit: {
			actor: { id: row.id, name: row.displayName, roles: row.roles },
			ip: '127.0.0.1',
			userAgent: 'vitest',
			requestId: 'test'
		},
		timeZone: 'Asia/Tokyo'
	};
}

/** A date "YYYY-MM-DD" this many days from now. */
export function daysFromNow(days: number): string {
	return new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);
}
