// Upload and download throughput through the vault's file functions (type inspection, hashing,
// two-phase activation, audit) against a direct object-store copy of the same bytes, in one run.
// FILES_BENCH_MIB sets the size (default 256). Embedded database and local object store.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { loadConfig, setConfig } from '../../src/lib/server/config';
import { openDatabase, setDatabase } from '../../src/lib/server/db';
import * as schema from '../../src/lib/server/db/schema';
import { DEFAULT_LEVELS } from '../../src/lib/server/seed/demo-data';
import { setObjectStore } from '../../src/lib/server/storage';
import { createLocalObjectStore } from '../../src/lib/server/storage/local';
import { open } from '../../src/lib/server/vault/download';
import { createFromRequest } from '../../src/lib/server/vault/upload';

const MIB = 1024 * 1024;
const size = Number(process.env.FILES_BENCH_MIB ?? 256) * MIB;
const dir = mkdtempSync(path.join(os.tmpdir(), 'jiss-files-bench-'));

function* bytes(): Generator<Uint8Array> {
	const first = Buffer.alloc(MIB, 0x20);
	first.write('%PDF-1.7\n');
	const chunk = Buffer.alloc(MIB, 0x20);
	for (let sent = 0; sent < size; sent += MIB) yield sent === 0 ? first : chunk;
}

async function drain(stream: AsyncIterable<unknown>): Promise<void> {
	for await (const part of stream) void part;
}

async function timed(label: string, run: () => Promise<void>): Promise<number> {
	const rss = process.memoryUsage().rss;
	const started = performance.now();
	await run();
	const seconds = (performance.now() - started) / 1000;
	const rate = size / MIB / seconds;
	const growth = (process.memoryUsage().rss - rss) / MIB;
	console.log(
		`${label.padEnd(34)} ${rate.toFixed(0).padStart(6)} MiB/s   RSS +${growth.toFixed(0)} MiB`
	);
	return rate;
}

const config = loadConfig({
	DATA_DIR: dir,
	INTRANET_MODE: 'demo',
	UPLOAD_MAX_BYTES: String(2 * size)
});
setConfig(config);
const handle = await openDatabase({ kind: 'pglite', dir: 'memory://' }, { migrate: true });
setDatabase(handle);
const store = createLocalObjectStore(path.join(dir, 'objects'));
setObjectStore(store);
const db = handle.db;
const [home] = await db
	.insert(schema.organisation)
	.values({ code: 'JISS', nameEn: 'JISS', nameJa: 'JISS', isHome: true })
	.returning();
await db.insert(schema.level).values([...DEFAULT_LEVELS]);
const [person] = await db
	.insert(schema.account)
	.values({
		email: 'bench@jiss.example',
		displayName: 'Bench',
		organisationId: home!.id,
		roles: ['staff'],
		status: 'active'
	})
	.returning();
const user = {
	id: person!.id,
	email: person!.email,
	displayName: 'Bench',
	organisationId: home!.id,
	roles: ['staff' as const],
	locale: null,
	timeZone: null
};

console.log(`files: ${size / MIB} MiB, embedded PostgreSQL, local object store`);
let directKey = '';
const directPut = await timed('direct object-store put', async () => {
	directKey = (await store.put('versions', Readable.from(bytes()))).key;
});
const directGet = await timed('direct object-store get', async () => {
	await drain((await store.get(directKey)).body);
});

const boundary = '----bench';
const head = Buffer.from(
	['title', 'Bench', 'level', '0', 'releasability', String(home!.id), 'publish', 'on']
		.reduce<string[]>((parts, value, i, all) => {
			if (i % 2 === 0)
				parts.push(
					`--${boundary}\r\nContent-Disposition: form-data; name="${value}"\r\n\r\n${all[i + 1]}\r\n`
				);
			return parts;
		}, [])
		.join('') +
		`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="bench.pdf"\r\n\r\n`
);
function* multipart(): Generator<Uint8Array> {
	yield head;
	yield* bytes();
	yield Buffer.from(`\r\n--${boundary}--\r\n`);
}
let id = 0;
const appPut = await timed('upload through the app', async () => {
	const body = Readable.toWeb(Readable.from(multipart())) as ReadableStream<Uint8Array>;
	id = await createFromRequest({
		request: new Request('http://bench/documents/upload', {
			method: 'POST',
			body,
			headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
			duplex: 'half'
		} as RequestInit),
		user,
		context: {}
	});
});
const [doc] = await db.select().from(schema.document).limit(1);
const appGet = await timed('download through the app', async () => {
	const answer = await open({
		document: doc!,
		context: {},
		mode: 'download',
		rangeHeader: null,
		ifRangeHeader: null
	});
	await drain(answer.body as unknown as AsyncIterable<Uint8Array>);
});
console.log(`upload ratio (app / direct):   ${(appPut / directPut).toFixed(2)}  (target >= 0.80)`);
console.log(`download ratio (app / direct): ${(appGet / directGet).toFixed(2)}  (target >= 0.80)`);
void id;
await handle.close();
rmSync(dir, { recursive: true, force: true });
