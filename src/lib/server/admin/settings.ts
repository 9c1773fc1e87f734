import { eq } from 'drizzle-orm';
import * as audit from '../audit';
import type { Database, Executor } from '../db';
import { approvalRequest, level, setting } from '../db/schema';
import { AdminError, assertAdministrator, requireText, type AdminContext } from './context';

/**
 * Run-time settings. The two-person threshold is itself under the two-person rule; the level
 * from which an end date is required is an ordinary audited change.
 */
export const SETTING_DEFAULTS = {
	two_person_level: 3,
	end_date_required_level: 3
} as const;
export type SettingKey = keyof typeof SETTING_DEFAULTS;
export const SETTING_KEYS = Object.keys(SETTING_DEFAULTS) as SettingKey[];

export async function get(executor: Executor, key: SettingKey): Promise<number> {
	const [row] = await executor.select().from(setting).where(eq(setting.key, key));
	const value = row?.value;
	return typeof value === 'number' ? value : SETTING_DEFAULTS[key];
}

export async function all(executor: Executor): Promise<Record<SettingKey, number>> {
	const rows = await executor.select().from(setting);
	const out = { ...SETTING_DEFAULTS } as Record<SettingKey, number>;
	for (const row of rows) {
		if (row.key in out && typeof row.value === 'number') out[row.key as SettingKey] = row.value;
	}
	return out;
}

async function assertLevel(tx: Executor, rank: number): Promise<void> {
	if (!Number.isInteger(rank)) throw new AdminError('invalid_value');
	const [row] = await tx.select({ rank: level.rank }).from(level).where(eq(level.rank, rank));
	if (!row) throw new AdminError('invalid_value');
}

/** Writes a setting and its audit record; the caller holds the transaction. */
export async function apply(
	tx: Executor,
	ctx: AdminContext,
	key: SettingKey,
	value: number,
	details: Record<string, unknown> = {}
): Promise<void> {
	const before = await get(tx, key);
	await tx
		.insert(setting)
		.values({ key, value, updatedBy: ctx.actor.id, updatedAt: new Date() })
		.onConflictDoUpdate({
			target: setting.key,
			set: { value, updatedBy: ctx.actor.id, updatedAt: new Date() }
		});
	await audit.append(tx, {
		...ctx.audit,
		action: 'setting.changed',
		outcome: 'allowed',
		target: { type: 'setting', id: key },
		details: { before: { [key]: before }, after: { [key]: value }, ...details }
	});
}

/** The end-date level changes at once (audited). */
export async function setEndDateLevel(db: Database, ctx: AdminContext, value: number) {
	return db.transaction(async (tx) => {
		await assertAdministrator(tx, ctx);
		await assertLevel(tx, value);
		if ((await get(tx, 'end_date_required_level')) === value) throw new AdminError('no_change');
		await apply(tx, ctx, 'end_date_required_level', value);
	});
}

/** The two-person threshold, raised or lowered, waits for a second administrator. */
export async function requestThresholdChange(
	db: Database,
	ctx: AdminContext,
	input: { value: number; justification: string }
): Promise<{ requestId: number }> {
	const justification = requireText(input.justification);
	return db.transaction(async (tx) => {
		await assertAdministrator(tx, ctx);
		await assertLevel(tx, input.value);
		const current = await get(tx, 'two_person_level');
		if (current === input.value) throw new AdminError('no_change');
		const payload = { key: 'two_person_level', value: input.value, before: current };
		const [created] = await tx
			.insert(approvalRequest)
			.values({ kind: 'setting_change', payload, justification, requestedBy: ctx.actor.id })
			.returning({ id: approvalRequest.id });
		await audit.append(tx, {
			...ctx.audit,
			action: 'approval.requested',
			outcome: 'allowed',
			target: { type: 'approval_request', id: created!.id },
			details: { kind: 'setting_change', payload, justification }
		});
		return { requestId: created!.id };
	});
}
