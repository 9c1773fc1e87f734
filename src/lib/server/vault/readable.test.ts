import { and, inArray } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createVaultWorld, type VaultWorld } from '../../../../tests/helpers/vault';
import { canRead, canReadMarking, readableSql, versionReadableSql, type Access } from '../access';
import { document, documentVersion, type DocumentStatus } from '../db/schema';
import { denialReason, markingDenial } from './documents';

/**
 * The access rule exists twice, as `canRead` and as `readableSql`. This proves they agree on
 * every combination of a small universe: three levels, every subset of two compartments, every
 * non-empty releasability over two organisations, every status, two authors; read by every
 * access over the same universe plus a third account that authors nothing. A version is held
 * to the marking part of the same rule (`canReadMarking`, `versionReadableSql`), proved the same
 * way on one version per document.
 */
let world: VaultWorld;
const LEVELS = [0, 1, 2];
const STATUSES: DocumentStatus[] = ['draft', 'published', 'archived'];
const subsets = <T>(items: T[]): T[][] =>
	items.reduce<T[][]>((acc, item) => [...acc, ...acc.map((s) => [...s, item])], [[]]);

interface Row {
	id: number;
	levelRank: number;
	compartmentIds: number[];
	releaseOrgIds: number[];
	status: string;
	authorId: number;
}
let rows: Row[] = [];
let authors: number[] = [];
const accesses: Access[] = [];

beforeAll(async () => {
	world = await createVaultWorld();
	const a1 = await world.person({ org: 'JISS' });
	const a2 = await world.person({ org: 'USA', roles: ['liaison'] });
	const outsider = await world.person({ org: 'JISS' });
	authors = [a1.id, a2.id];
	const compartmentSets = subsets([world.comp.SDA, world.comp.MD]);
	const releaseSets = subsets([world.org.JISS, world.org.USA]).filter((s) => s.length > 0);
	const values = [];
	for (const levelRank of LEVELS)
		for (const compartmentIds of compartmentSets)
			for (const releaseOrgIds of releaseSets)
				for (const status of STATUSES)
					for (const authorId of authors)
						values.push({
							kind: 'memo' as const,
							title: `L${levelRank} C${compartmentIds.join('+')} R${releaseOrgIds.join('+')} ${status}`,
							levelRank,
							compartmentIds,
							releaseOrgIds,
							originatorOrgId: world.org.JISS,
							authorId,
							status
						});
	const inserted = await world.db.insert(document).values(values).returning();
	rows = inserted.map((r) => ({
		id: r.id,
		levelRank: r.levelRank,
		compartmentIds: r.compartmentIds,
		releaseOrgIds: r.releaseOrgIds,
		status: r.status,
		authorId: r.authorId
	}));
	// Include a level above the ladder's top used here, to cover "more than enough".
	for (const accountId of [a1.id, a2.id, outsider.id])
		for (const organisationId of [world.org.JISS, world.org.USA, world.org.AUS])
			for (const level of [...LEVELS, 4])
				for (const compartmentIds of compartmentSets)
					accesses.push({ accountId, organisationId, level, compartmentIds });
});

afterAll(async () => {
	await world?.close();
});

describe('canRead and readableSql', () => {
	it('covers the whole universe', () => {
		expect(rows.length).toBe(3 * 4 * 3 * 3 * 2);
		expect(accesses.length).toBe(3 * 3 * 4 * 4);
	});

	it('agree on every document for every access', async () => {
		const ids = rows.map((r) => r.id);
		let readableSomewhere = 0;
		for (const access of accesses) {
			const fromSql = await world.db
				.select({ id: document.id })
				.from(document)
				.where(and(inArray(document.id, ids), readableSql(access)));
			const expected = rows.filter((r) => canRead(access, r)).map((r) => r.id);
			expect(fromSql.map((r) => r.id).sort((a, b) => a - b)).toEqual(
				expected.sort((a, b) => a - b)
			);
			readableSomewhere += expected.length;
			for (const row of rows) {
				expect(denialReason(access, row) === null).toBe(canRead(access, row));
			}
		}
		// Neither everything nor nothing: the universe exercises both answers.
		expect(readableSomewhere).toBeGreaterThan(0);
		expect(readableSomewhere).toBeLessThan(rows.length * accesses.length);
	});

	it('agree, in their marking part, on every version for every access', async () => {
		// One version per document, marked as it is: the version predicate is the marking part of
		// the same rule, on the version's own columns.
		const versions = await world.db
			.insert(documentVersion)
			.values(
				rows.map((r) => ({
					documentId: r.id,
					number: 1,
					levelRank: r.levelRank,
					compartmentIds: r.compartmentIds,
					releaseOrgIds: r.releaseOrgIds,
					state: 'active' as const,
					objectKey: `readable-test/${r.id}`,
					size: 0,
					sha256: '0'.repeat(64),
					contentType: 'text/plain',
					fileName: 'a.txt',
					createdBy: r.authorId
				}))
			)
			.returning();
		for (const access of accesses) {
			const fromSql = await world.db
				.select({ id: documentVersion.id })
				.from(documentVersion)
				.where(
					and(
						inArray(
							documentVersion.id,
							versions.map((v) => v.id)
						),
						versionReadableSql(access)
					)
				);
			const expected = versions.filter((v) => canReadMarking(access, v)).map((v) => v.id);
			expect(fromSql.map((r) => r.id).sort((a, b) => a - b)).toEqual(
				expected.sort((a, b) => a - b)
			);
			for (const version of versions) {
				expect(markingDenial(access, version) === null).toBe(canReadMarking(access, version));
			}
		}
	});

	it('gives the true reason for each kind of denial', () => {
		const access: Access = {
			accountId: authors[0]!,
			organisationId: world.org.JISS,
			level: 1,
			compartmentIds: [world.comp.SDA]
		};
		const base = {
			levelRank: 1,
			compartmentIds: [world.comp.SDA],
			releaseOrgIds: [world.org.JISS],
			status: 'published',
			authorId: authors[1]!
		};
		expect(denialReason(access, base)).toBeNull();
		expect(denialReason(access, null)).toBe('not_found');
		expect(denialReason(access, { ...base, levelRank: 2 })).toBe('level');
		expect(denialReason(access, { ...base, compartmentIds: [world.comp.MD] })).toBe('compartment');
		expect(denialReason(access, { ...base, releaseOrgIds: [world.org.USA] })).toBe('release');
		expect(denialReason(access, { ...base, status: 'draft' })).toBe('draft');
		expect(denialReason(access, { ...base, status: 'draft', authorId: authors[0]! })).toBeNull();
	});
});
