import { Readable } from 'node:stream';
import { decodeBase32IgnorePadding } from '@oslojs/encoding';
import { sql } from 'drizzle-orm';
import type { Config } from '../config';
import { encryptSecret } from '../auth/encryption';
import { hashPassword } from '../auth/password';
import { toNumber, type Database } from '../db';
import * as schema from '../db/schema';
import { log } from '../log';
import type { ObjectStore } from '../storage';
import { searchTextOf } from '../vault/search-text';
import {
	DEFAULT_LEVELS,
	DEMO_ACCOUNTS,
	DEMO_COMPARTMENTS,
	DEMO_ORGANISATIONS,
	demoDocuments
} from './demo-data';

const SEED_LOCK_KEY = 7_310_442_002;

/**
 * Seeds the demo data set on an empty database. Returns false, touching nothing, when the
 * database already holds data; the advisory lock makes concurrent starts seed once.
 */
export async function seedDemoData(
	db: Database,
	store: ObjectStore,
	config: Config
): Promise<boolean> {
	if (config.mode !== 'demo') throw new Error('Demo data is only seeded in demo mode');
	const keys = config.mfaEncryptionKeys;
	if (!keys) throw new Error('Demo seeding needs the MFA encryption key');
	const documents = demoDocuments();

	// Hash outside the transaction: argon2 is slow on purpose.
	const hashes = new Map<string, string>();
	for (const account of DEMO_ACCOUNTS)
		hashes.set(account.key, await hashPassword(account.password));

	return db.transaction(async (tx) => {
		await tx.execute(sql`select pg_advisory_xact_lock(${SEED_LOCK_KEY})`);
		const [row] = await tx.select({ n: sql`count(*)` }).from(schema.organisation);
		if (toNumber(row?.n) > 0) return false;

		const orgs = await tx
			.insert(schema.organisation)
			.values([...DEMO_ORGANISATIONS])
			.returning();
		const orgId = new Map(orgs.map((o) => [o.code, o.id]));
		await tx.insert(schema.level).values([...DEFAULT_LEVELS]);
		const compartments = await tx
			.insert(schema.compartment)
			.values([...DEMO_COMPARTMENTS])
			.returning();
		const compartmentId = new Map(compartments.map((c) => [c.code, c.id]));

		const accountId = new Map<string, number>();
		for (const demo of DEMO_ACCOUNTS) {
			const secret = encryptSecret({ keys }, decodeBase32IgnorePadding(demo.totpSecret));
			const [created] = await tx
				.insert(schema.account)
				.values({
					email: demo.email,
					displayName: demo.displayName,
					organisationId: orgId.get(demo.organisation)!,
					roles: demo.roles,
					status: 'active',
					passwordHash: hashes.get(demo.key)!,
					totpSecret: secret.value,
					totpKeyId: secret.keyId
				})
				.returning({ id: schema.account.id });
			accountId.set(demo.key, created!.id);
		}
		const firstAdmin = accountId.get('admin')!;
		const secondAdmin = accountId.get('admin2')!;
		for (const demo of DEMO_ACCOUNTS) {
			const id = accountId.get(demo.key)!;
			const grantedBy = id === firstAdmin ? secondAdmin : firstAdmin;
			const approvedBy = grantedBy === firstAdmin ? secondAdmin : firstAdmin;
			if (demo.level > 0) {
				await tx.insert(schema.grant).values({
					accountId: id,
					kind: 'level',
					levelRank: demo.level,
					reason: 'Demo data: initial clearance',
					grantedBy,
					approvedBy: demo.level >= 3 ? approvedBy : null
				});
			}
			for (const code of demo.compartments) {
				await tx.insert(schema.grant).values({
					accountId: id,
					kind: 'compartment',
					compartmentId: compartmentId.get(code)!,
					reason: 'Demo data: read-in for research programme',
					grantedBy,
					approvedBy: code === 'MD' ? approvedBy : null
				});
			}
		}

		for (const doc of documents) {
			const [created] = await tx
				.insert(schema.document)
				.values({
					kind: doc.kind,
					title: doc.title,
					summary: doc.summary,
					levelRank: doc.level,
					compartmentIds: doc.compartments.map((c) => compartmentId.get(c)!),
					releaseOrgIds: doc.releaseTo.map((o) => orgId.get(o)!),
					originatorOrgId: orgId.get(doc.originator)!,
					authorId: accountId.get(doc.author)!,
					status: doc.status,
					tags: doc.tags,
					searchText: searchTextOf(doc.title, doc.summary, doc.body)
				})
				.returning({
					id: schema.document.id,
					levelRank: schema.document.levelRank,
					compartmentIds: schema.document.compartmentIds,
					releaseOrgIds: schema.document.releaseOrgIds
				});
			const stored = await store.put('versions', Readable.from([Buffer.from(doc.body, 'utf8')]), {
				contentType: doc.contentType
			});
			await tx.insert(schema.documentVersion).values({
				documentId: created!.id,
				number: 1,
				// A version is marked as its document was when it was written.
				levelRank: created!.levelRank,
				compartmentIds: created!.compartmentIds,
				releaseOrgIds: created!.releaseOrgIds,
				state: 'active',
				objectKey: stored.key,
				size: stored.size,
				sha256: stored.sha256,
				contentType: doc.contentType,
				fileName: doc.fileName,
				createdBy: accountId.get(doc.author)!
			});
		}
		log.info(
			{ organisations: orgs.length, accounts: DEMO_ACCOUNTS.length, documents: documents.length },
			'demo data seeded'
		);
		return true;
	});
}
