import { text } from 'node:stream/consumers';
import { asc, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createVaultWorld, type Person, type VaultWorld } from '../../../../tests/helpers/vault';
import { auditEvent, document, documentVersion, pendingUpload } from '../db/schema';
import * as documents from './documents';
import * as write from './write';
import { WriteRefusedError } from './write-rule';

let world: VaultWorld;
let author: Person;
let colleague: Person;
let liaison: Person;
const context = { ip: '127.0.0.1', userAgent: 'vitest', requestId: 'test' };

beforeAll(async () => {
	world = await createVaultWorld();
	author = await world.person({ name: 'Author', level: 3, compartments: ['SDA'] });
	colleague = await world.person({ name: 'Colleague', level: 4, compartments: ['SDA', 'MD'] });
	liaison = await world.person({ org: 'USA', roles: ['liaison'], level: 3, compartments: ['SDA'] });
});
afterAll(async () => {
	await world?.close();
});

const memo = (over: Partial<write.NewMemo> = {}): write.NewMemo => ({
	title: '衛星コマンドリンクの暗号',
	summary: 'Key management',
	body: '# 暗号\n\nQuantum-resistant options.',
	tags: ['crypto'],
	levelRank: 2,
	compartmentIds: [world.comp.SDA],
	releaseOrgIds: [world.org.JISS],
	publish: false,
	...over
});

async function auditActions(documentId: number) {
	const rows = await world.db.select().from(auditEvent).orderBy(asc(auditEvent.seq));
	return rows.filter((r) => r.targetId === String(documentId)).map((r) => r.action);
}

