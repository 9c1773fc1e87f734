import { randomUUID } from 'node:crypto';
import { InvalidObjectKeyError, OBJECT_PREFIXES, type ObjectPrefix } from './types';

/** `<prefix>/<yyyy>/<mm>/<uuid>`: nothing in a key ever comes from a request. */
export function newObjectKey(prefix: ObjectPrefix, now = new Date()): string {
	// The type already says so; callers reached from untyped data are checked here as well.
	if (!(OBJECT_PREFIXES as readonly string[]).includes(prefix)) {
		throw new InvalidObjectKeyError('Unknown object key prefix');
	}
	const year = now.getUTCFullYear();
	const month = String(now.getUTCMonth() + 1).padStart(2, '0');
	return `${prefix}/${year}/${month}/${randomUUID()}`;
}

const UUID = '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}';
const KEY_PATTERN = new RegExp(`^(${OBJECT_PREFIXES.join('|')})/[0-9]{4}/[0-9]{2}/${UUID}$`);
// A listing prefix is a leading part of a key: the same alphabet, no dots, no leading slash.
const LIST_PREFIX_PATTERN = /^(?:[a-z]+(?:\/[0-9a-f-]*)*)?$/;

/**
 * Keys read back from the database are checked again before they touch a path or a URL, so
 * that a tampered row can never name `../`, an absolute path or another bucket's object.
 */
export function assertValidKey(key: string): void {
	if (typeof key !== 'string' || !KEY_PATTERN.test(key)) {
		throw new InvalidObjectKeyError('Invalid object key');
	}
}

export function assertValidListPrefix(prefix: string): void {
	if (typeof prefix !== 'string' || prefix.length > 80 || !LIST_PREFIX_PATTERN.test(prefix)) {
		throw new InvalidObjectKeyError('Invalid object key prefix');
	}
}
