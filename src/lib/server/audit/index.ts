import { getDb, type Executor } from '../db';
import { appendAuditEvents, type AuditContext, type AuditEventInput } from './append';

export * from './catalogue';
export type { AuditActor, AuditContext, AuditEventInput } from './append';

/** Records one event inside the given transaction (or its own when given the database). */
export async function append(executor: Executor, event: AuditEventInput): Promise<void> {
	await appendAuditEvents(executor, [event]);
}

export async function appendMany(executor: Executor, events: AuditEventInput[]): Promise<void> {
	await appendAuditEvents(executor, events);
}

/** Records one event in its own transaction, for events that go with no other write. */
export async function record(event: AuditEventInput): Promise<void> {
	await appendAuditEvents(getDb(), [event]);
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

export { checkpointNow, publicKeys, signingKeys, startCheckpoints, verifyLog } from './integrity';
export type { PublicKeyInfo } from './integrity';
export type { VerifyProblem, VerifyReport } from './verify';
