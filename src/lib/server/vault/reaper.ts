import { and, eq, inArray, lt } from 'drizzle-orm';
import * as background from '../background';
import type { Executor } from '../db';
import { documentVersion, pendingUpload } from '../db/schema';
import { log } from '../log';
import type { ObjectStore } from '../storage';

/**
 * Removes what abandoned uploads leave behind. Pending rows older than `olderThan` lost their
 * upload (activation takes seconds): their objects and rows go. Objects under `versions/` that
 * no version and no pending row names (a crash between storing and recording) go too, but
 * only when the previous sweep already saw them orphaned, so an upload caught between those
 * two steps is never touched.
 */
export interface ReapResult {
	pendingRemoved: number;
	orphansRemoved: number;
}

export class UploadReaper {
	private suspects = new Set<string>();

	constructor(
		private readonly db: Executor,
		private readonly store: ObjectStore
	) {}

	async sweep(olderThan: Date): Promise<ReapResult> {
		let pendingRemoved = 0;
		const stale = await this.db
			.select({ id: pendingUpload.id, objectKey: pendingUpload.objectKey })
			.from(pendingUpload)
			.where(lt(pendingUpload.createdAt, olderThan))
			.limit(1000);
		for (const row of stale) {
			// Delete the row first: if activation won the race, the row is gone and so is our claim.
			const claimed = await this.db
				.delete(pendingUpload)
				.where(and(eq(pendingUpload.id, row.id), lt(pendingUpload.createdAt, olderThan)))
				.returning({ id: pendingUpload.id });
			if (claimed.length === 0) continue;
			await this.store.delete(row.objectKey);
			pendingRemoved += 1;
		}

		let orphansRemoved = 0;
		const nextSuspects = new Set<string>();
		let batch: string[] = [];
		const flush = async () => {
			if (batch.length === 0) return;
			// Versions and pending uploads in ONE statement, so one snapshot: an upload's
			// activation moves its key from pending to version in one transaction, and two
			// statements could see it in neither (versions read before the commit, pending after)
			// and delete a committed version's object.
			const known = new Set<string>();
			for (const r of await this.db
				.select({ key: documentVersion.objectKey })
				.from(documentVersion)
				.where(inArray(documentVersion.objectKey, batch))
				.unionAll(
					this.db
						.select({ key: pendingUpload.objectKey })
						.from(pendingUpload)
						.where(inArray(pendingUpload.objectKey, batch))
				)) {
				known.add(r.key);
			}
			for (const key of batch) {
				if (known.has(key)) continue;
				if (this.suspects.has(key)) {
					await this.store.delete(key);
					orphansRemoved += 1;
				} else {
					nextSuspects.add(key);
				}
			}
			batch = [];
		};
		for await (const object of this.store.list('versions/')) {
			batch.push(object.key);
			if (batch.length >= 500) await flush();
		}
		await flush();
		this.suspects = nextSuspects;
		return { pendingRemoved, orphansRemoved };
	}
}

/** Default age after which a pending upload counts as abandoned. */
export const PENDING_MAX_AGE_MS = 60 * 60 * 1000;

/**
 * Runs the reaper every `intervalMs` in the background; the timer does not keep the process
 * alive. Several instances may run it at once: every deletion is idempotent.
 */
export function startUploadReaper(
	db: Executor,
	store: ObjectStore,
	intervalMs = 15 * 60 * 1000
): () => void {
	const reaper = new UploadReaper(db, store);
	let running = false;
	const timer = setInterval(() => {
		if (running) return;
		running = true;
		void background.track(
			reaper
				.sweep(new Date(Date.now() - PENDING_MAX_AGE_MS))
				.then((result) => {
					if (result.pendingRemoved + result.orphansRemoved > 0) log.info(result, 'uploads reaped');
				})
				.catch((error: unknown) => log.warn({ err: error }, 'upload reaper failed'))
				.finally(() => (running = false))
		);
	}, intervalMs);
	timer.unref();
	return () => clearInterval(timer);
}
