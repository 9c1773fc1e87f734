import { sql } from 'drizzle-orm';
import { getDb } from './db';
import { getObjectStore } from './storage';

async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
	let timer: NodeJS.Timeout | undefined;
	const timeout = new Promise<never>((_, reject) => {
		timer = setTimeout(() => reject(new Error('timed out')), ms);
	});
	try {
		return await Promise.race([promise, timeout]);
	} finally {
		clearTimeout(timer);
	}
}

export interface Readiness {
	ready: boolean;
	checks: { database: 'ok' | 'failing'; objectStore: 'ok' | 'failing' };
	failing: string[];
}

export async function checkReadiness(timeoutMs = 2000): Promise<Readiness> {
	const [database, objectStore] = await Promise.allSettled([
		withTimeout(getDb().execute(sql`select 1`), timeoutMs),
		withTimeout(getObjectStore().ping(), timeoutMs)
	]);
	const checks = {
		database: database.status === 'fulfilled' ? ('ok' as const) : ('failing' as const),
		objectStore: objectStore.status === 'fulfilled' ? ('ok' as const) : ('failing' as const)
	};
	const failing = Object.entries(checks)
		.filter(([, state]) => state === 'failing')
		.map(([name]) => name);
	return { ready: failing.length === 0, checks, failing };
}
