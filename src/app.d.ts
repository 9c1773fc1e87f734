import type { SessionUser, SessionRecord } from '$lib/server/auth/types';

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
		}
	}
}

export {};
