import * as audit from '../audit';
import type { Document } from '../db/schema';
import type { VersionDenial } from './documents';

/** A file route's "does not exist for you" past the document guard: the same 404 as any other. */
export class FileNotFoundError extends Error {
	constructor() {
		super('Not Found');
		this.name = 'FileNotFoundError';
	}
}

/** A PDF that must be watermarked but is larger than WATERMARK_MAX_BYTES allows. */
export class WatermarkTooLargeError extends Error {
	constructor(readonly limit: number) {
		super('Too large to watermark');
		this.name = 'WatermarkTooLargeError';
	}
}

/** A PDF that must be watermarked but cannot be (encrypted, or too damaged for pdf-lib). */
export class WatermarkFailedError extends Error {
	constructor(options?: ErrorOptions) {
		super('The PDF cannot be watermarked', options);
		this.name = 'WatermarkFailedError';
	}
}

/**
 * A version number that is no version of this (readable) document, or a version whose own
 * marking the reader does not meet: audited with the true reason (`no_such_version`, or
 * `version_marking` and the part of the marking that failed), then the same 404 either way.
 */
export async function denyVersion(
	context: audit.AuditContext,
	doc: Pick<Document, 'id' | 'title'>,
	rawNumber: string | undefined,
	attempted: audit.AuditAction,
	denial: { reason: VersionDenial; marking: string | null } = {
		reason: 'no_such_version',
		marking: null
	}
): Promise<never> {
	await audit.record({
		...context,
		action: 'document.denied',
		outcome: 'denied',
		target: { type: 'document', id: doc.id },
		details: {
			reason: denial.reason,
			...(denial.marking ? { marking: denial.marking } : {}),
			documentId: doc.id,
			title: doc.title,
			version: rawNumber ?? null,
			attempted
		}
	});
	throw new FileNotFoundError();
}

/**
 * A page other than the document's own that shows it (the edit, reclassify and new-version
 * forms): a read like any other, audited with what it was for before the page is served.
 */
export function recordView(
	context: audit.AuditContext,
	doc: Pick<Document, 'id' | 'title'>,
	purpose: 'edit' | 'reclassify' | 'version_upload' | 'viewer',
	version: number | null
): Promise<void> {
	return audit.record({
		...context,
		action: 'document.view',
		outcome: 'allowed',
		target: { type: 'document', id: doc.id },
		details: { documentId: doc.id, title: doc.title, version, purpose }
	});
}
