import type { Access } from '../access';
import type { Role } from '../db/schema';

/**
 * The write rule ("no write up"): nobody creates or marks a document above their own access,
 * and only the author changes a document. Pure, so that it is tested without a database; the
 * vault actions call it before every write.
 */
export type WriteRefusal =
	'role' | 'level' | 'compartment' | 'release' | 'originator' | 'not_author' | 'status' | 'ended';

export class WriteRefusedError extends Error {
	constructor(
		readonly reason: WriteRefusal,
		message = `Write refused: ${reason}`
	) {
		super(message);
		this.name = 'WriteRefusedError';
	}
}

/** Who is writing: their access now, their roles, and the id of the home organisation (JISS). */
export interface Writer {
	access: Access;
	roles: readonly Role[];
	homeOrgId: number;
	/**
	 * The session the request came with: a write checks in its transaction that it still exists
	 * (see `sessions.stillActing`). Absent outside a request (tests, scripts).
	 */
	sessionId?: string;
}

/** The classification a write would give a document. */
export interface TargetClassification {
	levelRank: number;
	compartmentIds: readonly number[];
	releaseOrgIds: readonly number[];
	originatorOrgId: number;
}

export function isLiaisonOnly(writer: Writer): boolean {
	return writer.roles.includes('liaison') && !writer.roles.includes('staff');
}

export function canCreate(writer: Writer): boolean {
	return writer.roles.includes('staff') || writer.roles.includes('liaison');
}

/**
 * Throws WriteRefusedError unless the writer may give a document this classification:
 * - level and compartments within the writer's own access (no write up);
 * - the writer's organisation among the releasability, so no one writes what they could not read;
 * - a liaison's documents originate from the liaison's organisation and are released to it and to
 *   the home organisation, and to nobody else (a liaison cannot release on JISS's behalf);
 * - staff of the home organisation may file a partner's document under that partner as originator.
 */
export function assertCanWrite(writer: Writer, target: TargetClassification): void {
	const { access } = writer;
	if (!canCreate(writer)) throw new WriteRefusedError('role');
	if (!Number.isSafeInteger(target.levelRank) || target.levelRank < 0) {
		throw new WriteRefusedError('level');
	}
	if (target.levelRank > access.level) throw new WriteRefusedError('level');
	if (!target.compartmentIds.every((id) => access.compartmentIds.includes(id))) {
		throw new WriteRefusedError('compartment');
	}
	const release = new Set(target.releaseOrgIds);
	if (release.size === 0 || !release.has(access.organisationId)) {
		throw new WriteRefusedError('release');
	}
	const liaison = access.organisationId !== writer.homeOrgId;
	if (liaison || isLiaisonOnly(writer)) {
		if (target.originatorOrgId !== access.organisationId) {
			throw new WriteRefusedError('originator');
		}
		if (!release.has(writer.homeOrgId)) throw new WriteRefusedError('release');
		for (const org of release) {
			if (org !== access.organisationId && org !== writer.homeOrgId) {
				throw new WriteRefusedError('release');
			}
		}
	}
}

/** Only the author edits, adds versions, publishes, archives and reclassifies. */
export function assertIsAuthor(writer: Writer, doc: { authorId: number }): void {
	if (!canCreate(writer)) throw new WriteRefusedError('role');
	if (doc.authorId !== writer.access.accountId) throw new WriteRefusedError('not_author');
}
