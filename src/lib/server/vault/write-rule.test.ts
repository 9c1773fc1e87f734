import { describe, expect, it } from 'vitest';
import { assertCanWrite, assertIsAuthor, WriteRefusedError, type Writer } from './write-rule';

const JISS = 1;
const USA = 2;
const AUS = 3;
const SDA = 10;
const MD = 11;

const staff: Writer = {
	access: { accountId: 100, organisationId: JISS, level: 2, compartmentIds: [SDA] },
	roles: ['staff'],
	homeOrgId: JISS
};
const liaison: Writer = {
	access: { accountId: 200, organisationId: USA, level: 3, compartmentIds: [SDA] },
	roles: ['liaison'],
	homeOrgId: JISS
};

function refusal(writer: Writer, target: Parameters<typeof assertCanWrite>[1]): string | null {
	try {
		assertCanWrite(writer, target);
		return null;
	} catch (error) {
		if (error instanceof WriteRefusedError) return error.reason;
		throw error;
	}
}

const ok = { levelRank: 2, compartmentIds: [SDA], releaseOrgIds: [JISS], originatorOrgId: JISS };

describe('the write rule', () => {
	it('lets staff write at or below their own access', () => {
		expect(refusal(staff, ok)).toBeNull();
		expect(refusal(staff, { ...ok, levelRank: 0, compartmentIds: [] })).toBeNull();
		expect(refusal(staff, { ...ok, releaseOrgIds: [JISS, USA, AUS] })).toBeNull();
		// Staff may file a partner's document under the partner as originator.
		expect(refusal(staff, { ...ok, originatorOrgId: USA, releaseOrgIds: [JISS, USA] })).toBeNull();
	});

	it('refuses writing up in level or compartments', () => {
		expect(refusal(staff, { ...ok, levelRank: 3 })).toBe('level');
		expect(refusal(staff, { ...ok, levelRank: -1 })).toBe('level');
		expect(refusal(staff, { ...ok, levelRank: 1.5 })).toBe('level');
		expect(refusal(staff, { ...ok, compartmentIds: [SDA, MD] })).toBe('compartment');
	});

	it('refuses a releasability that leaves out the writer', () => {
		expect(refusal(staff, { ...ok, releaseOrgIds: [USA] })).toBe('release');
		expect(refusal(staff, { ...ok, releaseOrgIds: [] })).toBe('release');
	});

	it("keeps a liaison's documents theirs: originated by their organisation, released to it and JISS only", () => {
		const mine = {
			levelRank: 3,
			compartmentIds: [SDA],
			releaseOrgIds: [JISS, USA],
			originatorOrgId: USA
		};
		expect(refusal(liaison, mine)).toBeNull();
		expect(refusal(liaison, { ...mine, originatorOrgId: JISS })).toBe('originator');
		expect(refusal(liaison, { ...mine, originatorOrgId: AUS })).toBe('originator');
		expect(refusal(liaison, { ...mine, releaseOrgIds: [USA] })).toBe('release');
		expect(refusal(liaison, { ...mine, releaseOrgIds: [JISS] })).toBe('release');
		expect(refusal(liaison, { ...mine, releaseOrgIds: [JISS, USA, AUS] })).toBe('release');
		expect(refusal(liaison, { ...mine, levelRank: 4 })).toBe('level');
	});

	it('refuses roles that do not write documents', () => {
		for (const roles of [['administrator'], ['auditor'], []] as const) {
			expect(refusal({ ...staff, roles: [...roles] }, ok)).toBe('role');
		}
	});

	it('lets only the author change a document', () => {
		expect(() => assertIsAuthor(staff, { authorId: 100 })).not.toThrow();
		expect(() => assertIsAuthor(staff, { authorId: 101 })).toThrow(WriteRefusedError);
		expect(() => assertIsAuthor({ ...staff, roles: ['auditor'] }, { authorId: 100 })).toThrow(
			WriteRefusedError
		);
	});
});
