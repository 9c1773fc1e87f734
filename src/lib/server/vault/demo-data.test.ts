import { describe, expect, it } from 'vitest';
import {
	DEMO_ACCOUNTS,
	DEMO_COMPARTMENTS,
	DEMO_ORGANISATIONS,
	demoDocuments
} from '../seed/demo-data';
import { assertCanWrite, type Writer } from './write-rule';

// Ids as the seed assigns them do not matter here: codes map to stable stand-in numbers.
const orgId = new Map<string, number>(DEMO_ORGANISATIONS.map((o, i) => [o.code, i + 1]));
const compartmentId = new Map<string, number>(DEMO_COMPARTMENTS.map((c, i) => [c.code, i + 100]));

describe('demo documents', () => {
	it('each obeys the write rule for its author, as if written in the app', () => {
		for (const doc of demoDocuments()) {
			const author = DEMO_ACCOUNTS.find((a) => a.key === doc.author)!;
			const writer: Writer = {
				access: {
					accountId: 1,
					organisationId: orgId.get(author.organisation)!,
					level: author.level,
					compartmentIds: author.compartments.map((c) => compartmentId.get(c)!)
				},
				roles: author.roles,
				homeOrgId: orgId.get('JISS')!
			};
			expect(
				() =>
					assertCanWrite(writer, {
						levelRank: doc.level,
						compartmentIds: doc.compartments.map((c) => compartmentId.get(c)!),
						releaseOrgIds: doc.releaseTo.map((o) => orgId.get(o)!),
						originatorOrgId: orgId.get(doc.originator)!
					}),
				doc.title
			).not.toThrow();
		}
	});

	it('covers every level, every compartment, every organisation and every status', () => {
		const docs = demoDocuments();
		expect(new Set(docs.map((d) => d.level))).toEqual(new Set([0, 1, 2, 3, 4]));
		expect(new Set(docs.flatMap((d) => d.compartments))).toEqual(new Set(['SDA', 'MD', 'PNT']));
		expect(new Set(docs.flatMap((d) => d.releaseTo))).toEqual(new Set(['JISS', 'USA', 'AUS']));
		expect(new Set(docs.map((d) => d.status))).toEqual(new Set(['draft', 'published', 'archived']));
		expect(new Set(docs.map((d) => d.kind))).toEqual(new Set(['memo', 'file']));
	});
});
