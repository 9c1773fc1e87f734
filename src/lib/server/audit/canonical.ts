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
