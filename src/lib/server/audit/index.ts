import { getDb, type Executor } from '../db';
import {
	AppendFailedError,
	appendAuditEvents,
	appendOwnTransaction,
	isAppended,
	type AuditContext,
	type AuditEventInput
} from './append';

export * from './catalogue';
export type { AuditActor, AuditContext, AuditEventInput } from './append';

/** Records one event inside the given transaction (or its own when given the database). */
export async function append(executor: Executor, event: AuditEventInput): Promise<void> {
	await appendAuditEvents(executor, [event]);
}

export async function appendMany(executor: Executor, events: AuditEventInput[]): Promise<void> {
	await appendAuditEvents(executor, events);
}

interface Queued {
	event: AuditEventInput;
	resolve: () => void;
	reject: (error: unknown) => void;
}
const queue: Queued[] = [];
let flushing = false;
const MAX_BATCH = 500;

/**
 * One macrotask turn: callers whose previous event just committed continue in microtasks and
 * queue their next event before this resolves, so the next step takes them all together
 * instead of starting with a batch of one while the rest wait a whole cycle.
 */
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * Whether a failed step wrote its events after all (its commit succeeded, its answer was lost):
 * then they must not be written again (an auditor would see each access twice), and the
 * callers go on, their events being in the log. Unknown (the database still unreachable) is no.
 */
async function committedAfterAll(error: unknown): Promise<boolean> {
	if (!(error instanceof AppendFailedError)) return false;
	return isAppended(getDb(), error.rows).catch(() => false);
}

async function flush(): Promise<void> {
	flushing = true;
	try {
		// Gather what arrives in this turn (at most one turn of latency under light load).
		await nextTurn();
		while (queue.length > 0) {
			const batch = queue.splice(0, MAX_BATCH);
			try {
				await appendOwnTransaction(
					getDb(),
					batch.map((q) => q.event)
				);
				for (const q of batch) q.resolve();
			} catch (error) {
				if (await committedAfterAll(error)) {
					for (const q of batch) q.resolve();
				} else if (batch.length === 1) {
					batch[0]!.reject(error);
				} else {
					// One bad event must not take the others down: each is retried on its own.
					for (const q of batch) {
						try {
							await appendOwnTransaction(getDb(), [q.event]);
							q.resolve();
						} catch (single) {
							if (await committedAfterAll(single)) q.resolve();
							else q.reject(single);
						}
					}
				}
			}
			await nextTurn();
		}
	} finally {
		flushing = false;
	}
}

/**
 * Records one event that goes with no other write (a view, a search, a denial) in its own
 * transaction. Concurrent calls in this process share one locked step: the chain serialises
 * commits, so writing what queued up during the previous commit together is what lets
 * throughput grow with load. Resolves only once the event is committed; rejects if it is not.
 */
export function record(event: AuditEventInput): Promise<void> {
	return new Promise((resolve, reject) => {
		queue.push({ event, resolve, reject });
		if (!flushing) void flush();
	});
}

/** The request-derived part of every event: actor, client IP, user agent and request id. */
export function contextOf(event: { locals: App.Locals; request: Request }): AuditContext {
	const user = event.locals.user;
	return {
		actor: user ? { id: user.id, name: user.displayName, roles: user.roles } : null,
		ip: event.locals.clientIp,
		userAgent: event.request.headers.get('user-agent'),
		requestId: event.locals.requestId
	};
}

export {
	checkpointNow,
	signingKeys,
	startCheckpoints,
	verificationKeys,
	verifyLog
} from './integrity';
export type { PublicKeyInfo, VerificationKeys } from './integrity';
export type { VerifyProblem, VerifyReport } from './verify';
