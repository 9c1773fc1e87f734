import { randomUUID } from 'node:crypto';
import type { ObjectPrefix } from './types';

/** `<prefix>/<yyyy>/<mm>/<uuid>`: nothing in a key ever comes from a request. */
export function newObjectKey(prefix: ObjectPrefix, now = new Date()): string {
	const year = now.getUTCFullYear();
	const month = String(now.getUTCMonth() + 1).padStart(2, '0');
	return `${prefix}/${year}/${month}/${randomUUID()}`;
}

const KEY_PATTERN = /^[a-z]+(\/[0-9]{2,4}){2}\/[0-9a-f-]{36}$/;

/** Keys read back from the database are checked again before they touch a path or a URL. */
export function assertValidKey(key: string): void {
	if (!KEY_PATTERN.test(key)) throw new Error('Invalid object key');
}
