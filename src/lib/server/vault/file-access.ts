import { eq } from 'drizzle-orm';
import type { Access } from '../access';
import * as audit from '../audit';
import { getDb } from '../db';
import { document } from '../db/schema';
import { denialReason } from './documents';

/** Every file route's "does not exist for you": one error, one audit shape, one answer. */
export class FileNotFoundError extends Error {
	constructor() {
		super('Not Found');
		this.name = 'FileNotFoundError';
	}
}

const MAX_ID = 2_147_483_647;

/** Route parameters are validated here: an invalid one is just another unknown id. */
export function parseId(raw: string | undefined): number | null {
	if (raw === undefined || !/^[1-9][0-9]{0,9}$/.test(raw)) return null;
	const value = Number(raw);
	return value <= MAX_ID ? value : null;
}

/**
 * Audits the denial with the true reason (kept for auditors), then throws the error every
 * file route turns into the same 404 as for an id that never existed.
 */
export async function denyMissing(input: {
	context: audit.AuditContext;
	rawId: string;
	id: number | null;
	access: Access | null;
	route: string;
	version?: string;
	reason?: string;
}): Promise<never> {
	let reason = input.reason;
	let title: string | undefined;
	if (!reason) {
		const [row] =
			input.id === null
				? []
				: await getDb().select().from(document).where(eq(document.id, input.id)).limit(1);
		title = row?.title;
		reason = input.access ? denialReason(input.access, row ?? null) : 'account_inactive';
	}
	await audit.record({
		...input.context,
		action: 'document.denied',
		outcome: 'denied',
		target: { type: 'document', id: input.id ?? input.rawId },
		details: {
			documentId: input.id ?? input.rawId,
			...(title === undefined ? {} : { title }),
			reason,
			route: input.route,
			...(input.version === undefined ? {} : { version: input.version })
		}
	});
	throw new FileNotFoundError();
}
