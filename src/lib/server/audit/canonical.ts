/**
 * RFC 8785 (JSON Canonicalization Scheme) for the values the audit log stores: object keys
 * sorted by UTF-16 code units, no whitespace, ECMAScript number and string serialisation.
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
			if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
			const entries = Object.entries(value as Record<string, unknown>)
				.filter(([, v]) => v !== undefined)
				.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
			return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
		}
		default:
			throw new TypeError(`Cannot canonicalise a ${typeof value}`);
	}
}
