import { sha256 } from '@oslojs/crypto/sha2';
import { encodeBase32UpperCaseNoPadding } from '@oslojs/encoding';
import { randomBytes } from 'node:crypto';
import { and, eq, isNull, sql } from 'drizzle-orm';
import type { Executor } from '../db';
import { recoveryCode } from '../db/schema';

export const RECOVERY_CODE_COUNT = 10;

/** Upper case, no separators: what a person types is compared in the shape it was issued. */
export function normalise(code: string): string {
	return code.toUpperCase().replace(/[^A-Z0-9]/g, '');
}

// 80 random bits per code: a fast hash is enough, nobody can search that space offline.
function hashCode(code: string): Uint8Array {
	return sha256(new TextEncoder().encode(normalise(code)));
}

function newCode(): string {
	const raw = encodeBase32UpperCaseNoPadding(randomBytes(10));
	return raw.match(/.{4}/g)!.join('-');
}

/** Replaces the account's codes with ten new ones; the plain codes are returned this once. */
export async function regenerate(executor: Executor, accountId: number): Promise<string[]> {
	const codes = Array.from({ length: RECOVERY_CODE_COUNT }, newCode);
	await executor.delete(recoveryCode).where(eq(recoveryCode.accountId, accountId));
	await executor
		.insert(recoveryCode)
		.values(codes.map((code) => ({ accountId, codeHash: hashCode(code) })));
	return codes;
}

/** Uses up a code; true once per code, false for an unknown or already used one. */
export async function consume(
	executor: Executor,
	accountId: number,
	code: string,
	now: Date = new Date()
): Promise<boolean> {
	if (normalise(code).length !== 16) return false;
	const used = await executor
		.update(recoveryCode)
		.set({ usedAt: now })
		.where(
			and(
				eq(recoveryCode.accountId, accountId),
				eq(recoveryCode.codeHash, hashCode(code)),
				isNull(recoveryCode.usedAt)
			)
		)
		.returning({ id: recoveryCode.id });
	return used.length > 0;
}

export async function remaining(executor: Executor, accountId: number): Promise<number> {
	const [row] = await executor
		.select({ n: sql<number>`count(*)::int` })
		.from(recoveryCode)
		.where(and(eq(recoveryCode.accountId, accountId), isNull(recoveryCode.usedAt)));
	return Number(row?.n ?? 0);
}
