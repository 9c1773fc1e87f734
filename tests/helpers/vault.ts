import { inject } from 'vitest';
import { setDatabase, type Database } from '../../src/lib/server/db';
import * as schema from '../../src/lib/server/db/schema';
import type { Role } from '../../src/lib/server/db/schema';
import type { SessionUser } from '../../src/lib/server/auth/types';
import { seedReferences } from './vault-corpus';
import { createObjectStore, setObjectStore, type ObjectStore } from '../../src/lib/server/storage';
import { readerOf } from '../../src/lib/server/vault/reader';
import type { Writer } from '../../src/lib/server/vault/write-rule';
import { createTestDatabase, type TestDatabase } from './database';
import { S3RVER_CREDENTIALS } from './s3';

/**
 * A vault test world on the real database (PGlite or the server) and the real S3 server:
 * organisations JISS (home), USA, AUS; the default level ladder; compartments SDA, MD, PNT.
 * It is installed as the process database and object store, as the server's init would do.
 */
export interface VaultWorld {
	database: TestDatabase;
	db: Database;
	store: ObjectStore;
	org: Record<'JISS' | 'USA' | 'AUS', number>;
	comp: Record<'SDA' | 'MD' | 'PNT', number>;
	person(spec: PersonSpec): Promise<Person>;
	close(): Promise<void>;
}

export interface PersonSpec {
	name?: string;
	org?: 'JISS' | 'USA' | 'AUS';
	roles?: Role[];
	level?: number;
	compartments?: ('SDA' | 'MD' | 'PNT')[];
}

export interface Person {
	id: number;
	user: SessionUser;
	writer: Writer;
}

let counter = 0;

export async function createVaultWorld(): Promise<VaultWorld> {
	const database = await createTestDatabase();
	const db = database.handle.db;
	setDatabase(database.handle);
	const store = await createObjectStore({
		kind: 's3',
		bucket: inject('s3Bucket'),
		endpoint: inject('s3Endpoint'),
		region: 'us-east-1',
		forcePathStyle: true,
		connectTimeoutMs: 2000,
		requestTimeoutMs: 30_000,
		credentials: S3RVER_CREDENTIALS
	});
	setObjectStore(store);
	const { orgs, comps } = await seedReferences(db);
	const org = Object.fromEntries(orgs.map((o) => [o.code, o.id])) as VaultWorld['org'];
	const comp = Object.fromEntries(comps.map((c) => [c.code, c.id])) as VaultWorld['comp'];

	async function person(spec: PersonSpec): Promise<Person> {
		counter += 1;
		const roles = spec.roles ?? ['staff'];
		const name = spec.name ?? `Person ${counter}`;
		const [created] = await db
			.insert(schema.account)
			.values({
				email: `p${counter}-${Math.random().toString(36).slice(2)}@test.example`,
				displayName: name,
				organisationId: org[spec.org ?? 'JISS'],
				roles,
				status: 'active'
			})
			.returning();
		if ((spec.level ?? 0) > 0) {
			await db.insert(schema.grant).values({
				accountId: created!.id,
				kind: 'level',
				levelRank: spec.level!,
				reason: 'test clearance'
			});
		}
		for (const code of spec.compartments ?? []) {
			await db.insert(schema.grant).values({
				accountId: created!.id,
				kind: 'compartment',
				compartmentId: comp[code],
				reason: 'test read-in'
			});
		}
		const user: SessionUser = {
			id: created!.id,
			email: created!.email,
			displayName: name,
			organisationId: created!.organisationId,
			roles,
			locale: null,
			timeZone: null
		};
		const writer = await readerOf(db, user);
		return { id: created!.id, user, writer: writer! };
	}

	return {
		database,
		db,
		store,
		org,
		comp,
		person,
		async close() {
			setObjectStore(undefined);
			setDatabase(undefined);
			await database.drop();
		}
	};
}
