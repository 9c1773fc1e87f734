import type { SessionUser, SessionRecord } from '$lib/server/auth/types';
import type { SessionReaderColumns } from '$lib/server/vault/reader';

declare global {
	namespace App {
		interface Error {
			message: string;
			requestId?: string;
		}
		interface Locals {
			requestId: string;
			clientIp: string;
			user: SessionUser | null;
			session: SessionRecord | null;
			/**
			 * The columns of the vault access read with the session (`authenticate`), for the vault
			 * guard to take once; absent without a session, and after the guard has taken them.
			 */
			vaultReader?: SessionReaderColumns;
		}
	}
}

export {};