describe('memo lifecycle', () => {
	it('creates, edits, publishes, reclassifies and archives, keeping every version', async () => {
		const doc = await write.createMemo(author.writer, context, memo());
		expect(doc.status).toBe('draft');
		expect(doc.authorId).toBe(author.id);
		expect(doc.originatorOrgId).toBe(world.org.JISS);
		// A draft is the author's alone.
		expect(await documents.findReadable(world.db, colleague.writer.access, doc.id)).toBeNull();
		expect(await documents.findReadable(world.db, author.writer.access, doc.id)).not.toBeNull();

		const edited = await write.editMemo(author.writer, context, doc.id, {
			title: 'Encryption for command links',
			summary: 'v2',
			body: '# v2\n\nRevised text about 宇宙.',
			tags: ['crypto', 'satcom'],
			note: 'second draft'
		});
		expect(edited.number).toBe(2);
		await write.publish(author.writer, context, doc.id);
		expect(await documents.findReadable(world.db, colleague.writer.access, doc.id)).not.toBeNull();

		const versions = await documents.versions(world.db, author.writer.access, doc.id);
		expect(versions.map((v) => v.number)).toEqual([2, 1]);
		expect(new Set(versions.map((v) => v.sha256)).size).toBe(2);
		const [v1] = await world.db
			.select()
			.from(documentVersion)
			.where(eq(documentVersion.id, versions[1]!.id));
		const first = await world.store.get(v1!.objectKey);
		expect(await text(first.body)).toContain('Quantum-resistant');
		const active = await documents.activeVersion(world.db, doc.id);
		expect(await text((await world.store.get(active!.objectKey)).body)).toContain('Revised text');
		expect(await world.db.select().from(pendingUpload)).toEqual([]);

		// Search follows the newest version.
		expect(
			await documents.count(world.db, author.writer.access, { q: '宇宙', authorId: author.id })
		).toBe(1);
		expect(await documents.count(world.db, author.writer.access, { q: 'quantum' })).toBe(0);

		await write.reclassify(author.writer, context, doc.id, {
			levelRank: 1,
			compartmentIds: [],
			releaseOrgIds: [world.org.JISS, world.org.USA],
			reason: 'Cleared for release to the U.S. liaison office'
		});
		expect(await documents.findReadable(world.db, liaison.writer.access, doc.id)).not.toBeNull();
		await write.archive(author.writer, context, doc.id);
		const [row] = await world.db.select().from(document).where(eq(document.id, doc.id));
		expect(row!.status).toBe('archived');
		expect(await auditActions(doc.id)).toEqual([
			'document.create',
			'document.edit',
			'document.publish',
			'document.reclassify',
			'document.archive'
		]);
		const [reclassified] = await world.db
			.select()
			.from(auditEvent)
			.where(eq(auditEvent.action, 'document.reclassify'));
		expect(reclassified!.details).toMatchObject({
			documentId: doc.id,
			reason: 'Cleared for release to the U.S. liaison office',
			before: { levelRank: 2, compartmentIds: [world.comp.SDA] },
			after: { levelRank: 1, compartmentIds: [] }
		});
		// Archived: no new versions.
		await expect(
			write.editMemo(author.writer, context, doc.id, {
				title: 'x',
				summary: '',
				body: 'x',
				tags: []
			})
		).rejects.toThrow(WriteRefusedError);
	});

	it('gives each document a random id, so that ids tell nothing of documents between them', async () => {
		const ids: number[] = [];
		for (let i = 0; i < 8; i++) {
			ids.push((await write.createMemo(author.writer, context, memo({ title: `Id ${i}` }))).id);
		}
		for (const id of ids) expect(id > 0 && id <= 2 ** 31 - 1, String(id)).toBe(true);
		expect(new Set(ids).size).toBe(ids.length);
		// Numbers handed out in order would step by one (or by the few a rolled-back insert used);
		// random ones of 31 bits are spread over the whole range.
		const steps = ids.slice(1).map((id, i) => Math.abs(id - ids[i]!));
		expect(steps.filter((step) => step < 1000)).toEqual([]);
	});

	it('refuses writing up and stores nothing', async () => {
		const before = await world.db.select().from(documentVersion);
		for (const over of [
			{ levelRank: 4 },
			{ compartmentIds: [world.comp.MD] },
			{ releaseOrgIds: [world.org.USA] }
		]) {
			await expect(write.createMemo(author.writer, context, memo(over))).rejects.toThrow(
				WriteRefusedError
			);
		}
		expect(await world.db.select().from(documentVersion)).toEqual(before);
		expect(await world.db.select().from(pendingUpload)).toEqual([]);
	});

	it('lets nobody but the author change a document, even one they can read', async () => {
		const doc = await write.createMemo(author.writer, context, memo({ publish: true }));
		await expect(
			write.editMemo(colleague.writer, context, doc.id, {
				title: 'x',
				summary: '',
				body: 'x',
				tags: []
			})
		).rejects.toThrow(WriteRefusedError);
		await expect(write.archive(colleague.writer, context, doc.id)).rejects.toThrow(
			WriteRefusedError
		);
		await expect(
			write.reclassify(colleague.writer, context, doc.id, {
				levelRank: 0,
				compartmentIds: [],
				releaseOrgIds: [world.org.JISS],
				reason: 'x'
			})
		).rejects.toThrow(WriteRefusedError);
		// And to someone who cannot read it, it does not exist.
		await expect(write.publish(liaison.writer, context, doc.id)).rejects.toThrow(
			write.DocumentNotFoundError
		);
	});

	it('refuses a reclassification above the author or without a reason', async () => {
		const doc = await write.createMemo(author.writer, context, memo({ publish: true }));
		await expect(
			write.reclassify(author.writer, context, doc.id, {
				levelRank: 4,
				compartmentIds: [],
				releaseOrgIds: [world.org.JISS],
				reason: 'up'
			})
		).rejects.toThrow(WriteRefusedError);
		await expect(
			write.reclassify(author.writer, context, doc.id, {
				levelRank: 1,
				compartmentIds: [],
				releaseOrgIds: [world.org.JISS],
				reason: '   '
			})
		).rejects.toThrow();
		const [row] = await world.db.select().from(document).where(eq(document.id, doc.id));
		expect(row!.levelRank).toBe(2);
	});

	it("gives a liaison's memo their organisation as originator", async () => {
		const doc = await write.createMemo(
			liaison.writer,
			context,
			memo({ releaseOrgIds: [world.org.JISS, world.org.USA], publish: true })
		);
		expect(doc.originatorOrgId).toBe(world.org.USA);
		await expect(
			write.createMemo(
				liaison.writer,
				context,
				memo({ originatorOrgId: world.org.JISS, releaseOrgIds: [world.org.JISS, world.org.USA] })
			)
		).rejects.toThrow(WriteRefusedError);
	});
});
