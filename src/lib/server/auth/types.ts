import type { Role } from '../db/schema';

/** What a request knows about its signed-in person; never taken from the client. */
export interface SessionUser {
	id: number;
	email: string;
	displayName: string;
	organisationId: number;
	roles: Role[];
	locale: string | null;
	timeZone: string | null;
}

export interface SessionRecord {
	id: string;
	mfaVerified: boolean;
	createdAt: Date;
	lastSeenAt: Date;
	absoluteExpiresAt: Date;
}
