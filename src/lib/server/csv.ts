/** Characters a spreadsheet reads at the start of a cell as the start of a formula. */
const FORMULA_LEAD = /^[=+\-@\t\r\n]/;

/**
 * One CSV cell, always quoted (commas, quotes and line breaks stay inside it). A cell that
 * starts with = + - @ (or a tab or line break before them) would run as a formula in a
 * spreadsheet; so might their full-width forms (＝ ＋ － ＠), which Japanese spreadsheets
 * accept as the same operators, so the first character is compared after NFKC. A leading
 * apostrophe keeps such a cell text. Dates are written in ISO 8601 (UTC), lists space-separated.
 */
export function csvCell(value: unknown): string {
	let text =
		value === null || value === undefined
			? ''
			: value instanceof Date
				? value.toISOString()
				: Array.isArray(value)
					? value.join(' ')
					: String(value);
	const first = text.codePointAt(0);
	if (first !== undefined && FORMULA_LEAD.test(String.fromCodePoint(first).normalize('NFKC'))) {
		text = `'${text}`;
	}
	return `"${text.replaceAll('"', '""')}"`;
}
