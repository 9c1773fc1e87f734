/**
 * RFC 8785 (JSON Canonicalization Scheme) for the values the audit log stores: object keys
 * sorted by UTF-16 code units (the default sort order), no whitespace, ECMAScript number and
 * string serialisation. Written as plain loops: verification runs it once per stored event.
 */
export function canonicalJson(value: unknown): string {
	if (value === null) return 'null';
	switch (typeof value) {
		case 'boolean':
			return value ? 'true' : 'false';
		case 'number':
			if (!Number.isFinite(value)) throw new TypeError('Non-finite number in canonical JSON');
			return JSON.stringify(value);
		case 'string':
			return JSON.stringify(value);
		case 'object': {
			if (Array.isArray(value)) {
				let out = '[';
				for (let i = 0; i < value.length; i++) {
					if (i > 0) out += ',';
					out += canonicalJson(value[i]);
				}
				return out + ']';
			}
			const record = value as Record<string, unknown>;
			const keys = Object.keys(record).sort();
			let out = '{';
			let first = true;
			for (const key of keys) {
				const v = record[key];
				if (v === undefined) continue;
				out += (first ? '' : ',') + JSON.stringify(key) + ':' + canonicalJson(v);
				first = false;
			}
			return out + '}';
		}
		default:
			throw new TypeError(`Cannot canonicalise a ${typeof value}`);
	}
}

/** Marks a value `JSON.stringify` might write differently from `canonicalJson`. */
export const NOT_PLAIN: unique symbol = Symbol('not plain JSON');

const hasToJson = (value: object) => typeof (value as { toJSON?: unknown }).toJSON === 'function';

/**
 * The value, or a copy of it with every object's keys in canonical order, such that the native
 * `JSON.stringify` writes exactly what `canonicalJson` would (same number and string
 * serialisation, no whitespace; only the key order differs, and that is fixed here). Returns
 * NOT_PLAIN for anything it cannot promise that for (non-finite numbers, undefined, functions,
 * objects that are not plain, `toJSON`, a key order the engine will not keep), and the caller
 * falls back to `canonicalJson`. Values read back from jsonb are plain: this is the fast path
 * verification takes for every stored event.
 */
export function canonicalOrder(value: unknown): unknown {
	if (value === null) return null;
	switch (typeof value) {
		case 'string':
		case 'boolean':
			return value;
		case 'number':
			return Number.isFinite(value) ? value : NOT_PLAIN;
		case 'object':
			break;
		default:
			return NOT_PLAIN;
	}
	const object = value as object;
	if (hasToJson(object)) return NOT_PLAIN;
	if (Array.isArray(object)) {
		if (Object.getPrototypeOf(object) !== Array.prototype) return NOT_PLAIN;
		let copy: unknown[] | null = null;
		for (let i = 0; i < object.length; i++) {
			const item: unknown = object[i];
			const ordered = canonicalOrder(item);
			if (ordered === NOT_PLAIN) return NOT_PLAIN;
			if (ordered !== item) {
				copy ??= object.slice(0, i);
				copy.push(ordered);
			} else if (copy) copy.push(item);
		}
		return copy ?? object;
	}
	const proto = Object.getPrototypeOf(object);
	if (proto !== Object.prototype && proto !== null) return NOT_PLAIN;
	const record = object as Record<string, unknown>;
	const keys = Object.keys(record);
	let sorted = true;
	let changed = false;
	const values: unknown[] = new Array(keys.length);
	for (let i = 0; i < keys.length; i++) {
		if (i > 0 && !(keys[i - 1]! < keys[i]!)) sorted = false;
		const item = record[keys[i]!];
		const ordered = canonicalOrder(item);
		if (ordered === NOT_PLAIN) return NOT_PLAIN;
		if (ordered !== item) changed = true;
		values[i] = ordered;
	}
	if (sorted && !changed) return object;
	const order = keys.map((_, i) => i);
	if (!sorted) order.sort((a, b) => (keys[a]! < keys[b]! ? -1 : keys[a]! > keys[b]! ? 1 : 0));
	// A prototype-less object: "__proto__" is then an ordinary key, as JSON.parse made it.
	const copy = Object.create(null) as Record<string, unknown>;
	for (const i of order) copy[keys[i]!] = values[i];
	// Engines list array-index keys ("0", "10") first whatever the insertion order: if that
	// breaks the canonical order, the slow path writes this object.
	const written = Object.keys(copy);
	for (let i = 0; i < written.length; i++) if (written[i] !== keys[order[i]!]) return NOT_PLAIN;
	return copy;
}
