import { createHash } from 'node:crypto';
import type { AuditOutcome } from './catalogue';
import { canonicalJson } from './canonical';

export const GENESIS_HASH = '0'.repeat(64);

/** The fields that are hashed, exactly as the database stores and returns them. */
export interface ChainedFields {
	seq: number;
	occurredAt: Date;
	actorId: number | null;
	actorName: string | null;
	actorRoles: string[];
	ip: string | null;
	userAgent: string | null;
	requestId: string | null;
	action: string;
	targetType: string | null;
	targetId: string | null;
	outcome: AuditOutcome;
	details: Record<string, unknown>;
}

export function canonicalEvent(event: ChainedFields): string {
	return canonicalJson({
		seq: event.seq,
		occurredAt: event.occurredAt.toISOString(),
		actorId: event.actorId,
		actorName: event.actorName,
		actorRoles: event.actorRoles,
		ip: event.ip,
		userAgent: event.userAgent,
		requestId: event.requestId,
		action: event.action,
		targetType: event.targetType,
		targetId: event.targetId,
		outcome: event.outcome,
		details: event.details
	});
}

/** hash = SHA-256(previous hash ‖ canonical event), hex. */
export function chainHash(prevHash: string, event: ChainedFields): string {
	return createHash('sha256').update(prevHash).update(canonicalEvent(event)).digest('hex');
}
